#pragma once
// Host-side arithmetic of the fused (FlashAttention-style) attention kernel, kept free of CUDA so
// that the CPU test suite checks it: tile sizes per head_dim, the grid, shared-memory layout and
// bytes, tile counts and tail lengths, and the online-softmax step the kernel and the host
// reference (tests/support/flash_attention_reference.hpp) both run.

#include <cmath>
#include <cstdint>
#include <limits>

#include "dnabert/core/host_device.hpp"

namespace dnabert::backend::cuda_launch {

/// Largest head_dim the fused kernel handles (rows of q, k, v staged whole in shared memory).
inline constexpr std::int64_t flash_max_head_dim = 128;

/// Whether the fused kernel handles heads of this width.
constexpr bool flash_supports(std::int64_t head_dim) { return head_dim >= 1 && head_dim <= flash_max_head_dim; }

/// Whether attention_forward takes the fused kernel: no probabilities wanted (inference, no
/// attention maps), no attention dropout (its mask is drawn over the [B, H, S, S] probabilities),
/// and a head width the kernel handles; otherwise the batched-GEMM path.
constexpr bool flash_dispatch(bool probabilities_wanted, double dropout_p, std::int64_t head_dim) {
  return !probabilities_wanted && dropout_p <= 0 && flash_supports(head_dim);
}

/// Number of tiles of `tile` items covering `length` items (the last one may be short).
constexpr std::int64_t tile_count(std::int64_t length, std::int64_t tile) { return (length + tile - 1) / tile; }

/// Items in tile `index` of `length` items cut into tiles of `tile`: `tile`, or the tail's rest.
constexpr std::int64_t tile_length(std::int64_t length, std::int64_t tile, std::int64_t index) {
  const std::int64_t rest = length - index * tile;
  return rest < tile ? rest : tile;
}

/// One block of the fused kernel: `warps` warps each own `rows_per_warp` query rows of the
/// block's query tile; each step stages `key_tile` keys and values (a multiple of 32: one key per
/// lane and pass) in shared memory, rows zero-padded to `head_dim_padded` columns.
struct flash_tiling {
  std::int64_t head_dim_padded = 64;
  std::int64_t warps = 8;
  std::int64_t rows_per_warp = 8;
  std::int64_t key_tile = 64;
  /// Blocks per SM the kernel is compiled for (__launch_bounds__: caps its registers so that this
  /// many fit, as their shared memory does).
  std::int64_t blocks_per_sm = 2;

  /// Query rows per block.
  [[nodiscard]] constexpr std::int64_t query_tile() const { return warps * rows_per_warp; }
  /// Threads per block.
  [[nodiscard]] constexpr std::int64_t threads() const { return warps * 32; }
  /// Keys each lane scores per step.
  [[nodiscard]] constexpr std::int64_t keys_per_lane() const { return key_tile / 32; }
  /// Columns handled by each lane in the P·V product (lane, lane + 32, ...).
  [[nodiscard]] constexpr std::int64_t columns_per_lane() const { return head_dim_padded / 32; }
  /// Row stride of the staged keys: one more than the width, so the 32 lanes reading column d of
  /// 32 different keys hit 32 different banks.
  [[nodiscard]] constexpr std::int64_t key_stride() const { return head_dim_padded + 1; }

