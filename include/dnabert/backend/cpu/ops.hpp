#pragma once
// Every op of the op list (ops/op_list.hpp) for the CPU backend; the optimizer's are in
// optimizer_ops.hpp, included here so that this header is the whole backend. Each op has the same
// name and arguments on every backend (found by argument-dependent lookup on the backend type),
// takes raw row-major buffers plus sizes, and backward ops ADD into their gradient outputs.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>  // vectorised erf

#include "dnabert/backend/cpu/backend.hpp"
#include "dnabert/backend/cpu/blas.hpp"
#include "dnabert/backend/cpu/low_precision.hpp"
#include "dnabert/backend/cpu/onednn_matmul.hpp"
#include "dnabert/backend/cpu/optimizer_ops.hpp"
#include "dnabert/backend/sorted_runs.hpp"
#include "dnabert/core/alibi.hpp"
#include "dnabert/core/rng.hpp"
#include "dnabert/ops/op_list.hpp"

namespace dnabert::backend {

using ops::attention_shape;

namespace detail {

template <class T>
using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using matrix_view = Eigen::Map<row_matrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using const_matrix_view = Eigen::Map<const row_matrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

/// A rows × cols row-major view whose rows are `stride` elements apart.
template <class T>
const_matrix_view<T> view(const T* data, std::int64_t rows, std::int64_t cols, std::int64_t stride) {
  return const_matrix_view<T>(data, rows, cols, Eigen::OuterStride<>(stride));
}
template <class T>
matrix_view<T> view(T* data, std::int64_t rows, std::int64_t cols, std::int64_t stride) {
  return matrix_view<T>(data, rows, cols, Eigen::OuterStride<>(stride));
}

/// C = alpha * op(A) * op(B) + beta * C on strided views (beta 0 ignores C's old contents).
template <class T, class A, class B, class C>
void gemm_views(bool trans_a, bool trans_b, T alpha, const A& a, const B& b, T beta, C&& c) {
  if (beta == T(0)) {
    if (!trans_a && !trans_b) c.noalias() = alpha * (a * b);
    if (!trans_a && trans_b) c.noalias() = alpha * (a * b.transpose());
    if (trans_a && !trans_b) c.noalias() = alpha * (a.transpose() * b);
    if (trans_a && trans_b) c.noalias() = alpha * (a.transpose() * b.transpose());
    return;
  }
  if (beta != T(1)) c *= beta;
  if (!trans_a && !trans_b) c.noalias() += alpha * (a * b);
  if (!trans_a && trans_b) c.noalias() += alpha * (a * b.transpose());
  if (trans_a && !trans_b) c.noalias() += alpha * (a.transpose() * b);
  if (trans_a && trans_b) c.noalias() += alpha * (a.transpose() * b.transpose());
}

template <class T>
using array_view = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using const_array_view = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

/// Splits [0, n) into one contiguous chunk per OpenMP thread and runs body(begin, count) on
/// each, so element-wise ops run as vectorised Eigen array expressions on every core.
template <class Body>
void parallel_chunks(std::int64_t n, Body&& body) {
#pragma omp parallel
  {
#ifdef _OPENMP
    const std::int64_t parts = omp_get_num_threads();
    const std::int64_t part = omp_get_thread_num();
#else
    const std::int64_t parts = 1;
    const std::int64_t part = 0;
#endif
    const std::int64_t begin = n * part / parts;
    const std::int64_t end = n * (part + 1) / parts;
    if (end > begin) body(begin, end - begin);
  }
}

/// y[i] = keep[i] ? x[i] / (1 - p) : 0 with keep[i] = (philox_uniform(seed, offset + i) >= p); y may be x.
template <class T>
void draw_dropout(const T* x, T* y, std::uint8_t* keep, std::int64_t n, double p, std::uint64_t seed,
                  std::uint64_t offset) {
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  philox4x32_block bits{};
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint64_t at = offset + static_cast<std::uint64_t>(i);
    // One Philox call per block of four offsets (philox_uniform's values, a quarter of the work).
    if (i == 0 || philox_lane(at) == 0) bits = philox_block(seed, philox_block_index(at));
    const bool kept = uniform_from_bits(bits.word[philox_lane(at)]) >= p;
    keep[i] = kept ? 1 : 0;
    y[i] = kept ? x[i] * scale : T(0);
  }
}

/// x[i] *= keep[i] / (1 - p): a drawn dropout mask applied again (backward).
template <class T>
void apply_dropout(T* x, const std::uint8_t* keep, std::int64_t n, double p) {
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  for (std::int64_t i = 0; i < n; ++i) x[i] *= keep[i] ? scale : T(0);
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// GEMM

namespace detail {

/// C[m,n] = alpha * op(A) * op(B) + beta * C through Eigen's own GEMM (multithreaded), as `gemm`.
template <class T>
void eigen_gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                const T* b, T beta, T* c) {
  const auto av = trans_a ? view(a, k, m, m) : view(a, m, k, k);
  const auto bv = trans_b ? view(b, n, k, k) : view(b, k, n, n);
  gemm_views(trans_a, trans_b, alpha, av, bv, beta, view(c, m, n, n));
}

}  // namespace detail

#ifdef DNABERT_USE_ONEDNN
namespace detail {

/// A [rows, cols] float matrix rounded to bfloat16 into memory of the backend's.
inline std::shared_ptr<void> bfloat16_copy(cpu_t<float>& be, const float* x, std::int64_t rows, std::int64_t cols) {
  auto out = be.allocate(static_cast<std::size_t>(rows * cols) * sizeof(std::uint16_t));
  round_to_bfloat16(x, rows, cols, cols, static_cast<std::uint16_t*>(out.get()));
  return out;
}

}  // namespace detail
#endif

/// C[m,n] = alpha * op(A) * op(B) + beta * C, row-major contiguous; A is [m,k] ([k,m] if
/// trans_a), B is [k,n] ([n,k] if trans_b); beta 0 ignores C's old contents. float goes to oneDNN
/// (in bfloat16 on a cpu_math::bf16 backend: A and B rounded, float32 accumulation) or else the
/// BLAS when built with one (faster than Eigen's own GEMM on BERT shapes: docs/benchmarks.md);
/// double, empty products and builds without either go to Eigen.
template <class T>
void gemm([[maybe_unused]] cpu_t<T>& be, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
          const T* a, const T* b, T beta, T* c) {
#if defined(DNABERT_USE_ONEDNN) || defined(DNABERT_HAS_CBLAS)
  if constexpr (std::is_same_v<T, float>) {
    if (m > 0 && n > 0 && k > 0) {
#if defined(DNABERT_USE_ONEDNN)
      if (be.math() == cpu_math::bf16) {
        const auto a16 = detail::bfloat16_copy(be, a, trans_a ? k : m, trans_a ? m : k);
        const auto b16 = detail::bfloat16_copy(be, b, trans_b ? n : k, trans_b ? k : n);
        detail::onednn_matmul_key key{m, n, k, trans_a, trans_b, false, alpha, beta, detail::onednn_threads()};
        key.types = detail::matmul_types::bf16;
        detail::onednn_matmul(key, {a16.get(), b16.get(), nullptr, c});
      } else {
        detail::onednn_gemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
      }
#else
      detail::cblas_gemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
#endif
      return;
    }
  }
#endif
  detail::eigen_gemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
}

// ---------------------------------------------------------------------------------------------
// Element-wise and row-wise ops

/// y[r, :] += bias for each of `rows` rows of width n.
template <class T>
void add_bias(cpu_t<T>&, T* y, const T* bias, std::int64_t rows, std::int64_t n) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < n; ++j) y[r * n + j] += bias[j];
}

