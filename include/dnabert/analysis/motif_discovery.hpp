#pragma once
// Attention-driven motif discovery, DNABERT's motif_utils.py step by step
// (https://github.com/jerryji1993/DNABERT/blob/master/motif/motif_utils.py): high-attention
// regions, hypergeometric enrichment with BH, merging by ungapped alignment, fixed windows, PFMs.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnabert/analysis/motif_statistics.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/nucleotide_text.hpp"

namespace dnabert::analysis {

/// A half-open stretch [start, end) of one sequence.
struct attention_region {
  std::size_t start = 0;
  std::size_t end = 0;
  friend bool operator==(const attention_region&, const attention_region&) = default;
};

/// One occurrence of a motif: positive sequence `sequence`, half-open [start, end); signed because
/// a merged instance takes its key's footprint, which may stick out of the sequence until windowed.
struct motif_instance {
  std::size_t sequence = 0;
  std::int64_t start = 0;
  std::int64_t end = 0;
  friend bool operator==(const motif_instance&, const motif_instance&) = default;
};

/// A motif (upper-case A/C/G/T) with the places it was seen.
struct motif_candidate {
  std::string motif;
  std::vector<motif_instance> instances;
};

/// Enrichment of one motif among positives: x of the K positives and n of all N sequences contain it.
struct motif_enrichment {
  std::size_t positives_with_motif = 0;
  std::size_t sequences_with_motif = 0;
  double p_value = 1.0;
  double adjusted_p_value = 1.0;
};

/// The best gap-free placement of a key against a query: key position 0 sits at query position
/// `offset` (negative: the key starts before the query), scoring `matches` identical letters.
struct ungapped_alignment {
  std::int64_t offset = 0;
  std::size_t matches = 0;
};

/// Column counts of A, C, G, T over a motif's windows (other letters are not counted).
using position_frequency_matrix = std::vector<std::array<std::size_t, 4>>;

/// A motif that survived every step, with its windows and their PFM.
struct discovered_motif {
  std::string key;
  motif_enrichment enrichment;  // of the key motif itself
  std::vector<motif_instance> instances;  // the windows, in positive-sequence coordinates
  std::vector<std::string> windows;
  position_frequency_matrix frequencies;
};

/// DNABERT's find_motifs.py defaults.
struct motif_discovery_options {
  std::size_t window_size = 24;
  std::size_t min_len = 5;
  double p_value_cutoff = 0.005;
  std::size_t min_instances = 3;
  bool align_all_ties = false;
};

/// Maximal runs of length ≥ min_len where score > mean(score) and score > 10·min(score)
/// (DNABERT's find_high_attention + contiguous_regions).
[[nodiscard]] inline std::vector<attention_region> high_attention_regions(std::span<const double> scores,
                                                                         std::size_t min_len) {
  std::vector<attention_region> regions;
  if (scores.empty()) return regions;
  double sum = 0.0, minimum = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i]))
      throw input_error("attention score " + std::to_string(i) + " is not finite within the sequence");
    sum += scores[i];
    minimum = std::min(minimum, scores[i]);
  }
  const double mean = sum / static_cast<double>(scores.size());
  const auto high = [&](std::size_t i) { return scores[i] > mean && scores[i] > 10.0 * minimum; };
  for (std::size_t i = 0; i < scores.size();) {
    if (!high(i)) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < scores.size() && high(i)) ++i;
    if (i - start >= min_len) regions.push_back({start, i});
  }
  return regions;
}

namespace detail {

inline bool is_acgt(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return nucleotide_code(c) >= 0; });
}

}  // namespace detail

/// Every high-attention region of every positive as a candidate motif with its instances, in order
/// of first appearance. `scores[i]` may be longer than sequence i (padding is ignored), not shorter;
/// regions holding a letter other than A/C/G/T are skipped (DNABERT would keep them, but they could
/// never be counted by the A/C/G/T search that tests them).
[[nodiscard]] inline std::vector<motif_candidate> collect_candidate_motifs(std::span<const std::string> positives,
                                                                           std::span<const std::vector<double>> scores,
                                                                           std::size_t min_len) {
  if (scores.size() != positives.size())
    throw input_error("motif discovery: " + std::to_string(positives.size()) + " positive sequences but " +
                      std::to_string(scores.size()) + " attention rows");
  std::vector<motif_candidate> candidates;
  std::map<std::string, std::size_t, std::less<>> index_of_motif;
  for (std::size_t s = 0; s < positives.size(); ++s) {
    const std::string& sequence = positives[s];
    if (scores[s].size() < sequence.size())
      throw input_error("motif discovery: positive " + std::to_string(s) + " has " + std::to_string(sequence.size()) +
                        " nt but only " + std::to_string(scores[s].size()) + " attention scores");
    for (const auto region : high_attention_regions(std::span(scores[s]).first(sequence.size()), min_len)) {
      // Upper case, so that motifs found in "acgt" and "ACGT" are the same key.
      std::string motif = upper_case(std::string_view(sequence).substr(region.start, region.end - region.start));
      if (!detail::is_acgt(motif)) continue;
      auto [it, inserted] = index_of_motif.try_emplace(motif, candidates.size());
      if (inserted) candidates.push_back({std::move(motif), {}});
      candidates[it->second].instances.push_back(
          {s, static_cast<std::int64_t>(region.start), static_cast<std::int64_t>(region.end)});
    }
  }
  return candidates;
}

