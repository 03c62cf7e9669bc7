#pragma once
// ALiBi (Press et al. 2022) as DNABERT-2 (MosaicBERT) applies it: no position embeddings; each
// head adds -slope_h * |i - j| to the score of query i for key j. The slopes depend on the head
// count alone, so every backend computes them where it needs them.

#include <cmath>
#include <cstdint>

#include "dnabert/core/host_device.hpp"

namespace dnabert {

/// The slope of head `head` of `heads`: 2^(-8(h+1)/n) for n a power of two; otherwise the slopes of
/// the nearest lower power of two p, then every other slope of 2p heads (ALiBi's rule, MosaicBERT's
/// _get_alibi_head_slopes).
DNABERT_HOST_DEVICE inline float alibi_slope(std::int64_t head, std::int64_t heads) {
  std::int64_t lower = 1;
  while (lower * 2 <= heads) lower *= 2;
  if (head < lower) return static_cast<float>(exp2(-8.0 * static_cast<double>(head + 1) / static_cast<double>(lower)));
  const std::int64_t index = 2 * (head - lower);  // every other slope of 2 * lower heads
  return static_cast<float>(exp2(-8.0 * static_cast<double>(index + 1) / static_cast<double>(2 * lower)));
}

/// The ALiBi bias of query `query` for key `key` in head `head` of `heads`.
DNABERT_HOST_DEVICE inline float alibi_bias(std::int64_t head, std::int64_t heads, std::int64_t query, std::int64_t key) {
  const std::int64_t distance = query > key ? query - key : key - query;
  return -alibi_slope(head, heads) * static_cast<float>(distance);
}

}  // namespace dnabert
