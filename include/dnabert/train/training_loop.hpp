#pragma once
// The loop both trainers share: micro-batches, gradient accumulation, clipping, AdamW on a
// warmup/decay schedule, non-finite guards, evaluation, best model, checkpoints, exact resume, and
// stopping on request (preemption) with a checkpoint to resume from.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <system_error>

#include "dnabert/core/rng.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/train/checkpoint.hpp"
#include "dnabert/train/optimizer.hpp"
#include "dnabert/train/resume.hpp"
#include "dnabert/train/schedule.hpp"
#include "dnabert/train/training_log.hpp"
#include "dnabert/train/training_types.hpp"

namespace dnabert::train {

namespace detail {

/// What the micro-batches of one optimizer step left in the gradients.
struct accumulated_step {
  double loss = std::nan("");  ///< mean loss of the micro-batches; NaN when the step is not finite
  double grad_norm = 0;        ///< global gradient norm before clipping
  std::int64_t tokens = 0;     ///< real tokens trained on
  bool ends_epoch = false;     ///< whether one of the micro-batches ended an epoch
  std::string nonfinite;       ///< "loss" or "gradient" when one was not finite: the step must not be taken
};

/// One run in progress: its optimizer, schedule, state and history, and each part of the loop
/// that run_training spells out.
template <class Spec, class B>
class training_run {
 public:
  /// Starts (or, with options.resume_from, resumes) training `model` into `output_dir`.
  training_run(Bert<Spec, B>& model, const training_options& options, const std::string& output_dir,
               const std::function<evaluation(std::int64_t)>& evaluate)
      : model_(model),
        options_(options),
        output_dir_(output_dir),
        evaluate_(evaluate),
        optimizer_(model.backend(), model.parameters(), options.optimizer),
        schedule_(options.optimizer.lr, options.warmup_steps, options.total_steps, options.lr_schedule),
        state_(starting_state(options, optimizer_)),
        history_(prepared_folder(output_dir), options.kind, options.score_name, state_.step,
                 state_.best_score ? std::optional(state_.best_step) : std::nullopt),
        saved_step_(resumed_in_place() ? state_.step : -1) {
    // Packed weights are inference copies the optimizer will not update: evaluation during and
    // after training must read the trained weights.
    model_.unpack_weights();
  }

  /// Whether steps remain: neither all were taken nor did early stopping end the run.
  [[nodiscard]] bool running() const { return state_.step < options_.total_steps && !history_.summary().stopped_early; }

  /// Runs the next step's micro-batches into the gradients, each on its own tape with dropout
  /// seeded by its global index, then averages and clips them; stops at the first non-finite loss.
  template <class MicroBatch>
  accumulated_step accumulate(MicroBatch& micro_batch) {
    B& be = model_.backend();
    const auto& params = model_.parameters();
    const std::int64_t accumulation = options_.gradient_accumulation_steps;
    accumulated_step out;
    zero_grad(params);
    double loss_sum = 0;
    for (std::int64_t j = 0; j < accumulation; ++j) {
      const std::int64_t index = state_.step * accumulation + j;
      autograd::tape<B> tape(be, true);
      nn::forward_context<B> ctx{tape, mix64(options_.seed ^ mix64(static_cast<std::uint64_t>(index)))};
      micro_batch_loss<B> part = micro_batch(ctx, index);
      typename B::value_type value{};
      download(be, part.loss.value().data(), &value, 1);
      if (!std::isfinite(static_cast<double>(value))) {
        out.nonfinite = "loss";
        return out;
      }
      tape.backward(part.loss);
      loss_sum += static_cast<double>(value);
      out.tokens += part.tokens;
      state_.epoch = part.ends_epoch ? part.epoch + 1 : part.epoch;
      out.ends_epoch = out.ends_epoch || part.ends_epoch;
    }
    if (accumulation > 1) scale_gradients(be, params, 1.0 / static_cast<double>(accumulation));
    out.grad_norm =
        options_.max_grad_norm > 0 ? clip_grad_norm(be, params, options_.max_grad_norm) : gradient_norm(be, params);
    if (!std::isfinite(out.grad_norm)) {
      out.nonfinite = "gradient";
      return out;
    }
    out.loss = loss_sum / static_cast<double>(accumulation);
    return out;
  }

