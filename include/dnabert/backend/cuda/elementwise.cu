// Element-wise CUDA ops: bias, sums, fill and scale, GELU, tanh, dropout, embeddings, AdamW.
// Grid-stride loops, one thread per element per pass; arithmetic in float whatever T stores.
#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "dnabert/backend/cuda/common.cuh"
#include "dnabert/backend/cuda/reductions.cuh"
#include "dnabert/backend/cuda/sorted_runs.hpp"
#include "dnabert/backend/cuda_ops.hpp"
#include "dnabert/backend/random.hpp"

namespace dnabert::backend {
namespace {

using detail::from_float;
using detail::index_t;
using detail::to_float;

// Runs f(i) for every i in [0, n) on the backend's stream.
template <class F>
__global__ void for_each_kernel(index_t n, F f) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    f(i);
}

template <class T, class F>
void for_each(cuda_t<T>& be, std::int64_t n, F f, const char* name) {
  if (n <= 0) return;
  for_each_kernel<<<detail::grid_for(n), cuda_launch::block_threads, 0, be.context().stream()>>>(n, f);
  detail::check_launch(name);
}

constexpr float inv_sqrt2 = 0.70710678118654752440f;
constexpr float inv_sqrt_2pi = 0.39894228040143267794f;

}  // namespace

template <class T>
void add_bias(cuda_t<T>& be, T* y, const T* bias, std::int64_t rows, std::int64_t n) {
  using D = detail::device_t<T>;
  auto* yd = detail::device_ptr(y);
  const auto* b = detail::device_ptr(bias);
  for_each(be, rows * n, [=] __device__(index_t i) { yd[i] = from_float<D>(to_float(yd[i]) + to_float(b[i % n])); }, "add_bias");
}

template <class T>
void add_bias_grad(cuda_t<T>& be, const T* dy, std::int64_t rows, std::int64_t n, T* dbias) {
  const auto* d = detail::device_ptr(dy);
  detail::add_column_sums(be, rows, n, [=] __device__(index_t r, index_t j) { return to_float(d[r * n + j]); },
                          detail::device_ptr(dbias));
}

template <class T>
void add(cuda_t<T>& be, const T* a, const T* b, T* out, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto *ad = detail::device_ptr(a), *bd = detail::device_ptr(b);
  auto* od = detail::device_ptr(out);
  for_each(be, n, [=] __device__(index_t i) { od[i] = from_float<D>(to_float(ad[i]) + to_float(bd[i])); }, "add");
}

template <class T>
void accumulate(cuda_t<T>& be, T* dst, const T* src, std::int64_t n) {
  using D = detail::device_t<T>;
  auto* d = detail::device_ptr(dst);
  const auto* s = detail::device_ptr(src);
  for_each(be, n, [=] __device__(index_t i) { d[i] = from_float<D>(to_float(d[i]) + to_float(s[i])); }, "accumulate");
}

template <class T>
void fill(cuda_t<T>& be, T* dst, T value, std::int64_t n) {
  using D = detail::device_t<T>;
  auto* d = detail::device_ptr(dst);
  const float v = static_cast<float>(value);
  for_each(be, n, [=] __device__(index_t i) { d[i] = from_float<D>(v); }, "fill");
}

template <class T>
void scale(cuda_t<T>& be, T* x, T factor, std::int64_t n) {
  using D = detail::device_t<T>;
  auto* d = detail::device_ptr(x);
  const float f = static_cast<float>(factor);
  for_each(be, n, [=] __device__(index_t i) { d[i] = from_float<D>(to_float(d[i]) * f); }, "scale");
}

template <class T>
void gelu_forward(cuda_t<T>& be, const T* x, T* y, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto* xd = detail::device_ptr(x);
  auto* yd = detail::device_ptr(y);
  for_each(
      be, n,
      [=] __device__(index_t i) {
        const float v = to_float(xd[i]);
        yd[i] = from_float<D>(0.5f * v * (1.0f + erff(v * inv_sqrt2)));
      },
      "gelu_forward");
}

template <class T>
void gelu_backward(cuda_t<T>& be, const T* x, const T* dy, T* dx, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto *xd = detail::device_ptr(x), *g = detail::device_ptr(dy);
  auto* out = detail::device_ptr(dx);
  for_each(
      be, n,
      [=] __device__(index_t i) {
        const float v = to_float(xd[i]);
        const float cdf = 0.5f * (1.0f + erff(v * inv_sqrt2));
        const float pdf = inv_sqrt_2pi * expf(-0.5f * v * v);
        out[i] = from_float<D>(to_float(out[i]) + to_float(g[i]) * (cdf + v * pdf));
      },
      "gelu_backward");
}

