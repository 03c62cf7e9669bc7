#pragma once
// DNABERT's mutation-file mode (SNP.py with --mut-file): each row of the file applied to its input
// sequence, originals and mutants predicted in batches and scored as diff and logOR, over an input
// whole or read a chunk at a time.

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dnabert/analysis/effect_scores.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/nucleotide_text.hpp"
#include "dnabert/io/line_reader.hpp"
#include "dnabert/io/mutation_file.hpp"
#include "dnabert/io/sequence_input.hpp"
#include "dnabert/model/window_classification.hpp"

namespace dnabert::analysis {

/// `sequence[:start] + allele + sequence[end:]`, as DNABERT's mutate_seqs.py; `file` names the
/// mutation file in the error when [start, end) runs past the sequence.
inline std::string apply_mutation(std::string_view sequence, const io::sequence_mutation& m, const std::string& file) {
  if (m.end > sequence.size())
    throw format_error::at_line(file, m.line, "mutation [" + std::to_string(m.start) + ", " + std::to_string(m.end) +
                                                  ") runs past the end of sequence " + m.sequence_id + " (" +
                                                  std::to_string(sequence.size()) + " nt)");
  std::string mutated(sequence.substr(0, m.start));
  mutated += m.allele;
  mutated += sequence.substr(m.end);
  return mutated;
}

/// One scored mutation of DNABERT's --mut-file mode.
struct scored_mutation {
  std::size_t sequence = 0;  ///< index of the original sequence
  std::size_t mutation = 0;  ///< index of the mutation in the file
  std::string mutated;
  variant_score score;
};

/// DNABERT's --mut-file mode over sequences that come a chunk at a time: the mutations (held in
/// memory, grouped by the idx they name) are applied to each chunk's sequences as it comes, and
/// originals and mutants predicted in batches, so that memory holds one chunk of the input. Rows
/// come in DNABERT's mutations.tsv order (SNP.py's inner join on idx: by original sequence, then
/// mutation-file order).
class mutation_scorer {
 public:
  /// Scores `mutations` (read from `file`, named in errors); they must outlive the scorer.
  mutation_scorer(std::span<const io::sequence_mutation> mutations, std::string file)
      : mutations_(mutations), file_(std::move(file)) {
    for (std::size_t m = 0; m < mutations_.size(); ++m) waiting_[mutations_[m].sequence_id].push_back(m);
  }

  /// Scores the mutations of `sequences` (the next chunk of the input; ids are DNABERT's idx, the
  /// TSV row number) with `model`, `batch_size` sequences per forward pass, and calls
  /// emit(row) for each in order; `row.sequence` counts from the input's first sequence.
  template <class Spec, class B, class Emit>
  void score(const classifier<Spec, B>& model, std::span<const io::sequence_entry> sequences, std::size_t batch_size,
             Emit&& emit) {
    std::vector<scored_mutation> rows;
    std::vector<std::string> originals;  // of the sequences that have mutations
    std::vector<std::size_t> original_of_row;
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      const auto found = waiting_.find(sequences[s].id);
      if (found == waiting_.end()) continue;
      for (const std::size_t m : found->second) {
        rows.push_back({seen_ + s, m, apply_mutation(sequences[s].sequence, mutations_[m], file_), {}});
        original_of_row.push_back(originals.size());
      }
      originals.push_back(upper_case(sequences[s].sequence));
      waiting_.erase(found);
    }
    seen_ += sequences.size();
    if (rows.empty()) return;
    std::vector<std::string> mutated;
    for (const auto& row : rows) mutated.push_back(upper_case(row.mutated));
    const std::vector<double> p_original = positive_class_probabilities(model, originals, batch_size);
    const std::vector<double> p_mutated = positive_class_probabilities(model, mutated, batch_size);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      rows[r].score = score_probabilities(p_original[original_of_row[r]], p_mutated[r]);
      emit(rows[r]);
    }
  }

  /// After the last chunk: throws format_error for the first mutation (in file order) whose idx
  /// named no sequence of the input.
  void finish() const {
    std::size_t first = mutations_.size();
    for (const auto& [id, indices] : waiting_) first = std::min(first, indices.front());
    if (first == mutations_.size()) return;
    const io::sequence_mutation& m = mutations_[first];
    throw format_error::at_line(file_, m.line, "idx " + io::detail::quote_excerpt(m.sequence_id) +
                                                   " names no sequence of the input (" + std::to_string(seen_) +
                                                   " sequences)");
  }

 private:
  std::span<const io::sequence_mutation> mutations_;
  std::string file_;
  std::unordered_map<std::string_view, std::vector<std::size_t>> waiting_;  // idx -> mutations not yet applied
  std::size_t seen_ = 0;
};

/// Applies each mutation to its sequence (matched by id: the TSV row number), predicts originals
/// and mutants in batches and scores them, in DNABERT's mutations.tsv order (SNP.py's inner join
/// on idx: by original sequence, then mutation-file order). `file` names the mutation file.
template <class Spec, class B>
std::vector<scored_mutation> score_mutations(const classifier<Spec, B>& model, std::span<const io::sequence_entry> sequences,
                                             std::span<const io::sequence_mutation> mutations, const std::string& file,
                                             std::size_t batch_size) {
  mutation_scorer scorer(mutations, file);
  std::vector<scored_mutation> rows;
  scorer.score(model, sequences, batch_size, [&](scored_mutation& row) { rows.push_back(std::move(row)); });
  scorer.finish();
  return rows;
}

}  // namespace dnabert::analysis
