// Motif statistics against independent references: SciPy hypergeom and statsmodels fdr_bh
// goldens (tests/reference/make_motif_goldens.py), and Aho–Corasick against std::string::find.
#include "dnabert/analysis/motif_statistics.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "test_paths.hpp"

namespace analysis_motif_statistics_test {

namespace {

namespace analysis = dnabert::analysis;

nlohmann::json load_goldens() {
  std::ifstream in(dnabert::test::data_path("motif/goldens.json"));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// Number of sequences that contain `motif`, the slow obvious way (case-insensitive via upper-casing).
std::size_t naive_count(const std::vector<std::string>& sequences, const std::string& motif) {
  std::size_t count = 0;
  for (const auto& sequence : sequences) count += sequence.find(motif) != std::string::npos ? 1 : 0;
  return count;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST_CASE("motif statistics: hypergeometric tail matches scipy.stats.hypergeom on the golden cases") {
  const auto goldens = load_goldens();
  REQUIRE(goldens["hypergeometric"].size() == 35);
  for (const auto& golden : goldens["hypergeometric"]) {
    const auto x = golden["at_least"].get<std::uint64_t>();
    const auto N = golden["population"].get<std::uint64_t>();
    const auto K = golden["successes"].get<std::uint64_t>();
    const auto n = golden["draws"].get<std::uint64_t>();
    CAPTURE(x);
    CAPTURE(N);
    CAPTURE(K);
    CAPTURE(n);
    const double log_sf = analysis::hypergeometric_log_sf(x, N, K, n);
    if (golden["logsf"].is_null()) {
      CHECK(log_sf == -std::numeric_limits<double>::infinity());
      CHECK(analysis::hypergeometric_sf(x, N, K, n) == 0.0);
      continue;
    }
    const double expected_log = golden["logsf"];
    // SciPy itself is good to ~1e-10 relative (e.g. sf(0; 1e6, 1, 1) = 1.0000000001e-6, not 1e-6).
    INFO("log sf: found " << log_sf << ", scipy " << expected_log);
    CHECK(std::abs(log_sf - expected_log) <= 1e-9 * std::max(1.0, std::abs(expected_log)));
    const double expected = golden["sf"];
    if (expected > 1e-300) {  // below that SciPy's sf is subnormal or 0: its logsf above is the check
      const double sf = analysis::hypergeometric_sf(x, N, K, n);
      INFO("sf: found " << sf << ", scipy " << expected);
      CHECK(std::abs(sf - expected) <= 1e-9 * expected);
    }
  }
}

TEST_CASE("motif statistics: hypergeometric tail is exact on a case small enough to do by hand") {
  // N = 5, K = 2, n = 2: P[X = 2] = C(2,2)·C(3,0)/C(5,2) = 1/10, P[X ≥ 1] = 1 − C(3,2)/C(5,2) = 7/10.
  CHECK(analysis::hypergeometric_sf(2, 5, 2, 2) == doctest::Approx(0.1).epsilon(1e-14));
  CHECK(analysis::hypergeometric_sf(1, 5, 2, 2) == doctest::Approx(0.7).epsilon(1e-14));
  CHECK(analysis::hypergeometric_sf(0, 5, 2, 2) == 1.0);
  CHECK(analysis::hypergeometric_sf(3, 5, 2, 2) == 0.0);
  // Degenerate populations: nothing drawn, or everything drawn.
  CHECK(analysis::hypergeometric_sf(1, 5, 2, 0) == 0.0);
  CHECK(analysis::hypergeometric_sf(2, 5, 2, 5) == 1.0);
  // Exact values from Python big-integer binomials, where SciPy's own error (~7e-10) would hide ours:
  // 1 − Σ_{k<3} C(10,k)·C(999990,200000−k)/C(1e6,200000), and P[X ≥ 1] = 1e-6 for N = 1e6, K = n = 1.
  CHECK(analysis::hypergeometric_log_sf(3, 1'000'000, 10, 200'000) ==
        doctest::Approx(-1.1325822756309308268).epsilon(1e-14));
  CHECK(analysis::hypergeometric_log_sf(1, 1'000'000, 1, 1) == doctest::Approx(std::log(1e-6)).epsilon(1e-14));
  CHECK_THROWS_AS((void)analysis::hypergeometric_sf(1, 5, 6, 2), dnabert::input_error);
  CHECK_THROWS_AS((void)analysis::hypergeometric_sf(1, 5, 2, 6), dnabert::input_error);
}

TEST_CASE("motif statistics: Benjamini-Hochberg matches statsmodels fdr_bh bit for bit") {
  const auto goldens = load_goldens();
  REQUIRE(goldens["benjamini_hochberg"].size() == 7);
  for (const auto& golden : goldens["benjamini_hochberg"]) {
    const std::string name = golden["name"];
    CAPTURE(name);
    const auto p = golden["p"].get<std::vector<double>>();
    const auto expected = golden["adjusted"].get<std::vector<double>>();
    const auto adjusted = analysis::benjamini_hochberg(p);
    REQUIRE(adjusted.size() == expected.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      CAPTURE(i);
      CHECK(adjusted[i] == expected[i]);
    }
  }
}

TEST_CASE("motif statistics: Benjamini-Hochberg rejects what is not a p-value, accepts nothing") {
  CHECK(analysis::benjamini_hochberg(std::vector<double>{}).empty());
  CHECK_THROWS_AS((void)analysis::benjamini_hochberg(std::vector<double>{0.1, 1.5}), dnabert::input_error);
  CHECK_THROWS_AS((void)analysis::benjamini_hochberg(std::vector<double>{-0.1}), dnabert::input_error);
  CHECK_THROWS_AS((void)analysis::benjamini_hochberg(std::vector<double>{std::nan("")}), dnabert::input_error);
}

TEST_CASE("motif statistics: Aho-Corasick counts each sequence once per motif, like a naive find") {
  std::mt19937 rng(6);
  const auto random_dna = [&](std::size_t length) {
    std::string s(length, 'A');
    for (char& c : s) c = "ACGT"[rng() % 4];
    return s;
  };
  std::vector<std::string> sequences;
  for (int i = 0; i < 300; ++i) sequences.push_back(random_dna(20 + rng() % 100));
  // Short motifs (found often), substrings of the sequences (nested and overlapping), duplicates.
  std::vector<std::string> motifs;
  for (int i = 0; i < 150; ++i) motifs.push_back(random_dna(1 + rng() % 6));
  for (int i = 0; i < 150; ++i) {
    const auto& source = sequences[rng() % sequences.size()];
    const std::size_t start = rng() % (source.size() - 12);
    motifs.push_back(source.substr(start, 3 + rng() % 10));
  }
  motifs.push_back("ACGACG");
  motifs.push_back("ACG");
  motifs.push_back("CGAC");
  motifs.push_back("ACG");
  // Lower case and an N must not change counts: the N breaks matches only where it sits.
  std::vector<std::string> mixed = sequences;
  for (std::size_t i = 0; i < mixed.size(); i += 3)
    for (char& c : mixed[i]) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::size_t i = 1; i < mixed.size(); i += 5) mixed[i][mixed[i].size() / 2] = 'N';
  std::vector<std::string> mixed_upper;
  for (const auto& s : mixed) mixed_upper.push_back(upper(s));

  const analysis::motif_matcher matcher(motifs);
  REQUIRE(matcher.size() == motifs.size());
  const auto counts = matcher.count_sequences_containing(mixed);
  REQUIRE(counts.size() == motifs.size());
  std::size_t motifs_found = 0;
  for (std::size_t m = 0; m < motifs.size(); ++m) {
    CAPTURE(motifs[m]);
    CHECK(counts[m] == naive_count(mixed_upper, motifs[m]));
    motifs_found += counts[m] > 0 ? 1 : 0;
  }
  CHECK(motifs_found > 250);  // the comparison is not vacuous
}

TEST_CASE("motif statistics: Aho-Corasick on hand-made overlaps, and its input checks") {
  const std::vector<std::string> motifs{"AA", "AAA", "ATA", "T"};
  const analysis::motif_matcher matcher(motifs);
  const std::vector<std::string> sequences{"AAAA", "ATATA", "AANAA", "ccc", ""};
  // AA: AAAA, AANAA; AAA: AAAA only (the N splits AANAA); ATA: ATATA; T: ATATA.
  CHECK(matcher.count_sequences_containing(sequences) == std::vector<std::size_t>{2, 1, 1, 1});
  CHECK_THROWS_AS(analysis::motif_matcher(std::vector<std::string>{"ACGN"}), dnabert::input_error);
  CHECK_THROWS_AS(analysis::motif_matcher(std::vector<std::string>{""}), dnabert::input_error);
}

}  // namespace analysis_motif_statistics_test