template <class T>
void tanh_forward(cuda_t<T>& be, const T* x, T* y, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto* xd = detail::device_ptr(x);
  auto* yd = detail::device_ptr(y);
  for_each(be, n, [=] __device__(index_t i) { yd[i] = from_float<D>(tanhf(to_float(xd[i]))); }, "tanh_forward");
}

template <class T>
void tanh_backward(cuda_t<T>& be, const T* y, const T* dy, T* dx, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto *yd = detail::device_ptr(y), *g = detail::device_ptr(dy);
  auto* out = detail::device_ptr(dx);
  for_each(
      be, n,
      [=] __device__(index_t i) {
        const float v = to_float(yd[i]);
        out[i] = from_float<D>(to_float(out[i]) + to_float(g[i]) * (1.0f - v * v));
      },
      "tanh_backward");
}

template <class T>
void dropout_forward(cuda_t<T>& be, const T* x, T* y, std::uint8_t* keep, std::int64_t n, double p, std::uint64_t seed,
                     std::uint64_t offset) {
  using D = detail::device_t<T>;
  const auto* xd = detail::device_ptr(x);
  auto* yd = detail::device_ptr(y);
  const float factor = static_cast<float>(1.0 / (1.0 - p));
  for_each(
      be, n,
      [=] __device__(index_t i) {
        const bool kept = philox_uniform(seed, offset + static_cast<std::uint64_t>(i)) >= p;
        keep[i] = kept ? 1 : 0;
        yd[i] = from_float<D>(kept ? to_float(xd[i]) * factor : 0.0f);
      },
      "dropout_forward");
}

template <class T>
void dropout_backward(cuda_t<T>& be, const T* dy, const std::uint8_t* keep, T* dx, std::int64_t n, double p) {
  using D = detail::device_t<T>;
  const auto* g = detail::device_ptr(dy);
  auto* out = detail::device_ptr(dx);
  const float factor = static_cast<float>(1.0 / (1.0 - p));
  for_each(
      be, n,
      [=] __device__(index_t i) {
        if (keep[i]) out[i] = from_float<D>(to_float(out[i]) + to_float(g[i]) * factor);
      },
      "dropout_backward");
}

template <class T>
void embedding_forward(cuda_t<T>& be, const std::int32_t* ids, std::int64_t n, const T* table, std::int64_t width, T* out,
                       bool accumulate_into) {
  using D = detail::device_t<T>;
  const auto* t = detail::device_ptr(table);
  auto* o = detail::device_ptr(out);
  for_each(
      be, n * width,
      [=] __device__(index_t i) {
        const float value = to_float(t[static_cast<index_t>(ids[i / width]) * width + i % width]);
        o[i] = from_float<D>(accumulate_into ? to_float(o[i]) + value : value);
      },
      "embedding_forward");
}

// Deterministic, no atomics: (id, position) pairs stable-sorted by id (CUB's radix sort keeps equal
// ids in position order), then one thread per (run start, column) adds the run's rows in
// position order, rounding to T after each add: the CPU backend's sum, bit for bit.
template <class T>
void embedding_backward(cuda_t<T>& be, const std::int32_t* ids, std::int64_t n, const T* dout, std::int64_t width,
                        T* dtable) {
  if (n <= 0 || width <= 0) return;
  if (n > std::numeric_limits<int>::max())
    throw error("embedding_backward: " + std::to_string(n) + " ids exceed CUB's int item count");
  using D = detail::device_t<T>;
  const detail::scratch<std::int32_t> positions(be, n), sorted_ids(be, n), sorted_positions(be, n);
  auto* iota = positions.get();
  for_each(be, n, [=] __device__(index_t i) { iota[i] = static_cast<std::int32_t>(i); }, "embedding_backward positions");
  const auto sort = [&](void* temp, std::size_t& temp_bytes) {
    detail::check_cuda(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, ids, sorted_ids.get(), iota,
                                                       sorted_positions.get(), static_cast<int>(n), 0,
                                                       static_cast<int>(sizeof(std::int32_t) * 8),
                                                       be.context().stream()),
                       "cub::DeviceRadixSort::SortPairs");
  };
  std::size_t temp_bytes = 0;
  sort(nullptr, temp_bytes);  // CUB's size query
  const detail::scratch<std::byte> temp(be, static_cast<std::int64_t>(std::max<std::size_t>(temp_bytes, 1)));
  sort(temp.get(), temp_bytes);
  const auto* keys = sorted_ids.get();
  const auto* order = sorted_positions.get();
  const auto* g = detail::device_ptr(dout);
  auto* t = detail::device_ptr(dtable);
  for_each(
      be, n * width,
      [=] __device__(index_t i) {
        const index_t start = i / width;
        if (!sorted_runs::starts_run(keys, start)) return;
        const index_t column = i % width;
        D& slot = t[static_cast<index_t>(keys[start]) * width + column];
        D sum = slot;
        for (index_t k = start, end = sorted_runs::run_end(keys, n, start); k < end; ++k)
          sum = from_float<D>(to_float(sum) + to_float(g[static_cast<index_t>(order[k]) * width + column]));
        slot = sum;
      },
      "embedding_backward");
}

