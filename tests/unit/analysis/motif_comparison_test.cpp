// Motif comparison: column Pearson correlations worked out by hand, identical / reverse-complement /
// shifted motifs, the overlap rule, and best alignments against numpy goldens
// (tests/reference/make_known_motif_fixtures.py).
#include "dnabert/analysis/motif_comparison.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "test_paths.hpp"

namespace analysis_motif_comparison_test {

namespace {

namespace analysis = dnabert::analysis;

analysis::probability_matrix from_json(const nlohmann::json& rows) {
  analysis::probability_matrix out;
  for (const auto& row : rows) out.push_back({row[0].get<double>(), row[1].get<double>(), row[2].get<double>(), row[3].get<double>()});
  return out;
}

/// A non-palindromic motif whose columns all differ.
const analysis::probability_matrix motif{
    {0.7, 0.1, 0.1, 0.1}, {0.1, 0.6, 0.2, 0.1}, {0.05, 0.05, 0.85, 0.05}, {0.2, 0.2, 0.1, 0.5}, {0.4, 0.4, 0.1, 0.1}};

}  // namespace

TEST_CASE("motif comparison: column correlation by hand, constant columns count 0") {
  // (1,0,0,0) vs (0,1,0,0): centred (3/4,-1/4,-1/4,-1/4) and (-1/4,3/4,-1/4,-1/4): cov -1/4, var 3/4 each.
  CHECK(analysis::column_correlation({1, 0, 0, 0}, {0, 1, 0, 0}) == doctest::Approx(-1.0 / 3));
  CHECK(analysis::column_correlation({0.7, 0.1, 0.1, 0.1}, {1, 0, 0, 0}) == doctest::Approx(1.0));
  // (0.55,0.35,0.05,0.05) vs one-hot A: cov 0.3, var 0.18 and 0.75 → 0.3 / sqrt(0.135).
  CHECK(analysis::column_correlation({0.55, 0.35, 0.05, 0.05}, {1, 0, 0, 0}) == doctest::Approx(0.3 / std::sqrt(0.135)));
  CHECK(analysis::column_correlation({0.25, 0.25, 0.25, 0.25}, {1, 0, 0, 0}) == 0.0);
}

TEST_CASE("motif comparison: reverse complement reverses positions and swaps A-T, C-G") {
  const analysis::probability_matrix two{{0.7, 0.1, 0.15, 0.05}, {0.1, 0.2, 0.3, 0.4}};
  const analysis::probability_matrix expected{{0.4, 0.3, 0.2, 0.1}, {0.05, 0.15, 0.1, 0.7}};
  CHECK(analysis::reverse_complement(two) == expected);
  CHECK(analysis::reverse_complement(analysis::reverse_complement(motif)) == motif);
}

TEST_CASE("motif comparison: overlap needed is nearly all of the shorter motif, at least 4 columns") {
  CHECK(analysis::required_overlap(24, 8) == 6);
  CHECK(analysis::required_overlap(8, 24) == 6);
  CHECK(analysis::required_overlap(5, 5) == 4);
  CHECK(analysis::required_overlap(3, 10) == 3);
  CHECK(analysis::required_overlap(1, 7) == 1);
  CHECK(analysis::required_overlap(10, 10, {0, 4}) == 10);
}

TEST_CASE("motif comparison: identical, reverse-complement and shifted motifs align perfectly") {
  const auto same = analysis::align_motifs(motif, motif);
  CHECK(same.score == doctest::Approx(1.0));
  CHECK(same.offset == 0);
  CHECK(same.strand == '+');
  CHECK(same.overlap == 5);

  const auto reverse = analysis::align_motifs(motif, analysis::reverse_complement(motif));
  CHECK(reverse.score == doctest::Approx(1.0));
  CHECK(reverse.offset == 0);
  CHECK(reverse.strand == '-');

  // The motif inside a longer query after 3 flank columns: known column 0 at query column 3.
  analysis::probability_matrix query{{0.3, 0.3, 0.2, 0.2}, {0.1, 0.2, 0.3, 0.4}, {0.25, 0.25, 0.25, 0.25}};
  query.insert(query.end(), motif.begin(), motif.end());
  query.push_back({0.2, 0.5, 0.2, 0.1});
  const auto shifted = analysis::align_motifs(query, motif);
  CHECK(shifted.score == doctest::Approx(1.0));
  CHECK(shifted.offset == 3);
  CHECK(shifted.strand == '+');
  CHECK(shifted.overlap == 5);
  // The other way round the known motif is the longer one: it starts 3 columns before the query.
  const auto inside = analysis::align_motifs(motif, query);
  CHECK(inside.score == doctest::Approx(1.0));
  CHECK(inside.offset == -3);
  // And its reverse complement, on the '-' strand: the flanks now come after the motif.
  const auto flipped = analysis::align_motifs(analysis::reverse_complement(query), motif);
  CHECK(flipped.score == doctest::Approx(1.0));
  CHECK(flipped.strand == '-');
  CHECK(flipped.offset == 1);  // reversed query = 1 flank column, the motif, 3 flank columns
}

TEST_CASE("motif comparison: best alignments match the numpy reference") {
  std::ifstream in(dnabert::test::data_path("motif/comparison_goldens.json"));
  const auto goldens = nlohmann::json::parse(in);
  REQUIRE(goldens["alignments"].size() == 12);
  for (const auto& golden : goldens["alignments"]) {
    const auto alignment = analysis::align_motifs(from_json(golden["query"]), from_json(golden["known"]));
    CHECK(alignment.score == doctest::Approx(golden["score"].get<double>()).epsilon(1e-12));
    CHECK(alignment.offset == golden["offset"].get<std::int64_t>());
    CHECK(alignment.strand == golden["strand"].get<std::string>()[0]);
    CHECK(alignment.overlap == golden["overlap"].get<std::size_t>());
  }
}

TEST_CASE("motif comparison: best_matches picks the most similar known motif for each motif") {
  std::vector<dnabert::io::meme_motif> known{
      {"ONE_HOT_A", 10, 1.0, {{1, 0, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}}, {}},
      {"MA9999.1", 10, 1.0, analysis::reverse_complement(motif), "planted"},
  };
  std::vector<dnabert::io::meme_motif> discovered{{"M1", 5, 1.0, motif, {}}};
  const auto matches = analysis::best_matches(discovered, known);
  REQUIRE(matches.size() == 1);
  REQUIRE(matches[0].has_value());
  CHECK(matches[0]->known_id == "MA9999.1");
  CHECK(matches[0]->known_alternate_name == "planted");
  CHECK(matches[0]->alignment.strand == '-');
  CHECK(matches[0]->alignment.score == doctest::Approx(1.0));
  CHECK_FALSE(analysis::best_match(motif, {}).has_value());
  CHECK_THROWS_AS((void)analysis::align_motifs({}, motif), dnabert::input_error);
}

}  // namespace analysis_motif_comparison_test
