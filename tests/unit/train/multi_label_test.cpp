// Multi-label classification (problem_type "multi_label_classification"): metrics against
// scikit-learn, the config.json field, 0/1 label-vector tables, and evaluation and fine-tuning of
// transformers' BertForSequenceClassification folder tests/data/parity/mlc_k3
// (tests/reference/make_multi_label_goldens.py, make_parity_goldens.py).
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/io/config_json.hpp"
#include "dnabert/io/labelled_table.hpp"
#include "dnabert/io/sequence_input.hpp"
#include "dnabert/train/finetune.hpp"
#include "dnabert/train/metrics.hpp"
#include "test_paths.hpp"

namespace train_multi_label_test {

namespace {

using namespace dnabert;
using B = backend::cpu;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text.data(), text.size())); }

void check_optional(const std::optional<double>& found, const nlohmann::json& expected, const std::string& what) {
  INFO(what);
  REQUIRE(found.has_value() == !expected.is_null());
  if (found) CHECK(*found == doctest::Approx(expected.get<double>()).epsilon(1e-12));
}

std::string minimal_config(std::string_view extra) {
  return R"({"vocab_size": 69, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
             "intermediate_size": 16)" + std::string(extra) + "}";
}

bert_config parse_config(const std::string& text) { return io::parse_config_json(bytes_of(text), "config.json"); }

}  // namespace

TEST_CASE("multi-label metrics match scikit-learn per label, macro over defined labels, micro") {
  const auto golden = read_json(test::data_path("multi_label/metrics.json"));
  std::vector<int> labels;
  std::vector<double> scores;
  for (const auto& row : golden.at("labels"))
    for (const auto& x : row) labels.push_back(x.get<int>());
  for (const auto& row : golden.at("scores"))
    for (const auto& x : row) scores.push_back(x.get<double>());
  const int width = static_cast<int>(golden.at("labels").at(0).size());
  const auto report = train::compute_multi_label_metrics(labels, scores, width);
  CHECK(report.samples == golden.at("labels").size());
  REQUIRE(report.per_label.size() == golden.at("per_label").size());
  for (std::size_t l = 0; l < report.per_label.size(); ++l) {
    const auto& expected = golden.at("per_label").at(l);
    const std::string where = "label " + std::to_string(l);
    CHECK(report.per_label[l].positives == expected.at("positives").get<std::size_t>());
    check_optional(report.per_label[l].auc, expected.at("auc"), where + " auc");
    check_optional(report.per_label[l].aupr, expected.at("aupr"), where + " aupr");
    CHECK(report.per_label[l].f1 == doctest::Approx(expected.at("f1").get<double>()).epsilon(1e-12));
  }
  for (const auto name : train::multi_label_metric_names) {
    CAPTURE(name);
    CHECK(report.value(name) == doctest::Approx(golden.at(std::string(name)).get<double>()).epsilon(1e-12));
  }
  // labels 3 (never positive) and 5 (always) are left out of the macro AUROC, 3 of the AUPRC
  REQUIRE(report.notes.size() == 2);
  CHECK(report.notes[0].starts_with("auc: label(s) 3, 5 hold a single class"));
  CHECK(report.notes[1].starts_with("aupr: label(s) 3 have no positive sample"));
  const auto json = report.to_json();
  CHECK(json.at("per_label").at(3).at("auc").is_null());
  CHECK(json.at("problem_type") == "multi_label_classification");
}

TEST_CASE("multi-label metrics: bad values and shapes are refused, undefined metrics are named") {
  CHECK_THROWS_WITH_AS(train::compute_multi_label_metrics(std::vector<int>{0, 2}, std::vector<double>{0.1, 0.2}, 2),
                       "multi-label metrics: label 1 of sample 0 is 2, not 0 or 1", input_error);
  CHECK_THROWS_WITH_AS(train::compute_multi_label_metrics(std::vector<int>{0, 1, 1}, std::vector<double>{0.1, 0.2, 0.3}, 2),
                       "multi-label metrics: labels has 3 values, not a multiple of 2 labels", input_error);
  const auto all_zero = train::compute_multi_label_metrics(std::vector<int>{0, 0, 0, 0}, std::vector<double>{0.1, 0.7, 0.2, 0.3}, 2);
  CHECK_FALSE(all_zero.auc.has_value());
  CHECK_FALSE(all_zero.aupr_micro.has_value());
  CHECK_THROWS_WITH_AS((void)all_zero.value("auc"), doctest::Contains("metric 'auc' is not available"), input_error);
  CHECK_THROWS_WITH_AS((void)all_zero.value("mcc"), doctest::Contains("unknown metric 'mcc'; known metrics: auc, aupr"), input_error);
}

