#pragma once
// The CPU ops the optimizer needs (AdamW update, squared norm, scaling), free functions taking
// the backend first like every op in ops.hpp, so a device backend can supply twins.
// They walk the arrays in fixed-size chunks: OpenMP splits the chunks over the threads, and
// each chunk is an Eigen array expression (or a loop with independent accumulators) that the
// compiler vectorises; a plain element loop stayed scalar (vsqrtss/vdivss, one add chain).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "dnabert/backend/cpu/backend.hpp"
#include "dnabert/ops/multi_tensor.hpp"

namespace dnabert::backend {

using ops::adamw_hyper;
using ops::adamw_tensor;
using ops::tensor_extent;

namespace detail {

/// Elements per chunk of the element-wise optimizer ops: the four AdamW arrays of one chunk
/// (4 x 16 KiB in float) stay in L2 between the update's passes.
inline constexpr std::int64_t optimizer_chunk = 4096;

/// Elements per block of sum_of_squares; the blocking depends on n only, never on the threads.
inline constexpr std::int64_t square_sum_block = 32768;

/// Independent double accumulators per block: enough vector add chains to hide the add latency.
inline constexpr std::size_t square_sum_lanes = 16;

/// Number of chunks of `size` elements covering n elements.
inline std::int64_t chunk_count(std::int64_t n, std::int64_t size) noexcept { return n > 0 ? (n + size - 1) / size : 0; }

/// Column view of `size` elements at `data`.
template <class T>
Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> array_map(T* data, std::int64_t size) {
  return {data, static_cast<Eigen::Index>(size)};
}

/// Read-only column view of `size` elements at `data`.
template <class T>
Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> array_map(const T* data, std::int64_t size) {
  return {data, static_cast<Eigen::Index>(size)};
}

/// Sum of x[i]^2 over one block in double: element i goes to accumulator i % lanes, whose
/// fixed-length inner loop the compiler turns into vector FMAs; the lanes are then added pairwise.
template <class T>
double block_sum_of_squares(const T* x, std::int64_t n) {
  constexpr auto lanes = static_cast<std::int64_t>(square_sum_lanes);
  std::array<double, square_sum_lanes> total{};
  std::int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (std::size_t l = 0; l < square_sum_lanes; ++l) {
      const auto value = static_cast<double>(x[i + static_cast<std::int64_t>(l)]);
      total[l] += value * value;
    }
  for (std::size_t l = 0; i < n; ++i, ++l) {
    const auto value = static_cast<double>(x[i]);
    total[l] += value * value;
  }
  for (std::size_t width = square_sum_lanes / 2; width > 0; width /= 2)
    for (std::size_t l = 0; l < width; ++l) total[l] += total[l + width];
  return total[0];
}

/// sqrt correctly rounded in every lane, as torch's: Eigen's packet sqrt for float is an rsqrt
/// estimate plus one Newton step under EIGEN_FAST_MATH (Eigen's default), 1-2 bits off and zero
/// for denormals, and plain std::sqrt loops stay scalar (errno). Scalar where no x86 packets.
struct exact_sqrt_op {
  template <class Scalar>
  Scalar operator()(const Scalar& x) const {
    return std::sqrt(x);
  }
#ifdef EIGEN_VECTORIZE_SSE
  __m128 packetOp(const __m128& x) const { return _mm_sqrt_ps(x); }
  __m128d packetOp(const __m128d& x) const { return _mm_sqrt_pd(x); }
#endif
#ifdef EIGEN_VECTORIZE_AVX
  __m256 packetOp(const __m256& x) const { return _mm256_sqrt_ps(x); }
  __m256d packetOp(const __m256d& x) const { return _mm256_sqrt_pd(x); }
#endif
#ifdef EIGEN_VECTORIZE_AVX512
  // The all-lanes mask forms: g++ 12 warns (-Wmaybe-uninitialized) inside the unmasked ones.
  __m512 packetOp(const __m512& x) const { return _mm512_maskz_sqrt_ps(static_cast<__mmask16>(0xFFFF), x); }
  __m512d packetOp(const __m512d& x) const { return _mm512_maskz_sqrt_pd(static_cast<__mmask8>(0xFF), x); }
#endif
};

}  // namespace detail
}  // namespace dnabert::backend

/// Lets Eigen evaluate exact_sqrt_op a packet at a time where it has the packet overloads.
template <>
struct Eigen::internal::functor_traits<dnabert::backend::detail::exact_sqrt_op> {
#ifdef EIGEN_VECTORIZE_SSE
  enum { Cost = 6 * NumTraits<float>::MulCost, PacketAccess = 1 };
#else
  enum { Cost = 6 * NumTraits<float>::MulCost, PacketAccess = 0 };
#endif
};

