#pragma once
// Sizes and strides of one multi-head attention call, shared by every backend's attention op.

#include <cstdint>

namespace dnabert::ops {

/// q, k, v and context are [batch * seq, row_stride] with head h in columns
/// [h * head_dim, (h + 1) * head_dim); `alibi` adds DNABERT-2's position bias to the scores.
struct attention_shape {
  std::int64_t batch = 0;
  std::int64_t seq = 0;
  std::int64_t heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t row_stride = 0;
  /// Adds ALiBi's position bias -slope_h * |i - j| to every score (core/alibi.hpp; DNABERT-2).
  bool alibi = false;
};

}  // namespace dnabert::ops
