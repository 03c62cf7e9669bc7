#pragma once
// Statistics behind DNABERT's motif enrichment: the hypergeometric upper tail, Benjamini–Hochberg
// adjustment (as statsmodels fdr_bh) and an Aho–Corasick count of sequences containing each motif.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <queue>
#include <span>
#include <string>
#include <vector>

#include "dnabert/core/error.hpp"

namespace dnabert::analysis {

namespace detail {

inline constexpr double log_sqrt_2pi = 0.918938533204672741780329736406;
inline constexpr double log_2pi = 1.837877066409345483560659472811;

/// Stirling's error log(n!) − log(√(2πn)(n/e)ⁿ) for an integer n ≥ 1 (Loader 2000, as R's stirlerr).
inline double stirling_error(double n) {
  if (n <= 15.0) {
    double factorial = 1.0;  // exact below 2^53 for n ≤ 15
    for (double i = 2.0; i <= n; i += 1.0) factorial *= i;
    return std::log(factorial) - (n + 0.5) * std::log(n) + n - log_sqrt_2pi;
  }
  constexpr double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260, s3 = 1.0 / 1680, s4 = 1.0 / 1188;
  const double nn = n * n;
  if (n > 500) return (s0 - s1 / nn) / n;
  if (n > 80) return (s0 - (s1 - s2 / nn) / nn) / n;
  if (n > 35) return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
  return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

/// Deviance term x·log(x/np) + np − x, by its series when x ≈ np so no digits cancel (Loader 2000).
inline double binomial_deviance(double x, double np) {
  if (std::abs(x - np) < 0.1 * (x + np)) {
    double v = (x - np) / (x + np);
    double sum = (x - np) * v;
    double term = 2.0 * x * v;
    v *= v;
    for (int j = 1; j < 1000; ++j) {
      term *= v;
      const double next = sum + term / (2 * j + 1);
      if (next == sum) return next;
      sum = next;
    }
    return sum;
  }
  return x * std::log(x / np) + np - x;
}

/// log of the binomial probability of x successes in n trials, p and q = 1 − p given separately
/// (Loader's saddle-point form: no lgamma differences, so exact to a few ulps for huge n).
inline double log_binomial_pmf(double x, double n, double p, double q) {
  if (x == 0) return p < 0.1 ? -binomial_deviance(n, n * q) - n * p : n * std::log(q);
  if (x == n) return q < 0.1 ? -binomial_deviance(n, n * p) - n * q : n * std::log(p);
  const double log_core = stirling_error(n) - stirling_error(x) - stirling_error(n - x) -
                          binomial_deviance(x, n * p) - binomial_deviance(n - x, n * q);
  const double log_spread = log_2pi + std::log(x) + std::log1p(-x / n);
  return log_core - 0.5 * log_spread;
}

/// log P[X = k] for X ~ Hypergeom(population, successes, draws), with 0 < draws < population
/// and k in the support; written as a ratio of binomials with p = draws/population (R's dhyper).
inline double log_hypergeometric_pmf(double k, double population, double successes, double draws) {
  const double p = draws / population;
  const double q = (population - draws) / population;
  return log_binomial_pmf(k, successes, p, q) + log_binomial_pmf(draws - k, population - successes, p, q) -
         log_binomial_pmf(draws, population, p, q);
}

/// log Σ_j Π_{i<j} ratio(i) over a tail that starts at its largest-but-few terms; stops once the
/// terms shrink below an ulp of the sum (they fall geometrically past the mode).
template <class Ratio>
double log_relative_tail(std::uint64_t first, std::uint64_t steps, Ratio ratio_after) {
  double term = 1.0, sum = 1.0;
  for (std::uint64_t i = 0; i < steps; ++i) {
    const double ratio = ratio_after(first, i);
    term *= ratio;
    sum += term;
    if (ratio < 1.0 && term < std::numeric_limits<double>::epsilon() * sum) break;
  }
  return std::log(sum);
}

}  // namespace detail

/// log P[X ≥ at_least] for X ~ Hypergeom(population N, successes K, draws n): scipy's
/// hypergeom.logsf(at_least − 1, N, K, n), accurate where the tail is far below 1e-300.
[[nodiscard]] inline double hypergeometric_log_sf(std::uint64_t at_least, std::uint64_t population,
                                                  std::uint64_t successes, std::uint64_t draws) {
  if (successes > population || draws > population)
    throw input_error("hypergeometric test: successes (" + std::to_string(successes) + ") and draws (" +
                      std::to_string(draws) + ") must not exceed the population (" + std::to_string(population) +
                      ")");
  const std::uint64_t failures = population - successes;
  const std::uint64_t lowest = draws > failures ? draws - failures : 0;
  const std::uint64_t highest = std::min(draws, successes);
  if (at_least <= lowest) return 0.0;
  if (at_least > highest) return -std::numeric_limits<double>::infinity();
  // Here the support has two or more points, so 0 < draws < population and 0 < successes < population.
  const double N = static_cast<double>(population), K = static_cast<double>(successes),
               n = static_cast<double>(draws);
  const double mean = n * K / N;
  if (static_cast<double>(at_least) >= mean) {
    // The upper tail is the small side: sum it directly from its first term upwards.
    const auto up = [&](std::uint64_t first, std::uint64_t i) {
      const double k = static_cast<double>(first + i);
      return (K - k) * (n - k) / ((k + 1.0) * (N - K - n + k + 1.0));
    };
    const double x = static_cast<double>(at_least);
    return detail::log_hypergeometric_pmf(x, N, K, n) + detail::log_relative_tail(at_least, highest - at_least, up);
  }
  // The lower tail P[X ≤ at_least − 1] is the small side: sum it downwards and take the complement.
  const std::uint64_t below = at_least - 1;
  const auto down = [&](std::uint64_t first, std::uint64_t i) {
    const double k = static_cast<double>(first - i);
    return k * (N - K - n + k) / ((n - k + 1.0) * (K - k + 1.0));
  };
  const double log_cdf = detail::log_hypergeometric_pmf(static_cast<double>(below), N, K, n) +
                         detail::log_relative_tail(below, below - lowest, down);
  return std::log1p(-std::exp(log_cdf));
}

/// P[X ≥ at_least] for X ~ Hypergeom(N, K, n): scipy's hypergeom.sf(at_least − 1, N, K, n).
[[nodiscard]] inline double hypergeometric_sf(std::uint64_t at_least, std::uint64_t population,
                                              std::uint64_t successes, std::uint64_t draws) {
  return std::exp(hypergeometric_log_sf(at_least, population, successes, draws));
}

/// Benjamini–Hochberg adjusted p-values, bit for bit as statsmodels multipletests(method='fdr_bh'),
/// in input order.
[[nodiscard]] inline std::vector<double> benjamini_hochberg(std::span<const double> p_values) {
  for (std::size_t i = 0; i < p_values.size(); ++i)
    if (!(p_values[i] >= 0.0 && p_values[i] <= 1.0))
      throw input_error("Benjamini-Hochberg: p-value " + std::to_string(i) + " is " + std::to_string(p_values[i]) +
                        ", not in [0, 1]");
  const std::size_t count = p_values.size();
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
  std::vector<double> adjusted(count);
  double running_minimum = std::numeric_limits<double>::infinity();
  for (std::size_t rank = count; rank >= 1; --rank) {
    const std::size_t index = order[rank - 1];
    // statsmodels divides by the ecdf factor rank/n rather than multiplying by n/rank; same rounding here.
    const double ecdf_factor = static_cast<double>(rank) / static_cast<double>(count);
    running_minimum = std::min(running_minimum, p_values[index] / ecdf_factor);
    adjusted[index] = std::min(running_minimum, 1.0);
  }
  return adjusted;
}

namespace detail {

/// 0..3 for A, C, G, T in either case; −1 for any other letter (which breaks every match).
inline int nucleotide_code(char letter) noexcept {
  switch (letter) {
    case 'A': case 'a': return 0;
    case 'C': case 'c': return 1;
    case 'G': case 'g': return 2;
    case 'T': case 't': return 3;
    default: return -1;
  }
}

}  // namespace detail

/// An Aho–Corasick automaton over A/C/G/T (case-insensitive) for a fixed set of motifs.
class motif_matcher {
 public:
  /// Builds the automaton; every motif must be non-empty and made of A/C/G/T only.
  explicit motif_matcher(std::span<const std::string> motifs) : pattern_of_motif_(motifs.size()) {
    nodes_.emplace_back();
    for (std::size_t m = 0; m < motifs.size(); ++m) pattern_of_motif_[m] = insert(motifs[m], m);
    link_failures();
  }

