#pragma once
// Sequence logos of motifs as self-contained SVG: letters stacked by information content in bits,
// drawn as filled paths (no fonts involved, so every browser shows the same heights).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include "dnabert/analysis/motif_discovery.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/svg_chart.hpp"

namespace dnabert::analysis {

/// How a logo is computed and drawn.
struct sequence_logo_options {
  std::string title;
  /// Subtract Schneider's small-sample correction e(n) = 3 / (2·ln 2·n) bits from each column's
  /// information (as WebLogo does), so that a column seen in few windows does not look conserved.
  bool small_sample_correction = true;
  double column_width = 30;  ///< pixels per position
  double bits_height = 80;   ///< pixels per bit (the axis spans 2 bits)
};

/// One letter of a logo column: its place in the stack, in bits.
struct logo_letter {
  char letter = 'A';
  double bottom = 0;
  double height = 0;
};

/// A logo column's letters, bottom to top (the tallest on top).
using logo_column = std::vector<logo_letter>;

/// Information content of a column of counts in bits: 2 − H(p) − e(n), floored at 0 (0 for an empty column).
[[nodiscard]] inline double column_information(const std::array<std::size_t, 4>& counts, bool small_sample_correction) {
  double total = 0;
  for (const auto count : counts) total += static_cast<double>(count);
  if (total == 0) return 0;
  double entropy = 0;
  for (const auto count : counts)
    if (count > 0) {
      const double p = static_cast<double>(count) / total;
      entropy -= p * std::log2(p);
    }
  const double correction = small_sample_correction ? 3.0 / (2.0 * std::log(2.0) * total) : 0.0;
  return std::max(0.0, 2.0 - entropy - correction);
}

/// The stacks of a logo: each letter as tall as information × its frequency, stacked smallest at the
/// bottom (ties in A, C, G, T order), letters of zero height left out.
[[nodiscard]] inline std::vector<logo_column> logo_columns(const position_frequency_matrix& counts,
                                                           bool small_sample_correction = true) {
  std::vector<logo_column> columns;
  for (const auto& column : counts) {
    double total = 0;
    for (const auto count : column) total += static_cast<double>(count);
    const double information = column_information(column, small_sample_correction);
    logo_column stack;
    for (std::size_t b = 0; b < 4; ++b)
      if (column[b] > 0 && information > 0)
        stack.push_back({"ACGT"[b], 0, information * static_cast<double>(column[b]) / total});
    std::stable_sort(stack.begin(), stack.end(),
                     [](const logo_letter& a, const logo_letter& b) { return a.height < b.height; });
    double bottom = 0;
    for (auto& letter : stack) {
      letter.bottom = bottom;
      bottom += letter.height;
    }
    columns.push_back(std::move(stack));
  }
  return columns;
}

namespace detail {

/// Block-letter outlines in a 100 × 100 box (y down), filled with the even-odd rule (A's counter).
inline const char* letter_outline(char letter) {
  switch (letter) {
    case 'A': return "M0 100L40 0H60L100 100H78L69 74H31L22 100ZM37 58H63L50 24Z";
    case 'C': return "M93.3 25A50 50 0 1 0 93.3 75L77.71 66A32 32 0 1 1 77.71 34Z";
    case 'G': return "M93.3 25A50 50 0 1 0 100 50H54V64H78.78A32 32 0 1 1 77.71 34Z";
    default: return "M0 0H100V20H64V100H36V20H0Z";  // T
  }
}

/// The classic logo colours: A green, C blue, G orange, T red.
inline const char* letter_colour(char letter) {
  switch (letter) {
    case 'A': return "#109648";
    case 'C': return "#255c99";
    case 'G': return "#f7b32b";
    default: return "#d62839";  // T
  }
}

}  // namespace detail

/// The logo of a motif's column counts as SVG text: y axis 0–2 bits, positions numbered from 1 and
/// each letter a filled path scaled to its box, so its drawn height is exactly its height in bits.
[[nodiscard]] inline std::string sequence_logo_svg(const position_frequency_matrix& counts,
                                                   const sequence_logo_options& options = {}) {
  const double left = 56, right = 16, top = 36, bottom = 34;
  const double plot_width = options.column_width * static_cast<double>(counts.size());
  const double plot_height = 2 * options.bits_height;
  const double width = left + std::max(plot_width, 120.0) + right;
  const double height = top + plot_height + bottom;
  const double baseline = top + plot_height;
  std::ostringstream svg;
  svg.precision(6);
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
      << width << ' ' << height << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << left + plot_width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">"
      << io::detail::xml_escape(options.title) << "</text>\n";
  for (int half_bits = 0; half_bits <= 4; ++half_bits) {
    const double y = baseline - half_bits * options.bits_height / 2;
    svg << "<line x1=\"" << left - (half_bits % 2 ? 3 : 6) << "\" y1=\"" << y << "\" x2=\"" << left << "\" y2=\"" << y
        << "\" stroke=\"#333\"/>\n";
    if (half_bits % 2 == 0)
      svg << "<text x=\"" << left - 9 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << half_bits / 2 << "</text>\n";
  }
  svg << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << baseline
      << "\" stroke=\"#333\"/>\n<line x1=\"" << left << "\" y1=\"" << baseline << "\" x2=\"" << left + plot_width
      << "\" y2=\"" << baseline << "\" stroke=\"#333\"/>\n"
      << "<text transform=\"translate(18 " << top + plot_height / 2 << ") rotate(-90)\" text-anchor=\"middle\">bits</text>\n";
  const auto columns = logo_columns(counts, options.small_sample_correction);
  for (std::size_t position = 0; position < columns.size(); ++position) {
    const double x = left + options.column_width * static_cast<double>(position);
    svg << "<text x=\"" << x + options.column_width / 2 << "\" y=\"" << baseline + 16 << "\" text-anchor=\"middle\">"
        << position + 1 << "</text>\n";
    for (const auto& letter : columns[position]) {
      const double letter_top = baseline - (letter.bottom + letter.height) * options.bits_height;
      // The outline's 100 × 100 box becomes the letter's box, a little narrower than its column.
      svg << "<path d=\"" << detail::letter_outline(letter.letter) << "\" fill=\"" << detail::letter_colour(letter.letter)
          << "\" fill-rule=\"evenodd\" transform=\"translate(" << x + 1 << ' ' << letter_top << ") scale("
          << (options.column_width - 2) / 100 << ' ' << letter.height * options.bits_height / 100 << ")\"><title>"
          << letter.letter << ' ' << letter.height << " bits</title></path>\n";
    }
  }
  svg << "</svg>\n";
  return svg.str();
}

/// Writes the logo of `counts` to `path` atomically.
inline void write_sequence_logo(const std::string& path, const position_frequency_matrix& counts,
                                const sequence_logo_options& options = {}) {
  io::write_file_atomically(path, sequence_logo_svg(counts, options));
}

}  // namespace dnabert::analysis
