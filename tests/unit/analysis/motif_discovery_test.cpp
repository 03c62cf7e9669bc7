// DNABERT's motif discovery steps (https://github.com/jerryji1993/DNABERT/blob/master/motif/motif_utils.py)
// on hand-made cases whose answers are worked out in the comments, and a planted motif recovered end to end.
#include "dnabert/analysis/motif_discovery.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace analysis_motif_discovery_test {

namespace {

namespace analysis = dnabert::analysis;
using regions = std::vector<analysis::attention_region>;
using instances = std::vector<analysis::motif_instance>;

}  // namespace

TEST_CASE("motif discovery: high-attention regions are runs above the mean and 10x the minimum") {
  // mean = 2.4, min = 0.1 → both tests mean score > 2.4; runs [2,4) (too short for 3), [6,10) at the end.
  const std::vector<double> scores{0.1, 1, 5, 5, 0.2, 2, 3, 4, 3, 3};
  CHECK(analysis::high_attention_regions(scores, 3) == regions{{6, 10}});
  CHECK(analysis::high_attention_regions(scores, 2) == regions{{2, 4}, {6, 10}});
  // min = 0.5 → 10·min = 5 excludes the 4s although they are above the mean 2.7.
  const std::vector<double> high_floor{0.5, 4, 4, 6, 6, 0.5, 0.5, 0.5, 0.5, 4};
  CHECK(analysis::high_attention_regions(high_floor, 2) == regions{{3, 5}});
  // A zero minimum leaves only "above the mean"; a run starting at 0 is found too.
  const std::vector<double> with_zero{3, 3, 0, 1, 1};
  CHECK(analysis::high_attention_regions(with_zero, 1) == regions{{0, 2}});
  CHECK(analysis::high_attention_regions(std::vector<double>{}, 1).empty());
  CHECK(analysis::high_attention_regions(std::vector<double>{1, 1, 1}, 1).empty());  // nothing above the mean
  CHECK_THROWS_AS((void)analysis::high_attention_regions(std::vector<double>{1, std::nan(""), 2}, 1),
                  dnabert::input_error);
}

