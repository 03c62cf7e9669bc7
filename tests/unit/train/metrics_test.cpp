// Classification metrics against scikit-learn: goldens written by
// tests/reference/make_metric_goldens.py, sklearn's documented examples, and the degenerate
// inputs where sklearn returns a defined value or raises.
#include "dnabert/train/metrics.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_paths.hpp"

namespace train_metrics_test {

namespace {

namespace train = dnabert::train;
using ints = std::vector<int>;
using doubles = std::vector<double>;

// Counting metrics are exact ratios; curve metrics sum in another order than numpy.
constexpr double tolerance = 1e-12;

void check_close(double found, double expected, const std::string& what) {
  INFO(what << ": found " << found << ", scikit-learn " << expected);
  CHECK(std::abs(found - expected) <= tolerance);
}

nlohmann::json load_goldens() {
  std::ifstream in(dnabert::test::data_path("metrics/goldens.json"));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("metrics: every function matches scikit-learn on the golden cases") {
  const auto goldens = load_goldens();
  REQUIRE(goldens["cases"].size() == 8);
  for (const auto& golden : goldens["cases"]) {
    const std::string name = golden["name"];
    CAPTURE(name);
    const auto labels = golden["labels"].get<ints>();
    const auto predicted = golden["predicted"].get<ints>();
    const auto probabilities = golden["probabilities"].get<doubles>();
    const int num_classes = golden["num_classes"];
    const auto& expected = golden["expected"];

    check_close(train::accuracy(labels, predicted), expected["acc"], "acc");
    check_close(train::precision_macro(labels, predicted), expected["precision_macro"], "precision_macro");
    check_close(train::recall_macro(labels, predicted), expected["recall_macro"], "recall_macro");
    check_close(train::f1_macro(labels, predicted), expected["f1_macro"], "f1_macro");
    check_close(train::matthews_corrcoef(labels, predicted), expected["mcc"], "mcc");
    check_close(train::roc_auc_ovo(labels, probabilities, num_classes), expected["auc"], "auc (ovo)");
    if (num_classes == 2) {
      doubles positive_scores;
      for (std::size_t i = 1; i < probabilities.size(); i += 2) positive_scores.push_back(probabilities[i]);
      check_close(train::precision(labels, predicted), expected["precision"], "precision");
      check_close(train::recall(labels, predicted), expected["recall"], "recall");
      check_close(train::f1(labels, predicted), expected["f1"], "f1");
      check_close(train::roc_auc(labels, positive_scores), expected["auc"], "auc");
      check_close(train::average_precision(labels, positive_scores), expected["aupr"], "aupr");
    }
  }
}

TEST_CASE("metrics: compute_metrics reports what scikit-learn computes, by name and as JSON") {
  const auto goldens = load_goldens();
  for (const auto& golden : goldens["cases"]) {
    const std::string name = golden["name"];
    CAPTURE(name);
    const auto labels = golden["labels"].get<ints>();
    const auto predicted = golden["predicted"].get<ints>();
    const auto probabilities = golden["probabilities"].get<doubles>();
    const int num_classes = golden["num_classes"];
    const auto report = train::compute_metrics(labels, predicted, probabilities, num_classes);
    const auto json = report.to_json();
    CHECK(report.samples == labels.size());
    CHECK(json["samples"] == labels.size());
    CHECK(json["num_classes"] == num_classes);
    for (const auto metric : train::metric_names) {
      const std::string key(metric);
      CAPTURE(key);
      if (golden["expected"].contains(key)) {
        check_close(report.value(metric), golden["expected"][key], key);
        check_close(json[key].get<double>(), golden["expected"][key], key + " in JSON");
      } else {
        CHECK(json[key].is_null());
        CHECK_THROWS_WITH_AS((void)report.value(metric), doctest::Contains("binary metrics need 2 classes"),
                             dnabert::input_error);
      }
    }
  }
}

TEST_CASE("metrics: scikit-learn's documented examples") {
  // roc_auc_score and average_precision_score docstrings.
  const ints labels = {0, 0, 1, 1};
  const doubles scores = {0.1, 0.4, 0.35, 0.8};
  CHECK(train::roc_auc(labels, scores) == doctest::Approx(0.75).epsilon(1e-15));
  CHECK(train::average_precision(labels, scores) == doctest::Approx(0.8333333333333333).epsilon(1e-15));
  // matthews_corrcoef docstring, labels -1/+1.
  CHECK(train::matthews_corrcoef(ints{1, 1, 1, -1}, ints{1, -1, 1, 1}) ==
        doctest::Approx(-1.0 / 3.0).epsilon(1e-15));
  // f1_score docstring (macro over three classes).
  CHECK(train::f1_macro(ints{0, 1, 2, 0, 1, 2}, ints{0, 2, 1, 0, 0, 1}) ==
        doctest::Approx(0.26666666666666666).epsilon(1e-15));
}

TEST_CASE("metrics: tied scores share one threshold (half credit), as the trapezoid gives") {
  CHECK(train::roc_auc(ints{0, 1, 0, 1}, doubles{0.5, 0.5, 0.5, 0.5}) == 0.5);
  // One positive tied with one of two negatives: 1 win + 0.5 tie out of 2 pairs.
  CHECK(train::roc_auc(ints{1, 0, 0}, doubles{0.7, 0.7, 0.2}) == 0.75);
  // Average precision takes the tie as one step: precision 1/2 over the whole recall.
  CHECK(train::average_precision(ints{1, 0, 0}, doubles{0.7, 0.7, 0.2}) == 0.5);
  // Order of samples does not matter.
  CHECK(train::roc_auc(ints{0, 0, 1}, doubles{0.2, 0.7, 0.7}) == 0.75);
}

TEST_CASE("metrics: degenerate inputs give sklearn's defined values") {
  // A single class everywhere: MCC 0, F1 of an absent positive class 0.
  CHECK(train::matthews_corrcoef(ints{1, 1, 1}, ints{1, 1, 1}) == 0.0);
  CHECK(train::matthews_corrcoef(ints{0, 1, 0}, ints{0, 0, 0}) == 0.0);
  CHECK(train::f1(ints{0, 0, 0}, ints{0, 0, 0}) == 0.0);
  CHECK(train::precision(ints{0, 1, 1}, ints{0, 0, 0}) == 0.0);
  CHECK(train::accuracy(ints{0, 0, 0}, ints{0, 0, 0}) == 1.0);
  // No positive label: sklearn's average precision is 0 (with a warning), all positive 1.
  CHECK(train::average_precision(ints{0, 0, 0}, doubles{0.1, 0.2, 0.3}) == 0.0);
  CHECK(train::average_precision(ints{1, 1, 1}, doubles{0.1, 0.2, 0.3}) == 1.0);
  // Two columns: one-vs-one is the binary AUC of column 1.
  CHECK(train::roc_auc_ovo(ints{0, 1, 1}, doubles{0.7, 0.3, 0.4, 0.6, 0.5, 0.5}, 2) == 1.0);
  // Many distinct labels cost one tally each, not a labels x labels matrix.
  ints many(100000);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = static_cast<int>(i);
  CHECK(train::accuracy(many, many) == 1.0);
  CHECK(train::matthews_corrcoef(many, many) == doctest::Approx(1.0).epsilon(1e-12));
}

TEST_CASE("metrics: inputs sklearn rejects throw input_error naming the problem") {
  const ints none;
  const doubles no_scores;
  CHECK_THROWS_WITH_AS(train::accuracy(none, none), doctest::Contains("accuracy: no samples"), dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::f1_macro(none, none), doctest::Contains("no samples"), dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::roc_auc(none, no_scores), doctest::Contains("roc_auc: no samples"),
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::average_precision(none, no_scores), doctest::Contains("no samples"),
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::matthews_corrcoef(ints{0, 1}, ints{0}),
                       doctest::Contains("labels has 2 values but predicted has 1"), dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::roc_auc(ints{0, 1}, doubles{0.5}),
                       doctest::Contains("labels has 2 values but scores has 1"), dnabert::input_error);

  CHECK_THROWS_WITH_AS(train::roc_auc(ints{0, 0, 0}, doubles{0.1, 0.2, 0.3}),
                       doctest::Contains("only class 0 occurs in labels; ROC AUC is not defined"),
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::roc_auc(ints{1, 1}, doubles{0.1, 0.2}), doctest::Contains("only class 1 occurs"),
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::roc_auc(ints{0, 2}, doubles{0.1, 0.2}),
                       doctest::Contains("label 1 is 2 but a binary score metric needs labels 0 or 1"),
                       dnabert::input_error);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH_AS(train::roc_auc(ints{0, 1}, doubles{nan, 0.2}), doctest::Contains("score 0 is not finite"),
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::average_precision(ints{0, 1}, doubles{0.2, inf}),
                       doctest::Contains("score 1 is not finite"), dnabert::input_error);

  CHECK_THROWS_WITH_AS(train::f1(ints{0, 2, 1}, ints{0, 0, 0}),
                       doctest::Contains("hold 3 classes (0, 1, 2) but the binary metric needs at most 2"),
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::precision(ints{0, 2, 0}, ints{0, 0, 0}),
                       doctest::Contains("positive class 1 does not occur; the classes are 0, 2"),
                       dnabert::input_error);

  CHECK_THROWS_WITH_AS(train::roc_auc_ovo(ints{0, 1, 1}, doubles(9, 1.0 / 3), 3),
                       doctest::Contains("class 2 never occurs in labels"), dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::roc_auc_ovo(ints{0, 1, 2}, doubles(9, 0.5), 3),
                       doctest::Contains("row 0 of probabilities sums to 1.5"), dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::roc_auc_ovo(ints{0, 1, 2}, doubles(8, 0.25), 3),
                       doctest::Contains("probabilities has 8 values but 3 samples x 3 classes need 3x3"),
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::roc_auc_ovo(ints{0, 1, 3}, doubles(9, 1.0 / 3), 3),
                       doctest::Contains("label 2 is 3 but must lie in 0..2"), dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::roc_auc_ovo(ints{0}, doubles{1.0}, 1), doctest::Contains("must be at least 2"),
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::roc_auc_ovo(ints{0, 1}, doubles{0.5, 0.5, nan, 0.5}, 2),
                       doctest::Contains("score 2 is not finite"), dnabert::input_error);
}

TEST_CASE("metrics: compute_metrics validates its inputs and explains missing metrics") {
  const ints labels = {0, 1, 1};
  const doubles probabilities = {0.9, 0.1, 0.2, 0.8, 0.6, 0.4};
  CHECK_THROWS_WITH_AS(train::compute_metrics(labels, ints{0, 1, 2}, probabilities, 2),
                       doctest::Contains("prediction 2 is 2 but must lie in 0..1"), dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::compute_metrics(ints{0, -1, 1}, ints{0, 1, 1}, probabilities, 2),
                       doctest::Contains("label 1 is -1 but must lie in 0..1"), dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::compute_metrics(labels, ints{0, 1, 1}, doubles{0.5, 0.5}, 2),
                       doctest::Contains("probabilities has 2 values but 3 samples x 2 classes"),
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::compute_metrics(labels, ints{0, 1, 1}, probabilities, 1),
                       doctest::Contains("num_classes is 1"), dnabert::input_error);
  CHECK_THROWS_WITH_AS(train::compute_metrics(ints{}, ints{}, doubles{}, 2), doctest::Contains("no samples"),
                       dnabert::input_error);

  const auto report = train::compute_metrics(labels, ints{0, 1, 0}, probabilities, 2);
  CHECK(report.value("acc") == doctest::Approx(2.0 / 3.0));
  CHECK(report.value("auc") == 1.0);
  CHECK_THROWS_WITH_AS((void)report.value("accuracy"),
                       doctest::Contains("unknown metric 'accuracy'; known metrics: acc, precision"),
                       dnabert::input_error);

  // A dev set holding one class: everything but AUC is defined, and the report says why.
  const auto one_class = train::compute_metrics(ints{1, 1, 1}, ints{1, 0, 1}, probabilities, 2);
  CHECK(one_class.value("recall") == doctest::Approx(2.0 / 3.0));
  CHECK(one_class.value("aupr") == 1.0);
  CHECK_FALSE(one_class.auc.has_value());
  CHECK(one_class.to_json()["auc"].is_null());
  CHECK_THROWS_WITH_AS((void)one_class.value("auc"),
                       doctest::Contains("'auc' is not available for this evaluation (2 classes; auc: class 0 "
                                         "never occurs in labels"),
                       dnabert::input_error);
}

}  // namespace train_metrics_test
