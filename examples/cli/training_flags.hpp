#pragma once
// What `pretrain` and `finetune` share on the command line: the run's flags, explicit resume,
// the progress display and the user-facing notices.

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "common.hpp"
#include "device.hpp"

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

/// Adds the flags both trainers take to `cmd`, bound to the fields of `run` (pretrain_options or
/// finetune_options), `resume`, the CPU `threads` and the `device`.
template <class RunOptions>
void add_training_flags(CLI::App* cmd, RunOptions& run, resume_request& resume, int& threads, device_options& device) {
  cmd->add_option("--max-steps", run.max_steps, "optimizer steps to run (overrides --epochs)")->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--epochs", run.epochs, "epochs when --max-steps is not given")->check(CLI::Range(1, 100000));
  cmd->add_option("-b,--batch-size", run.batch_size, "sequences per micro-batch")->check(CLI::Range(1, 65536));
  cmd->add_option("--gradient-accumulation", run.gradient_accumulation_steps, "micro-batches per optimizer step")
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--lr", run.optimizer.lr, "peak learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--weight-decay", run.optimizer.weight_decay, "AdamW weight decay")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-grad-norm", run.max_grad_norm, "global-norm gradient clipping (0: none)")->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--eval-steps", run.eval_steps, "evaluate every N steps")->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--save-steps", run.save_steps, "write OUTPUT/checkpoint-<step>/ every N steps (0: none)")
      ->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--save-total-limit", run.save_total_limit, "checkpoints kept, newest first (0: all)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_flag("--skip-nonfinite", run.skip_nonfinite, "skip a step whose loss or gradient is not finite (counted in the log)");
  cmd->add_option("--seed", run.seed, "seed for initialisation, data order, masking and dropout");
  cmd->add_option("-t,--threads", threads, "CPU threads (default: all; a resumed run repeats bit for bit with the same count)")
      ->check(CLI::Range(0, 1024));
  add_device_option(cmd, device);
  resume.flag = cmd->add_option("--resume", resume.folder,
                                 "continue a run exactly: from this checkpoint folder, or (no value) the newest in --output")
                    ->expected(0, 1);
}

/// Prints a library notice on stderr.
inline void print_notice(const std::string& text) { std::cerr << "note: " << text << '\n'; }

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

/// Binds the progress display and notices of `run` to stderr; returns the display to finish().
template <class RunOptions>
std::shared_ptr<training_progress> attach_progress(RunOptions& run, const std::string& label, std::int64_t start_step) {
  auto bar = std::make_shared<training_progress>(label, start_step);
  run.progress = [bar, first_tokens = std::int64_t{-1}](const train::step_report& r) mutable {
    if (first_tokens < 0) first_tokens = r.tokens_seen;  // a resumed run's rate counts its own tokens
    (*bar)(r.step, r.total_steps, r.loss, r.learning_rate, r.tokens_seen - first_tokens);
  };
  run.notice = print_notice;
  return bar;
}

}  // namespace dnabert::cli
