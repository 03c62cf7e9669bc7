#pragma once
// The demo's classification task, built from a real genome: windows with a sampled instance of a
// transcription-factor motif planted (positives) and untouched windows (negatives).

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <dnabert/dnabert.hpp>

namespace dnabert::cli {

/// A position weight matrix: per position, the probabilities of A, C, G, T.
using motif_matrix = analysis::probability_matrix;

/// The CTCF core motif CCGCGNGGNGGCAG (Kim et al., Cell 2007) as a matrix: each named base with
/// probability 0.85 (0.05 for each other base), N uniform. Instances sampled from it vary as real
/// binding sites do, so the classifier has to learn the motif, not one string.
inline motif_matrix ctcf_core_motif() {
  constexpr std::string_view consensus = "CCGCGNGGNGGCAG";
  motif_matrix matrix;
  for (const char base : consensus) {
    std::array<double, 4> column{0.05, 0.05, 0.05, 0.05};
    if (base == 'N') column = {0.25, 0.25, 0.25, 0.25};
    else column[static_cast<std::size_t>(std::string_view("ACGT").find(base))] = 0.85;
    matrix.push_back(column);
  }
  return matrix;
}

/// One instance drawn from `matrix`, on a random strand.
inline std::string sample_motif(const motif_matrix& matrix, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::string site;
  for (const auto& column : matrix) {
    double u = uniform(rng);
    std::size_t base = 0;
    while (base < 3 && u >= column[base]) u -= column[base++];
    site += "ACGT"[base];
  }
  if (rng() % 2 == 0) return site;
  std::string reverse(site.rbegin(), site.rend());
  for (char& c : reverse) c = "TGCA"[std::string_view("ACGT").find(c)];
  return reverse;
}

/// Labelled windows of `width` nt drawn from [begin, end) of `genome` (windows with N are
/// redrawn); every other one gets a motif instance planted at a random offset (label 1).
inline std::vector<io::sequence_entry> planted_motif_windows(std::string_view genome, std::size_t begin,
                                                             std::size_t end, std::size_t count, std::size_t width,
                                                             const motif_matrix& motif, std::mt19937_64& rng,
                                                             const std::string& id_prefix) {
  if (end < begin + width) throw input_error("the genome region is shorter than one " + std::to_string(width) + "-nt window");
  std::vector<io::sequence_entry> windows;
  while (windows.size() < count) {
    const std::size_t start = begin + rng() % (end - begin - width + 1);
    std::string window(genome.substr(start, width));
    if (window.find_first_not_of("ACGTacgt") != std::string::npos) continue;
    const bool positive = windows.size() % 2 == 0;
    if (positive) window.replace(rng() % (width - motif.size() + 1), motif.size(), sample_motif(motif, rng));
    windows.push_back({id_prefix + std::to_string(windows.size()) + ":" + std::to_string(start), window,
                       positive ? 1.0 : 0.0});
  }
  return windows;
}

/// The windows as a DNABERT TSV (k-mer sentences, header `sequence<TAB>label`), for the CLI.
inline std::string dnabert_tsv(const std::vector<io::sequence_entry>& windows, int k) {
  std::string text = "sequence\tlabel\n";
  for (const auto& w : windows) text += io::sequence_to_kmer_sentence(w.sequence, k) + '\t' + (*w.label > 0 ? "1\n" : "0\n");
  return text;
}

}  // namespace dnabert::cli
