#pragma once
// Nucleotide text as the readers and analyses handle it: soft-masked (lower-case) bases are the
// same bases, and alleles are spelled with A, C, G, T and N only.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace dnabert {

/// An upper-case copy of `text`, so that soft-masked bases read as bases.
inline std::string upper_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

/// Whether every letter of `text` is A, C, G, T or N, in either case (true for empty text).
inline bool is_acgtn(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::string_view("ACGTNacgtn").find(c) != std::string_view::npos; });
}

}  // namespace dnabert
