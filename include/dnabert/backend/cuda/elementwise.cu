// Element-wise CUDA ops: bias, sums, fill and scale, GELU, tanh, dropout. Grid-stride loops over
// the elements, one thread per element per pass.
#include "dnabert/backend/cuda/common.cuh"
#include "dnabert/backend/cuda/reductions.cuh"
#include "dnabert/backend/cuda_ops.hpp"
#include "dnabert/backend/random.hpp"

namespace dnabert::backend {
namespace {

using detail::index_t;

// Runs f(i) for every i in [0, n) on the backend's stream.
template <class F>
__global__ void for_each_kernel(index_t n, F f) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    f(i);
}

template <class F>
void for_each(cuda& be, std::int64_t n, F f, const char* name) {
  if (n <= 0) return;
  for_each_kernel<<<detail::grid_for(n), cuda_launch::block_threads, 0, be.context().stream()>>>(n, f);
  detail::check_launch(name);
}

constexpr float inv_sqrt2 = 0.70710678118654752440f;
constexpr float inv_sqrt_2pi = 0.39894228040143267794f;

}  // namespace

void add_bias(cuda& be, float* y, const float* bias, std::int64_t rows, std::int64_t n) {
  for_each(be, rows * n, [=] __device__(index_t i) { y[i] += bias[i % n]; }, "add_bias");
}

void add_bias_grad(cuda& be, const float* dy, std::int64_t rows, std::int64_t n, float* dbias) {
  detail::add_column_sums(be, rows, n, [=] __device__(index_t r, index_t j) { return dy[r * n + j]; }, dbias);
}

void add(cuda& be, const float* a, const float* b, float* out, std::int64_t n) {
  for_each(be, n, [=] __device__(index_t i) { out[i] = a[i] + b[i]; }, "add");
}

void accumulate(cuda& be, float* dst, const float* src, std::int64_t n) {
  for_each(be, n, [=] __device__(index_t i) { dst[i] += src[i]; }, "accumulate");
}

void fill(cuda& be, float* dst, float value, std::int64_t n) {
  for_each(be, n, [=] __device__(index_t i) { dst[i] = value; }, "fill");
}

void scale(cuda& be, float* x, float factor, std::int64_t n) {
  for_each(be, n, [=] __device__(index_t i) { x[i] *= factor; }, "scale");
}

void gelu_forward(cuda& be, const float* x, float* y, std::int64_t n) {
  for_each(be, n, [=] __device__(index_t i) { y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * inv_sqrt2)); }, "gelu_forward");
}

void gelu_backward(cuda& be, const float* x, const float* dy, float* dx, std::int64_t n) {
  for_each(
      be, n,
      [=] __device__(index_t i) {
        const float cdf = 0.5f * (1.0f + erff(x[i] * inv_sqrt2));
        const float pdf = inv_sqrt_2pi * expf(-0.5f * x[i] * x[i]);
        dx[i] += dy[i] * (cdf + x[i] * pdf);
      },
      "gelu_backward");
}

void tanh_forward(cuda& be, const float* x, float* y, std::int64_t n) {
  for_each(be, n, [=] __device__(index_t i) { y[i] = tanhf(x[i]); }, "tanh_forward");
}

void tanh_backward(cuda& be, const float* y, const float* dy, float* dx, std::int64_t n) {
  for_each(be, n, [=] __device__(index_t i) { dx[i] += dy[i] * (1.0f - y[i] * y[i]); }, "tanh_backward");
}

void dropout_forward(cuda& be, const float* x, float* y, std::uint8_t* keep, std::int64_t n, double p,
                     std::uint64_t seed, std::uint64_t offset) {
  const float factor = static_cast<float>(1.0 / (1.0 - p));
  for_each(
      be, n,
      [=] __device__(index_t i) {
        const bool kept = uniform_from_counter(seed, offset + static_cast<std::uint64_t>(i)) >= p;
        keep[i] = kept ? 1 : 0;
        y[i] = kept ? x[i] * factor : 0.0f;
      },
      "dropout_forward");
}

void dropout_backward(cuda& be, const float* dy, const std::uint8_t* keep, float* dx, std::int64_t n, double p) {
  const float factor = static_cast<float>(1.0 / (1.0 - p));
  for_each(be, n, [=] __device__(index_t i) { if (keep[i]) dx[i] += dy[i] * factor; }, "dropout_backward");
}

void embedding_forward(cuda& be, const std::int32_t* ids, std::int64_t n, const float* table, std::int64_t width,
                       float* out, bool accumulate_into) {
  for_each(
      be, n * width,
      [=] __device__(index_t i) {
        const float value = table[static_cast<index_t>(ids[i / width]) * width + i % width];
        out[i] = accumulate_into ? out[i] + value : value;
      },
      "embedding_forward");
}

void embedding_backward(cuda& be, const std::int32_t* ids, std::int64_t n, const float* dout, std::int64_t width,
                        float* dtable) {
  for_each(
      be, n * width,
      [=] __device__(index_t i) { atomicAdd(dtable + static_cast<index_t>(ids[i / width]) * width + i % width, dout[i]); },
      "embedding_backward");
}

void gather_strided_rows(cuda& be, const float* src, std::int64_t count, std::int64_t stride_rows, std::int64_t width,
                         float* out) {
  for_each(be, count * width, [=] __device__(index_t i) { out[i] = src[(i / width) * stride_rows * width + i % width]; },
           "gather_strided_rows");
}

void scatter_strided_rows_add(cuda& be, const float* dout, std::int64_t count, std::int64_t stride_rows,
                              std::int64_t width, float* dsrc) {
  for_each(be, count * width, [=] __device__(index_t i) { dsrc[(i / width) * stride_rows * width + i % width] += dout[i]; },
           "scatter_strided_rows_add");
}

void mse_backward(cuda& be, const float* predictions, const float* targets, std::int64_t n, float dloss,
                  float* dpredictions) {
  const float count = static_cast<float>(n);
  for_each(be, n, [=] __device__(index_t i) { dpredictions[i] += dloss * 2.0f * (predictions[i] - targets[i]) / count; },
           "mse_backward");
}

void adamw_update(cuda& be, float* param, const float* grad, float* m, float* v, std::int64_t n, double lr,
                  double beta1, double beta2, double eps, double weight_decay, double bias_correction1,
                  double bias_correction2) {
  const float decay_factor = static_cast<float>(1.0 - lr * weight_decay);
  const float m_weight = static_cast<float>(1.0 - beta1);
  const float v_keep = static_cast<float>(beta2);
  const float v_weight = static_cast<float>(1.0 - beta2);
  const float step_size = static_cast<float>(lr / bias_correction1);
  const float bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  const float epsilon = static_cast<float>(eps);
  // torch's statement order, each result rounded to float; no fused multiply-adds (__fmul_rn and
  // friends), so the update matches the CPU backend's to the last bit.
  for_each(
      be, n,
      [=] __device__(index_t i) {
        const float g = grad[i];
        const float p = __fmul_rn(param[i], decay_factor);
        const float exp_avg = __fadd_rn(m[i], __fmul_rn(m_weight, __fsub_rn(g, m[i])));
        const float exp_avg_sq = __fadd_rn(__fmul_rn(v[i], v_keep), __fmul_rn(__fmul_rn(v_weight, g), g));
        const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(exp_avg_sq), bias_correction2_sqrt), epsilon);
        param[i] = __fsub_rn(p, __fmul_rn(step_size, __fdiv_rn(exp_avg, denom)));
        m[i] = exp_avg;
        v[i] = exp_avg_sq;
      },
      "adamw_update");
}

}  // namespace dnabert::backend