namespace dnabert::backend {

/// One torch.optim.AdamW update of n elements, in torch's order: decoupled decay
/// p *= 1 - lr * weight_decay; m = lerp(m, g, 1 - beta1); v = beta2 * v + (1 - beta2) * g^2;
/// p -= (lr / bias_correction1) * m / (sqrt(v) / sqrt(bias_correction2) + eps).
template <class T>
void adamw_update(cpu_t<T>&, T* param, const T* grad, T* m, T* v, std::int64_t n, double lr, double beta1,
                  double beta2, double eps, double weight_decay, double bias_correction1, double bias_correction2) {
  const T decay_factor = static_cast<T>(1.0 - lr * weight_decay);
  const T m_weight = static_cast<T>(1.0 - beta1);
  const T v_keep = static_cast<T>(beta2);
  const T v_weight = static_cast<T>(1.0 - beta2);
  const T step_size = static_cast<T>(lr / bias_correction1);
  const T bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
  const T epsilon = static_cast<T>(eps);
  const std::int64_t chunks = detail::chunk_count(n, detail::optimizer_chunk);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = c * detail::optimizer_chunk;
    const std::int64_t size = std::min(detail::optimizer_chunk, n - begin);
    auto p = detail::array_map(param + begin, size);
    const auto g = detail::array_map(grad + begin, size);
    auto exp_avg = detail::array_map(m + begin, size);
    auto exp_avg_sq = detail::array_map(v + begin, size);
    // One pass per torch statement, each result rounded to T and stored, as torch's kernels do.
    p *= decay_factor;
    exp_avg += m_weight * (g - exp_avg);  // torch's lerp for a weight below 0.5
    exp_avg_sq = exp_avg_sq * v_keep + v_weight * g * g;
    p -= step_size * (exp_avg / (exp_avg_sq.unaryExpr(detail::exact_sqrt_op{}) / bias_correction2_sqrt + epsilon));
  }
}

/// Sum of x[i]^2 over n elements, accumulated in double over fixed blocks whose partial sums
/// are added in block order, so the result does not depend on the thread count (exact resume
/// needs bit-equal clipping, and a resume may run on another number of threads).
template <class T>
double sum_of_squares(cpu_t<T>&, const T* x, std::int64_t n) {
  const std::int64_t blocks = detail::chunk_count(n, detail::square_sum_block);
  if (blocks <= 1) return detail::block_sum_of_squares(x, n);
  std::vector<double> partial(static_cast<std::size_t>(blocks));
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::int64_t begin = b * detail::square_sum_block;
    partial[static_cast<std::size_t>(b)] =
        detail::block_sum_of_squares(x + begin, std::min(detail::square_sum_block, n - begin));
  }
  return std::accumulate(partial.begin(), partial.end(), 0.0);
}

/// The sums of squares of several tensors, each as sum_of_squares above, added in list order.
template <class T>
double sum_of_squares(cpu_t<T>& be, std::span<const tensor_extent<T>> tensors) {
  double total = 0;
  for (const auto& t : tensors) total += sum_of_squares(be, t.data, t.n);
  return total;
}

/// One AdamW update of every listed tensor (float32 parameters: no master copies).
template <class T>
void adamw_update(cpu_t<T>& be, std::span<const adamw_tensor<T>> tensors, const adamw_hyper& h) {
  static_assert(std::is_same_v<T, float>, "the CPU optimizer keeps float32 parameters");
  for (const auto& t : tensors) {
    if (t.master != nullptr) throw std::invalid_argument("adamw_update: float32 parameters have no master copy");
    adamw_update(be, t.param, t.grad, t.exp_avg, t.exp_avg_sq, t.n, h.lr, h.beta1, h.beta2, h.eps, t.weight_decay,
                 t.bias_correction1, t.bias_correction2);
  }
}

/// x[i] *= factor over n elements (the factor in T's precision or float's, whichever is finer).
template <class T>
void scale(cpu_t<T>&, T* x, double factor, std::int64_t n) {
  const std::int64_t chunks = detail::chunk_count(n, detail::optimizer_chunk);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = c * detail::optimizer_chunk;
    detail::array_map(x + begin, std::min(detail::optimizer_chunk, n - begin)) *= static_cast<T>(factor);
  }
}

/// sum[i] += x[i] in float: gradients narrower than float summed over micro-batches.
template <class T>
void add_widened(cpu_t<T>&, const T* x, float* sum, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) sum[i] += static_cast<float>(x[i]);
}

/// y[i] = sum[i] * factor in float, rounded to T once.
template <class T>
void round_scaled(cpu_t<T>&, const float* sum, double factor, T* y, std::int64_t n) {
  const auto f = static_cast<float>(factor);
  for (std::int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(sum[i] * f);
}

}  // namespace dnabert::backend
