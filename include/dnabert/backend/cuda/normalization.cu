// LayerNorm on CUDA: one warp per row with float statistics; the parameter gradients are
// deterministic column sums (reductions.cuh).
#include "dnabert/backend/cuda/common.cuh"
#include "dnabert/backend/cuda/reductions.cuh"
#include "dnabert/backend/cuda_ops.hpp"

namespace dnabert::backend {
namespace {

using detail::index_t;

constexpr int rows_per_block = 8;  // warps per block

__global__ void layer_norm_forward_kernel(const float* x, const float* gamma, const float* beta, index_t rows, index_t n,
                                          float eps, float* y, float* mean, float* rstd) {
  const index_t row = blockIdx.x * static_cast<index_t>(rows_per_block) + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) return;
  const float* xr = x + row * n;
  float sum = 0;
  for (index_t j = lane; j < n; j += 32) sum += xr[j];
  const float mu = detail::warp_sum(sum) / static_cast<float>(n);
  float squares = 0;
  for (index_t j = lane; j < n; j += 32) squares += (xr[j] - mu) * (xr[j] - mu);
  const float inv = 1.0f / sqrtf(detail::warp_sum(squares) / static_cast<float>(n) + eps);
  for (index_t j = lane; j < n; j += 32) y[row * n + j] = (xr[j] - mu) * inv * gamma[j] + beta[j];
  if (lane == 0) {
    if (mean != nullptr) mean[row] = mu;
    if (rstd != nullptr) rstd[row] = inv;
  }
}

__global__ void layer_norm_backward_kernel(const float* dy, const float* x, const float* gamma, const float* mean,
                                           const float* rstd, index_t rows, index_t n, float* dx) {
  const index_t row = blockIdx.x * static_cast<index_t>(rows_per_block) + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) return;
  const float* xr = x + row * n;
  const float* dyr = dy + row * n;
  const float mu = mean[row];
  const float inv = rstd[row];
  float sum_dxhat = 0;
  float sum_dxhat_xhat = 0;
  for (index_t j = lane; j < n; j += 32) {
    const float dxhat = dyr[j] * gamma[j];
    sum_dxhat += dxhat;
    sum_dxhat_xhat += dxhat * (xr[j] - mu) * inv;
  }
  const float mean_dxhat = detail::warp_sum(sum_dxhat) / static_cast<float>(n);
  const float mean_dxhat_xhat = detail::warp_sum(sum_dxhat_xhat) / static_cast<float>(n);
  for (index_t j = lane; j < n; j += 32) {
    const float xhat = (xr[j] - mu) * inv;
    dx[row * n + j] += inv * (dyr[j] * gamma[j] - mean_dxhat - xhat * mean_dxhat_xhat);
  }
}

unsigned row_blocks(std::int64_t rows) { return static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block); }

}  // namespace

void layer_norm_forward(cuda& be, const float* x, const float* gamma, const float* beta, std::int64_t rows,
                        std::int64_t n, double eps, float* y, float* mean, float* rstd) {
  if (rows <= 0) return;
  layer_norm_forward_kernel<<<row_blocks(rows), rows_per_block * 32, 0, be.context().stream()>>>(
      x, gamma, beta, rows, n, static_cast<float>(eps), y, mean, rstd);
  detail::check_launch("layer_norm_forward");
}

void layer_norm_backward(cuda& be, const float* dy, const float* x, const float* gamma, const float* mean,
                         const float* rstd, std::int64_t rows, std::int64_t n, float* dx, float* dgamma, float* dbeta) {
  if (rows <= 0) return;
  layer_norm_backward_kernel<<<row_blocks(rows), rows_per_block * 32, 0, be.context().stream()>>>(dy, x, gamma, mean,
                                                                                                 rstd, rows, n, dx);
  detail::check_launch("layer_norm_backward");
  detail::add_column_sums(
      be, rows, n, [=] __device__(index_t r, index_t j) { return dy[r * n + j] * (x[r * n + j] - mean[r]) * rstd[r]; },
      dgamma);
  detail::add_column_sums(be, rows, n, [=] __device__(index_t r, index_t j) { return dy[r * n + j]; }, dbeta);
}

}  // namespace dnabert::backend