/// y[rows, out] = x[rows, in] · weight[out, in]^T + bias (torch.nn.Linear; oneDNN and the CUDA
/// backend add the bias in the GEMM's epilogue, saving a pass over y). In bfloat16 on a
/// cpu_math::bf16 backend, as gemm.
template <class T>
void linear_forward(cpu_t<T>& be, const T* x, const T* weight, const T* bias, std::int64_t rows, std::int64_t in,
                    std::int64_t out, T* y) {
#ifdef DNABERT_USE_ONEDNN
  if constexpr (std::is_same_v<T, float>) {
    if (rows > 0 && in > 0 && out > 0) {
      if (be.math() == cpu_math::bf16) {
        const auto x16 = detail::bfloat16_copy(be, x, rows, in);
        const auto w16 = detail::bfloat16_copy(be, weight, out, in);
        detail::onednn_matmul_key key{rows, out, in, false, true, true, 1.0F, 0.0F, detail::onednn_threads()};
        key.types = detail::matmul_types::bf16;
        detail::onednn_matmul(key, {x16.get(), w16.get(), bias, y});
      } else {
        detail::onednn_linear(x, weight, bias, rows, in, out, y);
      }
      return;
    }
  }
#endif
  gemm(be, false, true, rows, out, in, T(1), x, weight, T(0), y);
  add_bias(be, y, bias, rows, out);
}

/// dbias += column sums of dy [rows, n].
template <class T>
void add_bias_grad(cpu_t<T>&, const T* dy, std::int64_t rows, std::int64_t n, T* dbias) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < n; ++j) dbias[j] += dy[r * n + j];
}

/// out = a + b (n elements); out may alias a or b.
template <class T>
void add(cpu_t<T>&, const T* a, const T* b, T* out, std::int64_t n) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

/// dst += src (n elements).
template <class T>
void accumulate(cpu_t<T>&, T* dst, const T* src, std::int64_t n) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