template <class T>
void scatter_rows(cuda_t<T>& be, const std::int32_t* ids, std::int64_t n, const T* src, std::int64_t width, T* dst) {
  const auto* s = detail::device_ptr(src);
  auto* d = detail::device_ptr(dst);
  for_each(
      be, n * width, [=] __device__(index_t i) { d[static_cast<index_t>(ids[i / width]) * width + i % width] = s[i]; },
      "scatter_rows");
}

template <class T>
void gather_strided_rows(cuda_t<T>& be, const T* src, std::int64_t count, std::int64_t stride_rows, std::int64_t width,
                         T* out) {
  const auto* s = detail::device_ptr(src);
  auto* o = detail::device_ptr(out);
  for_each(be, count * width, [=] __device__(index_t i) { o[i] = s[(i / width) * stride_rows * width + i % width]; },
           "gather_strided_rows");
}

template <class T>
void scatter_strided_rows_add(cuda_t<T>& be, const T* dout, std::int64_t count, std::int64_t stride_rows,
                              std::int64_t width, T* dsrc) {
  using D = detail::device_t<T>;
  const auto* g = detail::device_ptr(dout);
  auto* s = detail::device_ptr(dsrc);
  for_each(
      be, count * width,
      [=] __device__(index_t i) {
        D& slot = s[(i / width) * stride_rows * width + i % width];
        slot = from_float<D>(to_float(slot) + to_float(g[i]));
      },
      "scatter_strided_rows_add");
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

#define DNABERT_INSTANTIATE_ELEMENTWISE(T)                                                                            \
  template void add_bias<T>(cuda_t<T>&, T*, const T*, std::int64_t, std::int64_t);                                   \
  template void add_bias_grad<T>(cuda_t<T>&, const T*, std::int64_t, std::int64_t, T*);                              \
  template void add<T>(cuda_t<T>&, const T*, const T*, T*, std::int64_t);                                            \
  template void accumulate<T>(cuda_t<T>&, T*, const T*, std::int64_t);                                               \
  template void fill<T>(cuda_t<T>&, T*, T, std::int64_t);                                                            \
  template void scale<T>(cuda_t<T>&, T*, T, std::int64_t);                                                           \
  template void gelu_forward<T>(cuda_t<T>&, const T*, T*, std::int64_t);                                             \
  template void gelu_backward<T>(cuda_t<T>&, const T*, const T*, T*, std::int64_t);                                  \
  template void tanh_forward<T>(cuda_t<T>&, const T*, T*, std::int64_t);                                             \
  template void tanh_backward<T>(cuda_t<T>&, const T*, const T*, T*, std::int64_t);                                  \
  template void dropout_forward<T>(cuda_t<T>&, const T*, T*, std::uint8_t*, std::int64_t, double, std::uint64_t,     \
                                   std::uint64_t);                                                                   \
  template void dropout_backward<T>(cuda_t<T>&, const T*, const std::uint8_t*, T*, std::int64_t, double);            \
  template void embedding_forward<T>(cuda_t<T>&, const std::int32_t*, std::int64_t, const T*, std::int64_t, T*, bool); \
  template void embedding_backward<T>(cuda_t<T>&, const std::int32_t*, std::int64_t, const T*, std::int64_t, T*);   \
  template void scatter_rows<T>(cuda_t<T>&, const std::int32_t*, std::int64_t, const T*, std::int64_t, T*);        \
  template void gather_strided_rows<T>(cuda_t<T>&, const T*, std::int64_t, std::int64_t, std::int64_t, T*);          \
  template void scatter_strided_rows_add<T>(cuda_t<T>&, const T*, std::int64_t, std::int64_t, std::int64_t, T*);     \
  template void mse_backward<T>(cuda_t<T>&, const T*, const T*, std::int64_t, T, T*);                                \
  template void adamw_update<T>(cuda_t<T>&, T*, const T*, T*, T*, std::int64_t, double, double, double, double,      \
                                double, double, double);                                                             \
  template void adamw_update<T>(cuda_t<T>&, std::span<const adamw_tensor<T>>, const adamw_hyper&);
DNABERT_INSTANTIATE_ELEMENTWISE(float)
DNABERT_INSTANTIATE_ELEMENTWISE(bfloat16)

}  // namespace dnabert::backend
