#pragma once
// A small SVG line-chart writer (training and dev loss, metrics over steps): self-contained
// SVG 1.1 that any browser opens, no external tools, written atomically.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"

namespace dnabert::io {

/// The colour at `position` in [0, 1] (clamped) of a scale through `stops` (RGB, evenly spaced),
/// interpolated linearly between neighbouring stops, as "#rrggbb".
inline std::string interpolated_colour(std::span<const std::array<int, 3>> stops, double position) {
  const double scaled = std::clamp(position, 0.0, 1.0) * static_cast<double>(stops.size() - 1);
  const auto below = std::min(static_cast<std::size_t>(scaled), stops.size() - 2);
  const double fraction = scaled - static_cast<double>(below);
  int channel[3];
  for (std::size_t c = 0; c < 3; ++c)
    channel[c] = static_cast<int>(std::lround(stops[below][c] + fraction * (stops[below + 1][c] - stops[below][c])));
  char text[8];
  std::snprintf(text, sizeof text, "#%02x%02x%02x", channel[0], channel[1], channel[2]);
  return text;
}

/// One named line of (x, y) points; non-finite points are skipped.
struct chart_series {
  std::string name;
  std::vector<std::pair<double, double>> points;
  std::string color = "#1f77b4";
};

/// A line chart with a title, axis labels and a legend.
struct line_chart {
  std::string title;
  std::string x_label = "step";
  std::string y_label;
  std::vector<chart_series> series;
  int width = 720;
  int height = 420;
};

namespace detail {

/// Escapes text for SVG/XML character data and attribute values.
inline std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control bytes are not allowed in XML 1.0; drop them rather than write an unreadable file.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t') out += c;
    }
  }
  return out;
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `count` ticks over `span`.
inline double tick_step(double span, int count) {
  if (!(span > 0) || !std::isfinite(span)) return 1.0;
  const double raw = span / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double factor : {1.0, 2.0, 5.0, 10.0})
    if (raw <= factor * power) return factor * power;
  return 10.0 * power;
}

/// A short label for a tick value.
inline std::string tick_text(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", std::abs(value) < 1e-12 ? 0.0 : value);
  return buffer;
}

}  // namespace detail

/// The chart as SVG text.
inline std::string render_svg(const line_chart& chart) {
  const double left = 70, right = 170, top = 40, bottom = 50;
  const double plot_w = chart.width - left - right;
  const double plot_h = chart.height - top - bottom;
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min, y_min = x_min, y_max = -x_min;
  for (const auto& s : chart.series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x_min = std::min(x_min, x);
      x_max = std::max(x_max, x);
      y_min = std::min(y_min, y);
      y_max = std::max(y_max, y);
    }
  if (!std::isfinite(x_min)) x_min = 0, x_max = 1, y_min = 0, y_max = 1;  // no data: an empty frame
  if (x_max == x_min) x_max = x_min + 1;
  if (y_max == y_min) y_max = y_min + 1;
  const double y_pad = (y_max - y_min) * 0.05;
  y_min -= y_pad;
  y_max += y_pad;
  auto px = [&](double x) { return left + (x - x_min) / (x_max - x_min) * plot_w; };
  auto py = [&](double y) { return top + (y_max - y) / (y_max - y_min) * plot_h; };

  std::ostringstream svg;
  svg.precision(6);
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << chart.width << "\" height=\"" << chart.height
      << "\" viewBox=\"0 0 " << chart.width << ' ' << chart.height << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << chart.width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">"
      << detail::xml_escape(chart.title) << "</text>\n";
  const double x_step = detail::tick_step(x_max - x_min, 6);
  for (double x = std::ceil(x_min / x_step) * x_step; x <= x_max + x_step * 1e-9; x += x_step)
    svg << "<line x1=\"" << px(x) << "\" y1=\"" << top << "\" x2=\"" << px(x) << "\" y2=\"" << top + plot_h
        << "\" stroke=\"#e5e5e5\"/><text x=\"" << px(x) << "\" y=\"" << top + plot_h + 16
        << "\" text-anchor=\"middle\">" << detail::tick_text(x) << "</text>\n";
  const double y_step = detail::tick_step(y_max - y_min, 5);
  for (double y = std::ceil(y_min / y_step) * y_step; y <= y_max + y_step * 1e-9; y += y_step)
    svg << "<line x1=\"" << left << "\" y1=\"" << py(y) << "\" x2=\"" << left + plot_w << "\" y2=\"" << py(y)
        << "\" stroke=\"#e5e5e5\"/><text x=\"" << left - 6 << "\" y=\"" << py(y) + 4 << "\" text-anchor=\"end\">"
        << detail::tick_text(y) << "</text>\n";
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\"" << plot_h
      << "\" fill=\"none\" stroke=\"#333\"/>\n"
      << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << chart.height - 12 << "\" text-anchor=\"middle\">"
      << detail::xml_escape(chart.x_label) << "</text>\n"
      << "<text transform=\"translate(16 " << top + plot_h / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
      << detail::xml_escape(chart.y_label) << "</text>\n";
  double legend_y = top + 10;
  for (const auto& s : chart.series) {
    svg << "<polyline fill=\"none\" stroke=\"" << detail::xml_escape(s.color) << "\" stroke-width=\"1.8\" points=\"";
    for (const auto& [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) svg << px(x) << ',' << py(y) << ' ';
    svg << "\"/>\n<line x1=\"" << left + plot_w + 12 << "\" y1=\"" << legend_y << "\" x2=\"" << left + plot_w + 36
        << "\" y2=\"" << legend_y << "\" stroke=\"" << detail::xml_escape(s.color) << "\" stroke-width=\"3\"/><text x=\""
        << left + plot_w + 42 << "\" y=\"" << legend_y + 4 << "\">" << detail::xml_escape(s.name) << "</text>\n";
    legend_y += 18;
  }
  svg << "</svg>\n";
  return svg.str();
}

/// Writes the chart to `path` atomically (readers never see a half-drawn file).
inline void write_svg(const std::string& path, const line_chart& chart) { write_file_atomically(path, render_svg(chart)); }

}  // namespace dnabert::io
