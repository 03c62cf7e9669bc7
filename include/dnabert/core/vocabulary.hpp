#pragma once
// DNABERT's vocabulary, exactly: five special tokens, then every k-mer in
// itertools.product('ATCG', repeat=k) order, i.e. id = 5 + sum d(c_i) * 4^(k-1-i)
// with A=0, T=1, C=2, G=3 (not lexicographic ACGT order).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dnabert/core/error.hpp"

namespace dnabert {

/// Token id type used throughout (4^k + 5 must fit: k <= 15).
using token_id = std::int32_t;

/// Marks a compile-time size as chosen at run time (like Eigen::Dynamic).
inline constexpr int dynamic = -1;

/// Ids of DNABERT's special tokens.
namespace special {
inline constexpr token_id pad = 0;
inline constexpr token_id unk = 1;
inline constexpr token_id cls = 2;
inline constexpr token_id sep = 3;
inline constexpr token_id mask = 4;
inline constexpr token_id count = 5;
}  // namespace special

/// Spellings of the special tokens, indexed by id.
inline constexpr std::array<std::string_view, special::count> special_token_names = {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                                                      "[MASK]"};

/// Nucleotides in DNABERT's digit order.
inline constexpr std::array<char, 4> nucleotide_by_digit = {'A', 'T', 'C', 'G'};

/// Largest k whose vocabulary fits in token_id.
inline constexpr int max_k = 15;

/// Maps a byte to its DNABERT digit (A0 T1 C2 G3, either case); 4 for anything else.
inline constexpr std::array<std::uint8_t, 256> nucleotide_digit_table = [] {
  std::array<std::uint8_t, 256> table{};
  table.fill(4);
  table['A'] = table['a'] = 0;
  table['T'] = table['t'] = 1;
  table['C'] = table['c'] = 2;
  table['G'] = table['g'] = 3;
  return table;
}();

/// Throws config_error unless 1 <= k <= max_k.
inline void check_k(int k) {
  if (k < 1 || k > max_k)
    throw config_error("k-mer size must be between 1 and " + std::to_string(max_k) + ", got " + std::to_string(k));
}

/// Vocabulary size for k: 4^k + 5 (69, 261, 1029, 4101 for k = 3..6).
constexpr token_id vocab_size_for_k(int k) { return static_cast<token_id>((std::int64_t{1} << (2 * k)) + special::count); }

/// The k whose vocabulary has `vocab_size` entries, if any.
constexpr std::optional<int> k_for_vocab_size(std::int64_t vocab_size) {
  for (int k = 1; k <= max_k; ++k)
    if (vocab_size_for_k(k) == vocab_size) return k;
  return std::nullopt;
}

/// The token spelled by `id` for k-mer size k ("[CLS]", "AATG", ...).
inline std::string token_text(int k, token_id id) {
  check_k(k);
  if (id < 0 || id >= vocab_size_for_k(k))
    throw input_error("token id " + std::to_string(id) + " is outside the k=" + std::to_string(k) + " vocabulary");
  if (id < special::count) return std::string(special_token_names[static_cast<std::size_t>(id)]);
  std::string kmer(static_cast<std::size_t>(k), 'A');
  auto code = static_cast<std::uint32_t>(id - special::count);
  for (int i = k - 1; i >= 0; --i, code >>= 2) kmer[static_cast<std::size_t>(i)] = nucleotide_by_digit[code & 3U];
  return kmer;
}

/// The id of one token: a special token or a k-mer of exactly k letters A/C/G/T (upper case
/// only, as DNABERT's vocab.txt); anything else is [UNK].
inline token_id token_id_of(int k, std::string_view token) {
  for (token_id id = 0; id < special::count; ++id)
    if (token == special_token_names[static_cast<std::size_t>(id)]) return id;
  if (token.size() != static_cast<std::size_t>(k)) return special::unk;
  std::uint32_t code = 0;
  for (char c : token) {
    const auto digit = nucleotide_digit_table[static_cast<unsigned char>(c)];
    if (digit > 3 || c >= 'a') return special::unk;
    code = (code << 2) | digit;
  }
  return static_cast<token_id>(code) + special::count;
}

}  // namespace dnabert