  /// Number of motifs the matcher was built from.
  [[nodiscard]] std::size_t size() const noexcept { return pattern_of_motif_.size(); }

  /// For each motif, how many of `sequences` contain it at least once; O(total length + matches).
  [[nodiscard]] std::vector<std::size_t> count_sequences_containing(std::span<const std::string> sequences) const {
    constexpr std::size_t never = std::numeric_limits<std::size_t>::max();
    std::vector<std::size_t> sequences_with_pattern(pattern_count_, 0);
    std::vector<std::size_t> last_sequence_seen(pattern_count_, never);
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      std::int32_t state = 0;
      for (const char letter : sequences[s]) {
        const int code = detail::nucleotide_code(letter);
        if (code < 0) {
          state = 0;
          continue;
        }
        state = nodes_[static_cast<std::size_t>(state)].next[static_cast<std::size_t>(code)];
        const auto& here = nodes_[static_cast<std::size_t>(state)];
        for (std::int32_t hit = here.pattern >= 0 ? state : here.output_link; hit >= 0;
             hit = nodes_[static_cast<std::size_t>(hit)].output_link) {
          const auto pattern = static_cast<std::size_t>(nodes_[static_cast<std::size_t>(hit)].pattern);
          if (last_sequence_seen[pattern] != s) {  // each sequence counts once per motif
            last_sequence_seen[pattern] = s;
            ++sequences_with_pattern[pattern];
          }
        }
      }
    }
    std::vector<std::size_t> counts(pattern_of_motif_.size());
    for (std::size_t m = 0; m < counts.size(); ++m) counts[m] = sequences_with_pattern[pattern_of_motif_[m]];
    return counts;
  }

