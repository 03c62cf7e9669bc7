#pragma once
// MEME minimal motif format (version 4, ACGT): what Tomtom, FIMO and SEA read. dnabert writes its
// discovered motifs in it, one letter-probability matrix per motif.

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"

namespace dnabert::io {

/// One motif for a MEME file: its name, site count, E-value and A/C/G/T probabilities per position.
struct meme_motif {
  std::string name;
  std::size_t sites = 0;
  double e_value = 1.0;
  std::vector<std::array<double, 4>> probabilities;  ///< rows sum to 1
};

namespace detail {

/// A number as MEME files print them ("0.250000", "1.2e-05").
inline std::string meme_number(double value, const char* format) {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

/// Throws input_error unless `motif` can be written: a name without blanks, rows that are
/// finite, non-negative and sum to 1 (within rounding).
inline void check_meme_motif(const meme_motif& motif) {
  if (motif.name.empty() || motif.name.find_first_of(" \t\r\n") != std::string::npos)
    throw input_error("MEME motif name '" + motif.name + "' must be non-empty and without blanks");
  if (motif.probabilities.empty()) throw input_error("MEME motif " + motif.name + " has no positions");
  for (std::size_t row = 0; row < motif.probabilities.size(); ++row) {
    double sum = 0;
    for (const double p : motif.probabilities[row]) {
      if (!(p >= 0 && std::isfinite(p)))
        throw input_error("MEME motif " + motif.name + " position " + std::to_string(row + 1) + " has a probability " +
                          std::to_string(p));
      sum += p;
    }
    if (std::abs(sum - 1.0) > 1e-6)
      throw input_error("MEME motif " + motif.name + " position " + std::to_string(row + 1) + " sums to " +
                        std::to_string(sum) + ", not 1");
  }
}

}  // namespace detail

/// The MEME text for `motifs` with background letter frequencies `background` (A, C, G, T).
inline std::string meme_text(const std::vector<meme_motif>& motifs, const std::array<double, 4>& background) {
  std::string text = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\n";
  for (std::size_t b = 0; b < 4; ++b)
    text += std::string(b ? " " : "") + "ACGT"[b] + " " + detail::meme_number(background[b], "%.6f");
  text += "\n";
  for (const auto& motif : motifs) {
    detail::check_meme_motif(motif);
    text += "\nMOTIF " + motif.name + "\nletter-probability matrix: alength= 4 w= " +
            std::to_string(motif.probabilities.size()) + " nsites= " + std::to_string(motif.sites) +
            " E= " + detail::meme_number(motif.e_value, "%.3g") + "\n";
    for (const auto& row : motif.probabilities) {
      for (std::size_t b = 0; b < 4; ++b) text += (b ? "  " : " ") + detail::meme_number(row[b], "%.6f");
      text += "\n";
    }
  }
  return text;
}

/// Writes `motifs` as a MEME file at `path`, atomically.
inline void write_meme(const std::string& path, const std::vector<meme_motif>& motifs,
                       const std::array<double, 4>& background = {0.25, 0.25, 0.25, 0.25}) {
  write_file_atomically(path, meme_text(motifs, background));
}

}  // namespace dnabert::io
