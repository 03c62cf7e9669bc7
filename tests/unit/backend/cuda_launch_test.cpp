// The CUDA backend's host-side arithmetic, checked on the CPU (no GPU needed): the row-major →
// column-major GEMM mapping executed by a naive column-major GEMM with cuBLAS's semantics, the
// batch × head offsets of the batched attention GEMMs, and launch grids.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "dnabert/backend/cuda/launch.hpp"

namespace backend_cuda_launch_test {

namespace {

namespace launch = dnabert::backend::cuda_launch;

// cuBLAS's sgemm on column-major storage: C = op(X) op(Y), X the first operand.
void column_major_gemm(const launch::column_major_gemm& g, const std::vector<double>& x, const std::vector<double>& y,
                       std::vector<double>& c) {
  const auto at = [](const std::vector<double>& m, std::int64_t ld, bool transposed, std::int64_t row, std::int64_t col) {
    return transposed ? m[static_cast<std::size_t>(row * ld + col)] : m[static_cast<std::size_t>(col * ld + row)];
  };
  for (std::int64_t i = 0; i < g.rows; ++i)
    for (std::int64_t j = 0; j < g.cols; ++j) {
      double sum = 0;
      for (std::int64_t p = 0; p < g.depth; ++p)
        sum += at(x, g.ld_first, g.transpose_first, i, p) * at(y, g.ld_second, g.transpose_second, p, j);
      c[static_cast<std::size_t>(j * g.ld_result + i)] = sum;
    }
}

}  // namespace

TEST_CASE("cuda launch: the column-major call computes the row-major product, padded rows too") {
  const std::int64_t m = 5, n = 4, k = 3, pad = 2;
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      const std::int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
      std::vector<double> a(static_cast<std::size_t>((ta ? k : m) * lda)), b(static_cast<std::size_t>((tb ? n : k) * ldb));
      for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<double>(i % 7) - 3.0 + 0.5 * static_cast<double>(i);
      for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<double>(i % 5) * 0.25 - 1.0;
      const auto op_a = [&](std::int64_t i, std::int64_t p) { return ta ? a[static_cast<std::size_t>(p * lda + i)] : a[static_cast<std::size_t>(i * lda + p)]; };
      const auto op_b = [&](std::int64_t p, std::int64_t j) { return tb ? b[static_cast<std::size_t>(j * ldb + p)] : b[static_cast<std::size_t>(p * ldb + j)]; };
      std::vector<double> got(static_cast<std::size_t>(m * ldc), -7.0);
      column_major_gemm(launch::to_column_major(ta, tb, m, n, k, lda, ldb, ldc), b, a, got);
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double want = 0;
          for (std::int64_t p = 0; p < k; ++p) want += op_a(i, p) * op_b(p, j);
          CHECK_MESSAGE(got[static_cast<std::size_t>(i * ldc + j)] == doctest::Approx(want),
                        "ta=" << ta << " tb=" << tb << " C[" << i << "," << j << "]");
        }
      for (std::int64_t i = 0; i < m; ++i)  // padding columns of C untouched
        for (std::int64_t j = n; j < ldc; ++j) CHECK(got[static_cast<std::size_t>(i * ldc + j)] == -7.0);
    }
  CHECK(launch::contiguous_ld(false, 5, 3) == 3);
  CHECK(launch::contiguous_ld(true, 5, 3) == 5);
}

TEST_CASE("cuda launch: batch x head offsets of q/k/v slices and of [B, H, S, S] blocks") {
  const std::int64_t batch = 3, heads = 4, seq = 17, head_dim = 8, row_stride = 96;
  const launch::strided_batch slices{heads, seq * row_stride, head_dim};
  const launch::strided_batch blocks{heads, heads * seq * seq, seq * seq};
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t h = 0; h < heads; ++h) {
      const std::int64_t i = b * heads + h;
      CHECK(slices.offset(i) == b * seq * row_stride + h * head_dim);  // backend/cpu/ops.hpp's `base`
      CHECK(blocks.offset(i) == i * seq * seq);                         // backend/cpu/ops.hpp's `bh * S * S`
    }
}

TEST_CASE("cuda launch: grids cover the elements and stay within the limit") {
  CHECK(launch::blocks_for(0) == 1);
  CHECK(launch::blocks_for(1) == 1);
  CHECK(launch::blocks_for(launch::block_threads) == 1);
  CHECK(launch::blocks_for(launch::block_threads + 1) == 2);
  CHECK(launch::blocks_for(std::int64_t{1} << 40) == launch::max_blocks);
  CHECK(launch::blocks_for(100, 32) == 4);
}

}  // namespace backend_cuda_launch_test
