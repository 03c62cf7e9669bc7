// The SVG chart writer: well-formed XML, every finite point drawn, text escaped.
#include "dnabert/io/svg_chart.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "test_paths.hpp"

namespace io_svg_chart_test {

namespace {

// Minimal XML well-formedness: tags balance and nest, attributes are quoted, no stray '<' or '&'.
bool well_formed(const std::string& xml, std::string& problem) {
  std::vector<std::string> open;
  std::size_t i = xml.find("<svg");
  if (i == std::string::npos) return problem = "no <svg>", false;
  while (i < xml.size()) {
    const std::size_t lt = xml.find('<', i);
    const std::string text = xml.substr(i, (lt == std::string::npos ? xml.size() : lt) - i);
    for (std::size_t amp = text.find('&'); amp != std::string::npos; amp = text.find('&', amp + 1))
      if (text.find(';', amp) == std::string::npos) return problem = "bare &", false;
    if (lt == std::string::npos) break;
    const std::size_t gt = xml.find('>', lt);
    if (gt == std::string::npos) return problem = "unclosed tag", false;
    std::string tag = xml.substr(lt + 1, gt - lt - 1);
    if (tag.find('<') != std::string::npos) return problem = "'<' inside a tag", false;
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0) return problem = "unbalanced quotes in " + tag, false;
    if (tag.front() == '/') {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name) return problem = "mismatched </" + name + ">", false;
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
    i = gt + 1;
  }
  if (!open.empty()) return problem = "unclosed <" + open.back() + ">", false;
  return true;
}

}  // namespace

TEST_CASE("svg chart: well-formed, every finite point drawn, text escaped") {
  dnabert::io::line_chart chart;
  chart.title = "loss <train> & dev";
  chart.y_label = "cross-entropy";
  dnabert::io::chart_series train{"train", {}, "#1f77b4"};
  for (int step = 0; step <= 100; step += 10) train.points.emplace_back(step, 2.0 * std::exp(-step / 40.0));
  train.points.emplace_back(110, std::nan(""));  // skipped, never written as "nan"
  dnabert::io::chart_series dev{"dev \"F1\"", {{50, 0.8}, {100, 0.9}}, "#d62728"};
  chart.series = {train, dev};
  const std::string svg = dnabert::io::render_svg(chart);
  std::string problem;
  CHECK_MESSAGE(well_formed(svg, problem), problem);
  CHECK(svg.find("loss &lt;train&gt; &amp; dev") != std::string::npos);
  CHECK(svg.find("dev &quot;F1&quot;") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  const std::size_t first = svg.find("points=\"");
  const std::size_t end = svg.find('"', first + 8);
  std::istringstream points(svg.substr(first + 8, end - first - 8));
  int count = 0;
  for (std::string point; points >> point;) ++count;
  CHECK(count == 11);
}

TEST_CASE("svg chart: an empty or flat chart still renders, and is written atomically") {
  dnabert::io::line_chart empty;
  std::string problem;
  CHECK(well_formed(dnabert::io::render_svg(empty), problem));
  dnabert::io::line_chart flat;
  flat.series = {{"constant", {{1, 3.0}, {2, 3.0}}, "#000"}};
  CHECK(well_formed(dnabert::io::render_svg(flat), problem));
  const auto path = (dnabert::test::scratch_dir("svg") / "curves.svg").string();
  dnabert::io::write_svg(path, flat);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == dnabert::io::render_svg(flat));
}

}  // namespace io_svg_chart_test
