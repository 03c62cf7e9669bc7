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

/// Sequences from `path` (FASTA/.gz, DNABERT TSV or DNABERT-2 CSV, told apart by content), or
/// the embedded example FASTA when `path` is empty.
inline std::vector<io::sequence_entry> read_input(const std::string& path) {
  if (!path.empty()) return io::read_sequences(path);
  const auto bytes = std::as_bytes(std::span<const char>(example_fasta.data(), example_fasta.size()));
  return io::read_sequences(bytes, std::string(example_fasta_name));
}

/// A chunk of an input's sequences, in input order.
struct input_chunk {
  std::vector<std::string> sequences;
  std::vector<std::string> ids;
};

/// Calls use(chunk) with the sequences of `path` (as read_input reads it; "-" is stdin) a chunk of
/// at most `limits` at a time, in input order: memory holds one chunk whatever the input's size,
/// so FASTA ids are not checked for repeats (that would hold every id).
template <class Use>
void for_each_input_chunk(const std::string& path, const io::chunk_limits& limits, Use&& use) {
  const auto example = std::as_bytes(std::span<const char>(example_fasta.data(), example_fasta.size()));
  io::sequence_reader reader(path.empty() ? io::open_input(example, std::string(example_fasta_name)) : io::open_input(path),
                             {.unique_ids = false});
  std::vector<io::sequence_entry> entries;
  input_chunk chunk;
  while (reader.next_chunk(entries, limits)) {
    chunk.sequences.clear();
    chunk.ids.clear();
    for (auto& entry : entries) {
      chunk.sequences.push_back(std::move(entry.sequence));
      chunk.ids.push_back(std::move(entry.id));
    }
    use(std::as_const(chunk));
  }
}

/// Labelled sequences from a TSV/CSV, or a FASTA with its labels file.
inline std::vector<io::sequence_entry> read_labelled(const std::string& path, const std::string& labels) {
  return labels.empty() ? read_input(path) : io::read_sequences(path, labels);
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
