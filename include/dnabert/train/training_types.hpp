#pragma once
// What the training loop is given and gives back: the settings of a run, each micro-batch's loss,
// progress reports, evaluations, and the summary of a finished (or stopped) run.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnabert/autograd/tape.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/parallel/communicator.hpp"
#include "dnabert/train/optimizer.hpp"
#include "dnabert/train/schedule.hpp"

namespace dnabert::train {

/// One evaluation on held-out data.
struct evaluation {
  std::int64_t step = 0;
  double loss = 0;
  nlohmann::json metrics;  ///< metrics_report::to_json() for classification (multi_label_report::to_json() for multi-label), empty otherwise
  double score = 0;        ///< the value the best model is chosen by (higher is better)
};

/// What a micro-batch contributed, as returned by the caller's loss function.
template <class B>
struct micro_batch_loss {
  autograd::var<B> loss;         ///< scalar mean loss of the micro-batch, recorded on the tape
  std::int64_t tokens = 0;       ///< real tokens in it (for tokens/s)
  std::int64_t epoch = 0;        ///< the epoch it belongs to
  bool ends_epoch = false;       ///< whether it is the epoch's last micro-batch
};

/// Progress after each optimizer step, for displays.
struct step_report {
  std::int64_t step = 0;
  std::int64_t total_steps = 0;
  double loss = 0;           ///< mean over the step's micro-batches (NaN for a skipped step)
  double learning_rate = 0;
  std::int64_t tokens_seen = 0;
};

/// How a run is driven and kept, the same for every trainer: accumulation, clipping, the rate's
/// shape after warmup, evaluation
/// and checkpoint cadence, the non-finite rule, the seed, resume and the callbacks. The trainers'
/// options extend it, and hand it to the loop unchanged.
struct run_settings {
  std::int64_t gradient_accumulation_steps = 1;   ///< micro-batches per optimizer step on each rank
  double max_grad_norm = 1.0;                     ///< global-norm clipping (<= 0: none)
  schedule_shape lr_schedule = schedule_shape::linear;  ///< the learning rate after warmup (DNABERT: linear decay)
  std::int64_t eval_steps = 0;                    ///< evaluate every N steps (0: the trainer's default)
  std::int64_t save_steps = 0;                    ///< checkpoint-<step>/ every N steps (0: none)
  std::size_t save_total_limit = 2;               ///< checkpoints kept (0: all)
  bool skip_nonfinite = false;                    ///< skip a step with a non-finite loss or gradient instead of stopping
  std::uint64_t seed = 42;                        ///< with the micro-batch index, fixes data order, masking and dropout
  std::string resume_from;                        ///< checkpoint folder to continue exactly (empty: fresh start)
  /// Read before each optimizer step: once true, the run writes checkpoint-<step>/ and returns
  /// with training_summary::interrupted. An atomic a signal handler may set (stop_on_signals).
  const std::atomic<bool>* stop_request = nullptr;
  std::function<void(const step_report&)> progress;
  std::function<void(const std::string&)> notice;  ///< messages for the user (resume, skipped steps)
  /// The ranks of a data-parallel run (null: one process). Rank r takes the micro-batches
  /// i ≡ r (mod ranks) of the sequence one process would take; only rank 0 writes files.
  parallel::communicator* communicator = nullptr;
  /// With several ranks: sum each part of the model's gradients over the ranks as soon as the
  /// last micro-batch's backward pass has finished it (false: after the whole pass; the same sums).
  bool overlap_gradient_sum = true;

  /// The ranks the run is spread over.
  [[nodiscard]] parallel::communicator& ranks() const { return communicator ? *communicator : parallel::one_process(); }
  /// Micro-batches per optimizer step over all ranks: what one process would accumulate.
  [[nodiscard]] std::int64_t micro_batches_per_step() const { return gradient_accumulation_steps * ranks().size(); }

  /// Passes `text` to `notice`, when one is set.
  void announce(const std::string& text) const {
    if (notice) notice(text);
  }

  /// Throws config_error for settings no run can honour.
  void check() const {
    if (gradient_accumulation_steps < 1) throw config_error("gradient accumulation needs at least 1 micro-batch");
    if (eval_steps < 0 || save_steps < 0) throw config_error("evaluation and checkpoint intervals must be >= 0");
  }
};

/// How the loop runs: the shared settings plus what each trainer works out for it.
struct training_options : run_settings {
  std::string kind = "finetune";                  ///< recorded in trainer_state.json
  std::int64_t total_steps = 0;                   ///< optimizer steps (the schedule's length)
  std::int64_t batch_size = 1;                    ///< sequences per micro-batch (recorded, checked on resume)
  adamw_options optimizer = adamw_options::finetuning();
  std::int64_t warmup_steps = 0;
  std::int64_t logging_steps = 1;                 ///< a log.jsonl line every N steps
  std::int64_t early_stopping_patience = 0;       ///< stop after N evaluations without improvement (0: never)
  bool keep_best = false;                         ///< the output folder gets the best evaluated model, not the last
  std::string score_name;                         ///< what evaluation scores are, for curves.svg (empty: not drawn)

  /// Throws config_error for options no run can honour (the shared settings' checks included).
  void check() const {
    if (total_steps <= 0) throw config_error("training needs at least one step");
    run_settings::check();
    if (batch_size < 1) throw config_error("batch size must be at least 1");
  }
};

/// What a run produced.
struct training_summary {
  std::int64_t steps = 0;
  std::int64_t skipped_steps = 0;
  bool stopped_early = false;
  bool interrupted = false;         ///< a stop request ended the run after `steps` of its steps
  std::string resume_checkpoint;    ///< with interrupted: the checkpoint folder that continues the run
  std::vector<std::pair<double, double>> train_loss;  ///< (step, loss) of every logged step
  std::vector<evaluation> evaluations;
  std::optional<evaluation> best;
};

}  // namespace dnabert::train
