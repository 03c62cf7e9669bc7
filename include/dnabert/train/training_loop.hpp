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
#include <string_view>
#include <system_error>
#include <vector>

#include "dnabert/core/rng.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/train/checkpoint.hpp"
#include "dnabert/train/gradient_sum.hpp"
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
  /// Starts (or, with options.resume_from, resumes) training `model` into `output_dir`. In a
  /// data-parallel run every rank starts from rank 0's weights, and only rank 0 writes files.
  training_run(Bert<Spec, B>& model, const training_options& options, const std::string& output_dir,
               const std::function<evaluation(std::int64_t)>& evaluate)
      : model_(model),
        options_(options),
        ranks_(options.ranks()),
        output_dir_(output_dir),
        evaluate_(evaluate),
        optimizer_(model.backend(), weights_of_rank_0(model, ranks_), options.optimizer),
        schedule_(options.optimizer.lr, options.warmup_steps, options.total_steps, options.lr_schedule),
        state_(starting_state(options, optimizer_)),
        history_(ranks_.writes_files() ? prepared_folder(output_dir) : output_dir, options.kind, options.score_name,
                 state_.step, state_.best_score ? std::optional(state_.best_step) : std::nullopt, ranks_.writes_files()),
        saved_step_(resumed_in_place() ? state_.step : -1) {
    // Packed weights are inference copies the optimizer will not update: evaluation during and
    // after training must read the trained weights.
    model_.unpack_weights();
    if (options.micro_batches_per_step() > 1)
      gradients_.emplace(model.backend(), model.parameters(), [&model](std::string_view name) { return model.parameter_part(name); });
  }

  /// Whether steps remain: neither all were taken nor did early stopping end the run.
  [[nodiscard]] bool running() const { return state_.step < options_.total_steps && !history_.summary().stopped_early; }

  /// Runs this rank's micro-batches of the next step, each on its own tape with dropout seeded
  /// by its global index, sums their gradients with the other ranks' in micro-batch order, then
  /// averages and clips them. A non-finite loss on any rank marks the step on every rank.
  template <class MicroBatch>
  accumulated_step accumulate(MicroBatch& micro_batch) {
    B& be = model_.backend();
    const auto& params = model_.parameters();
    const std::int64_t per_rank = options_.gradient_accumulation_steps, per_step = options_.micro_batches_per_step();
    accumulated_step out;
    zero_grad(params);
    // Summed over the ranks in rank order: loss, tokens, non-finite losses, epoch ends, and the
    // epoch after the step (from the last rank, which has the step's last micro-batch).
    std::vector<double> totals(5, 0.0);
    for (std::int64_t j = 0; j < per_rank && totals[2] == 0; ++j) {
      const std::int64_t index = state_.step * per_step + j * ranks_.size() + ranks_.rank();
      autograd::tape<B> tape(be, true);
      nn::forward_context<B> ctx{tape, mix64(options_.seed ^ mix64(static_cast<std::uint64_t>(index)))};
      if (j == per_rank - 1 && options_.overlap_gradient_sum && gradients_ && gradients_->overlaps(ranks_))
        ctx.gradients_ready = [this, &params, first = j == 0](int model_part) {  // sum each part as backward finishes it
          gradients_->take_part(model_part, params, first);
          gradients_->start_sum(model_part, ranks_);
        };
      micro_batch_loss<B> part = micro_batch(ctx, index);
      typename B::value_type value{};
      download(be, part.loss.value().data(), &value, 1);
      if (!std::isfinite(static_cast<double>(value))) {
        totals[2] = 1;
        break;
      }
      tape.backward(part.loss);
      if (gradients_) gradients_->take_rest(params, j == 0);
      totals[0] += static_cast<double>(value);
      totals[1] += static_cast<double>(part.tokens);
      totals[3] += part.ends_epoch ? 1 : 0;
      if (ranks_.rank() == ranks_.size() - 1) totals[4] = static_cast<double>(part.ends_epoch ? part.epoch + 1 : part.epoch);
    }
    if (gradients_) gradients_->sum_over(ranks_);
    if (ranks_.size() > 1) ranks_.sum_in_rank_order(totals.data(), totals.size());
    if (totals[2] > 0) {
      out.nonfinite = "loss";
      return out;
    }
    state_.epoch = static_cast<std::int64_t>(totals[4]);
    out.tokens = static_cast<std::int64_t>(totals[1]);
    out.ends_epoch = totals[3] > 0;
    if (gradients_) gradients_->give_back(params, 1.0 / static_cast<double>(per_step));
    out.grad_norm =
        options_.max_grad_norm > 0 ? clip_grad_norm(be, params, options_.max_grad_norm) : gradient_norm(be, params);
    if (!std::isfinite(out.grad_norm)) {
      out.nonfinite = "gradient";
      return out;
    }
    out.loss = totals[0] / static_cast<double>(per_step);
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
      if (options_.keep_best && ranks_.writes_files()) model_.save(output_dir_);
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
  /// In a data-parallel run, whether any rank was asked: all stop at the same step.
  [[nodiscard]] bool stop_requested() const {
    return ranks_.any(options_.stop_request != nullptr && options_.stop_request->load());
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
    if ((!options_.keep_best || !run.best) && ranks_.writes_files()) model_.save(output_dir_);
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
    if (!ranks_.writes_files()) {
      saved_step_ = state_.step;
      return;
    }
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

  // `model`'s parameters, set to rank 0's on every rank before the optimizer copies them (they
  // agree already when seeded or loaded alike; a checkpoint resumed is then loaded over them).
  static const nn::parameter_list<B>& weights_of_rank_0(Bert<Spec, B>& model, parallel::communicator& ranks) {
    if (ranks.size() == 1) return model.parameters();
    B& be = model.backend();
    std::vector<typename B::value_type> staging;
    for (const auto& item : model.parameters().items()) {
      if (item.alias) continue;
      const auto& value = item.value.value();
      const auto bytes = static_cast<std::size_t>(value.numel()) * sizeof(typename B::value_type);
      if (B::host_memory || ranks.buffers() == parallel::memory_space::device) {
        ranks.broadcast(value.data(), bytes, 0);
      } else {
        staging.resize(static_cast<std::size_t>(value.numel()));
        download(be, value.data(), staging.data(), value.numel());
        ranks.broadcast(staging.data(), bytes, 0);
        upload(be, staging.data(), value.data(), value.numel());
      }
    }
    return model.parameters();
  }

  Bert<Spec, B>& model_;
  const training_options& options_;
  parallel::communicator& ranks_;
  std::string output_dir_;
  const std::function<evaluation(std::int64_t)>& evaluate_;
  adamw<B> optimizer_;
  const lr_schedule schedule_;
  trainer_state state_;
  run_history history_;
  std::int64_t saved_step_;  // the step of the checkpoint this run wrote or resumed last (-1: none)
  std::optional<gradient_sum<B>> gradients_;  // with several micro-batches per step: their sum in order
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
