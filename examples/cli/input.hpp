#pragma once
// Where the commands' sequences come from: an input file (FASTA, DNABERT TSV, DNABERT-2 CSV, a
// FASTA with a labels file) or the embedded example, and the one sequence --id picks.

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <dnabert/core/error.hpp>
#include <dnabert/io/sequence_input.hpp>

#include "example_fasta.hpp"

namespace dnabert::cli {

/// Throws unless `pairs` says the command reads them, when `entry` (of `path`) is a pair of sequences.
inline void check_pairs(const io::sequence_entry& entry, const std::string& path, bool pairs) {
  if (!pairs && !entry.second.empty())
    throw input_error(path + " is a table of sequence pairs; this command reads single sequences (pairs are for "
                             "finetune, predict and evaluate)");
}

/// Sequences from `path` (FASTA/.gz, DNABERT TSV or DNABERT-2 CSV, told apart by content), or
/// the embedded example FASTA when `path` is empty; a table of pairs only when `pairs`.
inline std::vector<io::sequence_entry> read_input(const std::string& path, bool pairs = false) {
  if (path.empty()) {
    const auto bytes = std::as_bytes(std::span<const char>(example_fasta.data(), example_fasta.size()));
    return io::read_sequences(bytes, std::string(example_fasta_name));
  }
  auto entries = io::read_sequences(path);
  for (const auto& entry : entries) check_pairs(entry, path, pairs);
  return entries;
}

/// A chunk of an input's sequences, in input order.
struct input_chunk {
  std::vector<std::string> sequences;
  std::vector<std::string> ids;
  std::vector<std::string> seconds;  ///< a table of pairs: each sequence's second (else empty)
};

/// Calls use(chunk) with the sequences of `path` (as read_input reads it; "-" is stdin) a chunk of
/// at most `limits` at a time, in input order: memory holds one chunk whatever the input's size,
/// so FASTA ids are not checked for repeats (that would hold every id).
template <class Use>
void for_each_input_chunk(const std::string& path, const io::chunk_limits& limits, Use&& use, bool pairs = false) {
  const auto example = std::as_bytes(std::span<const char>(example_fasta.data(), example_fasta.size()));
  io::sequence_reader reader(path.empty() ? io::open_input(example, std::string(example_fasta_name)) : io::open_input(path),
                             {.unique_ids = false});
  std::vector<io::sequence_entry> entries;
  input_chunk chunk;
  while (reader.next_chunk(entries, limits)) {
    chunk.sequences.clear();
    chunk.ids.clear();
    chunk.seconds.clear();
    for (auto& entry : entries) {
      check_pairs(entry, path, pairs);
      if (!entry.second.empty()) chunk.seconds.push_back(std::move(entry.second));
      chunk.sequences.push_back(std::move(entry.sequence));
      chunk.ids.push_back(std::move(entry.id));
    }
    use(std::as_const(chunk));
  }
}

/// Labelled sequences from a TSV/CSV (of pairs only when `pairs`), or a FASTA with its labels file.
inline std::vector<io::sequence_entry> read_labelled(const std::string& path, const std::string& labels, bool pairs = false) {
  return labels.empty() ? read_input(path, pairs) : io::read_sequences(path, labels);
}

/// The sequences and ids of an input file.
inline std::pair<std::vector<std::string>, std::vector<std::string>> sequences_and_ids(const std::string& path) {
  std::vector<std::string> sequences, ids;
  for (auto& entry : read_input(path)) {
    sequences.push_back(std::move(entry.sequence));
    ids.push_back(std::move(entry.id));
  }
  return {std::move(sequences), std::move(ids)};
}

/// Index of the sequence named `id` in `ids` (read from `path`), or of the only sequence when
/// `id` is empty.
inline std::size_t chosen_sequence(std::span<const std::string> ids, const std::string& id, const std::string& path) {
  if (id.empty()) {
    if (ids.size() == 1) return 0;
    throw input_error(path + " holds " + std::to_string(ids.size()) + " sequences: choose one with --id" +
                      (ids.empty() ? "" : " (e.g. --id " + ids.front() + ")"));
  }
  const auto found = std::find(ids.begin(), ids.end(), id);
  if (found == ids.end()) throw input_error("no sequence '" + id + "' in " + path);
  return static_cast<std::size_t>(found - ids.begin());
}

}  // namespace dnabert::cli
