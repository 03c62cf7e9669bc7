// LayerNorm on CUDA: one warp per row with float statistics; the parameter gradients are
// deterministic column sums (reductions.cuh). The fused residual add + LayerNorm is the same
// kernels reading a + b (in float) and adding the input gradient into both a and b.
#include "common.cuh"
#include "reductions.cuh"
#include "dnabert/backend/cuda/ops.hpp"

namespace dnabert::backend {
namespace {

using detail::from_float;
using detail::index_t;
using detail::to_float;

constexpr int rows_per_block = 8;  // warps per block

// The input of a LayerNorm as float element i: x[i], or a[i] + b[i] for the fused residual add
// (summed in float, never stored).
template <class D>
struct plain_input {
  const D* x;
  __device__ float operator()(index_t i) const { return to_float(x[i]); }
};
template <class D>
struct summed_input {
  const D* a;
  const D* b;
  __device__ float operator()(index_t i) const { return to_float(a[i]) + to_float(b[i]); }
};

// Where the input gradient of element i goes: dx[i] +=, or da[i] += and db[i] += (either null).
template <class D>
struct plain_gradient {
  D* dx;
  __device__ void operator()(index_t i, float g) const { dx[i] = from_float<D>(to_float(dx[i]) + g); }
};
template <class D>
struct summed_gradient {
  D* da;
  D* db;
  __device__ void operator()(index_t i, float g) const {
    if (da != nullptr) da[i] = from_float<D>(to_float(da[i]) + g);
    if (db != nullptr) db[i] = from_float<D>(to_float(db[i]) + g);
  }
};

template <class D, class Input>
__global__ void layer_norm_forward_kernel(Input x, const D* gamma, const D* beta, index_t rows, index_t n, float eps,
                                          D* y, float* mean, float* rstd) {
  const index_t row = blockIdx.x * static_cast<index_t>(rows_per_block) + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) return;
  const auto xr = [&](index_t j) { return x(row * n + j); };
  float sum = 0;
  for (index_t j = lane; j < n; j += 32) sum += xr(j);
  const float mu = detail::warp_sum(sum) / static_cast<float>(n);
  float squares = 0;
  for (index_t j = lane; j < n; j += 32) {
    const float centred = xr(j) - mu;
    squares += centred * centred;
  }
  const float inv = 1.0f / sqrtf(detail::warp_sum(squares) / static_cast<float>(n) + eps);
  for (index_t j = lane; j < n; j += 32)
    y[row * n + j] = from_float<D>((xr(j) - mu) * inv * to_float(gamma[j]) + to_float(beta[j]));
  if (lane == 0) {
    if (mean != nullptr) mean[row] = mu;
    if (rstd != nullptr) rstd[row] = inv;
  }
}

template <class D, class Input, class Gradient>
__global__ void layer_norm_backward_kernel(const D* dy, Input x, const D* gamma, const float* mean, const float* rstd,
                                           index_t rows, index_t n, Gradient dx) {
  const index_t row = blockIdx.x * static_cast<index_t>(rows_per_block) + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) return;
  const auto xr = [&](index_t j) { return x(row * n + j); };
  const D* dyr = dy + row * n;
  const float mu = mean[row];
  const float inv = rstd[row];
  float sum_dxhat = 0;
  float sum_dxhat_xhat = 0;
  for (index_t j = lane; j < n; j += 32) {
    const float dxhat = to_float(dyr[j]) * to_float(gamma[j]);
    sum_dxhat += dxhat;
    sum_dxhat_xhat += dxhat * (xr(j) - mu) * inv;
  }
  const float mean_dxhat = detail::warp_sum(sum_dxhat) / static_cast<float>(n);
  const float mean_dxhat_xhat = detail::warp_sum(sum_dxhat_xhat) / static_cast<float>(n);
  for (index_t j = lane; j < n; j += 32) {
    const float xhat = (xr(j) - mu) * inv;
    dx(row * n + j, inv * (to_float(dyr[j]) * to_float(gamma[j]) - mean_dxhat - xhat * mean_dxhat_xhat));
  }
}

unsigned row_blocks(std::int64_t rows) { return static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block); }

// The one launch sequence of layer_norm_forward and add_layer_norm_forward.
template <class T, class Input>
void launch_layer_norm_forward(cuda_t<T>& be, Input x, const T* gamma, const T* beta, std::int64_t rows,
                               std::int64_t n, double eps, T* y, float* mean, float* rstd, const char* op) {
  if (rows <= 0) return;
  layer_norm_forward_kernel<<<row_blocks(rows), rows_per_block * 32, 0, be.context().stream()>>>(
      x, detail::device_ptr(gamma), detail::device_ptr(beta), rows, n, static_cast<float>(eps), detail::device_ptr(y), mean,
      rstd);
  detail::check_launch(op);
}

