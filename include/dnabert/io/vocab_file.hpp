#pragma once
// DNABERT's vocab.txt: one token per line, id = line number - 1. Reading checks that a file is
// exactly the vocabulary of some k; writing reproduces DNABERT's shipped files byte for byte.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dnabert/core/error.hpp"
#include "dnabert/core/vocabulary.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/line_reader.hpp"
#include "dnabert/io/mapped_file.hpp"

namespace dnabert::io {

/// Largest vocab.txt accepted (k=11 needs 50 MB; DNABERT's k=6 file is 29 KB).
inline constexpr std::size_t max_vocab_file_bytes = std::size_t{64} << 20;

namespace detail {

/// Longest vocab.txt line worth reading: a special token or a k-mer with k <= max_k.
inline constexpr std::size_t max_vocab_line = 64;

/// Reads the lines of vocab.txt bytes held in memory.
inline line_reader vocab_lines(std::span<const std::byte> bytes, std::string_view name) {
  return line_reader(std::make_unique<memory_source>(bytes, std::string(name)), max_vocab_line);
}

/// The k the file claims: from its line count if that is a vocabulary size, else from the
/// length of the first k-mer (line 6), so that a wrong line can still be pointed at.
inline std::optional<int> claimed_k(std::span<const std::byte> bytes, std::string_view name) {
  std::size_t first_kmer_length = 0;
  line_reader lines = vocab_lines(bytes, name);
  std::string line;
  while (lines.next_line(line))
    if (lines.line_number() == std::uint64_t{special::count} + 1) first_kmer_length = line.size();
  if (const auto k = k_for_vocab_size(static_cast<std::int64_t>(lines.line_number()))) return k;
  if (first_kmer_length == 0 || first_kmer_length > static_cast<std::size_t>(max_k)) return std::nullopt;
  return static_cast<int>(first_kmer_length);
}

}  // namespace detail

/// Checks vocab.txt bytes held in memory and returns their k; `name` appears in error messages.
inline int parse_vocab_file(std::span<const std::byte> bytes, std::string_view name) {
  if (bytes.size() > max_vocab_file_bytes)
    throw format_error(name, "is " + std::to_string(bytes.size()) + " bytes, more than the " +
                                 std::to_string(max_vocab_file_bytes) + " accepted for a vocab.txt");
  if (bytes.empty())
    throw format_error(name, "is empty, expected DNABERT's vocabulary ([PAD], [UNK], ... then k-mers)");
  const auto k = detail::claimed_k(bytes, name);
  const std::int64_t expected_count = k ? vocab_size_for_k(*k) : 0;
  line_reader lines = detail::vocab_lines(bytes, name);
  std::string line;
  std::int64_t count = 0;
  while (lines.next_line(line)) {
    const std::int64_t id = count++;
    const auto line_number = lines.line_number();
    if (id < special::count) {
      const std::string_view special_token = special_token_names[static_cast<std::size_t>(id)];
      if (line != special_token)
        throw format_error::at_line(
            name, line_number,
            "expected special token '" + std::string(special_token) + "', found " + detail::quote_excerpt(line));
      continue;
    }
    if (!k) break;
    if (id >= expected_count) {
      throw format_error::at_line(name, line_number,
                                  "expected the end of the k=" + std::to_string(*k) + " vocabulary (" +
                                      std::to_string(expected_count) + " tokens), found more lines");
    }
    const std::string expected = token_text(*k, static_cast<token_id>(id));
    if (line == expected) continue;
    const token_id found_id = token_id_of(*k, line);
    if (found_id != special::unk && found_id < id) {
      throw format_error::at_line(name, line_number,
                                  "duplicate token " + detail::quote_excerpt(line) + " (already on line " +
                                      std::to_string(found_id + 1) + "), expected '" + expected + "'");
    }
    throw format_error::at_line(name, line_number, "expected '" + expected + "', found " + detail::quote_excerpt(line));
  }
  if (!k || count != expected_count) {
    throw format_error(name, "holds " + std::to_string(count) +
                                 " tokens; a DNABERT vocabulary holds 4^k+5 (69, 261, 1029, 4101 for k=3..6)" +
                                 (k ? ", and its k-mers say k=" + std::to_string(*k) + " (" +
                                          std::to_string(expected_count) + " tokens)"
                                    : std::string()));
  }
  return *k;
}

/// Reads vocab.txt and returns its k; throws format_error at the first line that differs from
/// DNABERT's vocabulary. Either line ending and a missing final newline are accepted.
inline int read_vocab_file(const std::string& path) {
  const auto file = map_file(path);
  return parse_vocab_file(file->bytes(), path);
}

/// Reads vocab.txt and checks it is the vocabulary of the k the model is built for.
inline void check_vocab_file(const std::string& path, int model_k) {
  check_k(model_k);
  const int file_k = read_vocab_file(path);
  if (file_k != model_k)
    throw format_error(path, "holds the k=" + std::to_string(file_k) + " vocabulary (" +
                                 std::to_string(vocab_size_for_k(file_k)) + " tokens) but the model is built for k=" +
                                 std::to_string(model_k) + " (" + std::to_string(vocab_size_for_k(model_k)) + ")");
}

/// The exact bytes of DNABERT's vocab.txt for k: its k=3..5 files end without a newline and
/// its k=6 file with one; for other k we follow the majority and end without one.
inline std::string vocab_file_text(int k) {
  check_k(k);
  const token_id size = vocab_size_for_k(k);
  std::string text;
  text.reserve(static_cast<std::size_t>(size) * static_cast<std::size_t>(k + 1) + special::count * 2);
  for (token_id id = 0; id < size; ++id) {
    if (id > 0) text += '\n';
    text += token_text(k, id);
  }
  if (k == 6) text += '\n';
  return text;
}

/// Writes vocab.txt for k atomically, byte-identical to DNABERT's file for k = 3..6.
inline void write_vocab_file(const std::string& path, int k) { write_file_atomically(path, vocab_file_text(k)); }

}  // namespace dnabert::io
