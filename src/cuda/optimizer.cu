// Optimizer ops on CUDA: torch.optim.AdamW (one tensor, or many in one launch), the squared
// gradient norm over a fixed grid (the same value on every run) and the gradient scaling that
// clipping applies. Per-block partial sums are added on the host in a fixed order.
#include <algorithm>
#include <numeric>
#include <vector>

#include "common.cuh"
#include "dnabert/backend/cuda/ops.hpp"

namespace dnabert::backend {
namespace {

using detail::for_each;
using detail::from_float;
using detail::index_t;
using detail::to_float;
using detail::to_host;

constexpr unsigned square_sum_blocks = 1024;

// Block partials of one tensor's sum of squares; the grid is fixed, so the value is too.
template <class D>
__device__ void square_sums_of(const D* x, index_t n, double* partial) {
  double total = 0;
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
    const double value = to_float(x[i]);
    total += value * value;
  }
  total = detail::block_sum(total);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

template <class D>
__global__ void square_sums(const D* x, index_t n, double* partial) {
  square_sums_of(x, n, partial);
}

// Tensor blockIdx.y of a list, its partials in row blockIdx.y of `partial`.
template <class D>
__global__ void square_sums_of_tensors(const tensor_extent<D>* tensors, double* partial) {
  const tensor_extent<D> t = tensors[blockIdx.y];
  square_sums_of(t.data, t.n, partial + blockIdx.y * static_cast<index_t>(gridDim.x));
}

}  // namespace

template <class T>
void scale(cuda_t<T>& be, T* x, double factor, std::int64_t n) {
  using D = detail::device_t<T>;
  auto* d = detail::device_ptr(x);
  const float f = static_cast<float>(factor);
  for_each(be, n, [=] __device__(index_t i) { d[i] = from_float<D>(to_float(d[i]) * f); }, "scale");
}

template <class T>
void add_widened(cuda_t<T>& be, const T* x, float* sum, std::int64_t n) {
  const auto* d = detail::device_ptr(x);
  for_each(be, n, [=] __device__(index_t i) { sum[i] += to_float(d[i]); }, "add_widened");
}

template <class T>
void round_scaled(cuda_t<T>& be, const float* sum, double factor, T* y, std::int64_t n) {
  using D = detail::device_t<T>;
  auto* d = detail::device_ptr(y);
  const float f = static_cast<float>(factor);
  for_each(be, n, [=] __device__(index_t i) { d[i] = from_float<D>(sum[i] * f); }, "round_scaled");
}

namespace {

// AdamW's per-call constants, rounded to float once on the host.
struct adamw_constants {
  float decay_factor, m_weight, v_keep, v_weight, step_size, bias_correction2_sqrt, epsilon;
};

adamw_constants make_adamw_constants(double lr, double beta1, double beta2, double eps, double weight_decay,
                                     double bias_correction1, double bias_correction2) {
  return {static_cast<float>(1.0 - lr * weight_decay), static_cast<float>(1.0 - beta1), static_cast<float>(beta2),
          static_cast<float>(1.0 - beta2), static_cast<float>(lr / bias_correction1),
          static_cast<float>(std::sqrt(bias_correction2)), static_cast<float>(eps)};
}

// One element of torch.optim.AdamW in torch's statement order, each result rounded to float; no
// fused multiply-adds (__fmul_rn and friends), so the float update matches the CPU backend's.
// Updates p, m and v in place.
__device__ inline void adamw_element(const adamw_constants& c, float g, float& p, float& m, float& v) {
  p = __fmul_rn(p, c.decay_factor);
  m = __fadd_rn(m, __fmul_rn(c.m_weight, __fsub_rn(g, m)));
  v = __fadd_rn(__fmul_rn(v, c.v_keep), __fmul_rn(__fmul_rn(c.v_weight, g), g));
  const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(v), c.bias_correction2_sqrt), c.epsilon);
  p = __fsub_rn(p, __fmul_rn(c.step_size, __fdiv_rn(m, denom)));
}

}  // namespace

template <class T>
void adamw_update(cuda_t<T>& be, T* param, const T* grad, T* m, T* v, std::int64_t n, double lr, double beta1,
                  double beta2, double eps, double weight_decay, double bias_correction1, double bias_correction2) {
  using D = detail::device_t<T>;
  auto *pd = detail::device_ptr(param), *md = detail::device_ptr(m), *vd = detail::device_ptr(v);
  const auto* gd = detail::device_ptr(grad);
  const adamw_constants c =
      make_adamw_constants(lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2);
  for_each(
      be, n,
      [=] __device__(index_t i) {
        float p = to_float(pd[i]), mi = to_float(md[i]), vi = to_float(vd[i]);
        adamw_element(c, to_float(gd[i]), p, mi, vi);
        pd[i] = from_float<D>(p);
        md[i] = from_float<D>(mi);
        vd[i] = from_float<D>(vi);
      },
      "adamw_update");
}

namespace {

// One tensor of a multi-tensor AdamW launch as the kernel reads it.
template <class D>
struct device_adamw_tensor {
  D* param;
  const D* grad;
  float* exp_avg;
  float* exp_avg_sq;
  float* master;
  index_t n;
  adamw_constants constants;
};

// Tensor blockIdx.y, grid-stride over its elements.
template <class D>
__global__ void adamw_tensors(const device_adamw_tensor<D>* tensors) {
  const device_adamw_tensor<D> t = tensors[blockIdx.y];
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < t.n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
    float p = t.master != nullptr ? t.master[i] : to_float(t.param[i]);
    float m = t.exp_avg[i], v = t.exp_avg_sq[i];
    adamw_element(t.constants, to_float(t.grad[i]), p, m, v);
    if (t.master != nullptr) t.master[i] = p;
    t.param[i] = from_float<D>(p);
    t.exp_avg[i] = m;
    t.exp_avg_sq[i] = v;
  }
}

}  // namespace

