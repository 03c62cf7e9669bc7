#pragma once
// The loop both trainers share: micro-batches, gradient accumulation, clipping, AdamW on a
// warmup/decay schedule, non-finite guards, evaluation, best model, checkpoints and exact resume.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnabert/core/rng.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/svg_chart.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/train/checkpoint.hpp"
#include "dnabert/train/optimizer.hpp"
#include "dnabert/train/schedule.hpp"

namespace dnabert::train {

/// One evaluation on held-out data.
struct evaluation {
  std::int64_t step = 0;
  double loss = 0;
  nlohmann::json metrics;  ///< metrics_report::to_json() for classification, empty otherwise
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

/// How a run is driven and kept, the same for every trainer: accumulation, clipping, evaluation
/// and checkpoint cadence, the non-finite rule, the seed, resume and the callbacks. The trainers'
/// options extend it, and hand it to the loop unchanged.
struct run_settings {
  std::int64_t gradient_accumulation_steps = 1;   ///< micro-batches per optimizer step
  double max_grad_norm = 1.0;                     ///< global-norm clipping (<= 0: none)
  std::int64_t eval_steps = 0;                    ///< evaluate every N steps (0: the trainer's default)
  std::int64_t save_steps = 0;                    ///< checkpoint-<step>/ every N steps (0: none)
  std::size_t save_total_limit = 2;               ///< checkpoints kept (0: all)
  bool skip_nonfinite = false;                    ///< skip a step with a non-finite loss or gradient instead of stopping
  std::uint64_t seed = 42;                        ///< with the micro-batch index, fixes data order, masking and dropout
  std::string resume_from;                        ///< checkpoint folder to continue exactly (empty: fresh start)
  std::function<void(const step_report&)> progress;
  std::function<void(const std::string&)> notice;  ///< messages for the user (resume, skipped steps)

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
};

/// What a run produced.
struct training_summary {
  std::int64_t steps = 0;
  std::int64_t skipped_steps = 0;
  bool stopped_early = false;
  std::vector<std::pair<double, double>> train_loss;  ///< (step, loss) of every logged step
  std::vector<evaluation> evaluations;
  std::optional<evaluation> best;
};

namespace detail {

/// At most `limit` points: consecutive points averaged in equal buckets, so a 200k-step curve
/// stays a readable, small SVG.
inline std::vector<std::pair<double, double>> thin_points(const std::vector<std::pair<double, double>>& points,
                                                          std::size_t limit) {
  if (points.size() <= limit) return points;
  std::vector<std::pair<double, double>> out;
  const double per_bucket = static_cast<double>(points.size()) / static_cast<double>(limit);
  for (std::size_t b = 0; b < limit; ++b) {
    const auto from = static_cast<std::size_t>(static_cast<double>(b) * per_bucket);
    const auto to = std::min(points.size(), static_cast<std::size_t>(static_cast<double>(b + 1) * per_bucket));
    double x = 0, y = 0;
    for (std::size_t i = from; i < to; ++i) x += points[i].first, y += points[i].second;
    const auto n = static_cast<double>(to - from);
    if (n > 0) out.emplace_back(x / n, y / n);
  }
  return out;
}

/// curves.svg: training loss per step, evaluation loss and score per evaluation.
inline io::line_chart training_curves(const training_summary& run, const std::string& title,
                                      const std::string& score_name) {
  io::line_chart chart;
  chart.title = title;
  chart.x_label = "step";
  chart.y_label = score_name.empty() ? "loss" : "loss / " + score_name;
  io::chart_series dev{"eval loss", {}, "#d62728"};
  io::chart_series score{"eval " + score_name, {}, "#2ca02c"};
  for (const auto& e : run.evaluations) {
    dev.points.emplace_back(static_cast<double>(e.step), e.loss);
    if (!score_name.empty()) score.points.emplace_back(static_cast<double>(e.step), e.score);
  }
  chart.series = {{"train loss", thin_points(run.train_loss, 2000), "#1f77b4"}};
  if (!dev.points.empty()) chart.series.push_back(dev);
  if (!score.points.empty()) chart.series.push_back(score);
  return chart;
}

/// log.jsonl of a run: one JSON object per line, appended as the run goes. On resume the lines
/// of steps after the checkpoint (work the killed run did and the resumed one redoes) are dropped
/// and the curves' history is read back from the rest.
class training_log {
 public:
  /// Opens `path` for a fresh run (emptied) or for a run resumed at `resumed_step` (> 0).
  training_log(std::string path, std::int64_t resumed_step, training_summary& run) : path_(std::move(path)) {
    std::string kept;
    if (resumed_step > 0) kept = history_until(resumed_step, run);
    io::write_file_atomically(path_, kept);
    out_.open(path_, std::ios::app | std::ios::binary);
    if (!out_) throw error("cannot append to " + path_);
  }

