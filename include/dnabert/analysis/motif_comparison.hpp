#pragma once
// Compares motifs the way DNABERT users did by hand with Tomtom: column-wise Pearson correlation of
// two probability matrices at the best ungapped offset, on both strands of the known motif.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/meme.hpp"

namespace dnabert::analysis {

/// A motif's A/C/G/T probabilities per position (the rows of a MEME letter-probability matrix).
using probability_matrix = std::vector<std::array<double, 4>>;

/// How much of the shorter motif must overlap the other one. The overlap needed is
/// max(shorter width − max_unaligned_columns, min(min_overlap_columns, shorter width)): nearly all of
/// the shorter motif, like Tomtom's "-min_overlap" but strict enough that a lucky 1–2 column match
/// at the edge cannot win.
struct motif_comparison_options {
  std::size_t max_unaligned_columns = 2;
  std::size_t min_overlap_columns = 4;
};

/// The best placement of one motif against another: known column 0 sits at query column `offset`
/// (negative: the known motif starts before the query), on `strand` '+' (as given) or '-' (the known
/// motif reverse-complemented), `overlap` columns compared, `score` their mean Pearson correlation.
struct motif_alignment {
  double score = 0.0;
  std::int64_t offset = 0;
  char strand = '+';
  std::size_t overlap = 0;
};

/// The known motif that best matches a query motif, and how it aligns.
struct motif_match {
  std::string known_id;
  std::string known_alternate_name;
  motif_alignment alignment;
};

/// Pearson correlation of two columns; 0 when either column is constant (a uniform column says
/// nothing about which letters the other prefers).
[[nodiscard]] inline double column_correlation(const std::array<double, 4>& x, const std::array<double, 4>& y) {
  double mean_x = 0, mean_y = 0;
  for (std::size_t b = 0; b < 4; ++b) {
    mean_x += x[b] / 4;
    mean_y += y[b] / 4;
  }
  double covariance = 0, variance_x = 0, variance_y = 0;
  for (std::size_t b = 0; b < 4; ++b) {
    covariance += (x[b] - mean_x) * (y[b] - mean_y);
    variance_x += (x[b] - mean_x) * (x[b] - mean_x);
    variance_y += (y[b] - mean_y) * (y[b] - mean_y);
  }
  // Rows of a probability matrix are printed to ~6 decimals: a variance below that is rounding noise.
  constexpr double constant_column = 1e-12;
  if (variance_x < constant_column || variance_y < constant_column) return 0.0;
  return covariance / std::sqrt(variance_x * variance_y);
}

/// The reverse complement of a motif: positions reversed, A↔T and C↔G swapped.
[[nodiscard]] inline probability_matrix reverse_complement(const probability_matrix& motif) {
  probability_matrix out(motif.rbegin(), motif.rend());
  for (auto& row : out) row = {row[3], row[2], row[1], row[0]};
  return out;
}

/// Probabilities from column counts (each column divided by its total; an empty column uniform).
[[nodiscard]] inline probability_matrix column_probabilities(std::span<const std::array<std::size_t, 4>> counts) {
  probability_matrix out;
  for (const auto& column : counts) {
    double total = 0;
    for (const auto count : column) total += static_cast<double>(count);
    std::array<double, 4> row{0.25, 0.25, 0.25, 0.25};
    if (total > 0)
      for (std::size_t b = 0; b < 4; ++b) row[b] = static_cast<double>(column[b]) / total;
    out.push_back(row);
  }
  return out;
}

/// Columns two motifs of these widths must share to be compared (see motif_comparison_options).
[[nodiscard]] inline std::size_t required_overlap(std::size_t query_width, std::size_t known_width,
                                                  const motif_comparison_options& options = {}) {
  const std::size_t shorter = std::min(query_width, known_width);
  const std::size_t nearly_all = shorter > options.max_unaligned_columns ? shorter - options.max_unaligned_columns : 0;
  return std::max({nearly_all, std::min(options.min_overlap_columns, shorter), std::size_t{1}});
}

/// The best-scoring ungapped placement of `known` (either strand) against `query`. Ties go to '+',
/// then the larger overlap, then the leftmost offset.
[[nodiscard]] inline motif_alignment align_motifs(const probability_matrix& query, const probability_matrix& known,
                                                  const motif_comparison_options& options = {}) {
  if (query.empty() || known.empty()) throw input_error("motif comparison: a motif has no positions");
  const auto query_width = static_cast<std::int64_t>(query.size());
  const auto known_width = static_cast<std::int64_t>(known.size());
  const auto overlap_needed = static_cast<std::int64_t>(required_overlap(query.size(), known.size(), options));
  const probability_matrix known_reverse = reverse_complement(known);
  std::optional<motif_alignment> best;
  for (const char strand : {'+', '-'}) {
    const probability_matrix& oriented = strand == '+' ? known : known_reverse;
    for (std::int64_t offset = overlap_needed - known_width; offset <= query_width - overlap_needed; ++offset) {
      const std::int64_t first = std::max<std::int64_t>(0, offset);
      const std::int64_t last = std::min(query_width, offset + known_width);
      double sum = 0;
      for (std::int64_t q = first; q < last; ++q)
        sum += column_correlation(query[static_cast<std::size_t>(q)], oriented[static_cast<std::size_t>(q - offset)]);
      const motif_alignment candidate{sum / static_cast<double>(last - first), offset, strand,
                                      static_cast<std::size_t>(last - first)};
      if (!best || candidate.score > best->score ||
          (candidate.score == best->score && strand == best->strand && candidate.overlap > best->overlap))
        best = candidate;
    }
  }
  return *best;
}

/// The known motif matching `query` best (highest score; the first on ties), nullopt when `known` is empty.
[[nodiscard]] inline std::optional<motif_match> best_match(const probability_matrix& query,
                                                           std::span<const io::meme_motif> known,
                                                           const motif_comparison_options& options = {}) {
  std::optional<motif_match> best;
  for (const auto& candidate : known) {
    const auto alignment = align_motifs(query, candidate.probabilities, options);
    if (!best || alignment.score > best->alignment.score)
      best = motif_match{candidate.name, candidate.alternate_name, alignment};
  }
  return best;
}

/// For each discovered motif, its best match among `known` (see best_match).
[[nodiscard]] inline std::vector<std::optional<motif_match>> best_matches(std::span<const io::meme_motif> discovered,
                                                                          std::span<const io::meme_motif> known,
                                                                          const motif_comparison_options& options = {}) {
  std::vector<std::optional<motif_match>> matches;
  for (const auto& motif : discovered) matches.push_back(best_match(motif.probabilities, known, options));
  return matches;
}

}  // namespace dnabert::analysis
