#pragma once
// What `pretrain` and `finetune` share: the run's flags, explicit resume, and one skeleton
// (backend -> checkpoint to resume -> model loaded or created -> notices -> training under a
// progress display, stopping on SIGTERM/SIGINT with a checkpoint) around what each trains on.

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdint>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dnabert/dnabert.hpp>
#if defined(DNABERT_CLI_WITH_CUDA) && defined(DNABERT_WITH_NCCL)
#include <dnabert/backend/cuda/nccl.hpp>
#endif

#include "device.hpp"
#include "progress.hpp"
#include "shared_flags.hpp"

namespace dnabert::cli {

/// Where a run starts from: nothing to resume, or a checkpoint folder.
struct resume_request {
  const CLI::Option* flag = nullptr;  ///< --resume, once registered
  std::string folder;                 ///< its value; empty: the newest checkpoint-<step>/ in the output folder

  /// Whether --resume was given (with or without a folder).
  [[nodiscard]] bool requested() const { return flag != nullptr && flag->count() > 0; }
  /// The checkpoint folder to continue, or "" for a fresh start.
  [[nodiscard]] std::string checkpoint(const std::string& output_dir) const {
    if (!requested()) return {};
    return folder.empty() ? train::latest_checkpoint(output_dir) : folder;
  }
};

/// The options both trainers take besides their data: where the model starts from, where the run
/// goes, the backend, resume and the run's settings (train::pretrain_options or finetune_options).
template <class RunOptions>
struct trainer_cli_options {
  std::string model, config, output;
  int threads = 0;
  device_options device;
  resume_request resume;
  RunOptions run;
};

/// Adds the flags both trainers take to `cmd`, bound to the fields of `o` (its run's settings,
/// resume, the CPU threads and the device); --model, --config and --output are each command's.
template <class RunOptions>
void add_training_flags(CLI::App* cmd, trainer_cli_options<RunOptions>& o) {
  RunOptions& run = o.run;
  cmd->add_option("--max-steps", run.max_steps, "optimizer steps to run (overrides --epochs)")->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--epochs", run.epochs, "epochs when --max-steps is not given")->check(CLI::Range(1, 100000));
  add_batch_size_option(cmd, run.batch_size, "sequences per micro-batch");
  cmd->add_option("--gradient-accumulation", run.gradient_accumulation_steps, "micro-batches per optimizer step")
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--lr", run.optimizer.lr, "peak learning rate")->check(CLI::PositiveNumber);
  const std::map<std::string, train::schedule_shape> shapes{
      {"linear", train::schedule_shape::linear}, {"constant", train::schedule_shape::constant}, {"cosine", train::schedule_shape::cosine}};
  cmd->add_option_function<std::string>(
         "--lr-schedule", [&run, shapes](const std::string& name) { run.lr_schedule = shapes.at(name); },
         "the rate after warmup: linear (DNABERT's decay to 0, the default), constant (stays at the peak), cosine (half a "
         "cosine to 0)")
      ->check(CLI::IsMember(shapes));
  cmd->add_option("--weight-decay", run.optimizer.weight_decay, "AdamW weight decay")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-grad-norm", run.max_grad_norm, "global-norm gradient clipping (0: none)")->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--eval-steps", run.eval_steps, "evaluate every N steps")->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--save-steps", run.save_steps, "write OUTPUT/checkpoint-<step>/ every N steps (0: none)")
      ->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--save-total-limit", run.save_total_limit, "checkpoints kept, newest first (0: all)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_flag("--skip-nonfinite", run.skip_nonfinite, "skip a step whose loss or gradient is not finite (counted in the log)");
  cmd->add_option("--seed", run.seed, "seed for initialisation, data order, masking and dropout");
  cmd->add_flag("--no-overlap", [&run](std::int64_t) { run.overlap_gradient_sum = false; },
                "in an MPI job, sum the gradients over the ranks after the backward pass instead of part by part "
                "while it runs (the same sums; for measuring the overlap)");
  add_threads_option(cmd, o.threads, "a resumed run repeats bit for bit with the same count");
  add_device_option(cmd, o.device);
  o.resume.flag = cmd->add_option("--resume", o.resume.folder,
                                 "continue a run exactly: from this checkpoint folder, or (no value) the newest in --output")
                    ->expected(0, 1);
}

/// The program's arguments as main() received them, for the command that resumes a stopped run.
inline std::vector<std::string> invocation;

/// Thrown once a run stopped by a signal has written its checkpoint and said how to resume:
/// main() returns `status`, 128 + the signal, as a shell reports a process the signal ended.
struct training_interrupted {
  int status = 0;
};