/// dst = value (n elements).
template <class T>
void fill(cpu_t<T>&, T* dst, T value, std::int64_t n) {
  std::fill(dst, dst + n, value);
}

/// dst = src (n elements of any type, both on this backend).
template <class T, class E>
void copy(cpu_t<T>&, const E* src, E* dst, std::int64_t n) {
  if (n > 0) std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(E));
}

/// device = host, n elements of any type.
/// dst = 0 over n elements of any type (the backend's memory).
template <class T, class E>
void clear(cpu_t<T>&, E* dst, std::int64_t n) {
  std::fill_n(dst, n, E{});
}

template <class T, class E>
void upload(cpu_t<T>& be, const E* host, E* device, std::int64_t n) {
  copy(be, host, device, n);
}

/// host = device, n elements of any type.
template <class T, class E>
void download(cpu_t<T>& be, const E* device, E* host, std::int64_t n) {
  copy(be, device, host, n);
}

/// y = gelu(x) (exact erf form; Eigen's vectorised erf).
template <class T>
void gelu_forward(cpu_t<T>&, const T* x, T* y, std::int64_t n) {
  detail::parallel_chunks(n, [&](std::int64_t begin, std::int64_t count) {
    const detail::const_array_view<T> xs(x + begin, count);
    detail::array_view<T>(y + begin, count) = T(0.5) * xs * (T(1) + (xs * T(0.70710678118654752440)).erf());
  });
}

/// dx += dy * gelu'(x), gelu'(x) = Phi(x) + x * phi(x).
template <class T>
void gelu_backward(cpu_t<T>&, const T* x, const T* dy, T* dx, std::int64_t n) {
  detail::parallel_chunks(n, [&](std::int64_t begin, std::int64_t count) {
    const detail::const_array_view<T> xs(x + begin, count);
    const auto cdf = T(0.5) * (T(1) + (xs * T(0.70710678118654752440)).erf());
    const auto pdf = T(0.39894228040143267794) * (T(-0.5) * xs.square()).exp();
    detail::array_view<T>(dx + begin, count) += detail::const_array_view<T>(dy + begin, count) * (cdf + xs * pdf);
  });
}

/// GEGLU: y[r, c] = gelu(x[r, c]) * x[r, width + c] for x [rows, 2 * width] ([gate | value], as
/// DNABERT-2's gated_layers), y [rows, width].
template <class T>
void gated_gelu_forward(cpu_t<T>&, const T* x, T* y, std::int64_t rows, std::int64_t width) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const detail::const_array_view<T> gate(x + r * 2 * width, width), value(x + r * 2 * width + width, width);
    detail::array_view<T>(y + r * width, width) = T(0.5) * gate * (T(1) + (gate * T(0.70710678118654752440)).erf()) * value;
  }
}

/// Backward of gated_gelu_forward: dx[:, :width] += dy * value * gelu'(gate), dx[:, width:] += dy * gelu(gate).
template <class T>
void gated_gelu_backward(cpu_t<T>&, const T* x, const T* dy, T* dx, std::int64_t rows, std::int64_t width) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const detail::const_array_view<T> gate(x + r * 2 * width, width), value(x + r * 2 * width + width, width);
    const detail::const_array_view<T> grad(dy + r * width, width);
    const auto cdf = T(0.5) * (T(1) + (gate * T(0.70710678118654752440)).erf());
    const auto pdf = T(0.39894228040143267794) * (T(-0.5) * gate.square()).exp();
    detail::array_view<T>(dx + r * 2 * width, width) += grad * value * (cdf + gate * pdf);
    detail::array_view<T>(dx + r * 2 * width + width, width) += grad * gate * cdf;
  }
}

