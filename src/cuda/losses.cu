// Losses on CUDA, each forward next to its backward. Per-row terms are computed on the
// device and added on the host in a fixed order, so a result never depends on scheduling.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "common.cuh"
#include "dnabert/backend/cuda/ops.hpp"

namespace dnabert::backend {
namespace {

using detail::for_each;
using detail::from_float;
using detail::to_host;
using detail::index_t;
using detail::to_float;

constexpr int loss_threads = 256;

// One block per row: softmax into probs, and the row's weighted negative log-likelihood.
template <class D>
__global__ void cross_entropy_rows(const D* logits, const std::int32_t* labels, const D* class_weights, index_t classes,
                                   D* probs, std::int32_t ignore_label, double* row_loss, double* row_weight) {
  const index_t row = blockIdx.x;
  const D* z = logits + row * classes;
  D* p = probs + row * classes;
  float top = -INFINITY;
  for (index_t c = threadIdx.x; c < classes; c += blockDim.x) top = fmaxf(top, to_float(z[c]));
  top = detail::block_max(top);
  float sum = 0;
  for (index_t c = threadIdx.x; c < classes; c += blockDim.x) sum += expf(to_float(z[c]) - top);
  sum = detail::block_sum(sum);
  for (index_t c = threadIdx.x; c < classes; c += blockDim.x) p[c] = from_float<D>(expf(to_float(z[c]) - top) / sum);
  if (threadIdx.x == 0) {
    const std::int32_t label = labels[row];
    if (label == ignore_label) {
      row_loss[row] = 0;
      row_weight[row] = 0;
    } else {
      const double weight = class_weights == nullptr ? 1.0 : static_cast<double>(to_float(class_weights[label]));
      row_loss[row] = weight * -(static_cast<double>(to_float(z[label]) - top) - log(static_cast<double>(sum)));
      row_weight[row] = weight;
    }
  }
}

template <class D>
__global__ void cross_entropy_grad(const D* probs, const std::int32_t* labels, const D* class_weights, index_t rows,
                                   index_t classes, float factor, D* dlogits, std::int32_t ignore_label) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < rows * classes;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
    const std::int32_t label = labels[i / classes];
    if (label == ignore_label) continue;
    const float row_factor = class_weights == nullptr ? factor : factor * to_float(class_weights[label]);
    dlogits[i] = from_float<D>(to_float(dlogits[i]) + row_factor * (to_float(probs[i]) - (i % classes == label ? 1.0f : 0.0f)));
  }
}

}  // namespace

template <class T>
std::pair<double, double> cross_entropy_forward(cuda_t<T>& be, const T* logits, const std::int32_t* labels,
                                                const T* class_weights, std::int64_t rows, std::int64_t classes, T* probs,
                                                std::int32_t ignore_label) {
  if (rows == 0) return {0.0, 0.0};
  detail::scratch<double> terms(be, 2 * rows);
  cross_entropy_rows<<<static_cast<unsigned>(rows), loss_threads, 0, be.context().stream()>>>(
      detail::device_ptr(logits), labels, detail::device_ptr(class_weights), classes, detail::device_ptr(probs),
      ignore_label, terms.get(), terms.get() + rows);
  detail::check_launch("cross_entropy_rows");
  const auto host = to_host(be, terms.get(), 2 * rows);
  const double total = std::accumulate(host.begin(), host.begin() + rows, 0.0);
  const double total_weight = std::accumulate(host.begin() + rows, host.end(), 0.0);
  return {total_weight == 0 ? 0.0 : total / total_weight, total_weight};
}

template <class T>
void cross_entropy_backward(cuda_t<T>& be, const T* probs, const std::int32_t* labels, const T* class_weights,
                            std::int64_t rows, std::int64_t classes, double total_weight, T dloss, T* dlogits,
                            std::int32_t ignore_label) {
  if (total_weight == 0 || rows == 0) return;
  const float factor = static_cast<float>(static_cast<double>(dloss) / total_weight);
  cross_entropy_grad<<<detail::grid_for(rows * classes), cuda_launch::block_threads, 0, be.context().stream()>>>(
      detail::device_ptr(probs), labels, detail::device_ptr(class_weights), rows, classes, factor,
      detail::device_ptr(dlogits), ignore_label);
  detail::check_launch("cross_entropy_grad");
}

