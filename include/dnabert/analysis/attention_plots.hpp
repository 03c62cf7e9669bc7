#pragma once
// The attention pictures of DNABERT's paper as self-contained SVG: the nucleotide strip (Fig. 4a),
// heads × tokens of one layer (Fig. 1d), the landscape of groups (Fig. 4b), the context plot (Fig. 4e).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/analysis/attention_scores.hpp"
#include "dnabert/core/vocabulary.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/svg_chart.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/tokenizer/kmer_tokenizer.hpp"
#include "dnabert/tokenizer/token_batch.hpp"

namespace dnabert::analysis {

/// Fill of a cell whose score is not a finite number ("no data").
inline constexpr std::string_view no_data_colour = "#bdbdbd";

/// The sequential colour scale of the heat maps at `t` in [0, 1] (clamped): white through
/// ColorBrewer's Reds to dark red, linear between its nine stops, as "#rrggbb"; NaN is `no_data_colour`.
inline std::string heat_colour(double t) {
  if (std::isnan(t)) return std::string(no_data_colour);
  static constexpr std::array<std::array<int, 3>, 9> stops{{{255, 255, 255},
                                                            {254, 224, 210},
                                                            {252, 187, 161},
                                                            {252, 146, 114},
                                                            {251, 106, 74},
                                                            {239, 59, 44},
                                                            {203, 24, 29},
                                                            {165, 15, 21},
                                                            {103, 0, 13}}};
  return io::interpolated_colour(stops, t);
}

/// One layer's attention probabilities for one sequence (one model piece): each head's
/// [tokens × tokens] matrix, tokens being [CLS], the k-mers and [SEP].
struct token_attention_map {
  std::vector<std::string> tokens;   ///< "[CLS]", "TCGGTT", ..., "[SEP]"
  std::size_t heads = 0;             ///< attention heads of the layer
  std::vector<float> probabilities;  ///< row-major [heads, tokens, tokens]: query row, key column

