// Fused (FlashAttention-style) multi-head attention for inference on CUDA (attention_forward in
// attention.cu picks it when no probabilities or dropout are wanted). One block per (batch · head, tile
// of query rows): the block's queries stay in shared memory, key and value tiles are staged in
// turn, and each row keeps an online softmax (running max and sum in float, the accumulator
// rescaled when the max moves), so the [B, H, S, S] scores never exist. Plain float FMAs on the
// CUDA cores (no tensor cores yet); the tiling arithmetic is in flash_tiling.hpp, tested on the CPU
// with a host reference of the same recurrence (tests/support/flash_attention_reference.hpp).
#include <string>

#include "common.cuh"
#include "dnabert/backend/cuda/flash_tiling.hpp"
#include "dnabert/backend/cuda/ops.hpp"
#include "dnabert/core/alibi.hpp"

namespace dnabert::backend {
namespace {

using cuda_launch::flash_tiling;
using detail::from_float;
using detail::index_t;
using detail::to_float;

// Padded: head_dim rounded up to the kernel's shared-memory row width (64 or 128). Warp w owns
// query rows [w·R, (w+1)·R) of the tile; in each key tile, lane l scores keys l, l + 32, ... for
// all its rows (keys read with an odd stride: no bank conflicts; queries read as broadcast
// float4), writes the probabilities to its warp's rows of P, then adds P·V into columns l, l + 32, ...
template <class D, int Padded>
__global__ void __launch_bounds__(cuda_launch::flash_tiling_for(Padded).threads(),
                                  cuda_launch::flash_tiling_for(Padded).blocks_per_sm)
    flash_attention_kernel(attention_shape s, cuda_launch::flash_grid grid, const D* q, const D* k, const D* v,
                           const D* key_bias, float scale, D* context) {
  constexpr flash_tiling tiling = cuda_launch::flash_tiling_for(Padded);
  static_assert(tiling.valid() && tiling.head_dim_padded == Padded);
  constexpr int R = static_cast<int>(tiling.rows_per_warp);
  constexpr int KPL = static_cast<int>(tiling.keys_per_lane());
  constexpr int CPL = static_cast<int>(tiling.columns_per_lane());
  constexpr int BQ = static_cast<int>(tiling.query_tile());
  constexpr int BK = static_cast<int>(tiling.key_tile);
  constexpr int KS = static_cast<int>(tiling.key_stride());
  constexpr int threads = static_cast<int>(tiling.threads());
  extern __shared__ float4 shared_words[];  // float4: 16-byte alignment for the float4 reads
  float* shared = reinterpret_cast<float*>(shared_words);
  float* qs = shared + tiling.query_offset();
  float* ks = shared + tiling.key_offset();
  float* vs = shared + tiling.value_offset();
  float* ps = shared + tiling.probability_offset();

  const index_t bh = grid.matrix_of(blockIdx.x);
  const index_t query_tile = grid.tile_of(blockIdx.x);
  const index_t b = bh / s.heads;
  const index_t S = s.seq;
  const index_t ld = s.row_stride;
  const int d = static_cast<int>(s.head_dim);
  const index_t base = b * S * ld + (bh % s.heads) * s.head_dim;
  const float slope = s.alibi ? alibi_slope(bh % s.heads, s.heads) : 0.0f;
  const index_t q0 = query_tile * BQ;
  const int rows_here = static_cast<int>(cuda_launch::tile_length(S, BQ, query_tile));
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;

  // Queries of the tile, zero past the tail and past head_dim (zeros add nothing to the dot products).
  for (int i = static_cast<int>(threadIdx.x); i < BQ * Padded; i += threads) {
    const int r = i / Padded, c = i % Padded;
    qs[i] = r < rows_here && c < d ? to_float(q[base + (q0 + r) * ld + c]) : 0.0f;
  }
  const float* qw = qs + warp * R * Padded;
  float* pw = ps + warp * R * BK;
  cuda_launch::online_softmax state[R];
  float acc[R][CPL] = {};

  const index_t key_tiles = cuda_launch::tile_count(S, BK);
  for (index_t kt = 0; kt < key_tiles; ++kt) {
    const index_t k0 = kt * BK;
    const int keys_here = static_cast<int>(cuda_launch::tile_length(S, BK, kt));
    __syncthreads();  // every warp is done with the previous tile's keys and values
    for (int i = static_cast<int>(threadIdx.x); i < BK * Padded; i += threads) {
      const int j = i / Padded, c = i % Padded;
      const bool inside = j < keys_here && c < d;
      const index_t at = base + (k0 + j) * ld + c;
      ks[j * KS + c] = inside ? to_float(k[at]) : 0.0f;
      vs[j * Padded + c] = inside ? to_float(v[at]) : 0.0f;
    }
    __syncthreads();

    float logit[R][KPL] = {};
#pragma unroll 4
    for (int c = 0; c < Padded; c += 4) {
      float kv[KPL][4];
#pragma unroll
      for (int kk = 0; kk < KPL; ++kk)
#pragma unroll
        for (int t = 0; t < 4; ++t) kv[kk][t] = ks[(lane + 32 * kk) * KS + c + t];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const float4 qv = *reinterpret_cast<const float4*>(qw + r * Padded + c);
#pragma unroll
        for (int kk = 0; kk < KPL; ++kk)
          logit[r][kk] += qv.x * kv[kk][0] + qv.y * kv[kk][1] + qv.z * kv[kk][2] + qv.w * kv[kk][3];
      }
    }
    bool valid[KPL];
    float bias[KPL];
#pragma unroll
    for (int kk = 0; kk < KPL; ++kk) {
      const int j = lane + 32 * kk;
      valid[kk] = j < keys_here;
      bias[kk] = valid[kk] && key_bias != nullptr ? to_float(key_bias[b * S + k0 + j]) : 0.0f;
    }
#pragma unroll
    for (int r = 0; r < R; ++r) {
      float tile_max = -INFINITY;
#pragma unroll
      for (int kk = 0; kk < KPL; ++kk) {
        const index_t query = q0 + warp * R + r, key = k0 + lane + 32 * kk;
        const float distance = static_cast<float>(query > key ? query - key : key - query);
        logit[r][kk] = valid[kk] ? logit[r][kk] * scale + bias[kk] - slope * distance : -INFINITY;
        tile_max = fmaxf(tile_max, logit[r][kk]);
      }
      const float alpha = cuda_launch::enter_key_tile(state[r], detail::warp_max(tile_max));
      float sum = 0;
#pragma unroll
      for (int kk = 0; kk < KPL; ++kk) {
        const float p = valid[kk] ? cuda_launch::key_weight(state[r], logit[r][kk]) : 0.0f;
        pw[r * BK + lane + 32 * kk] = p;
        sum += p;
      }
      state[r].sum += detail::warp_sum(sum);
#pragma unroll
      for (int e = 0; e < CPL; ++e) acc[r][e] *= alpha;
    }
    __syncwarp();  // the warp's probabilities are visible to all its lanes

    // acc += P·V, four keys at a time (P and the staged values are zero past keys_here).
    for (int j = 0; j < keys_here; j += 4) {
      float vv[4][CPL];
#pragma unroll
      for (int t = 0; t < 4; ++t)
#pragma unroll
        for (int e = 0; e < CPL; ++e) vv[t][e] = vs[(j + t) * Padded + lane + 32 * e];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const float4 p = *reinterpret_cast<const float4*>(pw + r * BK + j);
#pragma unroll
        for (int e = 0; e < CPL; ++e) acc[r][e] += p.x * vv[0][e] + p.y * vv[1][e] + p.z * vv[2][e] + p.w * vv[3][e];
      }
    }
  }

#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int row = warp * R + r;
    if (row >= rows_here) continue;
    const float inv = cuda_launch::inverse_sum(state[r]);
#pragma unroll
    for (int e = 0; e < CPL; ++e) {
      const int c = lane + 32 * e;
      if (c < d) context[base + (q0 + row) * ld + c] = from_float<D>(acc[r][e] * inv);
    }
  }
}

