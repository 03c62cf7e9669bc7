#pragma once
// The CPU ops the optimizer needs (AdamW update, squared norm, scaling), free functions taking
// the backend first like every op in cpu_ops.hpp, so a device backend can supply twins.

#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>

#include "dnabert/backend/cpu.hpp"

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
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    param[i] *= decay_factor;
    m[i] += m_weight * (grad[i] - m[i]);  // torch's lerp for a weight below 0.5
    v[i] = v[i] * v_keep + v_weight * grad[i] * grad[i];
    param[i] -= step_size * (m[i] / (std::sqrt(v[i]) / bias_correction2_sqrt + epsilon));
  }
}

/// Sum of x[i]^2 over n elements, accumulated in double over a fixed split into blocks, so
/// the result does not depend on the thread count (exact resume needs bit-equal clipping).
template <class T>
double sum_of_squares(cpu_t<T>&, const T* x, std::int64_t n) {
  constexpr std::int64_t blocks = 64;
  std::array<double, blocks> partial{};
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < blocks; ++b) {
    double total = 0;
    for (std::int64_t i = n * b / blocks; i < n * (b + 1) / blocks; ++i)
      total += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    partial[static_cast<std::size_t>(b)] = total;
  }
  return std::accumulate(partial.begin(), partial.end(), 0.0);
}

/// x[i] *= factor over n elements.
template <class T>
void scale(cpu_t<T>&, T* x, T factor, std::int64_t n) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) x[i] *= factor;
}

}  // namespace dnabert::backend
