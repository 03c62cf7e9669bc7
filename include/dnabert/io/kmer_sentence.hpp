#pragma once
// DNABERT's "k-mer sentence" (overlapping k-mers separated by spaces, as its seq2kmer writes
// them into fine-tuning TSV files) and the sequence it stands for, in both directions.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dnabert/core/error.hpp"
#include "dnabert/core/vocabulary.hpp"
#include "dnabert/io/line_reader.hpp"

namespace dnabert::io {

/// Rebuilds the sequence from a k-mer sentence such as "GTGGGG TGGGGA GGGGAG" (-> "GTGGGGAG").
/// k is the length of the first k-mer; every k-mer must have that length and overlap its
/// neighbour by k-1 letters. Runs of spaces are tolerated. Errors name `file` and `line`.
inline std::string kmer_sentence_to_sequence(std::string_view sentence, std::string_view file, std::uint64_t line) {
  std::string sequence;
  std::string_view previous;
  std::size_t count = 0;
  std::size_t position = 0;
  while ((position = sentence.find_first_not_of(' ', position)) != std::string_view::npos) {
    const std::size_t end = std::min(sentence.find(' ', position), sentence.size());
    const std::string_view kmer = sentence.substr(position, end - position);
    position = end;
    ++count;
    if (count == 1) {
      sequence.assign(kmer);
    } else if (kmer.size() != previous.size()) {
      throw format_error::at_line(file, line,
                                  "k-mer " + std::to_string(count) + " " + detail::quote_excerpt(kmer) + " has " +
                                      std::to_string(kmer.size()) + " letters, but the first k-mer has " +
                                      std::to_string(previous.size()) + " (all k-mers of a sentence share one k)");
    } else if (kmer.substr(0, kmer.size() - 1) != previous.substr(1)) {
      throw format_error::at_line(file, line,
                                  "k-mer " + std::to_string(count) + " " + detail::quote_excerpt(kmer) +
                                      " does not overlap k-mer " + std::to_string(count - 1) + " " +
                                      detail::quote_excerpt(previous) + " (it should start with " +
                                      detail::quote_excerpt(previous.substr(1)) + ")");
    } else {
      sequence += kmer.back();
    }
    previous = kmer;
  }
  if (count == 0) throw format_error::at_line(file, line, "empty k-mer sentence");
  return sequence;
}

/// Writes `sequence` as DNABERT's seq2kmer does: its L-k+1 overlapping k-mers joined by single spaces.
/// Throws config_error for k outside 1..max_k and input_error when the sequence is shorter than k.
inline std::string sequence_to_kmer_sentence(std::string_view sequence, int k) {
  check_k(k);
  const auto width = static_cast<std::size_t>(k);
  if (sequence.size() < width)
    throw input_error("cannot write a " + std::to_string(k) + "-mer sentence for a sequence of " +
                      std::to_string(sequence.size()) + " letters (needs at least " + std::to_string(k) + ")");
  const std::size_t kmers = sequence.size() - width + 1;
  std::string sentence;
  sentence.reserve(kmers * (width + 1));
  for (std::size_t start = 0; start < kmers; ++start) {
    if (start > 0) sentence += ' ';
    sentence += sequence.substr(start, width);
  }
  return sentence;
}

}  // namespace dnabert::io
