#pragma once
// The softmax of one row of logits on the host, shared by inference (probabilities, argmax)
// and evaluation (cross-entropy needs the log-sum-exp); the sigmoid and binary cross-entropy of
// one logit, for multi-label classifiers.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>

namespace dnabert {

/// What softmax_row computed besides the probabilities.
struct softmax_summary {
  std::size_t argmax = 0;   ///< first index of the largest logit
  double log_sum_exp = 0;   ///< log(sum(exp(logits))); cross-entropy of class c is log_sum_exp - logits[c]
};

/// probabilities = softmax(logits), computed stably in double; logits must not be empty.
template <class T, class P>
softmax_summary softmax_row(std::span<const T> logits, std::span<P> probabilities) {
  softmax_summary out;
  out.argmax = static_cast<std::size_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  const double top = static_cast<double>(logits[out.argmax]);
  double sum = 0;
  for (const T z : logits) sum += std::exp(static_cast<double>(z) - top);
  for (std::size_t c = 0; c < logits.size(); ++c)
    probabilities[c] = static_cast<P>(std::exp(static_cast<double>(logits[c]) - top) / sum);
  out.log_sum_exp = top + std::log(sum);
  return out;
}

/// 1 / (1 + exp(-x)) in double, from exp(-|x|) so that neither side overflows.
inline double sigmoid(double x) {
  const double e = std::exp(-std::abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/// Binary cross-entropy of logit x against target t in [0, 1] (torch's BCEWithLogitsLoss, one term).
inline double binary_cross_entropy_with_logit(double x, double t) {
  return std::max(x, 0.0) - x * t + std::log1p(std::exp(-std::abs(x)));
}

}  // namespace dnabert
