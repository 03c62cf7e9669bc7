#pragma once
// How much a sequence change moves a 2-class classifier: DNABERT's SNP.py scores (diff and logOR)
// of P(class 1) before and after, shared by variant effects, mutation files and mutation maps.

#include <algorithm>
#include <cmath>

namespace dnabert::analysis {

/// Probabilities are clamped to [probability_floor, 1 − probability_floor] inside logOR, so a
/// saturated model gives a large finite score (at most 2·log2(1e7) ≈ 46.5) instead of ±inf.
inline constexpr double probability_floor = 1e-7;

/// The scores of one variant (or mutation), for P(class 1) of a 2-class classifier.
struct variant_score {
  double p_ref = 0;           ///< P(class 1) of the reference (DNABERT's orig_pred)
  double p_alt = 0;           ///< P(class 1) of the alternative (DNABERT's mut_pred)
  double diff = 0;            ///< (p_alt − p_ref) · max(p_ref, p_alt)
  double log_odds_ratio = 0;  ///< log2(p_ref/(1−p_ref)) − log2(p_alt/(1−p_alt)), clamped probabilities
};

/// DNABERT's SNP.py scores: diff from the probabilities as given, logOR from clamped ones.
inline variant_score score_probabilities(double p_ref, double p_alt) {
  const auto log_odds = [](double p) {
    const double clamped = std::clamp(p, probability_floor, 1.0 - probability_floor);
    return std::log2(clamped / (1.0 - clamped));
  };
  return {p_ref, p_alt, (p_alt - p_ref) * std::max(p_ref, p_alt), log_odds(p_ref) - log_odds(p_alt)};
}

}  // namespace dnabert::analysis
