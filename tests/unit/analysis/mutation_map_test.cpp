// Saturation mutagenesis with the real classifier cls_k6: every delta against predict() of the
// mutant minus predict() of the wild type, built here; the TSV and the SVG heat map's structure.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/analysis/mutation_map.hpp"
#include "test_paths.hpp"

namespace analysis_mutation_map_test {

namespace {

namespace analysis = dnabert::analysis;

// How often `needle` occurs in `text`.
std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

}  // namespace

TEST_CASE("mutation map: every substitution's delta is predict(mutant) - predict(wild type)") {
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  const std::string wild_type = "ACGTTGCAnGGATCCATGCAAGTCTAGCTA";  // soft-masked and one N: four mutants there
  std::vector<std::pair<std::size_t, std::size_t>> progress;
  analysis::mutagenesis_options options;
  options.batch_size = 5;
  options.progress = [&](std::size_t done, std::size_t total) { progress.emplace_back(done, total); };
  const auto map = analysis::saturation_mutagenesis(model, wild_type, "seq", options);
  CHECK(map.id == "seq");
  CHECK(map.sequence == "ACGTTGCANGGATCCATGCAAGTCTAGCTA");
  REQUIRE(map.mutations.size() == 3 * 30 + 1);
  REQUIRE(!progress.empty());
  CHECK(progress.back() == std::pair<std::size_t, std::size_t>{91, 91});

  std::vector<std::string> sequences{map.sequence};
  for (std::size_t p = 0, m = 0; p < map.sequence.size(); ++p)
    for (const char base : {'A', 'C', 'G', 'T'}) {
      if (base == map.sequence[p]) continue;
      CAPTURE(p);
      REQUIRE(m < map.mutations.size());
      CHECK(map.mutations[m].position == p);
      CHECK(map.mutations[m].reference == map.sequence[p]);
      CHECK(map.mutations[m].alternative == base);
      std::string mutant = map.sequence;
      mutant[p] = base;
      sequences.push_back(mutant);
      ++m;
    }
  const auto predicted = model.predict(sequences);
  const double wild = predicted.probabilities(0, 1);
  CHECK(std::abs(map.p_wild_type - wild) < 1e-6);
  for (std::size_t m = 0; m < map.mutations.size(); ++m) {
    CAPTURE(m);
    const double mutant = predicted.probabilities(m + 1, 1);
    // Batches pad differently from one prediction per mutant: float32 noise of ~1e-7 in P.
    CHECK(std::abs(map.mutations[m].score.p_alt - mutant) < 1e-6);
    CHECK(std::abs(map.mutations[m].delta() - (mutant - wild)) < 1e-6);
    CHECK(std::abs(map.mutations[m].score.diff - (mutant - wild) * std::max(mutant, wild)) < 1e-6);
    CHECK(std::abs(map.mutations[m].score.log_odds_ratio - (std::log2(wild / (1 - wild)) - std::log2(mutant / (1 - mutant)))) <
          1e-4);
  }

  const std::string tsv = analysis::mutation_map_tsv(map);
  std::istringstream lines(tsv);
  std::string line;
  REQUIRE(std::getline(lines, line));
  CHECK(line == "id\tposition\tref\talt\tp_ref\tp_alt\tdelta\tdiff\tlogOR");
  std::size_t rows = 0;
  for (; std::getline(lines, line); ++rows) {
    std::istringstream fields(line);
    std::string id;
    std::size_t position = 0;
    char ref = 0, alt = 0;
    double p_ref = 0, p_alt = 0, delta = 0;
    fields >> id >> position >> ref >> alt >> p_ref >> p_alt >> delta;
    CAPTURE(line);
    REQUIRE(rows < map.mutations.size());
    CHECK(id == "seq");
    CHECK(position == map.mutations[rows].position);
    CHECK(ref == map.mutations[rows].reference);
    CHECK(alt == map.mutations[rows].alternative);
    CHECK(p_ref == map.p_wild_type);  // written with every digit
    CHECK(delta == map.mutations[rows].delta());
  }
  CHECK(rows == map.mutations.size());
}

TEST_CASE("mutation map: the SVG has a cell per mutant, the wild type marked, and the attention track") {
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  const std::string sequence = "ACGTTGCAAGGATCCATGCAAGTCTAGCTAGGCTTAACG";  // 39 nt: wraps in rows of 25
  const auto map = analysis::saturation_mutagenesis(model, sequence, "seq<1>");
  const auto attention = analysis::attention_scores(model.model(), std::vector<std::string>{sequence}).front();
  analysis::mutation_map_svg_options options;
  options.title = "seq<1> & co";
  options.row_length = 25;
  const std::string svg = analysis::mutation_map_svg(map, attention, options);
  CHECK(svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK(svg.ends_with("</svg>\n"));
  CHECK(occurrences(svg, "<rect class=\"mutant\"") == 3 * 39);
  CHECK(occurrences(svg, "<rect class=\"wild-type\"") == 39);
  CHECK(occurrences(svg, "<circle ") == 39);
  CHECK(occurrences(svg, "<rect class=\"attention\"") == 39);
  CHECK(occurrences(svg, "<text class=\"base\"") == 39);
  CHECK(svg.find("seq&lt;1&gt; &amp; co") != std::string::npos);
  CHECK(svg.find("id=\"delta-scale\"") != std::string::npos);
  CHECK(svg.find("id=\"heat-scale\"") != std::string::npos);  // the attention legend
  // The largest change takes a full end of the scale.
  double top = 0;
  std::size_t strongest = 0;
  for (std::size_t m = 0; m < map.mutations.size(); ++m)
    if (std::abs(map.mutations[m].delta()) > top) {
      top = std::abs(map.mutations[m].delta());
      strongest = m;
    }
  CHECK(svg.find(analysis::diverging_colour(map.mutations[strongest].delta() > 0 ? 1 : -1)) != std::string::npos);

  const std::string plain = analysis::mutation_map_svg(map);
  CHECK(occurrences(plain, "<rect class=\"attention\"") == 0);
  CHECK(plain.find("heat-scale") == std::string::npos);
  CHECK_THROWS_WITH_AS((void)analysis::mutation_map_svg(map, std::vector<float>(3, 0.0f)),
                       "mutation map: 3 attention scores for a sequence of 39 nt", dnabert::input_error);
}

TEST_CASE("mutation map: the diverging scale runs blue through white to red") {
  CHECK(analysis::diverging_colour(-1) == "#053061");
  CHECK(analysis::diverging_colour(-7) == "#053061");
  CHECK(analysis::diverging_colour(0) == "#f7f7f7");
  CHECK(analysis::diverging_colour(1) == "#67001f");
  CHECK(analysis::diverging_colour(0.1) == "#fae9df");  // halfway between the stops #f7f7f7 and #fddbc7
  CHECK(analysis::diverging_colour(std::nan("")) == analysis::no_data_colour);
}

TEST_CASE("mutation map: a sequence shorter than one k-mer is refused") {
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  CHECK_THROWS_WITH_AS((void)analysis::saturation_mutagenesis(model, "ACGTA", "tiny"),
                       "sequence 'tiny' has 5 nt, fewer than one token of the model (6 nt)", dnabert::input_error);
}

}  // namespace analysis_mutation_map_test
