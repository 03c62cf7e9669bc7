#pragma once
// Column sums of a [rows, n] expression added into a vector (bias and LayerNorm parameter
// gradients): two deterministic passes, partial sums per chunk of rows, then over the chunks.

#include "common.cuh"

namespace dnabert::backend::detail {

/// Rows one block of the first pass sums.
inline constexpr index_t column_sum_chunk = 64;

template <class F>
__global__ void column_partial_sums(index_t rows, index_t n, F value, float* partial) {
  __shared__ float sums[8][33];
  const index_t column = blockIdx.x * 32 + threadIdx.x;
  const index_t begin = blockIdx.y * column_sum_chunk;
  const index_t end = begin + column_sum_chunk < rows ? begin + column_sum_chunk : rows;
  float total = 0;
  if (column < n)
    for (index_t r = begin + threadIdx.y; r < end; r += 8) total += value(r, column);
  sums[threadIdx.y][threadIdx.x] = total;
  __syncthreads();
  if (threadIdx.y == 0 && column < n) {
    for (int i = 1; i < 8; ++i) total += sums[i][threadIdx.x];
    partial[blockIdx.y * n + column] = total;
  }
}

template <class D>
__global__ void add_partial_sums(const float* partial, index_t chunks, index_t n, D* out) {
  const index_t column = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x;
  if (column >= n) return;
  float total = 0;
  for (index_t c = 0; c < chunks; ++c) total += partial[c * n + column];
  out[column] = from_float<D>(to_float(out[column]) + total);
}

/// out[j] += sum over r of value(r, j) (a float) for r < rows, j < n; out holds float or bf16.
template <class T, class F, class D>
void add_column_sums(cuda_t<T>& be, std::int64_t rows, std::int64_t n, F value, D* out) {
  if (rows <= 0 || n <= 0) return;
  const index_t chunks = (rows + column_sum_chunk - 1) / column_sum_chunk;
  scratch<float> partial(be, chunks * n);
  cudaStream_t stream = be.context().stream();
  column_partial_sums<<<dim3(static_cast<unsigned>((n + 31) / 32), static_cast<unsigned>(chunks)), dim3(32, 8), 0, stream>>>(
      rows, n, value, partial.get());
  check_launch("column_partial_sums");
  add_partial_sums<<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream>>>(partial.get(), chunks, n, out);
  check_launch("add_partial_sums");
}

}  // namespace dnabert::backend::detail
