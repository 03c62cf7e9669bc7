#pragma once
// DNABERT's mutations.tsv, the table `dnabert variants` writes: one scored change per row.

#include <cstddef>
#include <iomanip>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnabert/analysis/effect_scores.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/kmer_sentence.hpp"

namespace dnabert::analysis {

/// Writes DNABERT's mutations.tsv: pandas' unnamed index column, then idx, orig_seq, orig_pred,
/// mut_seq, mut_pred, diff, logOR (sequences as k-mer sentences), then any extra columns;
/// buffered and committed atomically.
class mutations_tsv_writer {
 public:
  /// Starts `path` (written on commit) for k-mers of size `k` (0: a BPE model's, whose sequences
  /// are written as they are), with `extra_columns` after logOR.
  mutations_tsv_writer(const std::string& path, int k, std::vector<std::string> extra_columns = {})
      : file_(path), k_(k), extra_columns_(std::move(extra_columns)) {
    auto& text = file_.text();
    text << std::setprecision(std::numeric_limits<double>::max_digits10);
    text << "\tidx\torig_seq\torig_pred\tmut_seq\tmut_pred\tdiff\tlogOR";
    for (const auto& column : extra_columns_) text << '\t' << column;
    text << '\n';
  }

  /// Appends one row; `extra` holds one value per extra column.
  void add(std::string_view idx, std::string_view original, std::string_view mutated, const variant_score& score,
           std::span<const std::string> extra = {}) {
    if (extra.size() != extra_columns_.size())
      throw error("mutations table " + file_.path() + ": row has " + std::to_string(extra.size()) + " extra values for " +
                  std::to_string(extra_columns_.size()) + " extra columns");
    auto& text = file_.text();
    text << rows_++ << '\t' << idx << '\t' << sentence(original) << '\t' << score.p_ref << '\t' << sentence(mutated) << '\t'
         << score.p_alt << '\t' << score.diff << '\t' << score.log_odds_ratio;
    for (const auto& value : extra) text << '\t' << value;
    text << '\n';
    file_.flush_if_full();
  }

  /// Writes what is left and puts the file in place.
  void commit() { file_.commit(); }

 private:
  io::streamed_text_file file_;
  std::string sentence(std::string_view sequence) const {
    return k_ > 0 ? io::sequence_to_kmer_sentence(sequence, k_) : std::string(sequence);
  }

  int k_;
  std::vector<std::string> extra_columns_;
  std::size_t rows_ = 0;
};

}  // namespace dnabert::analysis