template <class D, int Padded>
void launch_flash_attention(cudaStream_t stream, const attention_shape& s, const D* q, const D* k, const D* v,
                            const D* key_bias, float scale, D* context) {
  constexpr flash_tiling tiling = cuda_launch::flash_tiling_for(Padded);
  const auto grid = cuda_launch::flash_grid_for(tiling, s.batch * s.heads, s.seq);
  if (!grid.launchable())
    throw error("attention_forward_fused: " + std::to_string(s.batch * s.heads) + " heads of " + std::to_string(s.seq) +
                " queries exceed CUDA's grid");
  const auto kernel = flash_attention_kernel<D, Padded>;
  // More than the default 48 KB of dynamic shared memory must be asked for per kernel.
  detail::check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(tiling.shared_bytes())),
                     "cudaFuncSetAttribute(flash_attention_kernel)");
  kernel<<<static_cast<unsigned>(grid.blocks()), static_cast<unsigned>(tiling.threads()),
           static_cast<std::size_t>(tiling.shared_bytes()), stream>>>(s, grid, q, k, v, key_bias, scale, context);
  detail::check_launch("attention_forward_fused");
}

}  // namespace

template <class T>
void attention_forward_fused(cuda_t<T>& be, const attention_shape& s, const T* q, const T* k, const T* v,
                             const T* key_bias, T scale, T* context) {
  if (!cuda_launch::flash_supports(s.head_dim))
    throw error("attention_forward_fused: head_dim " + std::to_string(s.head_dim) + " is not supported (1 to " +
                std::to_string(cuda_launch::flash_max_head_dim) + ")");
  if (s.batch * s.heads == 0 || s.seq == 0) return;
  using D = detail::device_t<T>;
  const auto launch = s.head_dim <= 64 ? launch_flash_attention<D, 64> : launch_flash_attention<D, 128>;
  launch(be.context().stream(), s, detail::device_ptr(q), detail::device_ptr(k), detail::device_ptr(v),
         detail::device_ptr(key_bias), static_cast<float>(scale), detail::device_ptr(context));
}

#define DNABERT_INSTANTIATE_FLASH_ATTENTION(T)                                                                       \
  template void attention_forward_fused<T>(cuda_t<T>&, const attention_shape&, const T*, const T*, const T*,         \
                                           const T*, T, T*);
DNABERT_INSTANTIATE_FLASH_ATTENTION(float)
DNABERT_INSTANTIATE_FLASH_ATTENTION(bfloat16)

}  // namespace dnabert::backend