/// Hypergeometric enrichment of each motif in positives against positives + negatives, each sequence
/// counted once: p = hypergeom.sf(x − 1, N, K, n), then BH-adjusted over all motifs.
[[nodiscard]] inline std::vector<motif_enrichment> motif_enrichment_test(std::span<const std::string> motifs,
                                                                        std::span<const std::string> positives,
                                                                        std::span<const std::string> negatives) {
  const motif_matcher matcher(motifs);
  const auto in_positives = matcher.count_sequences_containing(positives);
  const auto in_negatives = matcher.count_sequences_containing(negatives);
  const std::uint64_t population = positives.size() + negatives.size();
  std::vector<motif_enrichment> result(motifs.size());
  std::vector<double> p_values(motifs.size());
  for (std::size_t m = 0; m < motifs.size(); ++m) {
    auto& e = result[m];
    e.positives_with_motif = in_positives[m];
    e.sequences_with_motif = in_positives[m] + in_negatives[m];
    e.p_value = hypergeometric_sf(e.positives_with_motif, population, positives.size(), e.sequences_with_motif);
    p_values[m] = e.p_value;
  }
  const auto adjusted = benjamini_hochberg(p_values);
  for (std::size_t m = 0; m < motifs.size(); ++m) result[m].adjusted_p_value = adjusted[m];
  return result;
}

/// The gap-free overlap of `key` on `query` with the most identical letters, end gaps free (what
/// DNABERT's Biopython aligner with internal_gap_score −10000 scores). Ties go to the larger overlap,
/// then the leftmost offset; Biopython picks among ties by its traceback order instead.
[[nodiscard]] inline ungapped_alignment best_ungapped_alignment(std::string_view query, std::string_view key) {
  ungapped_alignment best{0, 0};
  std::size_t best_overlap = 0;
  const auto query_length = static_cast<std::int64_t>(query.size());
  const auto key_length = static_cast<std::int64_t>(key.size());
  for (std::int64_t offset = 1 - key_length; offset < query_length; ++offset) {
    const std::int64_t first = std::max<std::int64_t>(0, offset);
    const std::int64_t last = std::min(query_length, offset + key_length);
    std::size_t matches = 0;
    for (std::int64_t q = first; q < last; ++q)
      matches += query[static_cast<std::size_t>(q)] == key[static_cast<std::size_t>(q - offset)] ? 1 : 0;
    const auto overlap = static_cast<std::size_t>(last - first);
    if (matches > best.matches || (matches == best.matches && overlap > best_overlap)) {
      best = {offset, matches};
      best_overlap = overlap;
    }
  }
  return best;
}

/// Merges similar motifs shortest first (DNABERT's merge_motifs): each motif is aligned to every
/// key so far; if an alignment scores ≥ max(min_len − 1, ½·min length) its instances move into the
/// best-scoring key (every key tied on score with align_all_ties, else the earliest), re-placed on
/// that key's footprint; otherwise it becomes a key. DNABERT tests ties by alignment object identity,
/// so it never merges into more than one key; here ties are by score.
[[nodiscard]] inline std::vector<motif_candidate> merge_motifs(std::vector<motif_candidate> candidates,
                                                               std::size_t min_len, bool align_all_ties) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const motif_candidate& a, const motif_candidate& b) { return a.motif.size() < b.motif.size(); });
  std::vector<motif_candidate> keys;
  for (auto& query : candidates) {
    std::vector<std::pair<std::size_t, ungapped_alignment>> accepted;  // (key index, alignment)
    std::size_t best_matches = 0;
    for (std::size_t k = 0; k < keys.size(); ++k) {
      if (keys[k].motif == query.motif) continue;
      const auto alignment = best_ungapped_alignment(query.motif, keys[k].motif);
      const double needed = std::max(static_cast<double>(min_len) - 1.0,
                                     0.5 * static_cast<double>(std::min(query.motif.size(), keys[k].motif.size())));
      if (static_cast<double>(alignment.matches) < needed) continue;
      accepted.emplace_back(k, alignment);
      best_matches = std::max(best_matches, alignment.matches);
    }
    if (accepted.empty()) {
      keys.push_back(std::move(query));
      continue;
    }
    for (const auto& [k, alignment] : accepted) {
      if (alignment.matches != best_matches) continue;
      // Each instance of the query is re-placed on the key: it starts `offset` further right and is
      // as long as the key (DNABERT's left/right offsets from the aligned block come to the same).
      const auto key_length = static_cast<std::int64_t>(keys[k].motif.size());
      for (const auto& instance : query.instances)
        keys[k].instances.push_back(
            {instance.sequence, instance.start + alignment.offset, instance.start + alignment.offset + key_length});
      if (!align_all_ties) break;
    }
  }
  return keys;
}

