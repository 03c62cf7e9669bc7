// End to end: instances sampled from a known PWM are planted in positives under attention-like
// peaks; DNABERT's motif discovery must find a motif whose PFM correlates >= 0.9 with the PWM, and
// nothing when no site is planted.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "dnabert/analysis/motif_comparison.hpp"
#include "dnabert/analysis/motif_discovery.hpp"
#include "planted_pwm.hpp"

namespace analysis_motif_recovery_test {

namespace {

namespace analysis = dnabert::analysis;

/// A JASPAR-like 8-column PWM, consensus TGACTCAG (not its own reverse complement), with two mixed
/// columns (2 and 5) whose second base a consensus-only answer would miss.
const dnabert::test::pwm planted{{0.05, 0.05, 0.05, 0.85}, {0.05, 0.05, 0.65, 0.25}, {0.94, 0.02, 0.02, 0.02},
                                 {0.05, 0.85, 0.05, 0.05}, {0.05, 0.05, 0.30, 0.60}, {0.03, 0.91, 0.03, 0.03},
                                 {0.80, 0.05, 0.10, 0.05}, {0.05, 0.05, 0.85, 0.05}};

}  // namespace

TEST_CASE("motif recovery: a planted PWM is recovered from attention peaks over its sites") {
  const auto set = dnabert::test::make_planted_pwm_set(planted, 400, 100, true, 2024);
  const auto motifs = analysis::discover_motifs(set.positives, set.negatives, set.positive_scores);
  REQUIRE_FALSE(motifs.empty());
  const auto most_sites = std::max_element(motifs.begin(), motifs.end(), [](const auto& a, const auto& b) {
    return a.windows.size() < b.windows.size();
  });
  MESSAGE(motifs.size() << " motifs; the largest, " << most_sites->key << ", has " << most_sites->windows.size()
                        << " sites, adjusted p " << most_sites->enrichment.adjusted_p_value);
  const auto alignment = analysis::align_motifs(analysis::column_probabilities(most_sites->frequencies), planted);
  MESSAGE("correlation " << alignment.score << " at offset " << alignment.offset << " on strand "
                         << std::string(1, alignment.strand));
  // Pearson correlation alone is lenient (the consensus as one-hot columns scores 0.979 here): the
  // windows must also sit on the planted sites. Over seeds 1..20: correlation >= 0.944, always '+',
  // >= 98% of windows on a site, and no motif at all without planted sites.
  CHECK(alignment.score >= 0.9);
  CHECK(alignment.strand == '+');
  CHECK(alignment.overlap == planted.size());
  CHECK(most_sites->enrichment.adjusted_p_value < 0.005);
  std::size_t on_site = 0;
  for (const auto& instance : most_sites->instances)
    on_site += instance.start + alignment.offset == static_cast<std::int64_t>(set.site_starts[instance.sequence]) ? 1 : 0;
  MESSAGE(on_site << " of " << most_sites->instances.size() << " windows on a planted site");
  CHECK(10 * on_site >= 9 * most_sites->instances.size());
}

TEST_CASE("motif recovery: without planted sites the same attention peaks yield no motif") {
  const auto set = dnabert::test::make_planted_pwm_set(planted, 400, 100, false, 2024);
  const auto motifs = analysis::discover_motifs(set.positives, set.negatives, set.positive_scores);
  for (const auto& motif : motifs) {
    const auto alignment = analysis::align_motifs(analysis::column_probabilities(motif.frequencies), planted);
    MESSAGE("unexpected motif " << motif.key << ", adjusted p " << motif.enrichment.adjusted_p_value
                                << ", correlation " << alignment.score);
  }
  CHECK(motifs.empty());
}

}  // namespace analysis_motif_recovery_test
