#pragma once
// DNABERT's tokenizer: a sequence becomes its L-k+1 overlapping k-mers (stride 1), each
// looked up in DNABERT's vocabulary, wrapped as [CLS] ... [SEP], cut into 510-k-mer pieces; a
// pair of sequences becomes [CLS] a [SEP] b [SEP], cut to fit as Hugging Face's longest_first.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/core/vocabulary.hpp"

namespace dnabert {

/// Most k-mers one piece holds: 512 positions minus [CLS] and [SEP] (DNABERT's max_len 512).
inline constexpr std::size_t max_kmers_per_piece = 510;

/// Where a piece came from: its source sequence, its number, and its first k-mer.
struct piece_origin {
  std::size_t sequence = 0;     ///< index of the source sequence in the caller's input
  std::size_t piece = 0;        ///< 0-based number of this piece within its sequence
  std::size_t first_kmer = 0;   ///< index of the piece's first k-mer = its first nucleotide
  std::size_t piece_count = 1;  ///< how many pieces the source sequence was cut into
};

/// One model input: [CLS] k-mer ids [SEP] (or a pair, [CLS] a [SEP] b [SEP]), and where in its
/// source sequence it came from.
struct token_piece {
  piece_origin origin;
  std::vector<token_id> ids;
  /// A pair's second segment starts here (b's first k-mer; token type 1 from there to the end);
  /// 0 for a single sequence (every token type 0).
  std::size_t second_segment = 0;
};

namespace detail {

/// How many tokens of a pair's two sequences (`count_a`, `count_b`) fit in `room`, cut as the
/// `longest_first` truncation of the tokenizers library cuts them: the shorter keeps its length
/// while the longer can fill the rest, else each gets half, b the odd token when a is not the longer.
inline std::pair<std::size_t, std::size_t> longest_first(std::size_t count_a, std::size_t count_b, std::size_t room) {
  if (count_a + count_b <= room) return {count_a, count_b};
  const bool a_longer = count_a > count_b;
  std::size_t shorter = a_longer ? count_b : count_a;
  std::size_t longer = shorter > room ? shorter : std::max(shorter, room - shorter);
  if (shorter + longer > room) {
    shorter = room / 2;
    longer = room / 2 + room % 2;
  }
  return a_longer ? std::pair{longer, shorter} : std::pair{shorter, longer};
}

/// Writes the id of every k-mer of `sequence` into out[0 .. L-k]: a rolling 2-bit code, with
/// the count of valid letters since the last non-ACGT letter deciding [UNK]. Branch-free in
/// the loop body so that K known at compile time unrolls into shifts and masks.
template <int K>
inline void write_kmer_ids(int k, std::string_view sequence, token_id* out) {
  const int kk = (K == dynamic) ? k : K;
  const std::uint32_t mask = (std::uint32_t{1} << (2 * kk)) - 1U;  // kk <= 15: fits
  std::uint32_t code = 0;
  std::uint32_t valid_run = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(sequence.data());
  const std::size_t n = sequence.size();
  const std::size_t warmup = std::min<std::size_t>(n, static_cast<std::size_t>(kk - 1));
  for (std::size_t i = 0; i < warmup; ++i) {
    const std::uint32_t digit = nucleotide_digit_table[bytes[i]];
    const std::uint32_t is_base = digit < 4 ? 1U : 0U;
    code = ((code << 2) | (digit & 3U)) & mask;
    valid_run = (valid_run + 1U) * is_base;
  }
  for (std::size_t i = warmup; i < n; ++i) {
    const std::uint32_t digit = nucleotide_digit_table[bytes[i]];
    const std::uint32_t is_base = digit < 4 ? 1U : 0U;
    code = ((code << 2) | (digit & 3U)) & mask;
    valid_run = (valid_run + 1U) * is_base;
    const bool whole = valid_run >= static_cast<std::uint32_t>(kk);
    out[i - warmup] = whole ? static_cast<token_id>(code) + special::count : special::unk;
  }
}

}  // namespace detail

/// Tokenizer for k-mer size K (3..6 for DNABERT; any 1..15 compiles), or for a k chosen at
/// run time with K = dynamic. Both forms run the same code.
template <int K = dynamic>
class KmerTokenizer {
  static_assert(K == dynamic || (K >= 1 && K <= max_k),
                "k-mer size must be between 1 and 15 so that 4^k + 5 token ids fit in int32");

 public:
  /// Tokenizer for the compile-time K.
  KmerTokenizer()
    requires(K != dynamic)
  = default;

  /// Tokenizer for a run-time k (checked: 1 <= k <= 15).
  explicit KmerTokenizer(int k)
    requires(K == dynamic)
      : k_(k) {
    check_k(k);
  }

  /// The k-mer size.
  [[nodiscard]] constexpr int k() const noexcept { return K == dynamic ? k_ : K; }

  /// Number of tokens in the vocabulary: 4^k + 5.
  [[nodiscard]] constexpr token_id vocab_size() const noexcept { return vocab_size_for_k(k()); }