// The one launch sequence of layer_norm_backward and add_layer_norm_backward: the row kernel, then
// dgamma and dbeta as deterministic column sums.
template <class T, class Input, class Gradient>
void launch_layer_norm_backward(cuda_t<T>& be, const T* dy, Input x, const T* gamma, const float* mean, const float* rstd,
                                std::int64_t rows, std::int64_t n, Gradient dx, T* dgamma, T* dbeta, const char* op) {
  if (rows <= 0) return;
  const auto* g = detail::device_ptr(dy);
  const float *mu = mean, *inv = rstd;
  layer_norm_backward_kernel<<<row_blocks(rows), rows_per_block * 32, 0, be.context().stream()>>>(
      g, x, detail::device_ptr(gamma), mu, inv, rows, n, dx);
  detail::check_launch(op);
  detail::add_column_sums(
      be, rows, n,
      [=] __device__(index_t r, index_t j) { return to_float(g[r * n + j]) * (x(r * n + j) - mu[r]) * inv[r]; },
      detail::device_ptr(dgamma));
  detail::add_column_sums(be, rows, n, [=] __device__(index_t r, index_t j) { return to_float(g[r * n + j]); },
                          detail::device_ptr(dbeta));
}

}  // namespace

template <class T>
void layer_norm_forward(cuda_t<T>& be, const T* x, const T* gamma, const T* beta, std::int64_t rows, std::int64_t n,
                        double eps, T* y, float* mean, float* rstd) {
  launch_layer_norm_forward(be, plain_input<detail::device_t<T>>{detail::device_ptr(x)}, gamma, beta, rows, n, eps, y,
                            mean, rstd, "layer_norm_forward");
}

template <class T>
void layer_norm_backward(cuda_t<T>& be, const T* dy, const T* x, const T* gamma, const float* mean, const float* rstd,
                         std::int64_t rows, std::int64_t n, T* dx, T* dgamma, T* dbeta) {
  using D = detail::device_t<T>;
  launch_layer_norm_backward(be, dy, plain_input<D>{detail::device_ptr(x)}, gamma, mean, rstd, rows, n,
                             plain_gradient<D>{detail::device_ptr(dx)}, dgamma, dbeta, "layer_norm_backward");
}

// The standard kernels run the residual add and LayerNorm as two ops, through a scratch sum.
template <class T>
void add_layer_norm_forward(cuda_t<T>& be, const T* a, const T* b, const T* gamma, const T* beta, std::int64_t rows,
                            std::int64_t n, double eps, T* y, float* mean, float* rstd) {
  if (!be.context().fused()) {
    const detail::scratch<T> sum(be, rows * n);
    add(be, a, b, sum.get(), rows * n);
    layer_norm_forward(be, sum.get(), gamma, beta, rows, n, eps, y, mean, rstd);
    return;
  }
  launch_layer_norm_forward(be, summed_input<detail::device_t<T>>{detail::device_ptr(a), detail::device_ptr(b)}, gamma,
                            beta, rows, n, eps, y, mean, rstd, "add_layer_norm_forward");
}

template <class T>
void add_layer_norm_backward(cuda_t<T>& be, const T* dy, const T* a, const T* b, const T* gamma, const float* mean,
                             const float* rstd, std::int64_t rows, std::int64_t n, T* da, T* db, T* dgamma, T* dbeta) {
  using D = detail::device_t<T>;
  if (!be.context().fused()) {
    const detail::scratch<T> sum(be, rows * n), dsum(be, rows * n);
    add(be, a, b, sum.get(), rows * n);
    fill(be, dsum.get(), T(0), rows * n);
    layer_norm_backward(be, dy, sum.get(), gamma, mean, rstd, rows, n, dsum.get(), dgamma, dbeta);
    for (T* summand : {da, db})  // a summand that needs no gradient has none
      if (summand != nullptr) accumulate(be, summand, dsum.get(), rows * n);
    return;
  }
  launch_layer_norm_backward(be, dy, summed_input<D>{detail::device_ptr(a), detail::device_ptr(b)}, gamma, mean, rstd,
                             rows, n, summed_gradient<D>{detail::device_ptr(da), detail::device_ptr(db)}, dgamma, dbeta,
                             "add_layer_norm_backward");
}

#define DNABERT_INSTANTIATE_NORMALIZATION(T)                                                                           \
  template void layer_norm_forward<T>(cuda_t<T>&, const T*, const T*, const T*, std::int64_t, std::int64_t, double, T*, \
                                      float*, float*);                                                                \
  template void layer_norm_backward<T>(cuda_t<T>&, const T*, const T*, const T*, const float*, const float*,            \
                                       std::int64_t, std::int64_t, T*, T*, T*);                                         \
  template void add_layer_norm_forward<T>(cuda_t<T>&, const T*, const T*, const T*, const T*, std::int64_t, std::int64_t, \
                                          double, T*, float*, float*);                                                 \
  template void add_layer_norm_backward<T>(cuda_t<T>&, const T*, const T*, const T*, const T*, const float*,           \
                                           const float*, std::int64_t, std::int64_t, T*, T*, T*, T*);
DNABERT_INSTANTIATE_NORMALIZATION(float)
DNABERT_INSTANTIATE_NORMALIZATION(bfloat16)

}  // namespace dnabert::backend
