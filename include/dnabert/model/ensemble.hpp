#pragma once
// DNABERT's ensemble over k (run_finetune.py --do_ensemble_pred): several classifiers, typically
// DNABERT-3 to DNABERT-6 fine-tuned on one task, each run on the same sequences with its own
// tokenizer; the ensemble's class probabilities are the mean of theirs.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "dnabert/core/error.hpp"
#include "dnabert/model/classifier.hpp"

namespace dnabert {

/// What an ensemble predicts for N sequences and C classes.
struct ensemble_prediction {
  xt::xtensor<float, 2> probabilities;  ///< [N, C]: per class, the mean of the members' probabilities
  std::vector<std::int64_t> predicted;  ///< per sequence, the class of largest mean probability (the first on ties)
};

/// Averages the class probabilities of `members`, each a classifier's prediction() for the same
/// sequences in the same order (summed in double, so the order of the members does not matter
/// beyond the last bit); multi-label members average their per-label sigmoids. Throws input_error
/// when there are no members, when one is a regression, when their kinds or shapes differ.
inline ensemble_prediction average_probabilities(std::span<const prediction> members) {
  if (members.empty()) throw input_error("an ensemble needs at least one model's predictions");
  const auto shape = members.front().probabilities.shape();
  for (std::size_t m = 0; m < members.size(); ++m) {
    const auto& member = members[m];
    if (member.regression)
      throw input_error("ensemble member " + std::to_string(m + 1) +
                        " is a regression model: an ensemble averages class probabilities");
    if (member.multi_label != members.front().multi_label)
      throw input_error("ensemble member " + std::to_string(m + 1) + " is " +
                        (member.multi_label ? "multi-label" : "single-label") + " but member 1 is not: an ensemble "
                        "averages the probabilities of models of one kind");
    if (member.probabilities.shape() != shape)
      throw input_error("ensemble member " + std::to_string(m + 1) + " predicted [" +
                        std::to_string(member.probabilities.shape()[0]) + ", " +
                        std::to_string(member.probabilities.shape()[1]) + "] (sequences, classes) where member 1 predicted [" +
                        std::to_string(shape[0]) + ", " + std::to_string(shape[1]) + "]");
  }
  const std::size_t rows = shape[0], classes = shape[1];
  ensemble_prediction out;
  out.probabilities = xt::xtensor<float, 2>::from_shape({rows, classes});
  out.predicted.assign(rows, 0);
  for (std::size_t s = 0; s < rows; ++s) {
    for (std::size_t c = 0; c < classes; ++c) {
      double sum = 0;
      for (const auto& member : members) sum += member.probabilities(s, c);
      out.probabilities(s, c) = static_cast<float>(sum / static_cast<double>(members.size()));
      if (out.probabilities(s, c) > out.probabilities(s, static_cast<std::size_t>(out.predicted[s])))
        out.predicted[s] = static_cast<std::int64_t>(c);
    }
  }
  return out;
}

}  // namespace dnabert