TEST_CASE("problem_type: read from and written to config.json as transformers names it") {
  CHECK(parse_config(minimal_config("")).problem() == classifier_problem::single_label);
  CHECK(parse_config(minimal_config(R"(, "num_labels": 1)")).problem() == classifier_problem::regression);
  CHECK(parse_config(minimal_config(R"(, "problem_type": null)")).problem() == classifier_problem::single_label);
  const auto multi = parse_config(minimal_config(R"(, "num_labels": 164, "problem_type": "multi_label_classification")"));
  CHECK(multi.problem() == classifier_problem::multi_label);
  CHECK(multi.num_labels == 164);
  CHECK(parse_config(io::config_json_text(multi)).problem_type == "multi_label_classification");
  CHECK(parse_config(minimal_config(R"(, "num_labels": 3, "problem_type": "single_label_classification")")).problem() ==
        classifier_problem::single_label);
  CHECK(io::config_json_text(parse_config(minimal_config(""))).find("problem_type") == std::string::npos);
  CHECK(io::read_config_json(test::data_path("parity/mlc_k3/config.json")).problem() == classifier_problem::multi_label);
  CHECK_THROWS_WITH_AS(parse_config(minimal_config(R"(, "problem_type": "multi_label")")),
                       "config.json: problem_type 'multi_label' is not supported; supported: 'regression', "
                       "'single_label_classification', 'multi_label_classification'",
                       format_error);
  CHECK_THROWS_WITH_AS(parse_config(minimal_config(R"(, "num_labels": 3, "problem_type": "regression")")),
                       doctest::Contains("problem_type 'regression' with 3 labels is not supported"), format_error);
  CHECK_THROWS_WITH_AS(parse_config(minimal_config(R"(, "num_labels": 1, "problem_type": "single_label_classification")")),
                       doctest::Contains("needs num_labels >= 2, found 1"), format_error);
}

TEST_CASE("label-vector tables: space-separated 0/1 values in TSV, CSV and pair tables") {
  const auto tsv = io::read_labelled_table(test::data_path("multi_label/table.tsv"));
  const auto csv = io::read_labelled_table(test::data_path("multi_label/table.csv"));
  REQUIRE(tsv.rows.size() == 8);
  REQUIRE(csv.rows.size() == 8);
  for (std::size_t r = 0; r < tsv.rows.size(); ++r) {
    CHECK(tsv.rows[r].multi_labels.size() == 5);
    CHECK(tsv.rows[r].multi_labels == csv.rows[r].multi_labels);
    CHECK(tsv.rows[r].sequence == csv.rows[r].sequence);
  }
  const auto pairs = io::read_labelled_table(bytes_of("a\tb\tlabel\nACGTAC\tGGTTAA\t 1  0 1\nACGT\tTTTT\t0 0 1\n"), "p.tsv");
  CHECK(pairs.pairs);
  CHECK(pairs.rows[0].multi_labels == std::vector<std::uint8_t>{1, 0, 1});
  CHECK(pairs.rows[1].second == "TTTT");
  // a vector in the second of three TSV columns is a label (the third ignored), a k-mer sentence a pair's sequence
  const auto extra = io::read_labelled_table(bytes_of("sequence\tlabel\tnote\nACGTAC\t0 1 1\tx\n"), "e.tsv");
  CHECK_FALSE(extra.pairs);
  CHECK(extra.rows[0].multi_labels == std::vector<std::uint8_t>{0, 1, 1});
  const auto sentences = io::read_labelled_table(bytes_of("a\tb\tlabel\nACG CGT\tTTG TGA\t1 0\n"), "s.tsv");
  CHECK(sentences.pairs);
  CHECK(sentences.rows[0].second == "TTGA");
  const auto entries = io::read_sequences(test::data_path("multi_label/table.csv"));
  CHECK_FALSE(entries[0].label.has_value());
  CHECK(entries[0].multi_labels == csv.rows[0].multi_labels);
}

