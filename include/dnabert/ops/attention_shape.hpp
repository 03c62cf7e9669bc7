#pragma once
// Sizes and strides of one multi-head attention call, shared by every backend's attention op.

#include <cstdint>

namespace dnabert::ops {

/// q, k, v and context are [batch * seq, row_stride] with head h in columns
/// [h * head_dim, (h + 1) * head_dim).
struct attention_shape {
  std::int64_t batch = 0;
  std::int64_t seq = 0;
  std::int64_t heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t row_stride = 0;
};

}  // namespace dnabert::ops
