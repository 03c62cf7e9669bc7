#pragma once
// Sizes and strides of one multi-head attention call, shared by every backend's attention op.

#include <cstdint>

#include "dnabert/core/vocabulary.hpp"

namespace dnabert::backend {

/// q, k, v and context are [batch * seq, row_stride] with head h in columns
/// [h * head_dim, (h + 1) * head_dim).
struct attention_shape {
  std::int64_t batch = 0;
  std::int64_t seq = 0;
  std::int64_t heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t row_stride = 0;
};

/// An attention_shape whose head_dim is HeadDim at compile time: a backend with a kernel for it
/// sizes the per-head matrices by it, any other takes it as the attention_shape it derives from.
template <int HeadDim>
struct fixed_head_shape : attention_shape {
  static_assert(HeadDim > 0, "head size must be positive");
  static constexpr int fixed_head_dim = HeadDim;
};

/// HeadDim for fixed_head_shape<HeadDim>, `dynamic` for a plain attention_shape.
template <class Shape>
inline constexpr int head_dim_extent = dynamic;
template <int HeadDim>
inline constexpr int head_dim_extent<fixed_head_shape<HeadDim>> = HeadDim;

}  // namespace dnabert::backend
