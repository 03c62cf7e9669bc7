#pragma once
// Float32 activations converted for the low-precision GEMMs, in parallel: rounded to bfloat16, or
// quantized to unsigned 8 bits per call with a scale and zero point chosen from the tensor's range
// (ONNX Runtime's DynamicQuantizeLinear, which its quantize_dynamic inserts before each MatMul).

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include <Eigen/Core>

#include "dnabert/core/half_float.hpp"

namespace dnabert::backend::detail {

/// out[r, c] = bfloat16(x[r * stride + c]) for a [rows, cols] matrix with row stride `stride`
/// (rounded to nearest even, as PyTorch's autocast), out contiguous.
inline void round_to_bfloat16(const float* x, std::int64_t rows, std::int64_t cols, std::int64_t stride, std::uint16_t* out) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    std::uint16_t* to = out + r * cols;
    for (std::int64_t c = 0; c < cols; ++c) to[c] = float_to_bfloat16(row[c]);
  }
}

/// How a tensor's floats map to uint8: x ≈ (q - zero_point) · scale.
struct uint8_quantization {
  float scale = 1.0F;
  std::int32_t zero_point = 0;
  bool finite = true;  ///< false when x holds a NaN or an infinity (no scale fits it)
};

/// DynamicQuantizeLinear's parameters for a [rows, cols] matrix (row stride `stride`): the range
/// [min(x, 0), max(x, 0)] spread over 0..255, the zero point rounded to nearest even.
inline uint8_quantization choose_uint8_quantization(const float* x, std::int64_t rows, std::int64_t cols, std::int64_t stride) {
  float low = 0;
  float high = 0;
  bool finite = true;
  // Eigen's vectorised reductions: a scalar min/max loop (NaN-aware compares) ran at a tenth of
  // the speed and took 10 % of an int8 forward.
#pragma omp parallel for schedule(static) reduction(min : low) reduction(max : high) reduction(&& : finite)
  for (std::int64_t r = 0; r < rows; ++r) {
    const Eigen::Map<const Eigen::ArrayXf> row(x + r * stride, cols);
    low = std::min(low, row.minCoeff());
    high = std::max(high, row.maxCoeff());
    finite = finite && row.isFinite().all();
  }
  uint8_quantization q;
  q.finite = finite && std::isfinite(high - low);
  if (q.finite && high > low) {
    q.scale = (high - low) / 255.0F;
    q.zero_point = static_cast<std::int32_t>(std::clamp(std::nearbyint(-low / q.scale), 0.0F, 255.0F));
  }
  return q;
}

/// out[r, c] = saturate(round(x[r * stride + c] / scale) + zero_point) in 0..255, rounding to nearest even.
inline void quantize_to_uint8(const float* x, std::int64_t rows, std::int64_t cols, std::int64_t stride,
                              const uint8_quantization& q, std::uint8_t* out) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    std::uint8_t* to = out + r * cols;
    for (std::int64_t c = 0; c < cols; ++c)
      to[c] = static_cast<std::uint8_t>(
          std::clamp(std::nearbyint(row[c] / q.scale) + static_cast<float>(q.zero_point), 0.0F, 255.0F));
  }
}

}  // namespace dnabert::backend::detail
