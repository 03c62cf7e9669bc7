// DNABERT's ensemble over k: two classifiers of different k on the same sequences, averaged as
// transformers' outputs averaged (tests/reference/make_ensemble_goldens.py), and what is refused.
#include "dnabert/cpu.hpp"
#include "dnabert/model/ensemble.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dnabert/io/fasta.hpp"
#include "test_paths.hpp"

namespace model_ensemble_test {

namespace {

// The golden table's rows: id, predicted, then the numbers (the ensemble's and each member's probabilities).
struct golden_row {
  std::string id;
  std::int64_t predicted = 0;
  std::vector<double> numbers;
};

std::vector<golden_row> golden_table(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<golden_row> rows;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    golden_row row;
    fields >> row.id >> row.predicted;
    for (double x = 0; fields >> x;) row.numbers.push_back(x);
    rows.push_back(row);
  }
  return rows;
}

// A prediction of `rows` sequences whose probabilities are all `p`.
dnabert::prediction filled(std::size_t rows, std::size_t classes, float p, bool regression = false) {
  dnabert::prediction out;
  out.logits = xt::xtensor<float, 2>::from_shape({rows, classes});
  out.logits.fill(0.0f);
  out.probabilities = out.logits;
  out.probabilities.fill(p);
  out.predicted.assign(rows, 0);
  out.regression = regression;
  return out;
}

}  // namespace

TEST_CASE("ensemble: the mean of a k = 3 and a k = 6 classifier's probabilities is transformers' (mean and max of pieces)") {
  const auto k3 = dnabert::load_classifier(dnabert::test::data_path("parity/cls3_k3"), 1);
  const auto k6 = dnabert::load_classifier(dnabert::test::data_path("models/cls-k6"), 1);
  std::vector<std::string> sequences;
  for (const auto& record : dnabert::io::read_fasta(dnabert::test::data_path("ensemble/ensemble.fa")))
    sequences.push_back(record.sequence);
  for (const char* rule : {"mean", "max"}) {
    CAPTURE(rule);
    dnabert::inference_options options;
    options.long_sequences = std::string(rule) == "max" ? dnabert::piece_rule::max : dnabert::piece_rule::mean;
    const std::vector<dnabert::prediction> members{k3.predict(sequences, options), k6.predict(sequences, options)};
    const auto ensemble = dnabert::average_probabilities(members);
    const auto golden = golden_table(dnabert::test::data_path(std::string("ensemble/predict_") + rule + ".tsv"));
    REQUIRE(golden.size() == sequences.size());
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      CAPTURE(s);
      CHECK(ensemble.predicted[s] == golden[s].predicted);
      REQUIRE(golden[s].numbers.size() == 9);  // 3 ensemble + 2 x 3 member probabilities
      for (std::size_t c = 0; c < 3; ++c) {
        CHECK(std::abs(ensemble.probabilities(s, c) - golden[s].numbers[c]) < 1e-5);
        CHECK(std::abs(members[0].probabilities(s, c) - golden[s].numbers[3 + c]) < 1e-5);
        CHECK(std::abs(members[1].probabilities(s, c) - golden[s].numbers[6 + c]) < 1e-5);
      }
    }
  }
}

TEST_CASE("ensemble: no members, a regression member and members of different shapes are refused") {
  CHECK_THROWS_WITH_AS((void)dnabert::average_probabilities({}), "an ensemble needs at least one model's predictions",
                       dnabert::input_error);
  const auto two = filled(4, 2, 0.5f), three = filled(4, 3, 0.25f), score = filled(4, 1, 0.0f, true);
  CHECK_THROWS_WITH_AS((void)dnabert::average_probabilities(std::vector{two, three}),
                       "ensemble member 2 predicted [4, 3] (sequences, classes) where member 1 predicted [4, 2]",
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS((void)dnabert::average_probabilities(std::vector{two, score}),
                       "ensemble member 2 is a regression model: an ensemble averages class probabilities",
                       dnabert::input_error);
}

TEST_CASE("ensemble: a tie goes to the first class, as numpy's argmax") {
  auto a = filled(1, 2, 0.25f), b = filled(1, 2, 0.75f);
  a.probabilities(0, 1) = 0.75f;
  b.probabilities(0, 1) = 0.25f;
  const auto ensemble = dnabert::average_probabilities(std::vector{a, b});
  CHECK(ensemble.probabilities(0, 0) == 0.5f);
  CHECK(ensemble.probabilities(0, 1) == 0.5f);
  CHECK(ensemble.predicted[0] == 0);
}

}  // namespace model_ensemble_test
