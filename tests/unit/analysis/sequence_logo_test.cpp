// Sequence logos: information content and letter heights worked out by hand, the stacking order,
// the 2-bit ceiling, and the SVG (letters scaled to their heights, the title escaped).
#include "dnabert/analysis/sequence_logo.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "test_paths.hpp"

namespace analysis_sequence_logo_test {

namespace {

namespace analysis = dnabert::analysis;

}  // namespace

TEST_CASE("sequence logo: information is 2 - entropy, less Schneider's small-sample correction") {
  CHECK(analysis::column_information({10, 10, 10, 10}, false) == doctest::Approx(0.0));
  CHECK(analysis::column_information({40, 0, 0, 0}, false) == doctest::Approx(2.0));
  CHECK(analysis::column_information({20, 0, 20, 0}, false) == doctest::Approx(1.0));
  // p = 1/8, 1/4, 1/2, 1/8: entropy 3/8 + 1/2 + 1/2 + 3/8 = 1.75 bits.
  CHECK(analysis::column_information({5, 10, 20, 5}, false) == doctest::Approx(0.25));
  // e(40) = 3 / (2 ln 2 * 40) = 0.0541010640...
  CHECK(analysis::column_information({40, 0, 0, 0}, true) == doctest::Approx(1.945898935966664));
  CHECK(analysis::column_information({5, 10, 20, 5}, true) == doctest::Approx(0.195898935966664));
  // The correction never makes information negative; an empty column carries none.
  CHECK(analysis::column_information({1, 1, 1, 0}, true) == 0.0);
  CHECK(analysis::column_information({0, 0, 0, 0}, true) == 0.0);
}

TEST_CASE("sequence logo: heights are information x frequency, stacked smallest first") {
  // Column 0: p = 3/4, 1/4, entropy 0.811278124459 → 1.188721875541 bits; A 0.891541, C 0.297180.
  // Column 1: 1/8, 1/4, 1/2, 1/8 → 0.25 bits: A 1/32, C 1/16, G 1/8, T 1/32; A before T on the tie.
  const analysis::position_frequency_matrix counts{{30, 10, 0, 0}, {5, 10, 20, 5}, {0, 0, 0, 0}};
  const auto columns = analysis::logo_columns(counts, false);
  REQUIRE(columns.size() == 3);
  REQUIRE(columns[0].size() == 2);
  CHECK(columns[0][0].letter == 'C');
  CHECK(columns[0][0].bottom == 0.0);
  CHECK(columns[0][0].height == doctest::Approx(0.297180468885217));
  CHECK(columns[0][1].letter == 'A');
  CHECK(columns[0][1].bottom == doctest::Approx(0.297180468885217));
  CHECK(columns[0][1].height == doctest::Approx(0.891541406655650));
  REQUIRE(columns[1].size() == 4);
  std::string order;
  for (const auto& letter : columns[1]) order += letter.letter;
  CHECK(order == "ATCG");
  CHECK(columns[1][3].bottom == doctest::Approx(1.0 / 32 + 1.0 / 32 + 1.0 / 16));
  CHECK(columns[1][3].height == doctest::Approx(1.0 / 8));
  CHECK(columns[2].empty());
}

TEST_CASE("sequence logo: no column is taller than 2 bits, and heights add up to the information") {
  std::mt19937 rng(7);
  analysis::position_frequency_matrix counts(200);
  for (auto& column : counts)
    for (auto& count : column) count = rng() % 4 == 0 ? 0 : rng() % 50;
  counts.push_back({1000, 0, 0, 0});
  for (const bool correction : {false, true}) {
    const auto columns = analysis::logo_columns(counts, correction);
    for (std::size_t i = 0; i < counts.size(); ++i) {
      double total = 0;
      for (std::size_t k = 0; k < columns[i].size(); ++k) {
        CHECK(columns[i][k].height > 0);
        if (k > 0) CHECK(columns[i][k].height >= columns[i][k - 1].height);
        total += columns[i][k].height;
      }
      CHECK(total <= 2.0 + 1e-12);
      CHECK(total == doctest::Approx(analysis::column_information(counts[i], correction)));
    }
  }
}

TEST_CASE("sequence logo: SVG letters are paths scaled to their boxes, the title escaped, written atomically") {
  const analysis::position_frequency_matrix counts{{40, 0, 0, 0}, {0, 0, 20, 20}};
  analysis::sequence_logo_options options;
  options.title = "<motif> & \"friends\"";
  options.small_sample_correction = false;
  const std::string svg = analysis::sequence_logo_svg(counts, options);
  CHECK(svg.find("&lt;motif&gt; &amp; &quot;friends&quot;") != std::string::npos);
  CHECK(svg.find("<motif>") == std::string::npos);
  // 30-px columns, 80 px per bit: A fills 2 bits (160 px) of column 1, from the top of the axis.
  CHECK(svg.find("fill=\"#109648\" fill-rule=\"evenodd\" transform=\"translate(57 36) scale(0.28 1.6)\"") !=
        std::string::npos);
  // Column 2: G (orange) and T (red), half a bit (40 px) each; tied, so G below T.
  const auto g = svg.find("fill=\"#f7b32b\" fill-rule=\"evenodd\" transform=\"translate(87 156) scale(0.28 0.4)\"");
  const auto t = svg.find("fill=\"#d62839\" fill-rule=\"evenodd\" transform=\"translate(87 116) scale(0.28 0.4)\"");
  CHECK(g != std::string::npos);
  CHECK(t != std::string::npos);
  CHECK(g < t);
  CHECK(svg.find("#255c99") == std::string::npos);  // no C anywhere
  // Axis labels 0, 1, 2 bits and positions 1, 2.
  for (const char* label : {">0</text>", ">1</text>", ">2</text>", ">bits</text>"})
    CHECK(svg.find(label) != std::string::npos);

  const auto path = (dnabert::test::scratch_dir("sequence_logo") / "logo.svg").string();
  analysis::write_sequence_logo(path, counts, options);
  std::ifstream in(path);
  std::stringstream written;
  written << in.rdbuf();
  CHECK(written.str() == svg);
}

}  // namespace analysis_sequence_logo_test
