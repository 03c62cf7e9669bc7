#pragma once
// Fine-tuning a sequence classifier (or regressor) as DNABERT's run_finetune.py does: AdamW
// with DNABERT's no-decay groups, linear warmup then decay, gradient clipping, evaluation on a
// dev set, the best model by a chosen metric saved as a Hugging Face folder, and every logged
// step in log.jsonl with the curves drawn in curves.svg.

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnabert/backend/random.hpp"
#include "dnabert/core/softmax.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/svg_chart.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/train/dataset.hpp"
#include "dnabert/train/metrics.hpp"
#include "dnabert/train/optimizer.hpp"
#include "dnabert/train/schedule.hpp"

namespace dnabert::train {

/// Fine-tuning settings; the defaults are DNABERT's README recipe (spec §4.3).
struct finetune_options {
  int epochs = 5;
  std::int64_t max_steps = 0;  ///< > 0: stop after this many steps (overrides epochs)
  std::size_t batch_size = 32;
  adamw_options optimizer = adamw_options::finetuning();
  double warmup_fraction = 0.1;
  double max_grad_norm = 1.0;
  std::int64_t eval_steps = 0;  ///< evaluate every N steps (0: at the end of each epoch)
  std::string best_metric = "auc";  ///< DNABERT keeps the best AUC; regression uses the dev loss
  std::uint64_t seed = 42;
  /// Called after every step with (step, total steps, loss, learning rate), for progress displays.
  std::function<void(std::int64_t, std::int64_t, double, double)> progress;
};

/// One evaluation on the dev set.
struct evaluation {
  std::int64_t step = 0;
  double loss = 0;
  nlohmann::json metrics;  ///< metrics_report::to_json() (classification), empty for regression
  double score = 0;        ///< the value the best model is chosen by (higher is better)
};

/// What a fine-tuning run produced.
struct finetune_result {
  std::int64_t steps = 0;
  std::vector<std::pair<double, double>> train_loss;  ///< (step, loss) of every step
  std::vector<evaluation> evaluations;
  std::optional<evaluation> best;
};

namespace detail {

/// Mean loss and predictions of `model` on `data` (no dropout, nothing recorded).
template <class Spec, class B>
evaluation evaluate_model(const Bert<Spec, B>& model, const labelled_dataset& data, std::size_t batch_size,
                          std::int64_t step, const std::string& best_metric) {
  B& be = model.backend();
  const auto classes = model.config().num_labels;
  std::vector<int> labels, predicted;
  std::vector<double> probabilities;
  double loss_sum = 0;
  std::vector<std::size_t> indices;
  for (std::size_t start = 0; start < data.size(); start += batch_size) {
    indices.clear();
    for (std::size_t i = start; i < std::min(data.size(), start + batch_size); ++i) indices.push_back(i);
    const auto batch = data.batch(indices);
    autograd::tape<B> tape(be);
    nn::forward_context<B> ctx{tape};
    const auto out = model.forward(ctx, batch.tokens);
    const auto logits = out.logits.value().span();
    for (std::size_t r = 0; r < indices.size(); ++r) {
      const double label = batch.labels[r];
      if (classes == 1) {
        loss_sum += (logits[r] - label) * (logits[r] - label);
        continue;
      }
      const auto row = logits.subspan(r * static_cast<std::size_t>(classes), static_cast<std::size_t>(classes));
      const std::size_t first = probabilities.size();
      probabilities.resize(first + row.size());
      const auto summary = softmax_row<float, double>(row, std::span<double>(probabilities).subspan(first));
      loss_sum += summary.log_sum_exp - row[static_cast<std::size_t>(label)];
      predicted.push_back(static_cast<int>(summary.argmax));
      labels.push_back(static_cast<int>(label));
    }
  }
  evaluation result;
  result.step = step;
  result.loss = data.size() ? loss_sum / static_cast<double>(data.size()) : 0.0;
  if (classes == 1) {
    result.score = -result.loss;
    return result;
  }
  const auto report = compute_metrics(labels, predicted, probabilities, static_cast<int>(classes));
  result.metrics = report.to_json();
  result.score = report.value(best_metric);
  return result;
}

/// curves.svg: training loss per step, dev loss and the chosen dev metric per evaluation.
inline io::line_chart training_curves(const finetune_result& run, const std::string& metric) {
  io::line_chart chart;
  chart.title = "fine-tuning";
  chart.y_label = "loss / " + metric;
  io::chart_series train{"train loss", run.train_loss, "#1f77b4"};
  io::chart_series dev{"dev loss", {}, "#d62728"};
  io::chart_series score{"dev " + metric, {}, "#2ca02c"};
  for (const auto& e : run.evaluations) {
    dev.points.emplace_back(static_cast<double>(e.step), e.loss);
    if (!e.metrics.is_null()) score.points.emplace_back(static_cast<double>(e.step), e.score);
  }
  chart.series = {train, dev};
  if (!score.points.empty()) chart.series.push_back(score);
  return chart;
}

}  // namespace detail

/// Fine-tunes `model` (a sequence-classification Bert) on `train_set`, evaluating on `dev_set`;
/// writes the best model, log.jsonl and curves.svg into `output_dir` (created if needed).
template <class Spec, class B>
finetune_result finetune(Bert<Spec, B>& model, const labelled_dataset& train_set, const labelled_dataset& dev_set,
                         const finetune_options& options, const std::string& output_dir) {
  if (model.head() != bert_head::sequence_classification)
    throw config_error("fine-tuning needs a BertForSequenceClassification model");
  if (train_set.size() == 0) throw input_error("the training set is empty");
  if (options.batch_size == 0) throw config_error("batch size must be at least 1");
  B& be = model.backend();
  const auto classes = model.config().num_labels;
  if (classes > 1) {
    (void)train_set.class_labels(classes);  // refuse bad labels before the first step
    (void)dev_set.class_labels(classes);
  }
  const auto batches_per_epoch = static_cast<std::int64_t>((train_set.size() + options.batch_size - 1) / options.batch_size);
  const std::int64_t total = options.max_steps > 0 ? options.max_steps : batches_per_epoch * options.epochs;
  const linear_schedule schedule(options.optimizer.lr, warmup_from_fraction(options.warmup_fraction, total), total);
  adamw<B> optimizer(be, model.parameters(), options.optimizer);
  std::filesystem::create_directories(output_dir);
  const std::string log_path = output_dir + "/log.jsonl";
  std::string log_text;

  finetune_result run;
  auto evaluate_now = [&](std::int64_t step) {
    evaluation e = detail::evaluate_model(model, dev_set, options.batch_size, step, options.best_metric);
    run.evaluations.push_back(e);
    log_text += nlohmann::json{{"step", step}, {"dev_loss", e.loss}, {"dev_metrics", e.metrics}}.dump() + "\n";
    if (!run.best || e.score > run.best->score) {
      run.best = e;
      model.save(output_dir);
    }
    io::write_file_atomically(log_path, log_text);
    io::write_svg(output_dir + "/curves.svg", detail::training_curves(run, options.best_metric));
  };

  std::int64_t step = 0;
  for (std::uint64_t epoch = 0; step < total; ++epoch) {
    const auto order = epoch_order(train_set.size(), options.seed, epoch);
    for (std::size_t start = 0; start < order.size() && step < total; start += options.batch_size) {
      const std::span<const std::size_t> indices(order.data() + start, std::min(options.batch_size, order.size() - start));
      const auto batch = train_set.batch(indices);
      zero_grad(model.parameters());
      autograd::tape<B> tape(be, true);
      nn::forward_context<B> ctx{tape, backend::mix64(options.seed ^ backend::mix64(static_cast<std::uint64_t>(step)))};
      const auto out = model.forward(ctx, batch.tokens);
      autograd::var<B> loss;
      if (classes == 1) {
        tensor<B> targets(be, {static_cast<std::int64_t>(indices.size()), 1});
        std::vector<typename B::value_type> host(batch.labels.begin(), batch.labels.end());
        upload(be, host.data(), targets.data(), targets.numel());
        loss = autograd::mse(tape, out.logits, targets);
      } else {
        autograd::id_tensor<B> labels(be, {static_cast<std::int64_t>(indices.size())});
        std::vector<std::int32_t> host(batch.labels.begin(), batch.labels.end());
        upload(be, host.data(), labels.data(), labels.numel());
        loss = autograd::cross_entropy(tape, out.logits, labels);
      }
      typename B::value_type loss_value{};
      download(be, loss.value().data(), &loss_value, 1);
      if (!std::isfinite(static_cast<double>(loss_value)))
        throw error("non-finite training loss at step " + std::to_string(step + 1) +
                    (run.best ? "; the best model so far is in " + output_dir : std::string()));
      tape.backward(loss);
      clip_grad_norm(be, model.parameters(), options.max_grad_norm);
      const double lr = schedule.lr(step);
      optimizer.step(lr);
      ++step;
      run.train_loss.emplace_back(static_cast<double>(step), static_cast<double>(loss_value));
      log_text += nlohmann::json{{"step", step}, {"loss", loss_value}, {"lr", lr}}.dump() + "\n";
      if (options.progress) options.progress(step, total, static_cast<double>(loss_value), lr);
      if (options.eval_steps > 0 && step % options.eval_steps == 0) evaluate_now(step);
    }
    if (options.eval_steps <= 0) evaluate_now(step);
  }
  if (run.evaluations.empty() || run.evaluations.back().step != step) evaluate_now(step);
  run.steps = step;
  return run;
}

}  // namespace dnabert::train