/// y = tanh(x).
template <class T>
void tanh_forward(cpu_t<T>&, const T* x, T* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

/// dx += dy * (1 - y^2), with y = tanh(x).
template <class T>
void tanh_backward(cpu_t<T>&, const T* y, const T* dy, T* dx, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dx[i] += dy[i] * (T(1) - y[i] * y[i]);
}

/// y = max(x, 0).
template <class T>
void relu_forward(cpu_t<T>&, const T* x, T* y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}

/// dx += dy where y = relu(x) is positive.
template <class T>
void relu_backward(cpu_t<T>&, const T* y, const T* dy, T* dx, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (y[i] > T(0)) dx[i] += dy[i];
}

/// y[s, :] = the mean (or, with take_max, the element-wise max) of rows starts[s] .. starts[s + 1] - 1
/// of x [*, width], for `segments` non-empty segments; with take_max, argmax[s, j] is the row of the
/// first max (sums in float, or double for a double T).
template <class T>
void segment_pool_forward(cpu_t<T>&, const T* x, const std::int32_t* starts, std::int64_t segments, std::int64_t width,
                          bool take_max, T* y, std::int32_t* argmax) {
  for (std::int64_t s = 0; s < segments; ++s) {
    const std::int32_t first = starts[s], end = starts[s + 1];
    for (std::int64_t j = 0; j < width; ++j) {
      using sum_type = std::conditional_t<std::is_same_v<T, double>, double, float>;
      sum_type value = take_max ? static_cast<sum_type>(x[first * width + j]) : sum_type(0);
      std::int32_t best = first;
      for (std::int32_t r = first; r < end; ++r) {
        const auto v = static_cast<sum_type>(x[r * width + j]);
        if (!take_max) value += v;
        else if (v > value) {
          value = v;
          best = r;
        }
      }
      y[s * width + j] = static_cast<T>(take_max ? value : value / static_cast<sum_type>(end - first));
      if (take_max) argmax[s * width + j] = best;
    }
  }
}

/// Backward of segment_pool_forward: dx[r, j] += dy[s, j] / count (mean) or, with take_max, at the
/// row argmax[s, j] only.
template <class T>
void segment_pool_backward(cpu_t<T>&, const T* dy, const std::int32_t* starts, std::int64_t segments, std::int64_t width,
                           bool take_max, const std::int32_t* argmax, T* dx) {
  for (std::int64_t s = 0; s < segments; ++s) {
    const std::int32_t first = starts[s], end = starts[s + 1];
    for (std::int64_t j = 0; j < width; ++j) {
      const T g = dy[s * width + j];
      if (take_max) {
        dx[argmax[s * width + j] * width + j] += g;
        continue;
      }
      using sum_type = std::conditional_t<std::is_same_v<T, double>, double, float>;
      const T share = static_cast<T>(static_cast<sum_type>(g) / static_cast<sum_type>(end - first));
      for (std::int32_t r = first; r < end; ++r) dx[r * width + j] += share;
    }
  }
}

namespace detail {

/// LayerNorm of `rows` rows of width n, row r being the Eigen array expression input(r): the
/// one body of layer_norm_forward and add_layer_norm_forward.
template <class T, class Input>
void layer_norm_rows(const Input& input, const T* gamma, const T* beta, std::int64_t rows, std::int64_t n, double eps,
                     T* y, float* mean, float* rstd) {
  const const_array_view<T> g(gamma, n);
  const const_array_view<T> b(beta, n);
#pragma omp parallel for schedule(dynamic, 16)  // as attention: blocks of rows, taken as threads come
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto xr = input(r);
    const T mu = xr.mean();
    const T inv = T(1) / std::sqrt((xr - mu).square().mean() + static_cast<T>(eps));
    array_view<T>(y + r * n, n) = (xr - mu) * inv * g + b;
    if (mean != nullptr) mean[r] = mu;
    if (rstd != nullptr) rstd[r] = inv;
  }
}

/// LayerNorm backward over rows whose input element (r, j) is x_at(r, j); each dx term goes to
/// add_dx(r, j, value): the one body of layer_norm_backward and add_layer_norm_backward.
template <class T, class Input, class Output>
void layer_norm_backward_rows(const T* dy, const Input& x_at, const T* gamma, const float* mean, const float* rstd,
                              std::int64_t rows, std::int64_t n, const Output& add_dx, T* dgamma, T* dbeta) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* dyr = dy + r * n;
    T mean_dxhat = 0;
    T mean_dxhat_xhat = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      const T xhat = (x_at(r, j) - mean[r]) * rstd[r];
      const T dxhat = dyr[j] * gamma[j];
      mean_dxhat += dxhat;
      mean_dxhat_xhat += dxhat * xhat;
      dgamma[j] += dyr[j] * xhat;
      dbeta[j] += dyr[j];
    }
    mean_dxhat /= static_cast<T>(n);
    mean_dxhat_xhat /= static_cast<T>(n);
    for (std::int64_t j = 0; j < n; ++j) {
      const T xhat = (x_at(r, j) - mean[r]) * rstd[r];
      add_dx(r, j, rstd[r] * (dyr[j] * gamma[j] - mean_dxhat - xhat * mean_dxhat_xhat));
    }
  }
}

}  // namespace detail

/// LayerNorm over rows of width n: y = (x - mean) * rstd * gamma + beta; saves mean and rstd
/// (float whatever T, for the backward).
template <class T>
void layer_norm_forward(cpu_t<T>&, const T* x, const T* gamma, const T* beta, std::int64_t rows, std::int64_t n,
                        double eps, T* y, float* mean, float* rstd) {
  detail::layer_norm_rows([=](std::int64_t r) { return detail::const_array_view<T>(x + r * n, n); }, gamma, beta, rows,
                          n, eps, y, mean, rstd);
}

