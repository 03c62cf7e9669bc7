#pragma once
// Host-side arithmetic of the CUDA backend, kept free of CUDA so that the CPU test suite checks
// it: launch grids, the row-major → column-major GEMM mapping, batch × head pointer offsets.

#include <algorithm>
#include <cstdint>

namespace dnabert::backend::cuda_launch {

/// Threads per block of the element-wise kernels.
inline constexpr std::int64_t block_threads = 256;
/// Most blocks an element-wise kernel launches; larger inputs are covered by grid-stride loops.
inline constexpr std::int64_t max_blocks = 65535;

/// Whether `p` is a multiple of `bytes` (a power of two): the cuBLASLt plans assume 16-byte operands.
inline bool aligned_to(const void* p, std::uint32_t bytes) { return reinterpret_cast<std::uintptr_t>(p) % bytes == 0; }

/// Blocks for n elements handled `per_block` to a block (at least 1, at most max_blocks).
constexpr std::int64_t blocks_for(std::int64_t n, std::int64_t per_block = block_threads) {
  return std::clamp<std::int64_t>((n + per_block - 1) / per_block, 1, max_blocks);
}

/// One column-major (cuBLAS) GEMM C = op(first) · op(second) that computes the row-major
/// C[m,n] = op(A) · op(B): cuBLAS sees row-major matrices transposed, so C^T = op(B)^T · op(A)^T,
/// i.e. B is the first operand and A the second, with the same transpose flags.
struct column_major_gemm {
  bool transpose_first = false;   ///< op on B
  bool transpose_second = false;  ///< op on A
  std::int64_t rows = 0;          ///< cuBLAS m: n of the row-major product
  std::int64_t cols = 0;          ///< cuBLAS n: m of the row-major product
  std::int64_t depth = 0;         ///< cuBLAS k
  std::int64_t ld_first = 0;      ///< leading dimension of B (its row-major row length)
  std::int64_t ld_second = 0;     ///< leading dimension of A
  std::int64_t ld_result = 0;     ///< leading dimension of C
};

/// The column-major call for row-major C[m,n] = op(A) op(B) with row strides lda, ldb, ldc.
constexpr column_major_gemm to_column_major(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                                            std::int64_t k, std::int64_t lda, std::int64_t ldb, std::int64_t ldc) {
  return {trans_b, trans_a, n, m, k, ldb, lda, ldc};
}

/// Row stride of a contiguous row-major operand: A is [m,k] ([k,m] transposed), B [k,n] ([n,k]).
constexpr std::int64_t contiguous_ld(bool transposed, std::int64_t rows, std::int64_t cols) {
  return transposed ? rows : cols;
}

/// Where matrix i = batch · heads + head of a batched attention GEMM starts: batch_stride and
/// head_stride in elements (q/k/v: seq · row_stride and head_dim; [B,H,S,S] buffers: H·S·S, S·S).
struct strided_batch {
  std::int64_t heads = 1;
  std::int64_t batch_stride = 0;
  std::int64_t head_stride = 0;
  /// Offset in elements of matrix `i`.
  [[nodiscard]] constexpr std::int64_t offset(std::int64_t i) const {
    return (i / heads) * batch_stride + (i % heads) * head_stride;
  }
};

}  // namespace dnabert::backend::cuda_launch
