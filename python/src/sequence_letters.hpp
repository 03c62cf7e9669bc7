#pragma once
// Sequences handed over in memory pass the rules a FASTA file's sequence lines pass, so digits,
// blanks, punctuation or non-ASCII bytes never reach a tokenizer as silent [UNK]s.

#include <cstddef>
#include <string>

#include <dnabert/core/error.hpp>
#include <dnabert/io/fasta.hpp>

namespace dnabert::python {

/// Throws input_error naming `name` and the position of the first byte of `text` that is not a
/// sequence letter (A, C, G, T, the IUPAC codes, U, X, '-', '*'; either case).
inline void check_sequence_letters(const std::string& text, const std::string& name) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((io::detail::fasta_byte_table[byte] & io::detail::fasta_byte::letter) == 0)
      throw input_error(name + ": byte " + std::to_string(byte) + " at position " + std::to_string(i) +
                        " is not a sequence letter (A, C, G, T, N, IUPAC codes, U, X, '-', '*'; either case)");
  }
}

}  // namespace dnabert::python