/// LayerNorm backward: dx += ..., dgamma += sum(dy * xhat), dbeta += sum(dy).
template <class T>
void layer_norm_backward(cpu_t<T>&, const T* dy, const T* x, const T* gamma, const float* mean, const float* rstd,
                         std::int64_t rows, std::int64_t n, T* dx, T* dgamma, T* dbeta) {
  detail::layer_norm_backward_rows(
      dy, [=](std::int64_t r, std::int64_t j) { return x[r * n + j]; }, gamma, mean, rstd, rows, n,
      [=](std::int64_t r, std::int64_t j, T g) { dx[r * n + j] += g; }, dgamma, dbeta);
}

/// y = LayerNorm(a + b) (BERT's residual add + post-LayerNorm) without storing a + b; mean and
/// rstd (may be null) are those of a + b.
template <class T>
void add_layer_norm_forward(cpu_t<T>&, const T* a, const T* b, const T* gamma, const T* beta, std::int64_t rows,
                            std::int64_t n, double eps, T* y, float* mean, float* rstd) {
  detail::layer_norm_rows(
      [=](std::int64_t r) {
        return detail::const_array_view<T>(a + r * n, n) + detail::const_array_view<T>(b + r * n, n);
      },
      gamma, beta, rows, n, eps, y, mean, rstd);
}

/// Backward of add_layer_norm_forward, recomputing a + b: da and db (either may be null) += dx,
/// dgamma += sum(dy * xhat), dbeta += sum(dy).
template <class T>
void add_layer_norm_backward(cpu_t<T>&, const T* dy, const T* a, const T* b, const T* gamma, const float* mean,
                             const float* rstd, std::int64_t rows, std::int64_t n, T* da, T* db, T* dgamma, T* dbeta) {
  detail::layer_norm_backward_rows(
      dy, [=](std::int64_t r, std::int64_t j) { return a[r * n + j] + b[r * n + j]; }, gamma, mean, rstd, rows, n,
      [=](std::int64_t r, std::int64_t j, T g) {
        if (da != nullptr) da[r * n + j] += g;
        if (db != nullptr) db[r * n + j] += g;
      },
      dgamma, dbeta);
}

// ---------------------------------------------------------------------------------------------
// Embeddings

/// out[i, :] (+)= table[ids[i], :] for n ids of width `width`; `accumulate` adds instead of sets.
template <class T>
void embedding_forward(cpu_t<T>&, const std::int32_t* ids, std::int64_t n, const T* table, std::int64_t width,
                       T* out, bool accumulate) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    const T* row = table + static_cast<std::int64_t>(ids[i]) * width;
    T* o = out + i * width;
    if (accumulate)
      for (std::int64_t j = 0; j < width; ++j) o[j] += row[j];
    else
      std::copy(row, row + width, o);
  }
}

/// dtable[ids[i], :] += dout[i, :] for a table of `rows` rows, each id's rows summed in
/// backend/sorted_runs.hpp's order (the CUDA backend's, bit for bit); an id outside the table throws.
template <class T>
void embedding_backward(cpu_t<T>&, const std::int32_t* ids, std::int64_t n, const T* dout, std::int64_t width,
                        T* dtable, std::int64_t rows) {
  // A stable counting sort: the positions of id r are order[first[r]] .. order[first[r + 1] - 1].
  std::vector<std::int64_t> first(static_cast<std::size_t>(rows) + 1, 0);
  for (std::int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= rows)
      throw std::out_of_range("embedding_backward: id " + std::to_string(ids[i]) + " outside a table of " +
                              std::to_string(rows) + " rows");
    ++first[static_cast<std::size_t>(ids[i]) + 1];
  }
  for (std::size_t r = 1; r < first.size(); ++r) first[r] += first[r - 1];
  std::vector<std::int64_t> order(static_cast<std::size_t>(n)), next(first.begin(), first.end() - 1);
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(next[static_cast<std::size_t>(ids[i])]++)] = i;
  std::vector<T> sum(static_cast<std::size_t>(width)), chunk(static_cast<std::size_t>(width));
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t start = first[static_cast<std::size_t>(r)], end = first[static_cast<std::size_t>(r) + 1];
    if (start == end) continue;
    T* row = dtable + r * width;
    sum.assign(row, row + width);
    for (std::int64_t c = start; c < end; c += sorted_runs::chunk_rows) {
      std::fill(chunk.begin(), chunk.end(), T(0));
      for (std::int64_t k = c; k < std::min(end, c + sorted_runs::chunk_rows); ++k) {
        const T* d = dout + order[static_cast<std::size_t>(k)] * width;
        for (std::int64_t j = 0; j < width; ++j) chunk[static_cast<std::size_t>(j)] += d[j];
      }
      for (std::int64_t j = 0; j < width; ++j) sum[static_cast<std::size_t>(j)] += chunk[static_cast<std::size_t>(j)];
    }
    std::copy(sum.begin(), sum.end(), row);
  }
}