  /// Takes the step: AdamW at the schedule's rate and a log line every logging_steps, or, when
  /// it is not finite, the non-finite guard; then reports progress.
  void take(const accumulated_step& step) {
    const double lr = schedule_.lr(state_.step);
    ++state_.step;
    if (!step.nonfinite.empty()) {
      guard_nonfinite(step.nonfinite);
    } else {
      optimizer_.step(lr);
      state_.tokens_seen += step.tokens;
      if (state_.step % std::max<std::int64_t>(1, options_.logging_steps) == 0)
        history_.log_step(state_.step, step.loss, lr, step.grad_norm, state_.tokens_seen, state_.epoch);
    }
    if (options_.progress) options_.progress({state_.step, options_.total_steps, step.loss, lr, state_.tokens_seen});
  }

  /// Whether to evaluate after `step`: every eval_steps steps, or (eval_steps 0) when it ended an epoch.
  [[nodiscard]] bool evaluation_due(const accumulated_step& step) const {
    return evaluate_ && (options_.eval_steps > 0 ? state_.step % options_.eval_steps == 0 : step.ends_epoch);
  }

  /// Evaluates at the current step; a new best is kept (and saved with keep_best), any other
  /// evaluation counts towards early stopping.
  void evaluate_now() {
    const evaluation e = evaluate_(state_.step);
    history_.log_evaluation(e);
    if (!state_.best_score || e.score > *state_.best_score) {
      state_.best_score = e.score;
      state_.best_step = state_.step;
      state_.evaluations_without_improvement = 0;
      history_.summary().best = e;
      if (options_.keep_best) model_.save(output_dir_);
    } else {
      ++state_.evaluations_without_improvement;
    }
    history_.draw_curves();
  }

  /// Early stopping: ends the run once early_stopping_patience evaluations in a row did not improve.
  void stop_if_out_of_patience() {
    if (options_.early_stopping_patience <= 0 ||
        state_.evaluations_without_improvement < options_.early_stopping_patience)
      return;
    options_.announce("early stopping at step " + std::to_string(state_.step) + ": no improvement in " +
                      std::to_string(options_.early_stopping_patience) + " evaluations");
    history_.summary().stopped_early = true;
  }

  /// Every save_steps steps: checkpoint-<step>/, keeping the newest save_total_limit.
  void checkpoint_if_due() {
    if (options_.save_steps > 0 && state_.step % options_.save_steps == 0) checkpoint_now();
  }

  /// Whether options.stop_request asks the run to stop.
  [[nodiscard]] bool stop_requested() const {
    return options_.stop_request != nullptr && options_.stop_request->load();
  }

  /// Ends the run early on request: checkpoint-<step>/ (unless this step has one already), so
  /// that resuming it repeats the uninterrupted run; no final evaluation, no final model.
  training_summary interrupt() {
    if (saved_step_ != state_.step) checkpoint_now();
    training_summary& run = history_.summary();
    run.steps = state_.step;
    run.skipped_steps = state_.skipped_steps;
    run.interrupted = true;
    run.resume_checkpoint = checkpoint_folder();
    return run;
  }

  /// Ends the run: a last evaluation unless the last step had one, the final model (or, with
  /// keep_best, the best one already saved) in the output folder, the curves drawn.
  training_summary finish() {
    training_summary& run = history_.summary();
    if (evaluate_ && (run.evaluations.empty() || run.evaluations.back().step != state_.step)) evaluate_now();
    if (!options_.keep_best || !run.best) model_.save(output_dir_);
    history_.draw_curves();
    run.steps = state_.step;
    run.skipped_steps = state_.skipped_steps;
    return run;
  }

 private:
  // Creates the output folder, or clears what killed runs left in it, before the history writes
  // into it.
  static const std::string& prepared_folder(const std::string& dir) {
    std::filesystem::create_directories(dir);
    remove_abandoned_files(dir);
    return dir;
  }

