#pragma once
// Padding removal (FasterTransformer style): the host-side index maths that lets the dense
// layers run on the T real tokens of a padded [batch, seq] batch, packed in order, while
// attention alone sees the padded layout. No backend code: the model uploads these indices.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/tokenizer/token_batch.hpp"

namespace dnabert {

/// Where the real tokens (mask != 0) of a padded batch go once padding is removed. Padding may
/// sit anywhere in a row (left, right or between tokens); a row may hold no tokens at all.
struct packed_rows {
  std::int64_t batch = 0;                ///< sequences
  std::int64_t seq = 0;                  ///< padded length
  std::vector<std::int32_t> rows;        ///< [T] padded row (b * seq + t) of each real token, in order
  std::vector<std::int32_t> offsets;     ///< [batch + 1] sequence b is packed rows offsets[b] .. offsets[b+1]
  std::vector<std::int32_t> first_rows;  ///< [batch] packed row of each sequence's first token ([CLS]); -1: none
  std::vector<std::int32_t> packed_of;   ///< [batch * seq] packed row of each padded row; -1 on padding
  bool has_padding = false;              ///< false: packing would change nothing, so callers skip it

  /// Real tokens in the batch (T).
  [[nodiscard]] std::int64_t tokens() const noexcept { return static_cast<std::int64_t>(rows.size()); }
  /// The token ids of `batch`'s real tokens, in packed order.
  [[nodiscard]] std::vector<token_id> words(const token_batch& batch) const {
    std::vector<token_id> out;
    out.reserve(rows.size());
    for (const std::int32_t r : rows) out.push_back(batch.input_ids[static_cast<std::size_t>(r)]);
    return out;
  }

  /// Padded rows (b * seq + t) mapped to packed rows; throws input_error naming the first row
  /// outside the batch or on padding (what `what` calls it, e.g. "MLM row").
  [[nodiscard]] std::vector<std::int32_t> packed_indices(std::span<const std::int32_t> padded,
                                                          const std::string& what) const {
    std::vector<std::int32_t> out;
    out.reserve(padded.size());
    for (const std::int32_t r : padded) {
      if (r < 0 || r >= batch * seq)
        throw input_error(what + " " + std::to_string(r) + " is outside the batch of " + std::to_string(batch * seq) +
                          " token rows");
      const std::int32_t packed = packed_of[static_cast<std::size_t>(r)];
      if (packed < 0)
        throw input_error(what + " " + std::to_string(r) + " (sequence " + std::to_string(r / seq) + ", position " +
                          std::to_string(r % seq) + ") is padding, which padding removal does not compute");
      out.push_back(packed);
    }
    return out;
  }
};

/// The packing of a row-major [batch, seq] attention mask (nonzero = real token).
inline packed_rows pack_rows(std::span<const std::int32_t> mask, std::size_t batch, std::size_t seq) {
  if (mask.size() != batch * seq)
    throw input_error("attention mask of " + std::to_string(mask.size()) + " entries for a batch of " +
                      std::to_string(batch) + " x " + std::to_string(seq));
  if (batch * seq > static_cast<std::size_t>(INT32_MAX))
    throw input_error("batch of " + std::to_string(batch * seq) + " token rows is too large for int32 row indices");
  packed_rows out;
  out.batch = static_cast<std::int64_t>(batch);
  out.seq = static_cast<std::int64_t>(seq);
  out.offsets.reserve(batch + 1);
  out.first_rows.assign(batch, -1);
  out.packed_of.assign(batch * seq, -1);
  out.offsets.push_back(0);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t t = 0; t < seq; ++t) {
      const std::size_t padded = b * seq + t;
      if (mask[padded] == 0) {
        out.has_padding = true;
        continue;
      }
      const auto packed = static_cast<std::int32_t>(out.rows.size());
      if (out.first_rows[b] < 0) out.first_rows[b] = packed;
      out.packed_of[padded] = packed;
      out.rows.push_back(static_cast<std::int32_t>(padded));
    }
    out.offsets.push_back(static_cast<std::int32_t>(out.rows.size()));
  }
  return out;
}

/// The packing of a token batch's attention mask.
inline packed_rows pack_rows(const token_batch& batch) { return pack_rows(batch.attention_mask, batch.rows, batch.length); }

}  // namespace dnabert