/// dst[ids[i], :] = src[i, :] for distinct ids (a plain copy: no sums meet, unlike embedding_backward).
template <class T>
void scatter_rows(cpu_t<T>&, const std::int32_t* ids, std::int64_t n, const T* src, std::int64_t width, T* dst) {
  for (std::int64_t i = 0; i < n; ++i) std::copy_n(src + i * width, width, dst + static_cast<std::int64_t>(ids[i]) * width);
}

/// out[i, :] = src[i * stride_rows, :] — picks every stride-th row (the [CLS] rows of a batch).
template <class T>
void gather_strided_rows(cpu_t<T>&, const T* src, std::int64_t count, std::int64_t stride_rows, std::int64_t width,
                         T* out) {
  for (std::int64_t i = 0; i < count; ++i) std::copy_n(src + i * stride_rows * width, width, out + i * width);
}

/// dsrc[i * stride_rows, :] += dout[i, :].
template <class T>
void scatter_strided_rows_add(cpu_t<T>&, const T* dout, std::int64_t count, std::int64_t stride_rows,
                              std::int64_t width, T* dsrc) {
  for (std::int64_t i = 0; i < count; ++i) {
    T* row = dsrc + i * stride_rows * width;
    for (std::int64_t j = 0; j < width; ++j) row[j] += dout[i * width + j];
  }
}

// ---------------------------------------------------------------------------------------------
// Dropout (counter-based, so every backend draws the same mask from the same seed and offset)

/// y = x * keep / (1 - p), keep[i] = philox_uniform(seed, offset + i) >= p (core/rng.hpp); writes keep as 0/1 bytes.
template <class T>
void dropout_forward(cpu_t<T>&, const T* x, T* y, std::uint8_t* keep, std::int64_t n, double p, std::uint64_t seed,
                     std::uint64_t offset) {
  detail::parallel_chunks(n, [&](std::int64_t begin, std::int64_t count) {
    detail::draw_dropout(x + begin, y + begin, keep + begin, count, p, seed, offset + static_cast<std::uint64_t>(begin));
  });
}

/// dx += dy * keep / (1 - p).
template <class T>
void dropout_backward(cpu_t<T>&, const T* dy, const std::uint8_t* keep, T* dx, std::int64_t n, double p) {
  const T scale = static_cast<T>(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i)
    if (keep[i]) dx[i] += dy[i] * scale;
}

// ---------------------------------------------------------------------------------------------
// Multi-head self-attention core (parallel over batch x heads)

namespace detail {

/// Keys of batch row `row` that take part in its attention: all but the trailing run whose bias
/// is -10000 or less (padding), whose softmax weight is exactly 0 in float; all of them when no
/// key is real. Leaving padding out of every product and sum makes a sequence's attention
/// independent of the batch's padded length, so of the sequences it is batched with.
template <class T>
std::int64_t attended_keys(const T* key_bias, std::int64_t row, std::int64_t seq) {
  if (key_bias == nullptr) return seq;
  const T* bias = key_bias + row * seq;
  for (std::int64_t n = seq; n > 0; --n)
    if (bias[n - 1] > T(-10000)) return n;
  return seq;
}

}  // namespace detail

