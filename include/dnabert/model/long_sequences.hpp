#pragma once
// Sequences longer than one piece for a classifier that reads them whole (bert_config::long_pooling,
// DNABERT-XL): each sequence's pieces as consecutive rows of one batch, the all-[PAD] row DNABERT-XL
// encodes for a missing piece, and the row layout the classification head pools by.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/tokenizer/sequence_tokenizer.hpp"
#include "dnabert/tokenizer/token_batch.hpp"

namespace dnabert {

/// The origin.sequence of the all-[PAD] row of a batch of whole sequences.
inline constexpr std::size_t empty_piece_sequence = std::numeric_limits<std::size_t>::max();

/// The pieces a classifier with long-sequence `pooling` over `split` pieces reads of one sequence:
/// its first `split` pieces of at most `max_kmers` k-mers (`cut`, when given, says whether more were
/// dropped). For `concat`, as DNABERT's tokenizer, a sequence of exactly m * max_kmers k-mers
/// (m < split) also gets an empty [CLS] [SEP] piece.
inline std::vector<token_piece> long_sequence_pieces(const sequence_tokenizer& tokenizer, piece_pooling pooling,
                                                     std::size_t split, std::string_view sequence, std::string_view id,
                                                     std::size_t index, std::size_t max_kmers, bool* cut = nullptr) {
  auto pieces = tokenizer.encode(sequence, id, index, max_kmers);
  if (cut != nullptr) *cut = pieces.size() > split;
  if (pieces.size() > split) pieces.resize(split);
  const bool exact_multiple = pieces.back().ids.size() == max_kmers + 2;
  if (pooling == piece_pooling::concat && exact_multiple && pieces.size() < split) {
    token_piece empty{pieces.back().origin, {tokenizer.specials().cls, tokenizer.specials().sep}, 0};
    ++empty.origin.piece;
    empty.origin.first_kmer += max_kmers;
    pieces.push_back(std::move(empty));
  }
  for (auto& piece : pieces) piece.origin.piece_count = pieces.size();
  return pieces;
}

/// A batch of whole sequences for a classifier with long-sequence `pooling` over `split` pieces:
/// `pieces` hold each sequence's pieces one after another, in piece order (long_sequence_pieces).
/// For concat, when a sequence has fewer than `split` pieces, the batch ends with one more row of
/// `piece_tokens` [PAD]s, every one attended: the chunk of padding DNABERT-XL encodes for a missing
/// piece (its mask is all 0 there, which softmax under transformers 2.5's -10000 treats as all 1).
inline token_batch make_sequence_batch(std::span<const token_piece> pieces, piece_pooling pooling, std::size_t split,
                                       std::size_t piece_tokens, token_id pad = special::pad) {
  const bool missing = pooling == piece_pooling::concat &&
                       std::any_of(pieces.begin(), pieces.end(),
                                   [&](const token_piece& piece) { return piece.origin.piece_count < split; });
  if (!missing) return make_batch(pieces, 0, pad);
  std::vector<token_piece> rows(pieces.begin(), pieces.end());
  rows.push_back({{empty_piece_sequence, 0, 0, 1}, std::vector<token_id>(piece_tokens, pad), 0});
  return make_batch(rows, 0, pad);
}

/// Where the classification head finds each sequence of a batch of whole sequences.
struct piece_layout {
  std::vector<std::int32_t> starts;  ///< [sequences + 1]: sequence s is rows starts[s] .. starts[s + 1] - 1
  /// concat only, [sequences * split]: the row of each piece slot, the all-[PAD] row where a
  /// sequence has no piece.
  std::vector<std::int32_t> slots;
};

/// The layout of `batch` (made by make_sequence_batch) for `config`'s long_pooling; throws
/// input_error when its rows are not whole sequences in piece order, a sequence has more than
/// `split` pieces, or concat needs the all-[PAD] row that the batch lacks.
inline piece_layout layout_pieces(const token_batch& batch, const bert_config& config) {
  piece_layout layout;
  std::size_t rows = batch.rows;
  const bool has_empty_row = rows > 0 && batch.origins.at(rows - 1).sequence == empty_piece_sequence;
  if (has_empty_row) --rows;
  const auto split = static_cast<std::size_t>(config.split);
  for (std::size_t r = 0; r < rows; ++r) {
    const piece_origin& origin = batch.origins.at(r);
    const bool starts_sequence = r == 0 || origin.sequence != batch.origins[r - 1].sequence;
    const std::size_t expected = starts_sequence ? 0 : batch.origins[r - 1].piece + 1;
    if (origin.piece != expected || origin.sequence == empty_piece_sequence)
      throw input_error("row " + std::to_string(r) + " of the batch is piece " + std::to_string(origin.piece) +
                        " of sequence " + std::to_string(origin.sequence) + ", not piece " + std::to_string(expected) +
                        ": a long-sequence classifier needs each sequence's pieces together and in order");
    if (origin.piece >= split)
      throw input_error("sequence " + std::to_string(origin.sequence) + " has more than the " + std::to_string(split) +
                        " pieces the classifier reads (its config's split)");
    if (starts_sequence) layout.starts.push_back(static_cast<std::int32_t>(r));
  }
  layout.starts.push_back(static_cast<std::int32_t>(rows));
  if (config.long_pooling != piece_pooling::concat) return layout;
  const std::size_t sequences = layout.starts.size() - 1;
  layout.slots.reserve(sequences * split);
  for (std::size_t s = 0; s < sequences; ++s) {
    const auto first = static_cast<std::size_t>(layout.starts[s]), count = layout.starts[s + 1] - first;
    if (count < split && !has_empty_row)
      throw input_error("sequence " + std::to_string(batch.origins[first].sequence) + " has " + std::to_string(count) +
                        " of the " + std::to_string(split) +
                        " pieces a concat classifier reads, and the batch has no all-[PAD] row for the others");
    for (std::size_t slot = 0; slot < split; ++slot)
      layout.slots.push_back(static_cast<std::int32_t>(slot < count ? first + slot : rows));
  }
  return layout;
}

}  // namespace dnabert
