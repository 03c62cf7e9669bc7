#pragma once
// Exact conversions of the 16-bit float formats checkpoints store (IEEE binary16 and
// bfloat16) to float32; every reader of weight files shares them.

#include <bit>
#include <cmath>
#include <cstdint>

namespace dnabert {

/// IEEE 754 half precision to single precision, exact for every value (subnormals, infinities, NaN).
inline float half_to_float(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000U) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fU;
  const std::uint32_t mantissa = half & 0x3ffU;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000U | (mantissa << 13));
  if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // subnormal: mantissa * 2^-24
  return sign != 0 ? -magnitude : magnitude;
}

/// bfloat16 to float: it is the top half of a float32.
inline float bfloat16_to_float(std::uint16_t bfloat) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bfloat) << 16);
}

}  // namespace dnabert
