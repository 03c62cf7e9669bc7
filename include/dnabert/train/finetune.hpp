#pragma once
// Fine-tuning a sequence classifier (single- or multi-label) or regressor as DNABERT's run_finetune.py does: AdamW
// with DNABERT's no-decay groups, linear warmup then decay, gradient clipping, evaluation on a
// dev set, the best model by a chosen metric saved as a Hugging Face folder; checkpoints,
// resume, early stopping and class weights through the shared training loop.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnabert/core/softmax.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/train/dataset.hpp"
#include "dnabert/train/metrics.hpp"
#include "dnabert/train/training_loop.hpp"

namespace dnabert::train {

/// Fine-tuning settings; the defaults are DNABERT's README recipe (section 3.3 of
/// https://github.com/jerryji1993/DNABERT/blob/master/README.md). eval_steps 0 evaluates at the end of each epoch.
struct finetune_options : run_settings {
  int epochs = 5;
  std::int64_t max_steps = 0;  ///< > 0: stop after this many steps (overrides epochs)
  std::size_t batch_size = 32;
  adamw_options optimizer = adamw_options::finetuning();
  double warmup_fraction = 0.1;
  std::string best_metric = "auc";  ///< DNABERT keeps the best AUC; regression uses the dev loss
  std::int64_t early_stopping_patience = 0;  ///< stop after N evaluations without improvement (0: never)
  std::vector<double> class_weights;  ///< per-class loss weights (empty: all 1), as torch's CrossEntropyLoss(weight)
  /// DNABERT 2.5 compatibility (forward_options::dnabert_2_5_compat; off by default): training and dev
  /// batches padded to max_seq_length tokens, their padding attended as DNABERT's code attends it.
  /// Build the datasets with max_kmers = max_seq_length - 2, which cuts inputs as DNABERT does.
  bool dnabert_2_5_compat = false;
  std::size_t max_seq_length = 0;  ///< with dnabert_2_5_compat: tokens per input; 0: the model's max_position_embeddings
};

namespace detail {

/// Fine-tuning and evaluation read the [CLS] logits only, so padding is removed, not computed
/// (unless `compat`: DNABERT 2.5 compatibility, where padding counts).
inline forward_options classification_outputs(bool compat = false) {
  forward_options outputs;
  outputs.remove_padding = true;
  outputs.dnabert_2_5_compat = compat;
  return outputs;
}

/// Calls consume(batch, logits [rows, num_labels]) for `data` in batches (no dropout, nothing
/// recorded); `pad_to` > 0 runs in DNABERT 2.5 compatibility with batches padded to that many tokens.
template <class Spec, class B, class Consume>
void for_each_logit_batch(const Bert<Spec, B>& model, const labelled_dataset& data, std::size_t batch_size,
                          std::size_t pad_to, Consume&& consume) {
  B& be = model.backend();
  std::vector<std::size_t> indices;
  for (std::size_t start = 0; start < data.size(); start += batch_size) {
    indices.clear();
    for (std::size_t i = start; i < std::min(data.size(), start + batch_size); ++i) indices.push_back(i);
    const auto batch = data.batch(indices, pad_to);
    autograd::tape<B> tape(be);
    nn::forward_context<B> ctx{tape};
    const auto out = model.forward(ctx, batch.tokens, detail::classification_outputs(pad_to > 0));
    const auto logit_values = host_floats(be, out.logits.value());
    consume(batch, std::span<const float>(logit_values));
  }
}

/// A multi-label model's mean BCE loss (over every sample and label) and metrics on `data`.
template <class Spec, class B>
evaluation evaluate_multi_label(const Bert<Spec, B>& model, const labelled_dataset& data, std::size_t batch_size,
                                std::int64_t step, const std::string& best_metric, std::size_t pad_to) {
  std::vector<int> labels;
  std::vector<double> probabilities;
  double loss_sum = 0;
  for_each_logit_batch(model, data, batch_size, pad_to, [&](const labelled_batch& batch, std::span<const float> logits) {
    for (std::size_t i = 0; i < logits.size(); ++i) {
      loss_sum += binary_cross_entropy_with_logit(logits[i], batch.multi_labels[i]);
      probabilities.push_back(sigmoid(logits[i]));
      labels.push_back(static_cast<int>(batch.multi_labels[i]));
    }
  });
  evaluation result;
  result.step = step;
  result.loss = labels.empty() ? 0.0 : loss_sum / static_cast<double>(labels.size());
  if (labels.empty()) return result;
  const auto report = compute_multi_label_metrics(labels, probabilities, static_cast<int>(model.config().num_labels));
  result.metrics = report.to_json();
  result.score = report.value(best_metric);
  return result;
}

/// Mean loss and predictions of `model` on `data` (no dropout, nothing recorded); `pad_to` as
/// for_each_logit_batch.
template <class Spec, class B>
evaluation evaluate_model(const Bert<Spec, B>& model, const labelled_dataset& data, std::size_t batch_size,
                          std::int64_t step, const std::string& best_metric, std::size_t pad_to = 0) {
  if (model.config().problem() == classifier_problem::multi_label)
    return evaluate_multi_label(model, data, batch_size, step, best_metric, pad_to);
  const auto classes = model.config().num_labels;
  std::vector<int> labels, predicted;
  std::vector<double> probabilities;
  double loss_sum = 0;
  for_each_logit_batch(model, data, batch_size, pad_to, [&](const labelled_batch& batch, std::span<const float> logits) {
    for (std::size_t r = 0; r < batch.labels.size(); ++r) {
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
  });
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

}  // namespace detail

/// Fine-tunes `model` (a sequence-classification Bert) on `train_set`, evaluating on `dev_set`
/// (when it is not empty); writes the best model (or the last, without a dev set), log.jsonl,
/// curves.svg and checkpoints into `output_dir` (created if needed).
template <class Spec, class B>
training_summary finetune(Bert<Spec, B>& model, const labelled_dataset& train_set, const labelled_dataset& dev_set,
                          const finetune_options& options, const std::string& output_dir) {
  if (model.head() != bert_head::sequence_classification)
    throw config_error("fine-tuning needs a BertForSequenceClassification model");
  if (train_set.size() == 0) throw input_error("the training set is empty");
  if (options.batch_size == 0) throw config_error("batch size must be at least 1");
  options.check();
  B& be = model.backend();
  const auto classes = model.config().num_labels;
  for (const auto* set : {&train_set, &dev_set})
    if (set->size() > 0 && (set->pooling() != model.config().long_pooling ||
        (set->pooling() != piece_pooling::none && set->split() != static_cast<std::size_t>(model.config().split))))
      throw config_error("the data was tokenized for " + std::string(piece_pooling_name(set->pooling())) +
                         " pooling over " + std::to_string(set->split()) + " pieces, but the model reads long sequences by " +
                         std::string(piece_pooling_name(model.config().long_pooling)) + " pooling over " +
                         std::to_string(model.config().split) + " pieces");
  const bool multi_label = model.config().problem() == classifier_problem::multi_label;
  if (multi_label) {  // refuse bad labels before the first step
    train_set.check_multi_labels(classes);
    dev_set.check_multi_labels(classes);
  } else if (classes > 1) {
    (void)train_set.class_labels(classes);
    (void)dev_set.class_labels(classes);
  }
  const auto positions = static_cast<std::size_t>(model.config().max_position_embeddings);
  const std::size_t pad_to = !options.dnabert_2_5_compat ? 0 : options.max_seq_length > 0 ? options.max_seq_length : positions;
  if (pad_to > positions)
    throw config_error("max_seq_length " + std::to_string(pad_to) + " exceeds the model's " + std::to_string(positions) +
                       " positions");
  const auto batches_per_epoch = static_cast<std::int64_t>((train_set.size() + options.batch_size - 1) / options.batch_size);
  training_options loop;
  static_cast<run_settings&>(loop) = options;
  loop.kind = "finetune";
  loop.batch_size = static_cast<std::int64_t>(options.batch_size);
  loop.total_steps = options.max_steps > 0 ? options.max_steps
                                           : (batches_per_epoch * options.epochs + options.micro_batches_per_step() - 1) /
                                                 options.micro_batches_per_step();
  loop.optimizer = options.optimizer;
  loop.warmup_steps = warmup_from_fraction(options.warmup_fraction, loop.total_steps);
  loop.early_stopping_patience = options.early_stopping_patience;
  loop.keep_best = dev_set.size() > 0;
  // regression is scored by the dev loss, drawn already
  if (classes > 1 || multi_label) loop.score_name = options.best_metric;

  std::optional<tensor<B>> weights;
  if (!options.class_weights.empty()) {
    if (classes < 2 || multi_label)
      throw config_error("class weights need a single-label classifier (num_labels >= 2), not regression or multi-label");
    if (static_cast<std::int64_t>(options.class_weights.size()) != classes)
      throw config_error("got " + std::to_string(options.class_weights.size()) + " class weights for " +
                         std::to_string(classes) + " classes");
    std::vector<typename B::value_type> host(options.class_weights.begin(), options.class_weights.end());
    weights.emplace(be, shape_type{classes});
    upload(be, host.data(), weights->data(), weights->numel());
  }

  std::vector<std::size_t> order;
  std::int64_t order_epoch = -1;
  auto micro_batch = [&](nn::forward_context<B>& ctx, std::int64_t index) {
    micro_batch_loss<B> part;
    part.epoch = index / batches_per_epoch;
    const std::int64_t position = index % batches_per_epoch;
    part.ends_epoch = position == batches_per_epoch - 1;
    if (part.epoch != order_epoch) {
      order = epoch_order(train_set.size(), options.seed, static_cast<std::uint64_t>(part.epoch));
      order_epoch = part.epoch;
    }
    const auto start = static_cast<std::size_t>(position) * options.batch_size;
    const std::span<const std::size_t> indices(order.data() + start, std::min(options.batch_size, order.size() - start));
    const auto batch = train_set.batch(indices, pad_to);
    for (const auto& row : batch.tokens.attention_mask) part.tokens += row;
    const auto out = model.forward(ctx, batch.tokens, detail::classification_outputs(pad_to > 0));
    if (multi_label) {
      tensor<B> targets(be, {static_cast<std::int64_t>(indices.size()), classes});
      std::vector<typename B::value_type> host(batch.multi_labels.begin(), batch.multi_labels.end());
      upload(be, host.data(), targets.data(), targets.numel());
      part.loss = autograd::bce_with_logits(ctx.tape, out.logits, targets);
    } else if (classes == 1) {

      tensor<B> targets(be, {static_cast<std::int64_t>(indices.size()), 1});
      std::vector<typename B::value_type> host(batch.labels.begin(), batch.labels.end());
      upload(be, host.data(), targets.data(), targets.numel());
      part.loss = autograd::mse(ctx.tape, out.logits, targets);
    } else {
      autograd::id_tensor<B> labels(be, {static_cast<std::int64_t>(indices.size())});
      std::vector<std::int32_t> host(batch.labels.begin(), batch.labels.end());
      upload(be, host.data(), labels.data(), labels.numel());
      part.loss = autograd::cross_entropy(ctx.tape, out.logits, labels, weights ? &*weights : nullptr);
    }
    return part;
  };
  std::function<evaluation(std::int64_t)> evaluate;
  if (dev_set.size() > 0)
    evaluate = [&](std::int64_t step) {
      return detail::evaluate_model(model, dev_set, options.batch_size, step, options.best_metric, pad_to);
    };
  return run_training(model, loop, output_dir, micro_batch, evaluate);
}

}  // namespace dnabert::train