  /// Appends one line and flushes it (a killed run loses at most the line being written).
  void append(const nlohmann::json& line) {
    out_ << line.dump() << '\n';
    out_.flush();
    if (!out_) throw error("cannot append to " + path_);
  }

 private:
  // The lines up to `step`, with their losses and evaluations put back into `run`.
  std::string history_until(std::int64_t step, training_summary& run) const {
    std::ifstream in(path_, std::ios::binary);
    std::string line, kept;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) continue;
      const auto at = j["step"].get<std::int64_t>();
      if (at > step) continue;
      kept += line + '\n';
      if (j.contains("loss") && j["loss"].is_number())
        run.train_loss.emplace_back(static_cast<double>(at), j["loss"].get<double>());
      if (j.contains("eval_loss") && j["eval_loss"].is_number())
        run.evaluations.push_back({at, j["eval_loss"].get<double>(), j.value("eval_metrics", nlohmann::json()),
                                   j.value("eval_score", 0.0)});
    }
    return kept;
  }

  std::string path_;
  std::ofstream out_;
};

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
  if (saved.gradient_accumulation_steps != options.gradient_accumulation_steps)
    mismatch("gradient accumulation", std::to_string(saved.gradient_accumulation_steps),
             std::to_string(options.gradient_accumulation_steps));
  if (saved.step > options.total_steps)
    throw config_error("cannot resume " + dir + ": it is at step " + std::to_string(saved.step) +
                       ", past this run's " + std::to_string(options.total_steps) + " steps");
}

}  // namespace detail

