#pragma once
// `dnabert finetune`: fine-tune a pre-trained (or fine-tuned) folder on labelled sequences.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <dnabert/dnabert.hpp>

#include "input.hpp"
#include "training_run.hpp"

namespace dnabert::cli {

/// The BertConfig in `path` for a classifier shaped by `request` (zero, nullopt: as the file says),
/// multi-label when `multi_label`.
inline bert_config classifier_config(const std::string& path, const classifier_request& request, bool multi_label) {
  bert_config config = io::read_config_json(path);
  if (request.num_labels > 0 && request.num_labels != config.num_labels) {
    config.num_labels = request.num_labels;
    config.label_names.clear();
  }
  if (request.long_pooling) {
    config.split = long_pooling_split(config, request);
    config.long_pooling = *request.long_pooling;
  }
  if (multi_label) config.problem_type = problem_type_name(classifier_problem::multi_label);
  config.validate();
  config.architectures = {std::string(architecture_of(config, bert_head::sequence_classification))};
  return config;
}

/// The classifier `finetune` trains: --num-labels classes, and with --long-pooling (or
/// --max-pieces) one that reads long sequences whole (DNABERT-XL); `max_pieces` 0 keeps the
/// folder's split (long_pooling_split).
inline classifier_request requested_classifier(std::int64_t num_labels, const std::string& long_pooling,
                                               std::int64_t max_pieces) {
  if (max_pieces > 0 && (long_pooling.empty() || long_pooling == "none"))
    throw input_error("--max-pieces needs --long-pooling mean, max or concat");
  classifier_request request{num_labels, std::nullopt, max_pieces};
  if (!long_pooling.empty()) request.long_pooling = piece_pooling_from_name(long_pooling);
  return request;
}

/// The label count of a multi-label training table (`path`: its label column holds 0/1 vectors),
/// checked against --num-labels (`num_labels`, 0 when not given); 0 for a table of single labels.
inline std::int64_t multi_label_count(const std::vector<io::sequence_entry>& entries, const std::string& path,
                                      std::int64_t num_labels) {
  const auto count = entries.empty() ? 0 : static_cast<std::int64_t>(entries.front().multi_labels.size());
  if (count > 0 && num_labels > 0 && num_labels != count)
    throw input_error(path + " holds vectors of " + std::to_string(count) + " labels but --num-labels is " +
                      std::to_string(num_labels));
  return count;
}

/// Registers `finetune`.
inline void add_finetune_command(CLI::App& app) {
  struct options : trainer_cli_options<train::finetune_options> {
    std::string train, dev, train_labels, dev_labels;
    std::int64_t num_labels = 0;
    std::string long_pooling;
    std::int64_t max_pieces = 0;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("finetune", "Fine-tune a DNABERT folder on labelled sequences (best model saved)");
  auto* model = cmd->add_option("-m,--model", o->model, "pre-trained (MLM) or fine-tuned folder (not needed with --resume)");
  cmd->add_option("-c,--config", o->config, "BertConfig (config.json) of a classifier trained from scratch")->excludes(model);
  cmd->add_option("--train", o->train, "training set: DNABERT TSV, DNABERT-2 CSV, or FASTA with --train-labels; a table of pairs "
                  "(seq1<TAB>seq2<TAB>label, or a CSV sequence1,sequence2,label) trains on [CLS] a [SEP] b [SEP]; "
                  "labels that are space-separated 0/1 vectors ('0 1 1 0') train a multi-label model (sigmoid + BCE, "
                  "problem_type multi_label_classification), one label per value")->required();
  cmd->add_option("--dev", o->dev, "dev set evaluated during training (same formats)")->required();
  cmd->add_option("--train-labels", o->train_labels, "labels of a FASTA --train: 'id<TAB>label' lines or one per record");
  cmd->add_option("--dev-labels", o->dev_labels, "labels of a FASTA --dev");
  cmd->add_option("-o,--output", o->output, "folder for the best model, checkpoints, log.jsonl and curves.svg")->required();
  cmd->add_option("--warmup", o->run.warmup_fraction, "warmup fraction of the steps (DNABERT: 0.1)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--metric", o->run.best_metric, "metric that picks the best model (DNABERT: auc)");
  cmd->add_option("--early-stopping", o->run.early_stopping_patience, "stop after N evaluations without improvement")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--class-weights", o->run.class_weights, "loss weight of each class, e.g. --class-weights 1 4")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--num-labels", o->num_labels, "classes (1 = regression); default: from config.json")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--long-pooling", o->long_pooling,
                  "train on whole long sequences (DNABERT-XL): each cut into 510-k-mer pieces, their pooled vectors "
                  "combined by their mean, max, or concat (DNABERT-XL's dnalongcat: classifier1, ReLU, classifier2); "
                  "none: one piece (default: as the model folder says)")
      ->check(CLI::IsMember({"none", "mean", "max", "concat"}));
  cmd->add_option("--max-pieces", o->max_pieces,
                  "pieces a long-sequence classifier reads of each sequence, longer ones cut (DNABERT-XL's "
                  "max_seq_length / 512; default: the folder's, else 4)")
      ->check(CLI::Range(1, 4096));
  auto* compat = add_compat_flag(cmd, o->run.dnabert_2_5_compat,
                                 "padding is attended (DNABERT's attention mask bug, issue #102: +1 on tokens, +0 on "
                                 "padding instead of -10000), so training and dev inputs are cut and padded to "
                                 "--max-seq-length tokens as DNABERT's run_finetune.py pads them");
  add_max_seq_length_option(cmd, o->run.max_seq_length, compat);
  add_training_flags(cmd, *o);
  cmd->callback([o] {
    const auto train_entries = read_labelled(o->train, o->train_labels, true);
    const auto dev_entries = read_labelled(o->dev, o->dev_labels, true);
    const std::int64_t multi_labels = multi_label_count(train_entries, o->train, o->num_labels);
    const auto request = requested_classifier(multi_labels > 0 ? multi_labels : o->num_labels, o->long_pooling, o->max_pieces);
    const auto read_config = [&](const std::string& path) { return classifier_config(path, request, multi_labels > 0); };
    run_training("finetune", *o, bert_head::sequence_classification, request, read_config, [&](auto& model, auto progress) {
      if (multi_labels > 0) model.set_problem_type(std::string(problem_type_name(classifier_problem::multi_label)));
      const auto& config = model.config();
      const auto positions = static_cast<std::size_t>(config.max_position_embeddings);
      if (o->run.max_seq_length > positions)
        throw input_error("--max-seq-length " + std::to_string(o->run.max_seq_length) + " exceeds the model's " +
                          std::to_string(positions) + " positions");
      if (o->run.dnabert_2_5_compat && config.long_pooling != piece_pooling::none)
        throw input_error("--dnabert-2.5-compat reads one padded piece per sequence, and this classifier reads long "
                          "sequences whole (" + std::string(piece_pooling_name(config.long_pooling)) + " pooling)");
      const std::size_t max_kmers = !o->run.dnabert_2_5_compat ? model.max_kmers()
                                    : (o->run.max_seq_length > 0 ? o->run.max_seq_length : positions) - 2;
      const auto split = static_cast<std::size_t>(config.split);
      const train::labelled_dataset train_set(train_entries, model.tokenizer(), max_kmers, config.long_pooling, split);
      const train::labelled_dataset dev_set(dev_entries, model.tokenizer(), max_kmers, config.long_pooling, split);
      if (config.long_pooling != piece_pooling::none)
        print_notice("long-sequence classifier: " + std::string(piece_pooling_name(config.long_pooling)) +
                     " pooling over up to " + std::to_string(split) + " pieces of " + std::to_string(max_kmers) + " k-mers");
      for (const auto* set : {&train_set, &dev_set})
        if (set->truncated() > 0)
          print_notice(std::to_string(set->truncated()) + " examples longer than " +
                       std::to_string(max_kmers * (config.long_pooling == piece_pooling::none ? 1 : split)) +
                       " k-mers were cut: " +
                       (config.long_pooling == piece_pooling::none
                            ? "a sequence to its first piece, as DNABERT's max_seq_length does, a pair as Hugging "
                              "Face's longest_first truncation"
                            : "to the first " + std::to_string(split) + " pieces (--max-pieces), as DNABERT-XL's max_seq_length does"));
      const auto result = progress([&] { return train::finetune(model, train_set, dev_set, o->run, o->output); });
      std::cout << "best at step " << result.best->step << ": " << o->run.best_metric << " " << result.best->score
                << ", dev loss " << result.best->loss;
      if (result.stopped_early) std::cout << " (stopped early at step " << result.steps << ")";
      std::cout << "; model in " << o->output << '\n';
    });
  });
}

}  // namespace dnabert::cli
