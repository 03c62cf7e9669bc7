// LayerNorm on CUDA: one warp per row with float statistics; the parameter gradients are
// deterministic column sums (reductions.cuh).
#include "dnabert/backend/cuda/common.cuh"
#include "dnabert/backend/cuda/reductions.cuh"
#include "dnabert/backend/cuda_ops.hpp"

namespace dnabert::backend {
namespace {

using detail::from_float;
using detail::index_t;
using detail::to_float;

constexpr int rows_per_block = 8;  // warps per block

template <class D>
__global__ void layer_norm_forward_kernel(const D* x, const D* gamma, const D* beta, index_t rows, index_t n, float eps,
                                          D* y, D* mean, D* rstd) {
  const index_t row = blockIdx.x * static_cast<index_t>(rows_per_block) + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) return;
  const D* xr = x + row * n;
  float sum = 0;
  for (index_t j = lane; j < n; j += 32) sum += to_float(xr[j]);
  const float mu = detail::warp_sum(sum) / static_cast<float>(n);
  float squares = 0;
  for (index_t j = lane; j < n; j += 32) {
    const float centred = to_float(xr[j]) - mu;
    squares += centred * centred;
  }
  const float inv = 1.0f / sqrtf(detail::warp_sum(squares) / static_cast<float>(n) + eps);
  for (index_t j = lane; j < n; j += 32)
    y[row * n + j] = from_float<D>((to_float(xr[j]) - mu) * inv * to_float(gamma[j]) + to_float(beta[j]));
  if (lane == 0) {
    if (mean != nullptr) mean[row] = from_float<D>(mu);
    if (rstd != nullptr) rstd[row] = from_float<D>(inv);
  }
}

template <class D>
__global__ void layer_norm_backward_kernel(const D* dy, const D* x, const D* gamma, const D* mean, const D* rstd,
                                           index_t rows, index_t n, D* dx) {
  const index_t row = blockIdx.x * static_cast<index_t>(rows_per_block) + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) return;
  const D* xr = x + row * n;
  const D* dyr = dy + row * n;
  const float mu = to_float(mean[row]);
  const float inv = to_float(rstd[row]);
  float sum_dxhat = 0;
  float sum_dxhat_xhat = 0;
  for (index_t j = lane; j < n; j += 32) {
    const float dxhat = to_float(dyr[j]) * to_float(gamma[j]);
    sum_dxhat += dxhat;
    sum_dxhat_xhat += dxhat * (to_float(xr[j]) - mu) * inv;
  }
  const float mean_dxhat = detail::warp_sum(sum_dxhat) / static_cast<float>(n);
  const float mean_dxhat_xhat = detail::warp_sum(sum_dxhat_xhat) / static_cast<float>(n);
  for (index_t j = lane; j < n; j += 32) {
    const float xhat = (to_float(xr[j]) - mu) * inv;
    const float grad = inv * (to_float(dyr[j]) * to_float(gamma[j]) - mean_dxhat - xhat * mean_dxhat_xhat);
    dx[row * n + j] = from_float<D>(to_float(dx[row * n + j]) + grad);
  }
}

unsigned row_blocks(std::int64_t rows) { return static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block); }

}  // namespace

template <class T>
void layer_norm_forward(cuda_t<T>& be, const T* x, const T* gamma, const T* beta, std::int64_t rows, std::int64_t n,
                        double eps, T* y, T* mean, T* rstd) {
  if (rows <= 0) return;
  layer_norm_forward_kernel<<<row_blocks(rows), rows_per_block * 32, 0, be.context().stream()>>>(
      detail::device_ptr(x), detail::device_ptr(gamma), detail::device_ptr(beta), rows, n, static_cast<float>(eps),
      detail::device_ptr(y), detail::device_ptr(mean), detail::device_ptr(rstd));
  detail::check_launch("layer_norm_forward");
}

template <class T>
void layer_norm_backward(cuda_t<T>& be, const T* dy, const T* x, const T* gamma, const T* mean, const T* rstd,
                         std::int64_t rows, std::int64_t n, T* dx, T* dgamma, T* dbeta) {
  if (rows <= 0) return;
  const auto *g = detail::device_ptr(dy), *xd = detail::device_ptr(x), *mu = detail::device_ptr(mean),
             *inv = detail::device_ptr(rstd);
  layer_norm_backward_kernel<<<row_blocks(rows), rows_per_block * 32, 0, be.context().stream()>>>(
      g, xd, detail::device_ptr(gamma), mu, inv, rows, n, detail::device_ptr(dx));
  detail::check_launch("layer_norm_backward");
  detail::add_column_sums(
      be, rows, n,
      [=] __device__(index_t r, index_t j) {
        return to_float(g[r * n + j]) * (to_float(xd[r * n + j]) - to_float(mu[r])) * to_float(inv[r]);
      },
      detail::device_ptr(dgamma));
  detail::add_column_sums(be, rows, n, [=] __device__(index_t r, index_t j) { return to_float(g[r * n + j]); },
                          detail::device_ptr(dbeta));
}

#define DNABERT_INSTANTIATE_NORMALIZATION(T)                                                                           \
  template void layer_norm_forward<T>(cuda_t<T>&, const T*, const T*, const T*, std::int64_t, std::int64_t, double, T*, \
                                      T*, T*);                                                                        \
  template void layer_norm_backward<T>(cuda_t<T>&, const T*, const T*, const T*, const T*, const T*, std::int64_t,      \
                                       std::int64_t, T*, T*, T*);
DNABERT_INSTANTIATE_NORMALIZATION(float)
DNABERT_INSTANTIATE_NORMALIZATION(bfloat16)

}  // namespace dnabert::backend
