#pragma once
// The record a training run keeps as it goes: log.jsonl (one JSON line per logged step, skipped
// step and evaluation, appended and flushed) and curves.svg drawn from it; a resumed run reads
// its history back.

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/svg_chart.hpp"
#include "dnabert/train/training_types.hpp"

namespace dnabert::train::detail {

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

/// Steps a point of the smoothed training-loss curve averages: about a hundredth of the run, at
/// least 10, so the curve shows the trend that the per-step loss (mostly masking and batch noise)
/// hides; 1 (no smoothing) for runs under 20 logged steps.
inline std::size_t smoothing_window(std::size_t logged_steps) {
  return logged_steps < 20 ? 1 : std::max<std::size_t>(10, logged_steps / 100);
}

/// curves.svg: training loss per step (faint), its means over consecutive windows of
/// smoothing_window steps, evaluation loss and score per evaluation.
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
  const std::size_t window = smoothing_window(run.train_loss.size());
  if (window > 1) {
    chart.series = {{"train loss per step", thin_points(run.train_loss, 2000), "#c6dbef"},
                    {"train loss, mean of " + std::to_string(window) + " steps",
                     thin_points(run.train_loss, run.train_loss.size() / window), "#1f77b4"}};
  } else {
    chart.series = {{"train loss", run.train_loss, "#1f77b4"}};
  }
  if (!dev.points.empty()) chart.series.push_back(dev);
  if (!score.points.empty()) chart.series.push_back(score);
  return chart;
}

/// log.jsonl of a run: one JSON object per line, appended as the run goes. On resume the lines
/// of steps after the checkpoint (work the killed run did and the resumed one redoes) are dropped
/// and the curves' history is read back from the rest.
class training_log {
 public:
  /// Opens `path` for a fresh run (emptied) or for a run resumed at `resumed_step` (> 0); with
  /// `writes` false (a data-parallel rank other than 0) only reads a resumed run's history.
  training_log(std::string path, std::int64_t resumed_step, training_summary& run, bool writes = true)
      : path_(std::move(path)) {
    std::string kept;
    if (resumed_step > 0) kept = history_until(resumed_step, run);
    if (!writes) return;
    io::write_file_atomically(path_, kept);
    out_.open(path_, std::ios::app | std::ios::binary);
    if (!out_) throw error("cannot append to " + path_);
  }

  /// Appends one line and flushes it (a killed run loses at most the line being written).
  void append(const nlohmann::json& line) {
    if (!out_.is_open()) return;
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

/// A run's summary as it grows, with log.jsonl and curves.svg in its output folder kept in step.
class run_history {
 public:
  /// Starts the record in `output_dir` for a fresh run (resumed_step 0) or one resumed at
  /// `resumed_step`, whose best evaluation (at `best_step`, when it has one) is found again.
  /// With `writes_files` false it is kept in memory only.
  run_history(const std::string& output_dir, std::string kind, std::string score_name, std::int64_t resumed_step,
              std::optional<std::int64_t> best_step, bool writes_files = true)
      : curves_path_(writes_files ? output_dir + "/curves.svg" : std::string()),
        kind_(std::move(kind)),
        score_name_(std::move(score_name)),
        log_(output_dir + "/log.jsonl", resumed_step, summary_, writes_files) {
    if (best_step)
      for (const auto& e : summary_.evaluations)
        if (e.step == *best_step) summary_.best = e;
  }

  /// The summary so far.
  [[nodiscard]] training_summary& summary() noexcept { return summary_; }
  /// The summary so far, read-only.
  [[nodiscard]] const training_summary& summary() const noexcept { return summary_; }

  /// A logged optimizer step: its loss goes on the curve and its line into log.jsonl.
  void log_step(std::int64_t step, double loss, double lr, double grad_norm, std::int64_t tokens, std::int64_t epoch) {
    summary_.train_loss.emplace_back(static_cast<double>(step), loss);
    log_.append({{"step", step}, {"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm}, {"tokens", tokens}, {"epoch", epoch}});
  }

  /// A step skipped for `reason`.
  void log_skipped(std::int64_t step, const std::string& reason) { log_.append({{"step", step}, {"skipped", reason}}); }

  /// An evaluation, kept in the summary and logged.
  void log_evaluation(const evaluation& e) {
    summary_.evaluations.push_back(e);
    log_.append({{"step", e.step}, {"eval_loss", e.loss}, {"eval_score", e.score}, {"eval_metrics", e.metrics}});
  }

  /// Redraws curves.svg from the summary.
  void draw_curves() const {
    if (!curves_path_.empty()) io::write_svg(curves_path_, training_curves(summary_, kind_, score_name_));
  }

 private:
  std::string curves_path_;
  std::string kind_;
  std::string score_name_;
  training_summary summary_;  // before log_, which reads a resumed run's history into it
  training_log log_;
};

}  // namespace dnabert::train::detail