/// probs[b,h] = softmax(Q K^T * scale + key_bias[b] (+ ALiBi's bias when s.alibi)); context[b,:,h] = dropout(probs) V.
/// key_bias is [batch, seq] (0 for real tokens, -10000 for padding, as Hugging Face), may be
/// null. probs [batch, heads, seq, seq] may be null when not needed (inference). With
/// dropout_p > 0, keep [batch, heads, seq, seq] receives the mask drawn from (seed, offset).
/// A real token's result does not depend on the batch's padded length: trailing padded keys
/// (weight exactly 0) are left out, real and padded query rows are separate products, and the
/// weights are laid out [seq, keys] from an aligned start, so that even the vectorised sums split
/// each row in the same places whatever the padding.
template <class T>
void attention_forward(cpu_t<T>&, const attention_shape& s, const T* q, const T* k, const T* v, const T* key_bias,
                       T scale, T* probs, T* context, double dropout_p, std::uint8_t* keep, std::uint64_t seed,
                       std::uint64_t offset) {
  const std::int64_t S = s.seq;
  const std::int64_t d = s.head_dim;
  const std::int64_t ld = s.row_stride;
  // ALiBi: |i - j| for query i is distance[S - 1 - i + j], one vectorised subtraction per row.
  Eigen::Array<T, Eigen::Dynamic, 1> distance;
  if (s.alibi && S > 0) distance = Eigen::Array<T, Eigen::Dynamic, 1>::LinSpaced(2 * S - 1, T(-(S - 1)), T(S - 1)).abs();
#pragma omp parallel
  {
    detail::row_matrix<T> weights(S, S);  // used as [S, n]
    detail::row_matrix<T> dropped(dropout_p > 0 ? S : 0, S);
#pragma omp for schedule(dynamic, 1)  // a descheduled thread holds up one head, not a share
    for (std::int64_t bh = 0; bh < s.batch * s.heads; ++bh) {
      const std::int64_t b = bh / s.heads;
      const std::int64_t h = bh % s.heads;
      const std::int64_t base = b * S * ld + h * d;
      const std::int64_t n = detail::attended_keys(key_bias, b, S);
      const auto kv = detail::view(k + base, n, d, ld);
      const auto vv = detail::view(v + base, n, d, ld);
      const std::pair<std::int64_t, std::int64_t> parts[] = {{0, n}, {n, S - n}};  // query rows: real, padded
      for (const auto& [first, count] : parts) {
        if (count == 0) continue;
        detail::view(weights.data() + first * n, count, n, n).noalias() =
            scale * (detail::view(q + base + first * ld, count, d, ld) * kv.transpose());
      }
      const T slope = s.alibi ? static_cast<T>(alibi_slope(h, s.heads)) : T(0);
      for (std::int64_t i = 0; i < S; ++i) {
        detail::array_view<T> row(weights.data() + i * n, n);
        if (key_bias != nullptr) row += detail::const_array_view<T>(key_bias + b * S, n);
        if (s.alibi) row -= slope * distance.segment(S - 1 - i, n);
        row = (row - row.maxCoeff()).exp();
        row /= row.sum();
        // ALiBi's far keys get weights below float's normal range; subnormal operands slow the
        // P·V product several-fold on x86, so they become the zeros they nearly are (< 1.2e-38).
        if (s.alibi) row = (row < std::numeric_limits<T>::min()).select(T(0), row);
      }
      if (probs != nullptr)
        for (std::int64_t i = 0; i < S; ++i) {
          T* out = probs + (bh * S + i) * S;
          std::copy_n(weights.data() + i * n, n, out);
          std::fill(out + n, out + S, T(0));
        }
      const T* used = weights.data();
      std::int64_t used_stride = n;
      if (dropout_p > 0) {  // the mask covers [S, S], padded keys too, as the backward reads it
        dropped.setZero();
        for (std::int64_t i = 0; i < S; ++i) std::copy_n(weights.data() + i * n, n, dropped.data() + i * S);
        detail::draw_dropout(dropped.data(), dropped.data(), keep + bh * S * S, S * S, dropout_p, seed,
                             offset + static_cast<std::uint64_t>(bh * S * S));
        used = dropped.data();
        used_stride = S;
      }
      for (const auto& [first, count] : parts)
        if (count > 0)
          detail::view(context + base + first * ld, count, d, ld).noalias() =
              detail::view(used + first * used_stride, count, n, used_stride) * vv;
    }
  }
}