  /// How much query token `from` attends to key token `to` in head `head`.
  [[nodiscard]] float at(std::size_t head, std::size_t from, std::size_t to) const {
    return probabilities[(head * tokens.size() + from) * tokens.size() + to];
  }
};

/// The attention probabilities of `layer` (0-based or `last_layer`) for one sequence of at most
/// the model's k-mers per piece, from the model's forward pass; `id` names it in errors.
template <class Spec, class B>
token_attention_map token_attention(const Bert<Spec, B>& model, std::string_view sequence, int layer = last_layer,
                                    std::string_view id = "sequence") {
  if (layer == all_layers) throw input_error("token attention is drawn for one layer: choose an index or the last");
  attention_options selection;
  selection.layer = layer;
  const std::size_t chosen = detail::chosen_layers(selection, model.config().num_hidden_layers).front();
  const sequence_tokenizer tokenizer = model.tokenizer();
  const auto pieces = tokenizer.encode(sequence, id, 0, model.max_kmers());
  if (pieces.size() > 1)
    throw input_error("sequence '" + std::string(id) + "' has " + std::to_string(tokenizer.token_count(sequence)) +
                      (tokenizer.is_bpe() ? " tokens" : " k-mers") + "; a token-level plot takes one model piece of at most " +
                      std::to_string(model.max_kmers()));
  autograd::tape<B> tape(model.backend());
  nn::forward_context<B> ctx{tape};
  const auto result = model.forward(ctx, make_batch(pieces, 0, tokenizer.specials().pad), forward_options{false, true, false, {}});
  const auto values = detail::host_readable(model.backend(), result.attentions[chosen]);  // [1, heads, tokens, tokens]
  token_attention_map out;
  out.heads = static_cast<std::size_t>(model.config().num_attention_heads);
  for (const token_id token : pieces.front().ids) out.tokens.push_back(tokenizer.token_text(token));
  out.probabilities.assign(values.begin(), values.end());
  return out;
}

/// How the nucleotide strip is laid out.
struct strip_options {
  std::string title;                ///< e.g. the id and the predicted probability
  std::size_t row_length = 100;     ///< nucleotides per row: long sequences wrap
  double cell_width = 11;           ///< pixels per nucleotide
  double scale_max = std::nan("");  ///< score drawn darkest; NaN: the largest finite score
};

/// Options of the heads × tokens matrix.
struct heads_matrix_options {
  std::string title;
  double cell_width = 12;  ///< pixels per k-mer column
};

/// Options of the context plot.
struct context_options {
  std::string title;
  double threshold = 0.05;  ///< links are drawn only for weights above this
};

/// A named group of sequences' nucleotide scores, one line of the landscape.
struct landscape_group {
  std::string name;  ///< e.g. "positives"
  nucleotide_scores scores;
};

namespace detail {

// Pixels everything is laid out with.
inline constexpr double margin = 20, title_height = 30, legend_height = 50, legend_width = 240;
// One colour per head (and per landscape group), cycled: Tableau 10.
inline constexpr std::array<std::string_view, 10> category_colours{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// The opening of a white SVG document of the given size, with its centred title.
inline void open_svg(std::ostringstream& svg, double width, double height, const std::string& title) {
  svg.precision(6);
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
      << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << ' ' << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!title.empty())
    svg << "<text x=\"" << width / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">"
        << io::detail::xml_escape(title) << "</text>\n";
}

// The largest finite value of `values`, or 1 when there is none above zero (so a scale always spans something).
inline double scale_top(std::span<const float> values) {
  double top = 0;
  for (const float v : values)
    if (std::isfinite(v)) top = std::max(top, static_cast<double>(v));
  return top > 0 ? top : 1.0;
}

// Whether any value is NaN or infinite.
inline bool any_missing(std::span<const float> values) {
  return std::any_of(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
}

// The fill of a cell showing `value` on a scale from 0 to `top`.
inline std::string cell_colour(float value, double top) {
  return heat_colour(std::isfinite(value) ? static_cast<double>(value) / top : std::nan(""));
}

// A horizontal colour bar from 0 to `top` at (x, y) with tick values, and a "no data" swatch
// when some cell had none.
inline void colour_legend(std::ostringstream& svg, double x, double y, double top, bool missing) {
  svg << "<defs><linearGradient id=\"heat-scale\">";
  for (int stop = 0; stop <= 16; ++stop)
    svg << "<stop offset=\"" << stop / 16.0 << "\" stop-color=\"" << heat_colour(stop / 16.0) << "\"/>";
  svg << "</linearGradient></defs>\n<text x=\"" << x << "\" y=\"" << y - 4 << "\">attention score</text>\n<rect x=\"" << x
      << "\" y=\"" << y << "\" width=\"" << legend_width << "\" height=\"12\" fill=\"url(#heat-scale)\" stroke=\"#333\"/>\n";
  const double step = io::detail::tick_step(top, 5);
  for (double tick = 0; tick <= top * (1 + 1e-9); tick += step) {
    const double tx = x + tick / top * legend_width;
    svg << "<line x1=\"" << tx << "\" y1=\"" << y + 12 << "\" x2=\"" << tx << "\" y2=\"" << y + 16
        << "\" stroke=\"#333\"/><text class=\"legend-tick\" x=\"" << tx << "\" y=\"" << y + 28
        << "\" text-anchor=\"middle\" font-size=\"10\">" << io::detail::tick_text(tick) << "</text>\n";
  }
  if (missing)
    svg << "<rect x=\"" << x + legend_width + 20 << "\" y=\"" << y << "\" width=\"12\" height=\"12\" fill=\""
        << no_data_colour << "\"/><text x=\"" << x + legend_width + 36 << "\" y=\"" << y + 10 << "\">no data</text>\n";
}

// A value for a tooltip: the number, or "no data".
inline std::string value_text(float value) {
  if (!std::isfinite(value)) return "no data";
  std::ostringstream text;
  text << value;
  return text.str();
}

// An upper-case letter for display (input may be soft-masked lower case).
inline char display_letter(char base) {
  return base >= 'a' && base <= 'z' ? static_cast<char>(base - 'a' + 'A') : base;
}

}  // namespace detail

/// The attention strip of one sequence (paper Fig. 4a): a cell per nucleotide coloured by its
/// score, the letter underneath, 1-based positions every 10 nt, rows of `row_length` nt, a colour
/// legend. Non-finite scores are drawn grey ("no data").
inline std::string attention_strip_svg(std::string_view sequence, std::span<const float> scores, const strip_options& options = {}) {
  if (sequence.empty()) throw input_error("cannot draw the attention strip of an empty sequence");
  if (scores.size() != sequence.size())
    throw input_error("attention strip: " + std::to_string(scores.size()) + " scores for a sequence of " +
                      std::to_string(sequence.size()) + " nt");
  if (options.row_length == 0) throw input_error("attention strip: row length must be at least 1");
  const double top = std::isfinite(options.scale_max) && options.scale_max > 0 ? options.scale_max : detail::scale_top(scores);
  const std::size_t per_row = std::min(options.row_length, sequence.size());
  const std::size_t rows = (sequence.size() + per_row - 1) / per_row;
  const double cell = options.cell_width, cell_height = 22, row_height = 64, left = 50;
  const double width = std::max(left + per_row * cell + detail::margin, detail::legend_width + 2 * left + 100);
  const double height = detail::title_height + rows * row_height + detail::legend_height;

  std::ostringstream svg;
  detail::open_svg(svg, width, height, options.title);
  for (std::size_t p = 0; p < sequence.size(); ++p) {
    const double x = left + static_cast<double>(p % per_row) * cell;
    const double y = detail::title_height + static_cast<double>(p / per_row) * row_height + 14;  // below the ticks
    if (p % per_row == 0)
      svg << "<text x=\"" << left - 6 << "\" y=\"" << y + cell_height - 6 << "\" text-anchor=\"end\" font-size=\"10\">"
          << p + 1 << "</text>\n";
    if ((p + 1) % 10 == 0)
      svg << "<line x1=\"" << x + cell / 2 << "\" y1=\"" << y - 4 << "\" x2=\"" << x + cell / 2 << "\" y2=\"" << y
          << "\" stroke=\"#333\"/><text x=\"" << x + cell / 2 << "\" y=\"" << y - 6
          << "\" text-anchor=\"middle\" font-size=\"9\">" << p + 1 << "</text>\n";
    const char letter = detail::display_letter(sequence[p]);
    svg << "<rect class=\"nt\" x=\"" << x << "\" y=\"" << y << "\" width=\"" << cell << "\" height=\"" << cell_height
        << "\" fill=\"" << detail::cell_colour(scores[p], top) << "\"><title>" << p + 1 << ' '
        << io::detail::xml_escape(std::string_view(&letter, 1)) << ": " << detail::value_text(scores[p]) << "</title></rect>\n<text class=\"base\" x=\""
        << x + cell / 2 << "\" y=\"" << y + cell_height + 13 << "\" text-anchor=\"middle\" font-family=\"monospace\">"
        << io::detail::xml_escape(std::string_view(&letter, 1)) << "</text>\n";
  }
  detail::colour_legend(svg, left, height - detail::legend_height + 16, top, detail::any_missing(scores));
  svg << "</svg>\n";
  return svg.str();
}

/// The heads × k-mer tokens matrix of one layer (paper Fig. 1d): row h is head h's [CLS] query
/// row over the k-mers ([CLS] and [SEP] keys left out), coloured on one scale, with a legend.
inline std::string heads_matrix_svg(const token_attention_map& attention, const heads_matrix_options& options = {}) {
  if (attention.tokens.size() < 3 || attention.heads == 0 ||
      attention.probabilities.size() != attention.heads * attention.tokens.size() * attention.tokens.size())
    throw input_error("heads matrix: the attention map needs [CLS], at least one k-mer, [SEP] and heads × tokens² values");
  const std::size_t kmers = attention.tokens.size() - 2;
  std::vector<float> cls_rows;  // [heads, kmers]
  for (std::size_t h = 0; h < attention.heads; ++h)
    for (std::size_t j = 0; j < kmers; ++j) cls_rows.push_back(attention.at(h, 0, j + 1));
  const double top = detail::scale_top(cls_rows);
  std::size_t label_chars = 0;
  for (const auto& token : attention.tokens) label_chars = std::max(label_chars, token.size());
  const double cell = options.cell_width, cell_height = 24, left = 70, grid_top = detail::title_height + 20;
  const double labels_height = 8.0 * static_cast<double>(label_chars) + 30;
  const double width = std::max(left + kmers * cell + detail::margin, detail::legend_width + left + 120);
  const double height = grid_top + attention.heads * cell_height + labels_height + detail::legend_height;

  std::ostringstream svg;
  detail::open_svg(svg, width, height, options.title);
  for (std::size_t j = 0; j < kmers; ++j) {
    const double x = left + static_cast<double>(j) * cell + cell / 2;
    if ((j + 1) % 10 == 0)
      svg << "<text x=\"" << x << "\" y=\"" << grid_top - 4 << "\" text-anchor=\"middle\" font-size=\"9\">" << j + 1 << "</text>\n";
    const double y = grid_top + attention.heads * cell_height + 6;
    svg << "<text class=\"kmer\" transform=\"translate(" << x + 3 << ' ' << y << ") rotate(-90)\" text-anchor=\"end\""
        << " font-family=\"monospace\" font-size=\"9\">" << io::detail::xml_escape(attention.tokens[j + 1]) << "</text>\n";
  }
  for (std::size_t h = 0; h < attention.heads; ++h) {
    const double y = grid_top + static_cast<double>(h) * cell_height;
    svg << "<text x=\"" << left - 6 << "\" y=\"" << y + cell_height / 2 + 4 << "\" text-anchor=\"end\">head " << h << "</text>\n";
    for (std::size_t j = 0; j < kmers; ++j) {
      const float value = cls_rows[h * kmers + j];
      svg << "<rect class=\"cell\" x=\"" << left + static_cast<double>(j) * cell << "\" y=\"" << y << "\" width=\"" << cell
          << "\" height=\"" << cell_height << "\" fill=\"" << detail::cell_colour(value, top) << "\"><title>head " << h
          << ", k-mer " << j + 1 << ' ' << io::detail::xml_escape(attention.tokens[j + 1]) << ": " << detail::value_text(value)
          << "</title></rect>\n";
    }
  }
  svg << "<text x=\"" << left + kmers * cell / 2 << "\" y=\"" << height - detail::legend_height - 6
      << "\" text-anchor=\"middle\">k-mer token ([CLS] attention)</text>\n";
  detail::colour_legend(svg, left, height - detail::legend_height + 16, top, detail::any_missing(cls_rows));
  svg << "</svg>\n";
  return svg.str();
}

/// Mean score at each position over the sequences long enough to have a finite score there;
/// NaN where none has.
inline std::vector<double> mean_by_position(const nucleotide_scores& scores) {
  std::vector<double> sum(detail::longest(scores), 0.0), count(sum.size(), 0.0);
  for (const auto& row : scores)
    for (std::size_t p = 0; p < row.size(); ++p)
      if (std::isfinite(row[p])) {
        sum[p] += row[p];
        count[p] += 1;
      }
  for (std::size_t p = 0; p < sum.size(); ++p) sum[p] = count[p] > 0 ? sum[p] / count[p] : std::nan("");
  return sum;
}

/// The attention landscape (paper Fig. 4b): each group's mean score by 1-based position as one
/// line (positions no sequence of the group reaches are skipped), with axes and a legend.
inline std::string attention_landscape_svg(std::span<const landscape_group> groups,
                                           const std::string& title = "attention landscape") {
  io::line_chart chart;
  chart.title = title;
  chart.x_label = "position (nt)";
  chart.y_label = "mean attention score";
  std::size_t longest = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto means = mean_by_position(groups[g].scores);
    longest = std::max(longest, means.size());
    io::chart_series line{groups[g].name + " (n = " + std::to_string(groups[g].scores.size()) + ")", {},
                          std::string(detail::category_colours[g % detail::category_colours.size()])};
    for (std::size_t p = 0; p < means.size(); ++p) line.points.emplace_back(static_cast<double>(p + 1), means[p]);
    chart.series.push_back(std::move(line));
  }
  chart.width = static_cast<int>(std::clamp<std::size_t>(240 + 2 * longest, 720, 2400));
  return io::render_svg(chart);
}

/// The context plot (paper Fig. 4e): the tokens in two columns, and from `token` (0 = [CLS]) on
/// the left a link to every token on the right it attends to above the threshold, one colour per
/// head, opacity by weight relative to the largest drawn.
inline std::string context_svg(const token_attention_map& attention, std::size_t token, const context_options& options = {}) {
  const std::size_t n = attention.tokens.size();
  if (attention.heads == 0 || attention.probabilities.size() != attention.heads * n * n)
    throw input_error("context plot: the attention map needs heads × tokens² values");
  if (token >= n)
    throw input_error("token " + std::to_string(token) + " does not exist: the sequence has " + std::to_string(n) +
                      " tokens (0.." + std::to_string(n - 1) + ", 0 is [CLS])");
  double strongest = 0;
  for (std::size_t h = 0; h < attention.heads; ++h)
    for (std::size_t j = 0; j < n; ++j)
      if (const float w = attention.at(h, token, j); std::isfinite(w) && w > options.threshold)
        strongest = std::max(strongest, static_cast<double>(w));
  const double row = 16, label_width = 90, gap = 260, heads_legend = 22.0 * static_cast<double>(attention.heads);
  const double left_x = detail::margin + label_width, right_x = left_x + gap, grid_top = detail::title_height + 30;
  const double width = std::max(right_x + label_width + detail::margin, left_x + 300);
  const double height = grid_top + static_cast<double>(n) * row + heads_legend + detail::margin;

  std::ostringstream svg;
  detail::open_svg(svg, width, height, options.title);
  svg << "<text x=\"" << width / 2 << "\" y=\"" << grid_top - 12 << "\" text-anchor=\"middle\" font-size=\"11\">links above "
      << options.threshold << "; opacity by weight</text>\n";
  for (std::size_t i = 0; i < n; ++i) {
    const double y = grid_top + static_cast<double>(i) * row + row / 2;
    const auto text = io::detail::xml_escape(attention.tokens[i]);
    if (i == token)
      svg << "<rect x=\"" << left_x - label_width << "\" y=\"" << y - row / 2 << "\" width=\"" << label_width
          << "\" height=\"" << row << "\" fill=\"#fde0dd\"/>\n";
    svg << "<text x=\"" << left_x - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\" font-family=\"monospace\""
        << (i == token ? " font-weight=\"bold\"" : "") << ">" << text << "</text><text x=\"" << right_x + 6 << "\" y=\""
        << y + 4 << "\" font-family=\"monospace\">" << text << "</text>\n";
  }
  const double from_y = grid_top + static_cast<double>(token) * row + row / 2;
  for (std::size_t h = 0; h < attention.heads; ++h) {
    const auto colour = detail::category_colours[h % detail::category_colours.size()];
    for (std::size_t j = 0; j < n; ++j) {
      const float w = attention.at(h, token, j);
      if (!std::isfinite(w) || !(w > options.threshold)) continue;
      svg << "<line class=\"link\" x1=\"" << left_x << "\" y1=\"" << from_y << "\" x2=\"" << right_x << "\" y2=\""
          << grid_top + static_cast<double>(j) * row + row / 2 << "\" stroke=\"" << colour
          << "\" stroke-width=\"2\" stroke-opacity=\"" << std::max(0.15, w / strongest) << "\"><title>head " << h << ": "
          << w << "</title></line>\n";
    }
    const double y = grid_top + static_cast<double>(n) * row + 16 + static_cast<double>(h) * 22;
    svg << "<line x1=\"" << left_x << "\" y1=\"" << y << "\" x2=\"" << left_x + 24 << "\" y2=\"" << y << "\" stroke=\"" << colour
        << "\" stroke-width=\"3\"/><text x=\"" << left_x + 30 << "\" y=\"" << y + 4 << "\">head " << h << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

/// Writes `attention_strip_svg(...)` to `path` atomically.
inline void write_attention_strip(const std::string& path, std::string_view sequence, std::span<const float> scores,
                                  const strip_options& options = {}) {
  io::write_file_atomically(path, attention_strip_svg(sequence, scores, options));
}

/// Writes `heads_matrix_svg(...)` to `path` atomically.
inline void write_heads_matrix(const std::string& path, const token_attention_map& attention,
                               const heads_matrix_options& options = {}) {
  io::write_file_atomically(path, heads_matrix_svg(attention, options));
}

/// Writes `attention_landscape_svg(...)` to `path` atomically.
inline void write_attention_landscape(const std::string& path, std::span<const landscape_group> groups,
                                      const std::string& title = "attention landscape") {
  io::write_file_atomically(path, attention_landscape_svg(groups, title));
}

/// Writes `context_svg(...)` to `path` atomically.
inline void write_context_plot(const std::string& path, const token_attention_map& attention, std::size_t token,
                               const context_options& options = {}) {
  io::write_file_atomically(path, context_svg(attention, token, options));
}

}  // namespace dnabert::analysis