/// Trains `model` for options.total_steps optimizer steps. `micro_batch(ctx, index)` builds the
/// micro-batch with global index `index` (step · accumulation + j), runs the model with `ctx` and
/// returns its loss; `evaluate(step)`, when set, scores the model on held-out data. Writes
/// log.jsonl, curves.svg, checkpoint-<step>/ folders and the final (or best) model into
/// `output_dir`. With options.resume_from it continues that checkpoint exactly: the caller has
/// loaded the model from it, the loop restores the optimizer and the position.
template <class Spec, class B, class MicroBatch>
training_summary run_training(Bert<Spec, B>& model, const training_options& options, const std::string& output_dir,
                              MicroBatch&& micro_batch, const std::function<evaluation(std::int64_t)>& evaluate = {}) {
  if (options.total_steps <= 0) throw config_error("training needs at least one step");
  options.check();
  if (options.batch_size < 1) throw config_error("batch size must be at least 1");
  B& be = model.backend();
  const auto& params = model.parameters();
  adamw<B> optimizer(be, params, options.optimizer);
  const linear_schedule schedule(options.optimizer.lr, options.warmup_steps, options.total_steps);
  const auto notice = [&](const std::string& text) {
    if (options.notice) options.notice(text);
  };

  trainer_state state;
  if (!options.resume_from.empty()) {
    state = load_optimizer_checkpoint(options.resume_from, optimizer);
    detail::check_resumable(state, options, options.resume_from);
    if (state.total_steps != options.total_steps)
      notice("the checkpoint planned " + std::to_string(state.total_steps) + " steps, this run " +
             std::to_string(options.total_steps) + ": the learning-rate schedule changes from here");
    notice("resuming " + options.resume_from + " at step " + std::to_string(state.step));
  }
  state.kind = options.kind;
  state.total_steps = options.total_steps;
  state.seed = options.seed;
  state.batch_size = options.batch_size;
  state.gradient_accumulation_steps = options.gradient_accumulation_steps;

  std::filesystem::create_directories(output_dir);
  training_summary run;
  detail::training_log log(output_dir + "/log.jsonl", state.step, run);
  if (state.best_score)
    for (const auto& e : run.evaluations)
      if (e.step == state.best_step) run.best = e;
  const auto draw_curves = [&] {
    io::write_svg(output_dir + "/curves.svg", detail::training_curves(run, options.kind, options.score_name));
  };
  const auto last_checkpoint = [&] {
    const auto found = list_checkpoints(output_dir);
    return found.empty() ? std::string("none was written") : "the last is " + found.back().second.string();
  };

  auto evaluate_now = [&](std::int64_t step) {
    evaluation e = evaluate(step);
    run.evaluations.push_back(e);
    log.append({{"step", step}, {"eval_loss", e.loss}, {"eval_score", e.score}, {"eval_metrics", e.metrics}});
    if (!state.best_score || e.score > *state.best_score) {
      state.best_score = e.score;
      state.best_step = step;
      state.evaluations_without_improvement = 0;
      run.best = e;
      if (options.keep_best) model.save(output_dir);
    } else {
      ++state.evaluations_without_improvement;
    }
    draw_curves();
  };

  const std::int64_t accumulation = options.gradient_accumulation_steps;
  bool stop = false;
  while (state.step < options.total_steps && !stop) {
    zero_grad(params);
    double loss_sum = 0;
    std::int64_t tokens = 0;
    bool ends_epoch = false;
    std::string nonfinite;
    for (std::int64_t j = 0; j < accumulation && nonfinite.empty(); ++j) {
      const std::int64_t index = state.step * accumulation + j;
      autograd::tape<B> tape(be, true);
      nn::forward_context<B> ctx{tape, mix64(options.seed ^ mix64(static_cast<std::uint64_t>(index)))};
      micro_batch_loss<B> part = micro_batch(ctx, index);
      typename B::value_type value{};
      download(be, part.loss.value().data(), &value, 1);
      if (!std::isfinite(static_cast<double>(value))) {
        nonfinite = "loss";
        break;
      }
      tape.backward(part.loss);
      loss_sum += static_cast<double>(value);
      tokens += part.tokens;
      state.epoch = part.ends_epoch ? part.epoch + 1 : part.epoch;
      ends_epoch = ends_epoch || part.ends_epoch;
    }
    double norm = 0;
    if (nonfinite.empty()) {
      if (accumulation > 1) scale_gradients(be, params, 1.0 / static_cast<double>(accumulation));
      norm = options.max_grad_norm > 0 ? clip_grad_norm(be, params, options.max_grad_norm) : gradient_norm(be, params);
      if (!std::isfinite(norm)) nonfinite = "gradient";
    }
    const double lr = schedule.lr(state.step);
    ++state.step;
    const double loss = nonfinite.empty() ? loss_sum / static_cast<double>(accumulation) : std::nan("");
    if (!nonfinite.empty()) {
      zero_grad(params);
      if (!options.skip_nonfinite)
        throw error("non-finite " + nonfinite + " at step " + std::to_string(state.step) +
                    "; training stopped (" + last_checkpoint() + "; --skip-nonfinite skips such steps)");
      ++state.skipped_steps;
      log.append({{"step", state.step}, {"skipped", "non-finite " + nonfinite}});
      notice("step " + std::to_string(state.step) + " skipped: non-finite " + nonfinite);
    } else {
      optimizer.step(lr);
      state.tokens_seen += tokens;
      if (state.step % std::max<std::int64_t>(1, options.logging_steps) == 0) {
        run.train_loss.emplace_back(static_cast<double>(state.step), loss);
        log.append({{"step", state.step}, {"loss", loss}, {"lr", lr}, {"grad_norm", norm}, {"tokens", state.tokens_seen},
                    {"epoch", state.epoch}});
      }
    }
    if (options.progress) options.progress({state.step, options.total_steps, loss, lr, state.tokens_seen});
    const bool evaluate_here =
        evaluate && (options.eval_steps > 0 ? state.step % options.eval_steps == 0 : ends_epoch);
    if (evaluate_here) {
      evaluate_now(state.step);
      if (options.early_stopping_patience > 0 && state.evaluations_without_improvement >= options.early_stopping_patience) {
        notice("early stopping at step " + std::to_string(state.step) + ": no improvement in " +
               std::to_string(options.early_stopping_patience) + " evaluations");
        run.stopped_early = stop = true;
      }
    }
    if (options.save_steps > 0 && state.step % options.save_steps == 0) {
      save_checkpoint(output_dir + "/" + std::string(checkpoint_prefix) + std::to_string(state.step), model, optimizer,
                      state);
      rotate_checkpoints(output_dir, options.save_total_limit);
      draw_curves();  // a long run without evaluations still shows its curve as it goes
    }
  }
  if (evaluate && (run.evaluations.empty() || run.evaluations.back().step != state.step)) evaluate_now(state.step);
  if (!options.keep_best || !run.best) model.save(output_dir);
  draw_curves();
  run.steps = state.step;
  run.skipped_steps = state.skipped_steps;
  return run;
}

}  // namespace dnabert::train