  // The non-finite guard: the step's gradients are dropped; the run stops naming the step and the
  // last checkpoint, or with skip_nonfinite counts, logs and announces the skipped step.
  void guard_nonfinite(const std::string& what) {
    zero_grad(model_.parameters());
    if (!options_.skip_nonfinite)
      throw error("non-finite " + what + " at step " + std::to_string(state_.step) + "; training stopped (" +
                  last_checkpoint() + "; --skip-nonfinite skips such steps)");
    ++state_.skipped_steps;
    history_.log_skipped(state_.step, "non-finite " + what);
    options_.announce("step " + std::to_string(state_.step) + " skipped: non-finite " + what);
  }

  std::string last_checkpoint() const {
    const auto found = list_checkpoints(output_dir_);
    return found.empty() ? std::string("no checkpoint was written")
                         : "the last checkpoint is " + found.back().second.string();
  }

  std::string checkpoint_folder() const { return output_dir_ + "/" + std::string(checkpoint_prefix) + std::to_string(state_.step); }

  // Whether the run resumed this output folder's own checkpoint of its current step, which
  // therefore need not be written again.
  bool resumed_in_place() const {
    std::error_code ec;
    return !options_.resume_from.empty() && std::filesystem::equivalent(options_.resume_from, checkpoint_folder(), ec);
  }

  // checkpoint-<step>/ now, keeping the newest save_total_limit. A write that fails (a full disk)
  // stops the run naming the file; the checkpoints written before stay complete.
  void checkpoint_now() {
    const std::string dir = checkpoint_folder();
    const auto failed = [&](const std::exception& e) {
      return error("training stopped at step " + std::to_string(state_.step) + ": " + e.what() + " (" + dir +
                   " was not written; " + last_checkpoint() + ")");
    };
    try {
      save_checkpoint(dir, model_, optimizer_, state_);
    } catch (const error& e) {
      throw failed(e);
    } catch (const std::filesystem::filesystem_error& e) {
      throw failed(e);
    }
    saved_step_ = state_.step;
    rotate_checkpoints(output_dir_, options_.save_total_limit);
    history_.draw_curves();  // a long run without evaluations still shows its curve as it goes
  }

  Bert<Spec, B>& model_;
  const training_options& options_;
  std::string output_dir_;
  const std::function<evaluation(std::int64_t)>& evaluate_;
  adamw<B> optimizer_;
  const lr_schedule schedule_;
  trainer_state state_;
  run_history history_;
  std::int64_t saved_step_;  // the step of the checkpoint this run wrote or resumed last (-1: none)
};

}  // namespace detail

/// Trains `model` for options.total_steps optimizer steps. `micro_batch(ctx, index)` builds the
/// micro-batch with global index `index` (step · accumulation + j), runs the model with `ctx` and
/// returns its loss; `evaluate(step)`, when set, scores the model on held-out data. Writes
/// log.jsonl, curves.svg, checkpoint-<step>/ folders and the final (or best) model into
/// `output_dir`. With options.resume_from it continues that checkpoint exactly: the caller has
/// loaded the model from it, the loop restores the optimizer and the position. With
/// options.stop_request set, the run ends before the next step once it is true: it writes
/// checkpoint-<step>/ and returns a summary marked interrupted, naming that checkpoint.
template <class Spec, class B, class MicroBatch>
training_summary run_training(Bert<Spec, B>& model, const training_options& options, const std::string& output_dir,
                              MicroBatch&& micro_batch, const std::function<evaluation(std::int64_t)>& evaluate = {}) {
  options.check();
  detail::training_run<Spec, B> run(model, options, output_dir, evaluate);
  while (run.running()) {
    if (run.stop_requested()) return run.interrupt();
    const detail::accumulated_step step = run.accumulate(micro_batch);
    run.take(step);
    if (run.evaluation_due(step)) {
      run.evaluate_now();
      run.stop_if_out_of_patience();
    }
    run.checkpoint_if_due();
  }
  return run.finish();
}

}  // namespace dnabert::train