TEST_CASE("label-vector tables: a bad value, another label count or a number among vectors is refused by line") {
  const auto path = [](const char* name) { return test::data_path(std::string("multi_label/") + name); };
  CHECK_THROWS_WITH_AS(io::read_labelled_table(path("bad_value.tsv")),
                       (path("bad_value.tsv") + ":3: value 3 of the label vector is '2', expected 0 or 1 (a multi-label "
                                                "column holds 0/1 values separated by spaces, e.g. '0 1 1 0')").c_str(),
                       format_error);
  CHECK_THROWS_WITH_AS(io::read_labelled_table(path("bad_count.tsv")),
                       (path("bad_count.tsv") + ":3: the label is a vector of 4 labels but line 2's is a vector of 5 "
                                                "labels: every row needs the same labels").c_str(),
                       format_error);
  CHECK_THROWS_WITH_AS(io::read_labelled_table(path("bad_mixed.tsv")),
                       (path("bad_mixed.tsv") + ":3: the label is a single number but line 2's is a vector of 5 labels: "
                                                "every row needs the same labels").c_str(),
                       format_error);
  CHECK_THROWS_WITH_AS(io::read_labelled_table(bytes_of("sequence,label\nACGTAC,0 1 x\n"), "t.csv"),
                       doctest::Contains("t.csv:2: value 3 of the label vector is 'x'"), format_error);
}

TEST_CASE("multi-label evaluation of transformers' folder gives its BCE loss, and predict gives sigmoids") {
  const std::string dir = test::data_path("parity/mlc_k3");
  B cpu(1);
  const auto model = Bert<dynamic_bert, B>::load(cpu, dir, bert_head::sequence_classification);
  REQUIRE(model.config().problem() == classifier_problem::multi_label);
  const auto entries = io::read_sequences(test::data_path("multi_label/table.tsv"));
  const train::labelled_dataset data(entries, model.tokenizer(), model.max_kmers());
  const auto result = train::detail::evaluate_model(model, data, 3, 0, "auc");
  CHECK(result.loss == doctest::Approx(read_json(test::data_path("multi_label/table_loss.json")).at("loss").get<double>()).epsilon(1e-5));
  CHECK(result.metrics.at("num_labels") == 5);
  CHECK(result.score == result.metrics.at("auc").get<double>());

  const auto classifier = load_classifier(dir, 1);
  CHECK(classifier.problem() == classifier_problem::multi_label);
  std::vector<std::string> sequences;
  for (const auto& entry : entries) sequences.push_back(entry.sequence);
  const auto predicted = classifier.predict(sequences);
  CHECK(predicted.multi_label);
  CHECK_FALSE(predicted.regression);
  for (std::size_t s = 0; s < sequences.size(); ++s)
    for (std::size_t c = 0; c < 5; ++c) {
      CHECK(predicted.probabilities(s, c) == doctest::Approx(1 / (1 + std::exp(-predicted.logits(s, c)))).epsilon(1e-6));
      CHECK(predicted.label_predicted(s, c) == (predicted.logits(s, c) > 0));
    }
}

TEST_CASE("multi-label fine-tuning: trains with BCE, saves problem_type, refuses single labels and vectors for single-label models") {
  const std::string dir = test::data_path("parity/mlc_k3");
  const auto scratch = std::filesystem::temp_directory_path() / "dnabert_multi_label_finetune";
  std::filesystem::remove_all(scratch);
  B cpu(1);
  auto model = Bert<dynamic_bert, B>::load(cpu, dir, bert_head::sequence_classification);
  const auto entries = io::read_sequences(test::data_path("multi_label/table.tsv"));
  const train::labelled_dataset data(entries, model.tokenizer(), model.max_kmers());
  train::finetune_options options;
  options.max_steps = 6;
  options.batch_size = 4;
  options.optimizer.lr = 1e-2;
  options.warmup_fraction = 0;
  const double before = train::detail::evaluate_model(model, data, 8, 0, "auc").loss;
  const auto summary = train::finetune(model, data, data, options, scratch.string());
  REQUIRE(summary.best.has_value());
  CHECK(summary.evaluations.back().loss < before);  // the training set is the dev set: BCE must fall
  CHECK(io::read_config_json((scratch / "config.json").string()).problem() == classifier_problem::multi_label);

  const auto single = io::read_sequences(test::data_path("cli/three_labelled.csv"));
  const train::labelled_dataset single_data(single, model.tokenizer(), model.max_kmers());
  CHECK_THROWS_WITH_AS(train::finetune(model, single_data, data, options, scratch.string()),
                       "sequence '0' has a single label (1), but the multi-label model needs a vector of 5 0/1 labels "
                       "(space-separated in the label column, e.g. '0 1 1 0')",
                       input_error);
  model.set_problem_type("");
  CHECK_THROWS_WITH_AS(train::finetune(model, data, data, options, scratch.string()),
                       doctest::Contains("sequence '0' has a vector of 5 labels, but the model is a single-label classifier"),
                       input_error);
  CHECK_THROWS_AS(model.set_problem_type("multilabel"), config_error);
  std::filesystem::remove_all(scratch);
}

}  // namespace train_multi_label_test
