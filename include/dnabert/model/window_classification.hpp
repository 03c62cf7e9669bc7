#pragma once
// A 2-class classifier as the window analyses (variant effects, mutation maps, genome scans) read
// it: the longest window it takes in one piece, and P(class 1) of each window.

#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/model/classifier.hpp"

namespace dnabert {

/// The default window: the longest sequence the model surely reads in one piece (Bert::max_piece_nucleotides).
template <class Spec, class B>
std::size_t default_window(const classifier<Spec, B>& model) {
  return model.model().max_piece_nucleotides();
}

/// P(class 1) of every sequence, batched; the model must be a 2-class classifier.
template <class Spec, class B>
std::vector<double> positive_class_probabilities(const classifier<Spec, B>& model, std::span<const std::string> sequences,
                                                 std::size_t batch_size) {
  if (model.problem() == classifier_problem::multi_label)
    throw config_error("window scores (variant effects, mutation maps, genome scans) need a 2-class classifier (they "
                       "compare P(class 1)); the model is multi-label (" + std::to_string(model.num_labels()) + " labels)");
  if (model.num_labels() != 2)
    throw config_error("window scores (variant effects, mutation maps, genome scans) need a 2-class classifier (they "
                       "compare P(class 1)); the model has " +
                       std::to_string(model.num_labels()) + (model.num_labels() == 1 ? " output (regression)" : " classes"));
  inference_options options;
  options.batch_size = batch_size;
  const prediction predicted = model.predict(sequences, options);
  std::vector<double> probabilities(sequences.size());
  for (std::size_t s = 0; s < sequences.size(); ++s) probabilities[s] = predicted.probabilities(s, 1);
  return probabilities;
}

/// positive_class_probabilities as bytes, one double per sequence (empty for none): the form in
/// which ranks of an MPI job send their share to rank 0 (parallel/ordered_work.hpp).
template <class Spec, class B>
std::string positive_class_probability_bytes(const classifier<Spec, B>& model, std::span<const std::string> sequences,
                                             std::size_t batch_size) {
  if (sequences.empty()) return {};
  const std::vector<double> p = positive_class_probabilities(model, sequences, batch_size);
  return std::string(reinterpret_cast<const char*>(p.data()), p.size() * sizeof(double));
}

/// Probability `i` of positive_class_probability_bytes.
inline double probability_at(std::string_view bytes, std::size_t i) {
  double value = 0;
  std::memcpy(&value, bytes.data() + i * sizeof value, sizeof value);
  return value;
}

}  // namespace dnabert
