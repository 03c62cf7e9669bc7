#pragma once
// A host reference of the fused CUDA attention kernel's algorithm (src/cuda/flash_attention.cu):
// the same query and key tiles, tails and online-softmax recurrence (flash_tiling.hpp's
// tile_count, tile_length and enter_key_tile, the very functions the kernel calls), run
// sequentially in float. It lives with the tests because nothing but the tests runs it: the CPU
// backend has its own attention, and this one only shows that the recurrence the kernel
// implements gives softmax attention, for tile sizes the GPU cannot be asked about here.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "dnabert/ops/attention_shape.hpp"
#include "dnabert/backend/cuda/flash_tiling.hpp"

namespace dnabert::test {

/// context = softmax(Q K^T * scale + key_bias) V per head by the fused kernel's tile recurrence,
/// QueryTile query rows and KeyTile keys at a time; q, k, v, context in attention_shape's layout.
template <std::int64_t QueryTile, std::int64_t KeyTile>
void flash_attention_reference(const ops::attention_shape& s, const float* q, const float* k, const float* v,
                               const float* key_bias, float scale, float* context) {
  namespace launch = backend::cuda_launch;
  const std::int64_t S = s.seq;
  const std::int64_t d = s.head_dim;
  const std::int64_t ld = s.row_stride;
  std::vector<float> logits(static_cast<std::size_t>(KeyTile));
  std::vector<float> acc(static_cast<std::size_t>(d));
  for (std::int64_t bh = 0; bh < s.batch * s.heads; ++bh) {
    const std::int64_t b = bh / s.heads;
    const std::int64_t base = b * S * ld + (bh % s.heads) * d;
    for (std::int64_t qt = 0; qt < launch::tile_count(S, QueryTile); ++qt)
      for (std::int64_t r = 0; r < launch::tile_length(S, QueryTile, qt); ++r) {
        const float* qr = q + base + (qt * QueryTile + r) * ld;
        launch::online_softmax state;
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (std::int64_t kt = 0; kt < launch::tile_count(S, KeyTile); ++kt) {
          const std::int64_t k0 = kt * KeyTile;
          const std::int64_t keys = launch::tile_length(S, KeyTile, kt);
          float tile_max = -INFINITY;
          for (std::int64_t j = 0; j < keys; ++j) {
            const float* kr = k + base + (k0 + j) * ld;
            float dot = 0;
            for (std::int64_t c = 0; c < d; ++c) dot += qr[c] * kr[c];
            logits[static_cast<std::size_t>(j)] = dot * scale + (key_bias != nullptr ? key_bias[b * S + k0 + j] : 0.0f);
            tile_max = std::fmax(tile_max, logits[static_cast<std::size_t>(j)]);
          }
          const float alpha = launch::enter_key_tile(state, tile_max);
          for (float& a : acc) a *= alpha;
          float sum = 0;
          for (std::int64_t j = 0; j < keys; ++j) {
            const float p = launch::key_weight(state, logits[static_cast<std::size_t>(j)]);
            sum += p;
            const float* vr = v + base + (k0 + j) * ld;
            for (std::int64_t c = 0; c < d; ++c) acc[static_cast<std::size_t>(c)] += p * vr[c];
          }
          state.sum += sum;
        }
        float* out = context + base + (qt * QueryTile + r) * ld;
        const float inv = launch::inverse_sum(state);
        for (std::int64_t c = 0; c < d; ++c) out[c] = acc[static_cast<std::size_t>(c)] * inv;
      }
  }
}

}  // namespace dnabert::test