  /// Float offsets of the shared-memory regions: queries [query_tile][padded], keys
  /// [key_tile][key_stride], values [key_tile][padded], probabilities [query_tile][key_tile].
  [[nodiscard]] constexpr std::int64_t query_offset() const { return 0; }
  /// Start of the staged keys.
  [[nodiscard]] constexpr std::int64_t key_offset() const { return query_tile() * head_dim_padded; }
  /// Start of the staged values.
  [[nodiscard]] constexpr std::int64_t value_offset() const { return key_offset() + key_tile * key_stride(); }
  /// Start of the per-row probabilities of the current key tile.
  [[nodiscard]] constexpr std::int64_t probability_offset() const { return value_offset() + key_tile * head_dim_padded; }
  /// Floats of shared memory per block.
  [[nodiscard]] constexpr std::int64_t shared_floats() const { return probability_offset() + query_tile() * key_tile; }
  /// Bytes of dynamic shared memory per block.
  [[nodiscard]] constexpr std::int64_t shared_bytes() const {
    return shared_floats() * static_cast<std::int64_t>(sizeof(float));
  }
  /// Whether the kernel's assumptions hold: whole warps of lanes over keys and columns, and every
  /// region 16-byte aligned for the float4 reads of queries and probabilities.
  [[nodiscard]] constexpr bool valid() const {
    return warps >= 1 && rows_per_warp >= 1 && key_tile >= 32 && key_tile % 32 == 0 && head_dim_padded % 32 == 0 &&
           head_dim_padded >= 32 && threads() <= 1024 && key_offset() % 4 == 0 && value_offset() % 4 == 0 &&
           probability_offset() % 4 == 0;
  }
};

/// The tiling the kernel is compiled for heads of `head_dim` (1..128): 64 keys per step up to
/// width 64 (DNABERT), 32 for wider heads so that a block stays under 80 KB of shared memory.
constexpr flash_tiling flash_tiling_for(std::int64_t head_dim) {
  return head_dim <= 64 ? flash_tiling{64, 8, 8, 64, 3} : flash_tiling{128, 8, 8, 32, 2};
}

/// Launch grid of the fused kernel: one-dimensional, block i taking query tile i % query_tiles of
/// attention matrix i / query_tiles, so that the blocks running together share heads and find
/// their keys and values in L2.
struct flash_grid {
  std::int64_t heads_total = 0;  ///< batch · heads
  std::int64_t query_tiles = 0;  ///< per attention matrix
  /// Blocks to launch.
  [[nodiscard]] constexpr std::int64_t blocks() const { return heads_total * query_tiles; }
  /// Whether CUDA accepts this grid (gridDim.x up to 2^31 - 1).
  [[nodiscard]] constexpr bool launchable() const { return blocks() >= 1 && blocks() <= 2147483647; }
  /// The attention matrix (batch · heads + head) of block `block`.
  [[nodiscard]] constexpr std::int64_t matrix_of(std::int64_t block) const { return block / query_tiles; }
  /// The query tile of block `block`.
  [[nodiscard]] constexpr std::int64_t tile_of(std::int64_t block) const { return block % query_tiles; }
};

/// The grid for `heads_total` = batch · heads attention matrices of `seq` queries.
constexpr flash_grid flash_grid_for(const flash_tiling& t, std::int64_t heads_total, std::int64_t seq) {
  return {heads_total, tile_count(seq, t.query_tile())};
}

/// The running state of one query row's online softmax: the largest logit so far and the sum of
/// exp(logit - max) over the keys so far.
struct online_softmax {
  float max = -std::numeric_limits<float>::infinity();
  float sum = 0;
};

/// Enters a key tile whose largest logit is tile_max: moves the running max, rescales the sum,
/// and returns the factor by which the caller rescales its output accumulator (1 when the max
/// stays, so rows whose logits are all -inf do not become NaN here).
DNABERT_HOST_DEVICE inline float enter_key_tile(online_softmax& state, float tile_max) {
  const float next = fmaxf(state.max, tile_max);
  const float alpha = next == state.max ? 1.0f : expf(state.max - next);
  state.max = next;
  state.sum *= alpha;
  return alpha;
}

/// A key's unnormalised probability, exp(logit - running max); 0 while every logit so far is
/// -inf (a row masked with a true -inf), where exp(-inf - -inf) would be NaN.
DNABERT_HOST_DEVICE inline float key_weight(const online_softmax& state, float logit) {
  return state.max == -std::numeric_limits<float>::infinity() ? 0.0f : expf(logit - state.max);
}

/// What a row's output is multiplied by at the end: 1 / sum, or 0 for a row with no key to attend
/// (all -inf), whose output is then zeros, not NaN.
DNABERT_HOST_DEVICE inline float inverse_sum(const online_softmax& state) { return state.sum > 0 ? 1.0f / state.sum : 0.0f; }

}  // namespace dnabert::backend::cuda_launch