/// `instance` widened (or narrowed) to `window_size`, the odd extra on the right; nullopt unless the
/// window lies inside the sequence. DNABERT's make_window requires end < length and so drops windows
/// that end exactly at the sequence end; here end ≤ length keeps them.
[[nodiscard]] inline std::optional<motif_instance> window_around(const motif_instance& instance,
                                                                 std::size_t window_size,
                                                                 std::size_t sequence_length) {
  const std::int64_t extra = static_cast<std::int64_t>(window_size) - (instance.end - instance.start);
  // Floor division, like Python's //, so a region longer than the window is trimmed the same way.
  const std::int64_t left = extra >= 0 ? extra / 2 : -((-extra + 1) / 2);
  const std::int64_t right = extra - left;
  const motif_instance window{instance.sequence, instance.start - left, instance.end + right};
  if (window.start < 0 || window.end > static_cast<std::int64_t>(sequence_length)) return std::nullopt;
  return window;
}

/// Column-wise A/C/G/T counts over equal-length windows.
[[nodiscard]] inline position_frequency_matrix count_positions(std::span<const std::string> windows) {
  position_frequency_matrix counts(windows.empty() ? 0 : windows.front().size(), std::array<std::size_t, 4>{});
  for (const auto& window : windows) {
    if (window.size() != counts.size())
      throw input_error("position frequency matrix: windows of " + std::to_string(counts.size()) + " and " +
                        std::to_string(window.size()) + " nt");
    for (std::size_t i = 0; i < window.size(); ++i)
      if (const int code = detail::nucleotide_code(window[i]); code >= 0) ++counts[i][static_cast<std::size_t>(code)];
  }
  return counts;
}

/// DNABERT's motif_analysis end to end: candidates from the positives' high-attention regions,
/// enrichment (keep adjusted p < cutoff), merging, windows, and motifs with ≥ min_instances windows.
[[nodiscard]] inline std::vector<discovered_motif> discover_motifs(std::span<const std::string> positives,
                                                                   std::span<const std::string> negatives,
                                                                   std::span<const std::vector<double>> positive_scores,
                                                                   const motif_discovery_options& options = {}) {
  std::vector<std::string> upper_positives, upper_negatives;
  for (const auto& s : positives) upper_positives.push_back(upper_case(s));
  for (const auto& s : negatives) upper_negatives.push_back(upper_case(s));

  auto candidates = collect_candidate_motifs(upper_positives, positive_scores, options.min_len);
  std::vector<std::string> motifs;
  for (const auto& c : candidates) motifs.push_back(c.motif);
  const auto enrichment = motif_enrichment_test(motifs, upper_positives, upper_negatives);
  std::map<std::string, motif_enrichment, std::less<>> enrichment_of;
  std::vector<motif_candidate> significant;
  for (std::size_t m = 0; m < candidates.size(); ++m) {
    if (!(enrichment[m].adjusted_p_value < options.p_value_cutoff)) continue;
    enrichment_of.emplace(candidates[m].motif, enrichment[m]);
    significant.push_back(std::move(candidates[m]));
  }

  std::vector<discovered_motif> result;
  for (auto& merged : merge_motifs(std::move(significant), options.min_len, options.align_all_ties)) {
    discovered_motif motif{merged.motif, enrichment_of.at(merged.motif), {}, {}, {}};
    for (const auto& instance : merged.instances) {
      const std::string& sequence = upper_positives[instance.sequence];
      const auto window = window_around(instance, options.window_size, sequence.size());
      if (!window) continue;
      motif.instances.push_back(*window);
      motif.windows.push_back(sequence.substr(static_cast<std::size_t>(window->start), options.window_size));
    }
    if (motif.instances.size() < options.min_instances) continue;
    motif.frequencies = count_positions(motif.windows);
    result.push_back(std::move(motif));
  }
  return result;
}

}  // namespace dnabert::analysis
