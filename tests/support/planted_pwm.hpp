#pragma once
// Labelled sequences with instances sampled from a PWM planted in the positives, and attention-like
// scores that peak over the planted sites: a stand-in for a trained model in motif-recovery tests.
#include <array>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

namespace dnabert::test {

/// A/C/G/T probabilities per position.
using pwm = std::vector<std::array<double, 4>>;

/// Positives, negatives, one attention row per positive, and where each positive's site starts.
struct planted_pwm_set {
  std::vector<std::string> positives;
  std::vector<std::string> negatives;
  std::vector<std::vector<double>> positive_scores;
  std::vector<std::size_t> site_starts;
};

/// A sequence of `length` uniform random bases.
inline std::string random_dna(std::size_t length, std::mt19937& rng) {
  std::string s(length, 'A');
  for (char& c : s) c = "ACGT"[rng() % 4];
  return s;
}

/// One site drawn from `motif`, a base per column.
inline std::string sample_site(const pwm& motif, std::mt19937& rng) {
  std::string site;
  for (const auto& column : motif) {
    std::discrete_distribution<int> base(column.begin(), column.end());
    site += "ACGT"[base(rng)];
  }
  return site;
}

/// `count` positives and `count` negatives of `length` nt. With `plant`, each positive carries a site
/// sampled from `motif` at a random place. Attention is exponential noise (mean 0.1) everywhere, a
/// plateau (1 × U(0.5, 1.5) per base) over the site, and in every fifth positive a spurious plateau of
/// 5–9 nt at a random place; without `plant` the positives get that plateau at a random place instead.
inline planted_pwm_set make_planted_pwm_set(const pwm& motif, std::size_t count, std::size_t length, bool plant,
                                            unsigned seed) {
  std::mt19937 rng(seed);
  std::exponential_distribution<double> noise(10.0);
  std::uniform_real_distribution<double> peak(0.5, 1.5);
  const auto raise = [&](std::vector<double>& scores, std::size_t start, std::size_t width) {
    for (std::size_t i = start; i < start + width; ++i) scores[i] += peak(rng);
  };
  planted_pwm_set set;
  for (std::size_t i = 0; i < count; ++i) {
    std::string sequence = random_dna(length, rng);
    std::vector<double> scores(length);
    for (double& score : scores) score = noise(rng);
    const std::size_t start = rng() % (length - motif.size() + 1);
    if (plant) sequence.replace(start, motif.size(), sample_site(motif, rng));
    raise(scores, start, motif.size());
    if (i % 5 == 0) {
      const std::size_t width = 5 + rng() % 5;
      raise(scores, rng() % (length - width + 1), width);
    }
    set.positives.push_back(std::move(sequence));
    set.positive_scores.push_back(std::move(scores));
    set.site_starts.push_back(start);
    set.negatives.push_back(random_dna(length, rng));
  }
  return set;
}

}  // namespace dnabert::test