/// Backward of attention_forward: dq, dk, dv (same layout as q, k, v) += gradients, given
/// dcontext, the saved probs (before dropout) and keep mask.
template <class T>
void attention_backward(cpu_t<T>&, const attention_shape& s, const T* q, const T* k, const T* v, const T* probs,
                        const T* dcontext, T scale, double dropout_p, const std::uint8_t* keep, T* dq, T* dk, T* dv) {
  const std::int64_t S = s.seq;
  const std::int64_t d = s.head_dim;
  const std::int64_t ld = s.row_stride;
#pragma omp parallel
  {
    detail::row_matrix<T> dropped(S, S);
    detail::row_matrix<T> dprobs(S, S);
#pragma omp for schedule(dynamic, 1)  // a descheduled thread holds up one head, not a share
    for (std::int64_t bh = 0; bh < s.batch * s.heads; ++bh) {
      const std::int64_t b = bh / s.heads;
      const std::int64_t h = bh % s.heads;
      const std::int64_t base = b * S * ld + h * d;
      const auto p = detail::view(probs + bh * S * S, S, S, S);
      const auto dctx = detail::view(dcontext + base, S, d, ld);
      dropped = p;
      if (dropout_p > 0) detail::apply_dropout(dropped.data(), keep + bh * S * S, S * S, dropout_p);
      detail::view(dv + base, S, d, ld).noalias() += dropped.transpose() * dctx;
      dprobs.noalias() = dctx * detail::view(v + base, S, d, ld).transpose();
      if (dropout_p > 0) detail::apply_dropout(dprobs.data(), keep + bh * S * S, S * S, dropout_p);
      // softmax backward, then the 1/sqrt(d) scale: dscores = P * (dP - rowsum(dP * P)) * scale
      for (std::int64_t i = 0; i < S; ++i) {
        T dot = 0;
        for (std::int64_t j = 0; j < S; ++j) dot += dprobs(i, j) * p(i, j);
        for (std::int64_t j = 0; j < S; ++j) dprobs(i, j) = p(i, j) * (dprobs(i, j) - dot) * scale;
      }
      detail::view(dq + base, S, d, ld).noalias() += dprobs * detail::view(k + base, S, d, ld);
      detail::view(dk + base, S, d, ld).noalias() += dprobs.transpose() * detail::view(q + base, S, d, ld);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Losses

/// Weighted mean cross-entropy over rows whose label is not ignore_label (-100, as PyTorch):
/// sum_r w[y_r] nll_r / sum_r w[y_r], with w = class_weights (nullptr: all 1, the plain mean).
/// Writes softmax probabilities [rows, classes]; returns the loss and the total weight (0 if none).
template <class T>
std::pair<double, double> cross_entropy_forward(cpu_t<T>&, const T* logits, const std::int32_t* labels,
                                                const T* class_weights, std::int64_t rows, std::int64_t classes,
                                                T* probs, std::int32_t ignore_label = -100) {
  double total = 0;
  double total_weight = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* z = logits + r * classes;
    T* p = probs + r * classes;
    const T top = *std::max_element(z, z + classes);
    T sum = 0;
    for (std::int64_t c = 0; c < classes; ++c) sum += (p[c] = std::exp(z[c] - top));
    for (std::int64_t c = 0; c < classes; ++c) p[c] /= sum;
    const std::int32_t label = labels[r];
    if (label == ignore_label) continue;
    const double weight = class_weights == nullptr ? 1.0 : static_cast<double>(class_weights[label]);
    total += weight * -(static_cast<double>(z[label] - top) - std::log(static_cast<double>(sum)));
    total_weight += weight;
  }
  return {total_weight == 0 ? 0.0 : total / total_weight, total_weight};
}

/// dlogits += dloss * w[label] (probs - onehot(label)) / total_weight, skipping ignored rows;
/// class_weights and total_weight as given to and returned by cross_entropy_forward.
template <class T>
void cross_entropy_backward(cpu_t<T>&, const T* probs, const std::int32_t* labels, const T* class_weights,
                            std::int64_t rows, std::int64_t classes, double total_weight, T dloss, T* dlogits,
                            std::int32_t ignore_label = -100) {
  if (total_weight == 0) return;
  const T factor = static_cast<T>(static_cast<double>(dloss) / total_weight);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int32_t label = labels[r];
    if (label == ignore_label) continue;
    const T row_factor = class_weights == nullptr ? factor : factor * class_weights[label];
    for (std::int64_t c = 0; c < classes; ++c)
      dlogits[r * classes + c] += row_factor * (probs[r * classes + c] - (c == label ? T(1) : T(0)));
  }
}

/// Mean squared error between predictions and targets (n values).
template <class T>
double mse_forward(cpu_t<T>&, const T* predictions, const T* targets, std::int64_t n) {
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double diff = static_cast<double>(predictions[i]) - static_cast<double>(targets[i]);
    total += diff * diff;
  }
  return n == 0 ? 0.0 : total / static_cast<double>(n);
}

/// dpredictions += dloss * 2 (p - t) / n.
template <class T>
void mse_backward(cpu_t<T>&, const T* predictions, const T* targets, std::int64_t n, T dloss, T* dpredictions) {
  for (std::int64_t i = 0; i < n; ++i)
    dpredictions[i] += dloss * T(2) * (predictions[i] - targets[i]) / static_cast<T>(n);
}

/// Mean binary cross-entropy with logits over n values, targets in [0, 1] (torch's
/// binary_cross_entropy_with_logits), in the form that cannot overflow: max(x, 0) - x t + log1p(exp(-|x|)).
template <class T>
double bce_with_logits_forward(cpu_t<T>&, const T* logits, const T* targets, std::int64_t n) {
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto x = static_cast<double>(logits[i]);
    total += std::max(x, 0.0) - x * static_cast<double>(targets[i]) + std::log1p(std::exp(-std::abs(x)));
  }
  return n == 0 ? 0.0 : total / static_cast<double>(n);
}

/// dlogits += dloss (sigmoid(x) - t) / n.
template <class T>
void bce_with_logits_backward(cpu_t<T>&, const T* logits, const T* targets, std::int64_t n, T dloss, T* dlogits) {
  for (std::int64_t i = 0; i < n; ++i) {
    const T e = std::exp(-std::abs(logits[i]));  // sigmoid from exp(-|x|): no overflow either side
    const T sigmoid = logits[i] >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
    dlogits[i] += dloss * (sigmoid - targets[i]) / static_cast<T>(n);
  }
}

}  // namespace dnabert::backend

// The float model backend and the double one of the finite-difference checks provide every op.
static_assert(dnabert::ops::backend_ops<dnabert::backend::cpu_t<float>>);
static_assert(dnabert::ops::backend_ops<dnabert::backend::cpu_t<double>>);

// Packed weights for inference are part of the CPU op set (their header includes this one first).
#include "dnabert/backend/cpu/packed_linear.hpp"
