#pragma once
// A batch of token pieces padded with [PAD] to the longest, with its attention mask; the
// arrays are exposed to callers as xtensor views without copies.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <xtensor/xadapt.hpp>

#include "dnabert/core/error.hpp"
#include "dnabert/core/vocabulary.hpp"
#include "dnabert/tokenizer/kmer_tokenizer.hpp"

namespace dnabert {

/// Row-major [rows, length] token ids and attention mask (1 = real token, 0 = padding).
struct token_batch {
  std::size_t rows = 0;
  std::size_t length = 0;
  std::vector<token_id> input_ids;
  std::vector<std::int32_t> attention_mask;
  std::vector<piece_origin> origins;
  /// [rows, length] token type ids (1 on a pair's second segment); empty when every one is 0.
  std::vector<std::int32_t> token_type_ids;

  /// The ids as an xtensor view [rows, length] over this batch's storage.
  [[nodiscard]] auto ids_view() const {
    return xt::adapt(input_ids.data(), input_ids.size(), xt::no_ownership(), std::vector<std::size_t>{rows, length});
  }
  /// The attention mask as an xtensor view [rows, length] over this batch's storage.
  [[nodiscard]] auto mask_view() const {
    return xt::adapt(attention_mask.data(), attention_mask.size(), xt::no_ownership(),
                     std::vector<std::size_t>{rows, length});
  }
};

/// Pads `pieces` with `pad` (DNABERT's [PAD]; a BPE tokenizer's own, sequence_tokenizer::specials)
/// to the longest piece, or to `pad_to` tokens when it is not 0 (as DNABERT's fine-tuning pads every
/// input to max_seq_length), and builds the attention mask (and the token types, when a piece is a
/// pair). A piece longer than `pad_to` is an input_error.
inline token_batch make_batch(std::span<const token_piece> pieces, std::size_t pad_to = 0, token_id pad = special::pad) {
  token_batch batch;
  batch.rows = pieces.size();
  for (const auto& piece : pieces) batch.length = std::max(batch.length, piece.ids.size());
  if (pad_to > 0) {
    if (batch.length > pad_to)
      throw input_error("a piece of " + std::to_string(batch.length) + " tokens does not fit the padded length of " +
                        std::to_string(pad_to) + " tokens");
    batch.length = pad_to;
  }
  batch.input_ids.assign(batch.rows * batch.length, pad);
  batch.attention_mask.assign(batch.rows * batch.length, 0);
  batch.origins.reserve(batch.rows);
  for (std::size_t r = 0; r < batch.rows; ++r) {
    const auto& ids = pieces[r].ids;
    std::copy(ids.begin(), ids.end(), batch.input_ids.begin() + static_cast<std::ptrdiff_t>(r * batch.length));
    std::fill_n(batch.attention_mask.begin() + static_cast<std::ptrdiff_t>(r * batch.length), ids.size(), 1);
    batch.origins.push_back(pieces[r].origin);
  }
  if (std::any_of(pieces.begin(), pieces.end(), [](const token_piece& piece) { return piece.second_segment > 0; })) {
    batch.token_type_ids.assign(batch.rows * batch.length, 0);
    for (std::size_t r = 0; r < batch.rows; ++r)
      if (pieces[r].second_segment > 0)
        std::fill(batch.token_type_ids.begin() + static_cast<std::ptrdiff_t>(r * batch.length + pieces[r].second_segment),
                  batch.token_type_ids.begin() + static_cast<std::ptrdiff_t>(r * batch.length + pieces[r].ids.size()), 1);
  }
  return batch;
}

}  // namespace dnabert