template <class T>
double mse_forward(cuda_t<T>& be, const T* predictions, const T* targets, std::int64_t n) {
  if (n == 0) return 0.0;
  const auto p = to_host(be, predictions, n);
  const auto t = to_host(be, targets, n);
  double total = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double diff = static_cast<double>(static_cast<float>(p[i])) - static_cast<double>(static_cast<float>(t[i]));
    total += diff * diff;
  }
  return total / static_cast<double>(n);
}

template <class T>
void mse_backward(cuda_t<T>& be, const T* predictions, const T* targets, std::int64_t n, T dloss, T* dpredictions) {
  using D = detail::device_t<T>;
  const auto *p = detail::device_ptr(predictions), *t = detail::device_ptr(targets);
  auto* out = detail::device_ptr(dpredictions);
  const float factor = static_cast<float>(dloss) * 2.0f / static_cast<float>(n);
  for_each(
      be, n,
      [=] __device__(index_t i) { out[i] = from_float<D>(to_float(out[i]) + factor * (to_float(p[i]) - to_float(t[i]))); },
      "mse_backward");
}

// The logits of a multi-label batch are few ([batch, labels]): summed on the host in double, as mse_forward.
template <class T>
double bce_with_logits_forward(cuda_t<T>& be, const T* logits, const T* targets, std::int64_t n) {
  if (n == 0) return 0.0;
  const auto x = to_host(be, logits, n);
  const auto t = to_host(be, targets, n);
  double total = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto value = static_cast<double>(static_cast<float>(x[i]));
    total += std::max(value, 0.0) - value * static_cast<double>(static_cast<float>(t[i])) +
             std::log1p(std::exp(-std::abs(value)));
  }
  return total / static_cast<double>(n);
}

template <class T>
void bce_with_logits_backward(cuda_t<T>& be, const T* logits, const T* targets, std::int64_t n, T dloss, T* dlogits) {
  using D = detail::device_t<T>;
  const auto *x = detail::device_ptr(logits), *t = detail::device_ptr(targets);
  auto* out = detail::device_ptr(dlogits);
  const float factor = static_cast<float>(dloss) / static_cast<float>(n);
  for_each(
      be, n,
      [=] __device__(index_t i) {
        const float value = to_float(x[i]);
        const float e = expf(-fabsf(value));
        const float sigmoid = value >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
        out[i] = from_float<D>(to_float(out[i]) + factor * (sigmoid - to_float(t[i])));
      },
      "bce_with_logits_backward");
}

#define DNABERT_INSTANTIATE_LOSSES(T)                                                                                  \
  template std::pair<double, double> cross_entropy_forward<T>(cuda_t<T>&, const T*, const std::int32_t*, const T*,        \
                                                              std::int64_t, std::int64_t, T*, std::int32_t);              \
  template void cross_entropy_backward<T>(cuda_t<T>&, const T*, const std::int32_t*, const T*, std::int64_t, std::int64_t, \
                                          double, T, T*, std::int32_t);                                                   \
  template double mse_forward<T>(cuda_t<T>&, const T*, const T*, std::int64_t);                                           \
  template void mse_backward<T>(cuda_t<T>&, const T*, const T*, std::int64_t, T, T*);                                     \
  template double bce_with_logits_forward<T>(cuda_t<T>&, const T*, const T*, std::int64_t);                               \
  template void bce_with_logits_backward<T>(cuda_t<T>&, const T*, const T*, std::int64_t, T, T*);
DNABERT_INSTANTIATE_LOSSES(float)
DNABERT_INSTANTIATE_LOSSES(bfloat16)

}  // namespace dnabert::backend
