// Variant effect scores: windows and checks on synthetic contigs, and P(class 1), diff and logOR of
// the real classifier cls_k6 against tests/reference/make_variant_goldens.py (transformers).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/analysis/variant_effects.hpp"
#include "test_paths.hpp"
#include "variant_fixtures.hpp"

namespace analysis_variant_effects_test {

namespace {

namespace analysis = dnabert::analysis;
using analysis::variant_issue;

using dnabert::test::diff_floor;
using dnabert::test::log_odds_floor;
using dnabert::test::probability_tolerance;
using dnabert::test::relatively_close;

// Builds one variant's window over `contigs`; the warnings land in `report`.
std::optional<analysis::variant_window> window_of(const std::map<std::string, std::string>& contigs,
                                                  const analysis::variant& v, std::size_t width,
                                                  analysis::variant_report& report, bool strict = false) {
  return analysis::make_variant_window(v, 0, dnabert::test::in_memory_reference(contigs), width, strict, report);
}

// 40 nt of varied sequence: c1[20..23] = AAGG, c1[37..39] = AGG.
const std::map<std::string, std::string> synthetic{
    {"c1", "AACCGGTTACGTACGTTTGCAAGGCCTTAAGGTTCCAAGG"},
    {"short", "ACGTACGTAC"},
};

}  // namespace

TEST_CASE("variant scores: diff and logOR as DNABERT's SNP.py, clamped away from 0 and 1") {
  const auto score = analysis::score_probabilities(0.2, 0.6);
  CHECK(score.diff == doctest::Approx((0.6 - 0.2) * 0.6));
  CHECK(score.log_odds_ratio == doctest::Approx(std::log2(0.2 / 0.8) - std::log2(0.6 / 0.4)));
  const auto saturated = analysis::score_probabilities(1.0, 0.0);
  CHECK(std::isfinite(saturated.log_odds_ratio));
  CHECK(saturated.log_odds_ratio == doctest::Approx(2 * std::log2((1 - 1e-7) / 1e-7)));
  CHECK(saturated.diff == doctest::Approx(-1.0));
  CHECK(saturated.p_ref == 1.0);  // reported as predicted, only logOR clamps
}

TEST_CASE("variant windows: an SNV is centred, both windows share the left flank") {
  analysis::variant_report report;
  const std::string& c1 = synthetic.at("c1");
  const auto snv = window_of(synthetic, {"c1", 20, c1.substr(20, 1), "T", 0, 0}, 11, report);
  REQUIRE(snv);
  CHECK(snv->start == 15);
  CHECK(snv->shift == 0);
  CHECK(snv->reference == c1.substr(15, 11));
  CHECK(snv->alternative == c1.substr(15, 5) + "T" + c1.substr(21, 5));
  CHECK(report.warnings.empty());
}

TEST_CASE("variant windows: insertions push bases out on the right, deletions pull more in") {
  analysis::variant_report report;
  const std::string& c1 = synthetic.at("c1");
  // VCF style: the padding base first. REF at 20, window 11: left flank 5.
  const auto insertion = window_of(synthetic, {"c1", 20, c1.substr(20, 1), c1.substr(20, 1) + "GGG", 0, 0}, 11, report);
  REQUIRE(insertion);
  CHECK(insertion->reference == c1.substr(15, 11));
  CHECK(insertion->alternative == c1.substr(15, 6) + "GGG" + c1.substr(21, 2));
  // Deletion of 3 bases after the padding base: REF 4 nt, left flank (11 − 4) / 2 = 3.
  const auto deletion = window_of(synthetic, {"c1", 20, c1.substr(20, 4), c1.substr(20, 1), 0, 0}, 11, report);
  REQUIRE(deletion);
  CHECK(deletion->start == 17);
  CHECK(deletion->reference == c1.substr(17, 11));
  CHECK(deletion->alternative == c1.substr(17, 4) + c1.substr(24, 7));
  CHECK(deletion->alternative.size() == 11);
  CHECK(report.warnings.empty());
}

TEST_CASE("variant windows: near a contig edge the window shifts inside and says so") {
  analysis::variant_report report;
  const std::string& c1 = synthetic.at("c1");
  const auto at_start = window_of(synthetic, {"c1", 2, c1.substr(2, 1), "A", 0, 0}, 11, report);
  REQUIRE(at_start);
  CHECK(at_start->start == 0);
  CHECK(at_start->shift == 3);
  CHECK(at_start->alternative == c1.substr(0, 2) + "A" + c1.substr(3, 8));
  // A deletion at the end needs |REF| − |ALT| extra bases: the window ends that much earlier.
  const auto at_end = window_of(synthetic, {"c1", 37, c1.substr(37, 3), c1.substr(37, 1), 0, 0}, 11, report);
  REQUIRE(at_end);
  CHECK(at_end->start == 40 - 11 - 2);
  CHECK(at_end->alternative == c1.substr(27, 11));  // the deleted bases were the contig's last
  REQUIRE(report.warnings.size() == 2);
  CHECK(report.count(variant_issue::window_shifted) == 2);
  CHECK(report.warnings[0].message == "c1:3 C>A: within half a window of the contig's start: window shifted by 3 nt to stay inside it");
  CHECK(report.warnings[1].message.find("contig's end: window shifted by -") != std::string::npos);
}

TEST_CASE("variant windows: every check skips the allele with a warning naming CHROM:POS") {
  const std::string& c1 = synthetic.at("c1");
  const std::string ref20 = c1.substr(20, 1);
  struct bad_case {
    analysis::variant v;
    variant_issue issue;
    const char* message;
  };
  const std::vector<bad_case> cases{
      {{"c1", 20, "T", "A", 0, 0}, variant_issue::ref_mismatch, "c1:21 T>A: REF 'T' does not match the reference 'A', skipped"},
      {{"c1", 20, ref20, "<DEL>", 0, 0}, variant_issue::unsupported_allele, "c1:21 A><DEL>: symbolic allele <DEL>"},
      {{"c1", 20, ref20, "<*>", 0, 0}, variant_issue::unsupported_allele, "symbolic allele <*>"},
      {{"c1", 20, ref20, "A]c1:30]", 0, 0}, variant_issue::unsupported_allele, "breakend A]c1:30]"},
      {{"c1", 20, ref20, "*", 0, 0}, variant_issue::unsupported_allele, "'*' (an allele deleted by an upstream variant)"},
      {{"c1", 20, ref20, "R", 0, 0}, variant_issue::unsupported_allele, "ALT 'R' has letters other than A, C, G, T, N"},
      {{"c1", -1, "A", "G", 0, 0}, variant_issue::outside_contig, "c1:0 A>G: REF lies outside contig 'c1' of 40 nt (POS must be 1..40)"},
      {{"c1", 39, "GA", "G", 0, 0}, variant_issue::outside_contig, "c1:40 GA>G: REF lies outside contig"},
      {{"chr9", 3, "A", "G", 0, 0}, variant_issue::unknown_contig, "contig 'chr9' is not in the reference, skipped"},
      {{"chrc1", 20, ref20, "A", 0, 0}, variant_issue::contig_name_style,
       "contig 'chrc1' is not in the reference, but 'c1' is: the VCF and the FASTA name contigs differently"},
      {{"c1", 20, c1.substr(20, 6), "G", 0, 0}, variant_issue::allele_too_long, "longer than half the 11-nt window"},
      {{"short", 5, "C", "A", 0, 0}, variant_issue::contig_too_short, "contig 'short' has 10 nt, fewer than the 11 the window needs"},
  };
  for (const auto& bad : cases) {
    CAPTURE(bad.message);
    analysis::variant_report report;
    CHECK_FALSE(window_of(synthetic, bad.v, 11, report));
    REQUIRE(report.warnings.size() == 1);
    CHECK(report.warnings[0].issue == bad.issue);
    CHECK(report.warnings[0].message.find(bad.message) != std::string::npos);
    analysis::variant_report strict_report;
    CHECK_THROWS_AS((void)window_of(synthetic, bad.v, 11, strict_report, true), dnabert::input_error);
  }
  // The prefix check works both ways: "1" in the VCF, "chr1" in the FASTA.
  const std::map<std::string, std::string> chr_named{{"chr1", c1}};
  analysis::variant_report report;
  CHECK_FALSE(window_of(chr_named, {"1", 20, ref20, "A", 0, 0}, 11, report));
  REQUIRE(report.warnings.size() == 1);
  CHECK(report.warnings[0].issue == variant_issue::contig_name_style);
}

TEST_CASE("variant windows: REF is compared case-insensitively and soft-masked bases are upper-cased") {
  const std::map<std::string, std::string> masked{{"m", "ACGTACGTACgtacgtacgtACGTACGTAC"}};
  analysis::variant_report report;
  const auto w = window_of(masked, {"m", 13, "c", "T", 0, 0}, 9, report);
  REQUIRE(w);
  CHECK(w->reference == "CGTACGTAC");
  CHECK(w->alternative == "CGTATGTAC");
  CHECK(report.warnings.empty());
}

TEST_CASE("variant scores: windows, P(class 1), diff and logOR of cls_k6 match transformers") {
  const auto goldens = dnabert::test::read_variant_goldens();
  const std::map<std::string, std::map<std::string, std::string>> genomes{
      {"ce", dnabert::test::read_contigs(dnabert::test::debian_fasta("ce"))},
      {"chr17", dnabert::test::read_contigs(dnabert::test::debian_fasta("chr17"))}};
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  CHECK(dnabert::default_window(model) == 67);
  std::size_t checked = 0;
  // One call per (genome, window): the two alleles of the multi-allelic site share a reference window.
  for (const auto& [fasta, contigs] : genomes) {
    for (const std::size_t width : {std::size_t{0}, std::size_t{41}}) {
      std::vector<analysis::variant> variants;
      std::vector<const dnabert::test::golden_variant*> expected;
      for (std::size_t row = 0; row < goldens.size(); ++row)
        if (goldens[row].fasta == fasta && (width == 0 ? goldens[row].window == 67 : goldens[row].window == width)) {
          variants.push_back(dnabert::test::to_variant(goldens[row], row));
          expected.push_back(&goldens[row]);
        }
      if (variants.empty()) continue;
      analysis::variant_options options;
      options.window = width;
      options.batch_size = 3;
      std::vector<std::size_t> progress;
      options.progress = [&progress](std::size_t done, std::size_t) { progress.push_back(done); };
      const auto report = analysis::score_variants(
          model, std::span<const analysis::variant>(variants), dnabert::test::in_memory_reference(contigs), options,
          [&](std::size_t index, const analysis::variant_window& window, const analysis::variant_score& score) {
            const auto& g = *expected[index];
            CAPTURE(g.name);
            CHECK(window.start == g.start);
            CHECK(window.reference == g.ref_seq);
            CHECK(window.alternative == g.alt_seq);
            CHECK(std::abs(score.p_ref - g.p_ref) < probability_tolerance);
            CHECK(std::abs(score.p_alt - g.p_alt) < probability_tolerance);
            CHECK(relatively_close(score.diff, g.diff, diff_floor));
            CHECK(relatively_close(score.log_odds_ratio, g.log_odds_ratio, log_odds_floor));
            ++checked;
          });
      CHECK(report.scored == variants.size());
      CHECK(report.warnings.size() == report.count(variant_issue::window_shifted));
      CHECK(progress.back() == variants.size());
    }
  }
  CHECK(checked == goldens.size());
}

TEST_CASE("variant scores: only a 2-class classifier is accepted") {
  const auto regression = dnabert::load_classifier(dnabert::test::data_path("parity/reg_k6"), 1);
  const std::vector<std::string> sequences{"ACGTACGTACGT"};
  CHECK_THROWS_WITH_AS((void)dnabert::positive_class_probabilities(regression, sequences, 4),
                       "window scores (variant effects, mutation maps, genome scans) need a 2-class classifier (they compare "
                       "P(class 1)); the model has 1 output (regression)",
                       dnabert::config_error);
}

}  // namespace analysis_variant_effects_test