TEST_CASE("motif discovery: candidates gather every region's instances, in first-seen order") {
  const std::vector<std::string> positives{"aaCCGGTaa", "CCGGTAAAAA", "GGNNTTGGG"};
  const double nan = std::nan("");
  // Row 0 is padded past the sequence with NaN, as attention output is; it must be ignored.
  const std::vector<std::vector<double>> scores{{0, 0, 1, 1, 1, 1, 1, 0, 0, nan, nan},
                                                {1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
                                                {0, 0, 1, 1, 1, 0, 0, 0, 0}};
  const auto candidates = analysis::collect_candidate_motifs(positives, scores, 3);
  REQUIRE(candidates.size() == 1);  // row 2's region "NNT" holds an N and is skipped
  CHECK(candidates[0].motif == "CCGGT");
  CHECK(candidates[0].instances == instances{{0, 2, 7}, {1, 0, 5}});
  const std::vector<std::vector<double>> too_short{{1, 2}, {1}, {1}};
  CHECK_THROWS_AS((void)analysis::collect_candidate_motifs(positives, too_short, 3), dnabert::input_error);
  CHECK_THROWS_AS((void)analysis::collect_candidate_motifs(positives, std::span(scores).first(2), 3),
                  dnabert::input_error);
}

TEST_CASE("motif discovery: enrichment is the hypergeometric tail over sequences, BH-adjusted") {
  const std::vector<std::string> positives{"ACGTACGT", "TTACGTTT", "ACGTACGA", "GGGGGGGG"};
  const std::vector<std::string> negatives{"TTTTTTTT", "GGGGCCCC", "CCCCCCCC", "TTTTACGT"};
  const std::vector<std::string> motifs{"ACGT", "GGGG", "AAAA"};
  const auto result = analysis::motif_enrichment_test(motifs, positives, negatives);
  REQUIRE(result.size() == 3);
  // ACGT: in 3 positives (twice in the first: counted once) and 1 negative. N = 8, K = 4, n = 4:
  // P[X ≥ 3] = (C(4,3)·C(4,1) + C(4,4)) / C(8,4) = 17/70.
  CHECK(result[0].positives_with_motif == 3);
  CHECK(result[0].sequences_with_motif == 4);
  CHECK(result[0].p_value == doctest::Approx(17.0 / 70.0).epsilon(1e-13));
  // GGGG: x = 1, n = 2: P[X ≥ 1] = 1 − C(4,2)/C(8,2) = 22/28. AAAA: nowhere, P[X ≥ 0] = 1.
  CHECK(result[1].p_value == doctest::Approx(22.0 / 28.0).epsilon(1e-13));
  CHECK(result[2].p_value == 1.0);
  // BH over (17/70, 22/28, 1): ranks 1..3 → 3·17/70, min(1.5·22/28, 1) = 1, 1.
  CHECK(result[0].adjusted_p_value == doctest::Approx(3.0 * 17.0 / 70.0).epsilon(1e-13));
  CHECK(result[1].adjusted_p_value == 1.0);
  CHECK(result[2].adjusted_p_value == 1.0);
}

TEST_CASE("motif discovery: best ungapped alignment, key inside or sticking out either side") {
  auto a = analysis::best_ungapped_alignment("ACGTAC", "GTA");
  CHECK(a.offset == 2);
  CHECK(a.matches == 3);
  a = analysis::best_ungapped_alignment("AAACC", "CCGG");  // key hangs off the right end
  CHECK(a.offset == 3);
  CHECK(a.matches == 2);
  a = analysis::best_ungapped_alignment("GGAAA", "TTGG");  // key hangs off the left end
  CHECK(a.offset == -2);
  CHECK(a.matches == 2);
  // "AA" on "AAAA" scores 2 at offsets 0..2: the leftmost wins among equal overlaps.
  a = analysis::best_ungapped_alignment("AAAA", "AA");
  CHECK(a.offset == 0);
  CHECK(a.matches == 2);
}

TEST_CASE("motif discovery: merging moves instances onto the best key's footprint") {
  using candidate = analysis::motif_candidate;
  // TACGTAC carries ACGTA at offset 1 (5 matches ≥ max(4, 2.5)): its instance [3,10) becomes [4,9).
  // ACGCCC scores only 3 against ACGTA and 0..1 against the rest: it stays a key of its own.
  std::vector<candidate> candidates{{"TACGTAC", {{1, 3, 10}}},
                                    {"ACGTA", {{0, 10, 15}}},
                                    {"ACGCCC", {{2, 0, 6}}},
                                    {"TTGACGTAA", {{3, 20, 29}}}};
  const auto merged = analysis::merge_motifs(candidates, 5, false);
  REQUIRE(merged.size() == 2);
  CHECK(merged[0].motif == "ACGTA");
  // TTGACGTAA has ACGTA at offset 3 (5 matches): [20,29) → [23,28).
  CHECK(merged[0].instances == instances{{0, 10, 15}, {1, 4, 9}, {3, 23, 28}});
  CHECK(merged[1].motif == "ACGCCC");
  CHECK(merged[1].instances == instances{{2, 0, 6}});
}

TEST_CASE("motif discovery: a query tied between two keys goes to both only with align_all_ties") {
  using candidate = analysis::motif_candidate;
  // ACGTT and GGCCA share at most 2 letters at any offset, so both are keys; ACGTTGGCCA holds each
  // whole (5 matches at offsets 0 and 5).
  const std::vector<candidate> candidates{{"ACGTT", {{0, 0, 5}}}, {"GGCCA", {{1, 0, 5}}}, {"ACGTTGGCCA", {{2, 7, 17}}}};
  const auto first_only = analysis::merge_motifs(candidates, 5, false);
  REQUIRE(first_only.size() == 2);
  CHECK(first_only[0].instances == instances{{0, 0, 5}, {2, 7, 12}});
  CHECK(first_only[1].instances == instances{{1, 0, 5}});
  const auto all_ties = analysis::merge_motifs(candidates, 5, true);
  REQUIRE(all_ties.size() == 2);
  CHECK(all_ties[0].instances == instances{{0, 0, 5}, {2, 7, 12}});
  CHECK(all_ties[1].instances == instances{{1, 0, 5}, {2, 12, 17}});
}

TEST_CASE("motif discovery: the merge threshold is max(min_len - 1, half the shorter length)") {
  using candidate = analysis::motif_candidate;
  // Key AAAAACCCCC (10): a query needs max(1, 5) = 5 matches with min_len 2. AAAAGGGGGG scores 4
  // (offset 0 or −1), AAAAAGGGGG scores 5 (offset 0).
  const std::vector<candidate> four{{"AAAAACCCCC", {{0, 0, 10}}}, {"AAAAGGGGGG", {{1, 0, 10}}}};
  CHECK(analysis::best_ungapped_alignment("AAAAGGGGGG", "AAAAACCCCC").matches == 4);
  CHECK(analysis::merge_motifs(four, 2, false).size() == 2);
  const std::vector<candidate> five{{"AAAAACCCCC", {{0, 0, 10}}}, {"AAAAAGGGGG", {{1, 0, 10}}}};
  CHECK(analysis::best_ungapped_alignment("AAAAAGGGGG", "AAAAACCCCC").matches == 5);
  CHECK(analysis::merge_motifs(five, 2, false).size() == 1);
  // With min_len 7 the same 5 matches fall short of max(6, 5) = 6.
  CHECK(analysis::merge_motifs(five, 7, false).size() == 2);
}

TEST_CASE("motif discovery: windows widen symmetrically, odd extra on the right, inside the sequence") {
  // [10,15) to 24 nt: 19 extra → 9 left, 10 right → [1,25).
  const analysis::motif_instance instance{4, 10, 15};
  CHECK(analysis::window_around(instance, 24, 25) == analysis::motif_instance{4, 1, 25});  // DNABERT drops this
  CHECK_FALSE(analysis::window_around(instance, 24, 24).has_value());
  CHECK_FALSE(analysis::window_around({0, 8, 13}, 24, 100).has_value());  // would start at −1
  CHECK(analysis::window_around({0, 4, 8}, 6, 100) == analysis::motif_instance{0, 3, 9});  // even extra
  // Longer than the window: −3 extra, floor-halved as Python does → 2 off the left, 1 off the right.
  CHECK(analysis::window_around({0, 0, 27}, 24, 27) == analysis::motif_instance{0, 2, 26});
}

TEST_CASE("motif discovery: position frequency matrix counts A/C/G/T per column") {
  const std::vector<std::string> windows{"ACG", "AAN", "TCG"};
  const auto counts = analysis::count_positions(windows);
  REQUIRE(counts.size() == 3);
  CHECK(counts[0] == std::array<std::size_t, 4>{2, 0, 0, 1});
  CHECK(counts[1] == std::array<std::size_t, 4>{1, 2, 0, 0});
  CHECK(counts[2] == std::array<std::size_t, 4>{0, 0, 2, 0});  // N is not counted
  CHECK_THROWS_AS((void)analysis::count_positions(std::vector<std::string>{"ACG", "AC"}), dnabert::input_error);
}

TEST_CASE("motif discovery: a motif planted under high attention is found, windowed and counted") {
  const std::string planted = "TATAATGC";
  std::mt19937 rng(42);
  const auto random_dna = [&] {
    std::string s(40, 'A');
    for (char& c : s) c = "CG"[rng() % 2];  // no T: the planted motif cannot occur by chance
    return s;
  };
  std::vector<std::string> positives, negatives;
  std::vector<std::vector<double>> scores;
  for (int i = 0; i < 20; ++i) {
    std::string s = random_dna();
    s.replace(10, planted.size(), planted);
    positives.push_back(s);
    std::vector<double> row(40, 0.01);
    for (std::size_t p = 10; p < 18; ++p) row[p] = 1.0;
    scores.push_back(row);
    negatives.push_back(random_dna());
  }
  // Two positives see it at the end, where a 24-nt window cannot fit: 18 windows remain.
  for (int i = 0; i < 2; ++i) {
    positives[i] = random_dna().substr(0, 32) + planted;
    std::fill(scores[i].begin(), scores[i].end(), 0.01);
    std::fill(scores[i].begin() + 32, scores[i].end(), 1.0);
  }
  const auto found = analysis::discover_motifs(positives, negatives, scores);
  REQUIRE(found.size() == 1);
  const auto& motif = found[0];
  CHECK(motif.key == planted);
  CHECK(motif.enrichment.positives_with_motif == 20);
  CHECK(motif.enrichment.sequences_with_motif == 20);
  CHECK(motif.enrichment.p_value == doctest::Approx(1.0 / 137846528820.0).epsilon(1e-12));  // 1/C(40,20)
  REQUIRE(motif.instances.size() == 18);
  CHECK(motif.instances.front() == analysis::motif_instance{2, 2, 26});  // 16 extra: 8 each side
  REQUIRE(motif.frequencies.size() == 24);
  for (std::size_t i = 0; i < planted.size(); ++i) {
    const int code = analysis::detail::nucleotide_code(planted[i]);
    CHECK(motif.frequencies[8 + i][static_cast<std::size_t>(code)] == 18);
  }
  // With 19 required instances, nothing survives.
  analysis::motif_discovery_options strict;
  strict.min_instances = 19;
  CHECK(analysis::discover_motifs(positives, negatives, scores, strict).empty());
}

}  // namespace analysis_motif_discovery_test