template <class T>
void adamw_update(cuda_t<T>& be, std::span<const adamw_tensor<T>> tensors, const adamw_hyper& h) {
  using D = detail::device_t<T>;
  if (tensors.empty()) return;
  if constexpr (std::is_same_v<T, float>) {
    if (!be.context().fused()) {  // the standard kernels: one launch per tensor (bf16 masters need the multi-tensor kernel)
      for (const auto& t : tensors) {
        if (t.master != nullptr) throw error("adamw_update: float32 parameters have no master copy");
        adamw_update(be, t.param, t.grad, t.exp_avg, t.exp_avg_sq, t.n, h.lr, h.beta1, h.beta2, h.eps, t.weight_decay,
                     t.bias_correction1, t.bias_correction2);
      }
      return;
    }
  }
  if (static_cast<std::int64_t>(tensors.size()) > cuda_launch::max_blocks) throw error("adamw_update: more than 65535 tensors in one launch");
  std::vector<device_adamw_tensor<D>> table;
  std::int64_t largest = 0;
  for (const auto& t : tensors) {
    if (std::is_same_v<T, float> != (t.master == nullptr))
      throw error("adamw_update: bf16 parameters need a float32 master copy, float32 ones have none");
    table.push_back({detail::device_ptr(t.param), detail::device_ptr(t.grad), t.exp_avg, t.exp_avg_sq, t.master, t.n,
                     make_adamw_constants(h.lr, h.beta1, h.beta2, h.eps, t.weight_decay, t.bias_correction1,
                                          t.bias_correction2)});
    largest = std::max(largest, t.n);
  }
  const detail::scratch<device_adamw_tensor<D>> device_table(be, static_cast<std::int64_t>(table.size()));
  upload(be, table.data(), device_table.get(), static_cast<std::int64_t>(table.size()));
  const dim3 grid(static_cast<unsigned>(cuda_launch::blocks_for(largest)), static_cast<unsigned>(table.size()));
  adamw_tensors<D><<<grid, cuda_launch::block_threads, 0, be.context().stream()>>>(device_table.get());
  detail::check_launch("adamw_tensors");
}

template <class T>
double sum_of_squares(cuda_t<T>& be, const T* x, std::int64_t n) {
  if (n == 0) return 0.0;
  detail::scratch<double> partial(be, square_sum_blocks);
  square_sums<<<square_sum_blocks, cuda_launch::block_threads, 0, be.context().stream()>>>(detail::device_ptr(x), n,
                                                                                           partial.get());
  detail::check_launch("square_sums");
  const auto host = to_host(be, partial.get(), square_sum_blocks);
  return std::accumulate(host.begin(), host.end(), 0.0);
}

template <class T>
double sum_of_squares(cuda_t<T>& be, std::span<const tensor_extent<T>> tensors) {
  using D = detail::device_t<T>;
  if (tensors.empty()) return 0.0;
  if (!be.context().fused()) {  // the standard kernels: one launch per tensor, the same sum
    double total = 0;
    for (const auto& t : tensors) total += sum_of_squares(be, t.data, t.n);
    return total;
  }
  const auto count = static_cast<std::int64_t>(tensors.size());
  if (count > cuda_launch::max_blocks) throw error("sum_of_squares: more than 65535 tensors in one launch");
  std::vector<tensor_extent<D>> table;
  for (const auto& t : tensors) table.push_back({detail::device_ptr(t.data), t.n});
  const detail::scratch<tensor_extent<D>> device_table(be, count);
  upload(be, table.data(), device_table.get(), count);
  detail::scratch<double> partial(be, count * square_sum_blocks);
  square_sums_of_tensors<D><<<dim3(square_sum_blocks, static_cast<unsigned>(count)), cuda_launch::block_threads, 0,
                              be.context().stream()>>>(device_table.get(), partial.get());
  detail::check_launch("square_sums_of_tensors");
  const auto host = to_host(be, partial.get(), count * square_sum_blocks);
  double total = 0;  // per tensor, then over the tensors: the single-tensor op's order
  for (std::int64_t t = 0; t < count; ++t)
    total += std::accumulate(host.begin() + t * square_sum_blocks, host.begin() + (t + 1) * square_sum_blocks, 0.0);
  return total;
}

#define DNABERT_INSTANTIATE_OPTIMIZER(T)                                                                              \
  template void scale<T>(cuda_t<T>&, T*, double, std::int64_t);                                                      \
  template void add_widened<T>(cuda_t<T>&, const T*, float*, std::int64_t);                                           \
  template void round_scaled<T>(cuda_t<T>&, const float*, double, T*, std::int64_t);                                  \
  template void adamw_update<T>(cuda_t<T>&, T*, const T*, T*, T*, std::int64_t, double, double, double, double,       \
                                double, double, double);                                                              \
  template void adamw_update<T>(cuda_t<T>&, std::span<const adamw_tensor<T>>, const adamw_hyper&);                     \
  template double sum_of_squares<T>(cuda_t<T>&, const T*, std::int64_t);                                              \
  template double sum_of_squares<T>(cuda_t<T>&, std::span<const tensor_extent<T>>);
DNABERT_INSTANTIATE_OPTIMIZER(float)
DNABERT_INSTANTIATE_OPTIMIZER(bfloat16)

}  // namespace dnabert::backend