  /// Number of k-mers of a sequence of `length` nucleotides (0 when shorter than k).
  [[nodiscard]] constexpr std::size_t kmer_count(std::size_t length) const noexcept {
    const auto kk = static_cast<std::size_t>(k());
    return length < kk ? 0 : length - kk + 1;
  }

  /// Ids of all L-k+1 k-mers, without special tokens; a k-mer with any letter other than
  /// A/C/G/T (either case) is [UNK].
  [[nodiscard]] std::vector<token_id> kmer_ids(std::string_view sequence) const {
    std::vector<token_id> ids(kmer_count(sequence.size()));
    if (!ids.empty()) detail::write_kmer_ids<K>(k(), sequence, ids.data());
    return ids;
  }

  /// Model inputs for one sequence: consecutive pieces of at most `max_kmers` k-mers, each
  /// wrapped in [CLS]/[SEP]. Throws input_error naming `id` when the sequence is shorter than k.
  [[nodiscard]] std::vector<token_piece> encode(std::string_view sequence, std::string_view id = "sequence",
                                                std::size_t sequence_index = 0,
                                                std::size_t max_kmers = max_kmers_per_piece) const {
    if (max_kmers == 0) throw input_error("max_kmers must be at least 1");
    const std::size_t total = kmer_count(sequence.size());
    if (total == 0)
      throw input_error("sequence '" + std::string(id) + "' is " + std::to_string(sequence.size()) +
                        " nt long, shorter than k = " + std::to_string(k()));
    // Unlike DNABERT, an exact multiple of 510 k-mers gets no trailing empty [CLS][SEP] piece.
    const std::size_t pieces = (total + max_kmers - 1) / max_kmers;
    std::vector<token_piece> out(pieces);
    const auto kk = static_cast<std::size_t>(k());
    for (std::size_t p = 0; p < pieces; ++p) {
      const std::size_t first = p * max_kmers;
      const std::size_t count = std::min(max_kmers, total - first);
      token_piece& piece = out[p];
      piece.origin = {sequence_index, p, first, pieces};
      piece.ids.resize(count + 2);
      piece.ids.front() = special::cls;
      piece.ids.back() = special::sep;
      detail::write_kmer_ids<K>(k(), sequence.substr(first, count + kk - 1), piece.ids.data() + 1);
    }
    return out;
  }

  /// The pair (a, b) as one model input of at most `max_tokens` tokens: [CLS] a [SEP] b [SEP],
  /// token type 1 from b's first k-mer on (Hugging Face's BertTokenizer). When too long, k-mers
  /// are cut from the ends as its `longest_first` truncation (the tokenizers library's) cuts
  /// them: the shorter one keeps its length while the longer can fill the rest, else each gets
  /// half the room, b the odd k-mer when a is not the longer.
  /// `truncated`, when given, is set to whether anything was cut. Throws input_error naming `id`
  /// when either sequence is shorter than k or max_tokens leaves no room for a k-mer of each.
  [[nodiscard]] token_piece encode_pair(std::string_view a, std::string_view b, std::string_view id = "sequence",
                                        std::size_t sequence_index = 0, std::size_t max_tokens = max_kmers_per_piece + 2,
                                        bool* truncated = nullptr) const {
    if (max_tokens < 5) throw input_error("a pair needs at least 5 tokens ([CLS] a [SEP] b [SEP])");
    const std::size_t count_a = kmer_count(a.size()), count_b = kmer_count(b.size());
    for (const auto& [count, sequence, which] : {std::tuple{count_a, a, "first"}, std::tuple{count_b, b, "second"}})
      if (count == 0)
        throw input_error("sequence '" + std::string(id) + "': the " + which + " sequence of the pair is " +
                          std::to_string(sequence.size()) + " nt long, shorter than k = " + std::to_string(k()));
    const auto [keep_a, keep_b] = detail::longest_first(count_a, count_b, max_tokens - 3);
    if (truncated != nullptr) *truncated = keep_a + keep_b < count_a + count_b;
    token_piece piece;
    piece.origin = {sequence_index, 0, 0, 1};
    piece.ids.resize(keep_a + keep_b + 3);
    piece.ids[0] = special::cls;
    const auto kk = static_cast<std::size_t>(k());
    detail::write_kmer_ids<K>(k(), a.substr(0, keep_a + kk - 1), piece.ids.data() + 1);
    piece.ids[keep_a + 1] = special::sep;
    piece.second_segment = keep_a + 2;
    detail::write_kmer_ids<K>(k(), b.substr(0, keep_b + kk - 1), piece.ids.data() + piece.second_segment);
    piece.ids.back() = special::sep;
    return piece;
  }

  /// The tokens spelled out ("[CLS] AATG ATGC ... [SEP]"), for display and debugging.
  [[nodiscard]] std::string decode(const std::vector<token_id>& ids) const {
    std::string text;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i) text += ' ';
      text += token_text(k(), ids[i]);
    }
    return text;
  }

 private:
  int k_ = K;
};

/// Tokenizer whose k is chosen at run time (the CLI's form).
using kmer_tokenizer = KmerTokenizer<dynamic>;

}  // namespace dnabert
