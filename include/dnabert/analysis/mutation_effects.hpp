#pragma once
// DNABERT's mutation-file mode (SNP.py with --mut-file): each row of the file applied to its input
// sequence, originals and mutants predicted in batches and scored as diff and logOR.

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
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

/// Applies each mutation to its sequence (matched by id: the TSV row number), predicts originals
/// and mutants in batches and scores them, in DNABERT's mutations.tsv order (SNP.py's inner join
/// on idx: by original sequence, then mutation-file order). `file` names the mutation file.
template <class Spec, class B>
std::vector<scored_mutation> score_mutations(const classifier<Spec, B>& model, std::span<const io::sequence_entry> sequences,
                                             std::span<const io::sequence_mutation> mutations, const std::string& file,
                                             std::size_t batch_size) {
  std::unordered_map<std::string_view, std::size_t> index_of_id;
  for (std::size_t s = 0; s < sequences.size(); ++s) index_of_id.emplace(sequences[s].id, s);
  std::vector<scored_mutation> rows;
  rows.reserve(mutations.size());
  for (std::size_t m = 0; m < mutations.size(); ++m) {
    const auto found = index_of_id.find(mutations[m].sequence_id);
    if (found == index_of_id.end())
      throw format_error::at_line(file, mutations[m].line, "idx " + io::detail::quote_excerpt(mutations[m].sequence_id) +
                                                               " names no sequence of the input (" +
                                                               std::to_string(sequences.size()) + " sequences)");
    rows.push_back({found->second, m, apply_mutation(sequences[found->second].sequence, mutations[m], file), {}});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const scored_mutation& a, const scored_mutation& b) { return a.sequence < b.sequence; });
  std::vector<std::string> originals;
  for (const auto& entry : sequences) originals.push_back(upper_case(entry.sequence));
  std::vector<std::string> mutated;
  for (const auto& row : rows) mutated.push_back(upper_case(row.mutated));
  const std::vector<double> p_original = positive_class_probabilities(model, originals, batch_size);
  const std::vector<double> p_mutated = positive_class_probabilities(model, mutated, batch_size);
  for (std::size_t r = 0; r < rows.size(); ++r)
    rows[r].score = score_probabilities(p_original[rows[r].sequence], p_mutated[r]);
  return rows;
}

}  // namespace dnabert::analysis
