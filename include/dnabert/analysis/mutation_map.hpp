#pragma once
// Saturation mutagenesis (DNABERT paper Fig. 6): every position of a sequence changed to each other
// base, predicted in batches, as a TSV and an SVG heat map with an optional attention track above.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/analysis/attention_plots.hpp"
#include "dnabert/analysis/effect_scores.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/nucleotide_text.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/svg_chart.hpp"
#include "dnabert/model/window_classification.hpp"

namespace dnabert::analysis {

/// The bases a position is mutated to, and the rows of the heat map, in this order.
inline constexpr std::string_view mutation_bases = "ACGT";

/// One single-base substitution and its scores against the wild type.
struct point_mutation {
  std::size_t position = 0;  ///< 0-based position in the sequence
  char reference = 'N';      ///< the wild-type base (upper case)
  char alternative = 'N';    ///< the base put there
  variant_score score;       ///< p_ref is the wild type's P(class 1), p_alt the mutant's; diff and logOR as DNABERT's

  /// P(class 1) of the mutant minus that of the wild type.
  [[nodiscard]] double delta() const { return score.p_alt - score.p_ref; }
};

/// The saturation mutagenesis of one sequence.
struct mutation_map {
  std::string id;
  std::string sequence;        ///< the wild type, upper case
  double p_wild_type = 0;      ///< P(class 1) of the wild type
  std::vector<point_mutation> mutations;  ///< by position, then alternative in ACGT order
};

/// How the mutants are batched.
struct mutagenesis_options {
  std::size_t batch_size = 32;  ///< sequences per forward pass
  /// Called with (mutants done, mutants in all); for progress displays.
  std::function<void(std::size_t, std::size_t)> progress;
};

/// Every single-base substitution of `sequence` (each A, C, G or T to the three others; any other
/// letter, e.g. N, to all four), predicted with `model` (a 2-class classifier, through
/// classifier::predict) in chunks so that memory stays bounded, scored against the wild type.
/// The sequence is upper-cased first, so soft-masked bases are mutated like the others.
template <class Spec, class B>
mutation_map saturation_mutagenesis(const classifier<Spec, B>& model, std::string_view sequence, std::string id,
                                    const mutagenesis_options& options = {}) {
  mutation_map map{std::move(id), upper_case(sequence), 0, {}};
  if (map.sequence.size() < model.model().min_sequence_length())
    throw input_error("sequence '" + map.id + "' has " + std::to_string(map.sequence.size()) + " nt, fewer than one token of the model (" +
                      std::to_string(model.model().min_sequence_length()) + " nt)");
  map.p_wild_type = positive_class_probabilities(model, std::span<const std::string>(&map.sequence, 1), 1).front();
  for (std::size_t p = 0; p < map.sequence.size(); ++p)
    for (const char base : mutation_bases)
      if (base != map.sequence[p]) map.mutations.push_back({p, map.sequence[p], base, {}});

  const std::size_t chunk = std::max<std::size_t>(256, options.batch_size * 8);
  for (std::size_t first = 0; first < map.mutations.size(); first += chunk) {
    const std::size_t last = std::min(map.mutations.size(), first + chunk);
    std::vector<std::string> mutants;
    mutants.reserve(last - first);
    for (std::size_t m = first; m < last; ++m) {
      mutants.push_back(map.sequence);
      mutants.back()[map.mutations[m].position] = map.mutations[m].alternative;
    }
    const std::vector<double> p = positive_class_probabilities(model, mutants, options.batch_size);
    for (std::size_t m = first; m < last; ++m) map.mutations[m].score = score_probabilities(map.p_wild_type, p[m - first]);
    if (options.progress) options.progress(last, map.mutations.size());
  }
  return map;
}

/// The map as TSV: header `id position ref alt p_ref p_alt delta diff logOR`, one line per
/// mutation (position 0-based; delta = p_alt − p_ref; diff and logOR as `dnabert variants`).
inline std::string mutation_map_tsv(const mutation_map& map) {
  std::ostringstream out;
  out << std::setprecision(std::numeric_limits<double>::max_digits10)
      << "id\tposition\tref\talt\tp_ref\tp_alt\tdelta\tdiff\tlogOR\n";
  for (const point_mutation& m : map.mutations)
    out << map.id << '\t' << m.position << '\t' << m.reference << '\t' << m.alternative << '\t' << m.score.p_ref << '\t'
        << m.score.p_alt << '\t' << m.delta() << '\t' << m.score.diff << '\t' << m.score.log_odds_ratio << '\n';
  return out.str();
}

/// Writes `mutation_map_tsv(map)` to `path` atomically.
inline void write_mutation_map_tsv(const std::string& path, const mutation_map& map) {
  io::write_file_atomically(path, mutation_map_tsv(map));
}

/// The diverging colour scale of the mutation map at `t` in [−1, 1] (clamped): ColorBrewer's RdBu,
/// dark blue (−1, the mutation lowers P(class 1)) through near-white (0) to dark red (+1), linear
/// between its eleven stops, as "#rrggbb"; NaN is `no_data_colour`.
inline std::string diverging_colour(double t) {
  if (std::isnan(t)) return std::string(no_data_colour);
  static constexpr std::array<std::array<int, 3>, 11> stops{{{5, 48, 97},
                                                             {33, 102, 172},
                                                             {67, 147, 195},
                                                             {146, 197, 222},
                                                             {209, 229, 240},
                                                             {247, 247, 247},
                                                             {253, 219, 199},
                                                             {244, 165, 130},
                                                             {214, 96, 77},
                                                             {178, 24, 43},
                                                             {103, 0, 31}}};
  return io::interpolated_colour(stops, (t + 1) / 2);
}

/// How the mutation map is laid out.
struct mutation_map_svg_options {
  std::string title;             ///< e.g. the id and the wild type's probability
  std::size_t row_length = 100;  ///< positions per block: long sequences wrap
  double cell_width = 10;        ///< pixels per position
};

namespace detail {

// A diverging colour bar from −top to +top at (x, y), with ticks, for the mutation map.
inline void delta_legend(std::ostringstream& svg, double x, double y, double top) {
  svg << "<defs><linearGradient id=\"delta-scale\">";
  for (int stop = 0; stop <= 20; ++stop)
    svg << "<stop offset=\"" << stop / 20.0 << "\" stop-color=\"" << diverging_colour(stop / 10.0 - 1) << "\"/>";
  svg << "</linearGradient></defs>\n<text x=\"" << x << "\" y=\"" << y - 4
      << "\">change of P(class 1) (mutant − wild type)</text>\n<rect x=\"" << x << "\" y=\"" << y << "\" width=\""
      << legend_width << "\" height=\"12\" fill=\"url(#delta-scale)\" stroke=\"#333\"/>\n";
  const double step = io::detail::tick_step(top, 2);
  for (double tick = -std::floor(top / step) * step; tick <= top * (1 + 1e-9); tick += step) {
    const double tx = x + (tick / top + 1) / 2 * legend_width;
    svg << "<line x1=\"" << tx << "\" y1=\"" << y + 12 << "\" x2=\"" << tx << "\" y2=\"" << y + 16
        << "\" stroke=\"#333\"/><text class=\"legend-tick\" x=\"" << tx << "\" y=\"" << y + 28
        << "\" text-anchor=\"middle\" font-size=\"10\">" << io::detail::tick_text(std::abs(tick) < step / 2 ? 0 : tick)
        << "</text>\n";
  }
}

}  // namespace detail

/// The mutation map as SVG (paper Fig. 6): per block of positions, 1-based position ticks, the
/// attention track when `attention` holds one score per nucleotide (analysis::attention_scores),
/// rows A, C, G, T coloured by the change of P(class 1) on a diverging scale symmetric about 0
/// (the wild-type base's cell marked with a dot), and the wild-type sequence underneath; colour
/// legends below. Each cell has a tooltip with its values.
inline std::string mutation_map_svg(const mutation_map& map, std::span<const float> attention = {},
                                    const mutation_map_svg_options& options = {}) {
  const std::size_t length = map.sequence.size();
  if (length == 0) throw input_error("cannot draw the mutation map of an empty sequence");
  if (!attention.empty() && attention.size() != length)
    throw input_error("mutation map: " + std::to_string(attention.size()) + " attention scores for a sequence of " +
                      std::to_string(length) + " nt");
  if (options.row_length == 0) throw input_error("mutation map: row length must be at least 1");
  double top = 0;
  for (const point_mutation& m : map.mutations) top = std::max(top, std::abs(m.delta()));
  if (!(top > 0)) top = 1;  // every mutant scores as the wild type: any scale shows it white
  const double attention_top = detail::scale_top(attention);

  const bool has_attention = !attention.empty();
  const std::size_t per_row = std::min(options.row_length, length);
  const std::size_t blocks = (length + per_row - 1) / per_row;
  const double cell = options.cell_width, cell_height = 14, left = 80, ticks = 16;
  const double block_height = ticks + (has_attention ? cell_height + 4 : 0) + 4 * cell_height + 18 + 16;
  const double legends_width = has_attention ? 2 * detail::legend_width + 140 : detail::legend_width;
  const double width = std::max(left + static_cast<double>(per_row) * cell + detail::margin, left + legends_width + detail::margin);
  const double height = detail::title_height + static_cast<double>(blocks) * block_height + detail::legend_height;

  std::ostringstream svg;
  detail::open_svg(svg, width, height, options.title);
  const auto label = [&](double y, std::string_view text) {
    svg << "<text x=\"" << left - 6 << "\" y=\"" << y + cell_height - 3 << "\" text-anchor=\"end\" font-size=\"11\">"
        << text << "</text>\n";
  };
  std::size_t next_mutation = 0;
  for (std::size_t block = 0; block < blocks; ++block) {
    double y = detail::title_height + static_cast<double>(block) * block_height + ticks;
    const std::size_t first = block * per_row, last = std::min(length, first + per_row);
    for (std::size_t p = first; p < last; ++p)
      if (p == first || (p + 1) % 10 == 0) {
        const double x = left + static_cast<double>(p - first) * cell + cell / 2;
        svg << "<text x=\"" << x << "\" y=\"" << y - 4 << "\" text-anchor=\"middle\" font-size=\"9\">" << p + 1 << "</text>\n";
      }
    if (has_attention) {
      label(y, "attention");
      for (std::size_t p = first; p < last; ++p)
        svg << "<rect class=\"attention\" x=\"" << left + static_cast<double>(p - first) * cell << "\" y=\"" << y
            << "\" width=\"" << cell << "\" height=\"" << cell_height << "\" fill=\""
            << detail::cell_colour(attention[p], attention_top) << "\"><title>" << p + 1 << " attention "
            << detail::value_text(attention[p]) << "</title></rect>\n";
      y += cell_height + 4;
    }
    for (std::size_t row = 0; row < mutation_bases.size(); ++row) label(y + static_cast<double>(row) * cell_height, mutation_bases.substr(row, 1));
    for (std::size_t p = first; p < last; ++p) {
      const double x = left + static_cast<double>(p - first) * cell;
      for (std::size_t row = 0; row < mutation_bases.size(); ++row) {
        const double cy = y + static_cast<double>(row) * cell_height;
        const char base = mutation_bases[row];
        if (base == map.sequence[p]) {
          svg << "<rect class=\"wild-type\" x=\"" << x << "\" y=\"" << cy << "\" width=\"" << cell << "\" height=\""
              << cell_height << "\" fill=\"" << diverging_colour(0) << "\"><title>" << p + 1 << ' ' << base
              << " (wild type): P(class 1) " << map.p_wild_type << "</title></rect><circle cx=\"" << x + cell / 2
              << "\" cy=\"" << cy + cell_height / 2 << "\" r=\"" << std::min(cell, cell_height) / 5
              << "\" fill=\"#222\"/>\n";
          continue;
        }
        while (next_mutation < map.mutations.size() &&
               (map.mutations[next_mutation].position < p ||
                (map.mutations[next_mutation].position == p && map.mutations[next_mutation].alternative < base)))
          ++next_mutation;
        const bool found = next_mutation < map.mutations.size() && map.mutations[next_mutation].position == p &&
                           map.mutations[next_mutation].alternative == base;
        const double delta = found ? map.mutations[next_mutation].delta() : std::nan("");
        svg << "<rect class=\"mutant\" x=\"" << x << "\" y=\"" << cy << "\" width=\"" << cell << "\" height=\""
            << cell_height << "\" fill=\"" << diverging_colour(delta / top) << "\"><title>" << p + 1 << ' '
            << io::detail::xml_escape(map.sequence.substr(p, 1)) << '>' << base << ": ";
        if (found)
          svg << "P(class 1) " << map.mutations[next_mutation].score.p_alt << ", change " << delta;
        else
          svg << "no data";
        svg << "</title></rect>\n";
      }
    }
    y += 4 * cell_height;
    label(y + 2, "wild type");
    for (std::size_t p = first; p < last; ++p)
      svg << "<text class=\"base\" x=\"" << left + static_cast<double>(p - first) * cell + cell / 2 << "\" y=\"" << y + 13
          << "\" text-anchor=\"middle\" font-family=\"monospace\" font-size=\"11\">"
          << io::detail::xml_escape(map.sequence.substr(p, 1)) << "</text>\n";
  }
  const double legend_y = height - detail::legend_height + 16;
  detail::delta_legend(svg, left, legend_y, top);
  if (has_attention)
    detail::colour_legend(svg, left + detail::legend_width + 120, legend_y, attention_top, detail::any_missing(attention));
  svg << "</svg>\n";
  return svg.str();
}

/// Writes `mutation_map_svg(...)` to `path` atomically.
inline void write_mutation_map_svg(const std::string& path, const mutation_map& map, std::span<const float> attention = {},
                                   const mutation_map_svg_options& options = {}) {
  io::write_file_atomically(path, mutation_map_svg(map, attention, options));
}

}  // namespace dnabert::analysis