/// `word` as a POSIX shell reads it back: as it is when it holds no special character, else in
/// single quotes.
inline std::string shell_quoted(const std::string& word) {
  constexpr std::string_view plain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";
  if (!word.empty() && word.find_first_not_of(plain) == std::string::npos) return word;
  std::string quoted = "'";
  for (const char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

/// The command line that continues a stopped run from `checkpoint`: `args` (argv) without
/// --config and --resume and their values (a resumed run takes neither), then --resume
/// `checkpoint`, quoted for a shell.
inline std::string resume_command(const std::vector<std::string>& args, const std::string& checkpoint) {
  std::string command;
  const auto add = [&](const std::string& word) { command += (command.empty() ? "" : " ") + shell_quoted(word); };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (i > 0 && (word == "--config" || word == "-c")) {
      ++i;  // its value
    } else if (i > 0 && word == "--resume") {
      if (i + 1 < args.size() && !args[i + 1].starts_with("-")) ++i;  // its optional value
    } else if (i == 0 || !(word.starts_with("--config=") || word.starts_with("--resume=") ||
                           (word.starts_with("-c") && !word.starts_with("--")))) {
      add(word);
    }
  }
  add("--resume");
  add(checkpoint);
  return command;
}

/// "SIGTERM" or "SIGINT".
inline std::string signal_name(int signal_number) { return signal_number == SIGINT ? "SIGINT" : "SIGTERM"; }

/// Where a run's weights come from, after the checks both trainers share: the checkpoint to
/// resume, else `model`; empty when `config` starts from scratch. Warns when a folder started
/// from (not resumed) holds another run's optimizer state.
inline std::string starting_folder(const std::string& command, const std::string& resume_from, const std::string& model,
                                   const std::string& config) {
  const std::string start = !resume_from.empty() ? resume_from : model;
  if (start.empty() && config.empty()) throw config_error(command + " needs --config, --model or --resume");
  if (!resume_from.empty() && !config.empty())
    throw config_error("--resume continues a checkpoint; --config starts from scratch: give one of them");
  if (resume_from.empty() && !start.empty() && train::holds_training_state(start))
    print_notice(start + " holds optimizer state from another run; starting fresh (pass --resume to continue that run)");
  return start;
}

/// The step a run starts counting from: the resumed checkpoint's, or 0.
inline std::int64_t first_step(const std::string& resume_from) {
  return resume_from.empty() ? 0 : train::read_trainer_state(resume_from).step;
}

/// Where a program that runs the commands in-process (the Python module) wants each optimizer
/// step reported instead of the progress line on stderr; empty: the line is drawn.
inline std::function<void(const train::step_report&)> step_listener;

/// Runs `fit()` (a training call with `run`) with its progress display, labelled `label` (or
/// step_listener, when set), and its notices on stderr; returns what fit() returns.
template <class RunOptions, class Fit>
auto with_training_progress(RunOptions& run, const std::string& label, Fit&& fit) {
  if (run.communicator == nullptr) run.communicator = &job();
  if (!leads_job()) return fit();  // rank 0 shows the job's progress
  run.notice = print_notice;
  if (step_listener) {
    run.progress = step_listener;
    return fit();
  }
  auto bar = std::make_shared<training_progress>(label, first_step(run.resume_from));
  run.progress = [bar, first_tokens = std::int64_t{-1}](const train::step_report& r) mutable {
    if (first_tokens < 0) first_tokens = r.tokens_seen;  // a resumed run's rate counts its own tokens
    (*bar)(r.step, r.total_steps, r.loss, r.learning_rate, r.tokens_seen - first_tokens);
  };
  auto result = fit();
  bar->finish();
  return result;
}

/// with_training_progress for a run that `signals` may stop: a stopped run has written its
/// checkpoint; this says so with the command that resumes it, and throws training_interrupted.
template <class RunOptions, class Fit>
auto with_stoppable_training(RunOptions& run, const std::string& label, const train::stop_on_signals& signals, Fit&& fit) {
  run.stop_request = signals.request();
  auto result = with_training_progress(run, label, fit);
  const int signal_number = signals.received();
  if (result.interrupted) {
    if (leads_job())
      std::cerr << label << ": stopped by " << signal_name(signal_number) << " after step " << result.steps
              << "; checkpoint " << result.resume_checkpoint << " written\nto resume: "
              << (job().size() > 1 ? "mpirun -np " + std::to_string(job().size()) + " " : std::string())
              << resume_command(invocation, result.resume_checkpoint) << '\n';
    throw training_interrupted{128 + signal_number};
  }
  if (signal_number != 0) print_notice(signal_name(signal_number) + " came after the last step: the run is complete");
  return result;
}

/// The skeleton of `command` (pretrain or finetune): on the --device backend, the model with
/// `head` resumed from --resume, loaded from --model (its classifier shaped by `classifier`) or
/// created from the config `config_from(--config)` returns; its new parameters noted; then
/// train(model, progress), where the command reads its data and calls progress(fit) to run its
/// training call fit() under the progress display.
template <class RunOptions, class ConfigFrom, class Train>
void run_training(const std::string& command, trainer_cli_options<RunOptions>& o, bert_head head, const classifier_request& classifier,
                  ConfigFrom&& config_from, Train&& train) {
  std::optional<io::output_lock> lock;  // one run per output folder, taken before resume looks into it
  if (leads_job()) lock.emplace(o.output);  // (an MPI job's rank 0 takes it for all)
  // From the start: a signal while the data loads stops the run before its first step.
  const train::stop_on_signals signals("\n" + command +
                                       ": stopping after this step to write a checkpoint (a second signal stops at once)\n");
  with_backend(o.device, o.threads, [&](auto backend) {
    using B = typename decltype(backend)::element_type;
    o.run.resume_from = o.resume.checkpoint(o.output);
    const std::string start = starting_folder(command, o.run.resume_from, o.model, o.config);
    auto model = start.empty() ? Bert<dynamic_bert, B>(*backend, config_from(o.config), head, o.run.seed)
                               : Bert<dynamic_bert, B>::load(*backend, start, head, o.run.seed, classifier);
    print_warnings(model.warnings());
    for (const auto& name : model.new_parameters()) print_notice("new (initialised): " + name);
#if defined(DNABERT_CLI_WITH_CUDA) && defined(DNABERT_WITH_NCCL)
    // GPUs sum their gradients over NCCL, bootstrapped over the job's MPI ranks.
    std::unique_ptr<backend::nccl_communicator> gpu_ranks;
    if constexpr (!B::host_memory) {
      if (job().size() > 1) {
        gpu_ranks = std::make_unique<backend::nccl_communicator>(job(), parse_device(o.device.device).index);
        o.run.communicator = gpu_ranks.get();
      }
    }
#endif
    train(model, [&](auto&& fit) { return with_stoppable_training(o.run, command, signals, fit); });
  }, /*training=*/true);
}

}  // namespace dnabert::cli
