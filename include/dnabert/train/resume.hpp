#pragma once
// Where a training run starts: at step 0, or exactly where a checkpoint left off, once it is sure
// the checkpoint's run drew its data as this one will.

#include <string>

#include "dnabert/core/error.hpp"
#include "dnabert/train/checkpoint.hpp"
#include "dnabert/train/optimizer.hpp"
#include "dnabert/train/training_types.hpp"

namespace dnabert::train::detail {

/// Refuses to resume a checkpoint whose run drew its data differently from this one.
inline void check_resumable(const trainer_state& saved, const training_options& options, const std::string& dir) {
  const auto mismatch = [&](const char* what, const std::string& then, const std::string& now) {
    throw config_error("cannot resume " + dir + ": it was trained with " + what + " " + then + ", this run has " + now +
                       " (an exact continuation needs the same)");
  };
  if (saved.kind != options.kind) mismatch("kind", saved.kind, options.kind);
  if (saved.seed != options.seed) mismatch("seed", std::to_string(saved.seed), std::to_string(options.seed));
  if (saved.batch_size != options.batch_size)
    mismatch("batch size", std::to_string(saved.batch_size), std::to_string(options.batch_size));
  if (saved.gradient_accumulation_steps != options.micro_batches_per_step()) {
    const std::int64_t ranks = options.ranks().size(), saved_batches = saved.gradient_accumulation_steps;
    const std::string fix = saved_batches % ranks == 0
                                ? "give --gradient-accumulation " + std::to_string(saved_batches / ranks)
                                : "run it on a number of ranks that divides " + std::to_string(saved_batches);
    mismatch("gradient accumulation", std::to_string(saved_batches),
             ranks == 1 ? std::to_string(options.gradient_accumulation_steps)
                        : std::to_string(options.micro_batches_per_step()) + " micro-batches per step (" +
                              std::to_string(ranks) + " ranks x " + std::to_string(options.gradient_accumulation_steps) +
                              "; " + fix + ")");
  }
  if (saved.step > options.total_steps)
    throw config_error("cannot resume " + dir + ": it is at step " + std::to_string(saved.step) +
                       ", past this run's " + std::to_string(options.total_steps) + " steps");
}

/// The state a run starts from: a fresh one, or with options.resume_from the checkpoint's (its
/// optimizer moments loaded into `optimizer`, after check_resumable); either way recording this
/// run's settings.
template <class B>
trainer_state starting_state(const training_options& options, adamw<B>& optimizer) {
  trainer_state state;
  if (!options.resume_from.empty()) {
    state = load_optimizer_checkpoint(options.resume_from, optimizer);
    check_resumable(state, options, options.resume_from);
    if (state.total_steps != options.total_steps)
      options.announce("the checkpoint planned " + std::to_string(state.total_steps) + " steps, this run " +
                       std::to_string(options.total_steps) + ": the learning-rate schedule changes from here");
    options.announce("resuming " + options.resume_from + " at step " + std::to_string(state.step));
  }
  state.kind = options.kind;
  state.total_steps = options.total_steps;
  state.seed = options.seed;
  state.batch_size = options.batch_size;
  state.gradient_accumulation_steps = options.micro_batches_per_step();  // over all ranks: what one process would accumulate
  return state;
}

}  // namespace dnabert::train::detail
