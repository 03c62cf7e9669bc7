// DNABERT's mutation-file mode: mutations applied as mutate_seqs.py does, and mutations.tsv with
// the real classifier cls_k6 against tests/reference/make_variant_goldens.py (transformers).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "dnabert/analysis/mutation_effects.hpp"
#include "dnabert/analysis/mutations_tsv.hpp"
#include "dnabert/cpu.hpp"
#include "dnabert/io/mutation_file.hpp"
#include "batch_invariance.hpp"
#include "test_paths.hpp"
#include "variant_fixtures.hpp"

namespace analysis_mutation_effects_test {

namespace {

namespace analysis = dnabert::analysis;

using dnabert::test::diff_floor;
using dnabert::test::log_odds_floor;
using dnabert::test::probability_tolerance;
using dnabert::test::relatively_close;

dnabert::io::sequence_mutation mutation(std::size_t start, std::size_t end, std::string allele) {
  return {"0", start, end, std::move(allele), 1};
}

// DNABERT's mutation-file mode on the variants fixtures: the classifier, dev.tsv and mut.txt.
struct mutation_file_fixture {
  dnabert::cpu_classifier<> model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  std::vector<dnabert::io::sequence_entry> sequences = dnabert::io::read_sequences(dnabert::test::data_path("variants/dev.tsv"));
  std::string mut_path = dnabert::test::data_path("variants/mut.txt");
  std::vector<dnabert::io::sequence_mutation> mutations = dnabert::io::read_mutation_file(mut_path);

  /// Every mutation scored with the whole input at once.
  std::vector<analysis::scored_mutation> score_all(std::size_t batch_size) const {
    return analysis::score_mutations(model, std::span<const dnabert::io::sequence_entry>(sequences),
                                     std::span<const dnabert::io::sequence_mutation>(mutations), mut_path, batch_size);
  }
};

}  // namespace

TEST_CASE("mutation file mode: a mutation replaces start to end by its allele, inside the sequence only") {
  CHECK(analysis::apply_mutation("ACGTACGTACGT", mutation(8, 12, "T"), "mut.txt") == "ACGTACGTT");
  CHECK(analysis::apply_mutation("ACGTACGTACGT", mutation(2, 2, "GG"), "mut.txt") == "ACGGGTACGTACGT");  // insertion
  CHECK(analysis::apply_mutation("ACGTACGTACGT", mutation(0, 4, ""), "mut.txt") == "ACGTACGT");          // deletion
  CHECK(analysis::apply_mutation("ACGTACGTACGT", mutation(12, 12, "A"), "mut.txt") == "ACGTACGTACGTA");  // at the end
  CHECK_THROWS_WITH_AS((void)analysis::apply_mutation("ACGTACGTAC", mutation(8, 12, "T"), "mut.txt"),
                       "mut.txt:1: mutation [8, 12) runs past the end of sequence 0 (10 nt)", dnabert::format_error);
}

TEST_CASE_FIXTURE(mutation_file_fixture, "mutation file mode: mutations.tsv as DNABERT's SNP.py writes it, scores from transformers") {
  const auto rows = score_all(2);
  const auto out = dnabert::test::scratch_dir("mutations_tsv") / "mutations.tsv";
  analysis::mutations_tsv_writer table(out.string(), 6);
  for (const auto& row : rows) table.add(sequences[row.sequence].id, sequences[row.sequence].sequence, row.mutated, row.score);
  table.commit();

  std::ifstream ours(out), golden(dnabert::test::data_path("variants/mutations.tsv"));
  std::string our_line, golden_line;
  REQUIRE(std::getline(ours, our_line));
  REQUIRE(std::getline(golden, golden_line));
  CHECK(our_line == golden_line);  // "\tidx\torig_seq\torig_pred\tmut_seq\tmut_pred\tdiff\tlogOR"
  std::size_t compared = 0;
  while (std::getline(golden, golden_line)) {
    REQUIRE(std::getline(ours, our_line));
    std::vector<std::string> a, b;
    for (std::istringstream in(our_line); std::getline(in, a.emplace_back(), '\t');) {
    }
    for (std::istringstream in(golden_line); std::getline(in, b.emplace_back(), '\t');) {
    }
    REQUIRE(a.size() == 9);  // 8 columns + the empty string getline leaves at the end
    REQUIRE(b.size() == 9);
    for (const std::size_t text_column : {0, 1, 2, 4}) CHECK(a[text_column] == b[text_column]);
    for (const std::size_t probability_column : {3, 5})
      CHECK(std::abs(std::stod(a[probability_column]) - std::stod(b[probability_column])) < probability_tolerance);
    CHECK(relatively_close(std::stod(a[6]), std::stod(b[6]), diff_floor));
    CHECK(relatively_close(std::stod(a[7]), std::stod(b[7]), log_odds_floor));
    ++compared;
  }
  CHECK(compared == 7);
  CHECK_FALSE(std::getline(ours, our_line));
}

TEST_CASE("mutation file mode: an idx that names no sequence is an error naming the line") {
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  const std::vector<dnabert::io::sequence_entry> sequences{{"0", "ACGTACGTACGTAC", std::nullopt, {}}};
  const std::vector<dnabert::io::sequence_mutation> mutations{{"7", 1, 2, "A", 3}};
  CHECK_THROWS_WITH_AS((void)analysis::score_mutations(model, std::span<const dnabert::io::sequence_entry>(sequences),
                                                       std::span<const dnabert::io::sequence_mutation>(mutations), "mut.txt", 2),
                       "mut.txt:3: idx '7' names no sequence of the input (1 sequences)", dnabert::format_error);
}

TEST_CASE_FIXTURE(mutation_file_fixture, "mutation file mode: an input scored a chunk at a time gives the rows of the whole input") {
  const auto whole = score_all(4);
  for (const std::size_t chunk : {1U, 2U}) {
    CAPTURE(chunk);
    analysis::mutation_scorer scorer(mutations, mut_path);
    std::vector<analysis::scored_mutation> rows;
    for (std::size_t first = 0; first < sequences.size(); first += chunk)
      scorer.score(model, std::span<const dnabert::io::sequence_entry>(sequences).subspan(first, std::min(chunk, sequences.size() - first)),
                   3, [&](const analysis::scored_mutation& row) { rows.push_back(row); });
    scorer.finish();
    REQUIRE(rows.size() == whole.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      CHECK(rows[r].sequence == whole[r].sequence);
      CHECK(rows[r].mutation == whole[r].mutation);
      CHECK(rows[r].mutated == whole[r].mutated);
      // The same bits where batches cannot change them (see same_across_batches).
      CHECK(dnabert::test::same_across_batches(std::array{rows[r].score.p_ref, rows[r].score.p_alt},
                                               std::array{whole[r].score.p_ref, whole[r].score.p_alt}));
    }
  }
  // An idx no chunk had is reported at the end, the first in file order.
  analysis::mutation_scorer scorer(mutations, mut_path);
  scorer.score(model, std::span<const dnabert::io::sequence_entry>(sequences).first(1), 3, [](const auto&) {});
  CHECK_THROWS_WITH_AS(scorer.finish(), doctest::Contains("names no sequence of the input (1 sequences)"), dnabert::format_error);
}

}  // namespace analysis_mutation_effects_test