 private:
  struct node {
    std::array<std::int32_t, 4> next{-1, -1, -1, -1};
    std::int32_t pattern = -1;      // distinct motif ending here, −1 if none
    std::int32_t output_link = -1;  // nearest proper suffix node that ends a motif
  };

  // Returns the distinct-pattern id of the motif (equal motifs share one node and one id).
  std::size_t insert(const std::string& motif, std::size_t index) {
    if (motif.empty()) throw input_error("motif " + std::to_string(index) + " is empty");
    std::size_t state = 0;
    for (const char letter : motif) {
      const int code = detail::nucleotide_code(letter);
      if (code < 0)
        throw input_error("motif " + std::to_string(index) + " (" + motif + ") has a letter other than A, C, G, T");
      auto& child = nodes_[state].next[static_cast<std::size_t>(code)];
      if (child < 0) {
        child = static_cast<std::int32_t>(nodes_.size());
        nodes_.emplace_back();  // may reallocate: `child` is not used after this
      }
      state = static_cast<std::size_t>(nodes_[state].next[static_cast<std::size_t>(code)]);
    }
    if (nodes_[state].pattern < 0) nodes_[state].pattern = static_cast<std::int32_t>(pattern_count_++);
    return static_cast<std::size_t>(nodes_[state].pattern);
  }

  // Breadth-first: failure links, output links, and missing transitions filled in (a full DFA).
  void link_failures() {
    std::vector<std::int32_t> failure(nodes_.size(), 0);
    std::queue<std::int32_t> pending;
    for (auto& child : nodes_[0].next) {
      if (child < 0) child = 0;
      else pending.push(child);
    }
    while (!pending.empty()) {
      const auto u = static_cast<std::size_t>(pending.front());
      pending.pop();
      for (std::size_t c = 0; c < 4; ++c) {
        const std::int32_t fallback = nodes_[static_cast<std::size_t>(failure[u])].next[c];
        const std::int32_t v = nodes_[u].next[c];
        if (v < 0) {
          nodes_[u].next[c] = fallback;
          continue;
        }
        const auto child = static_cast<std::size_t>(v);
        failure[child] = fallback;
        const auto& suffix = nodes_[static_cast<std::size_t>(fallback)];
        nodes_[child].output_link = suffix.pattern >= 0 ? fallback : suffix.output_link;
        pending.push(v);
      }
    }
  }

  std::vector<node> nodes_;
  std::vector<std::size_t> pattern_of_motif_;
  std::size_t pattern_count_ = 0;
};

}  // namespace dnabert::analysis
