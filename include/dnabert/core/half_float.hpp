#pragma once
// The 16-bit float formats: exact conversions of what checkpoints store (IEEE binary16 and
// bfloat16) to float32, and `bfloat16`, the element type of the CUDA backend's bf16 mode.

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

/// float to bfloat16 bits, rounded to nearest even (NaN stays a quiet NaN), as PyTorch and CUDA do.
inline std::uint16_t float_to_bfloat16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if (std::isnan(value)) return static_cast<std::uint16_t>((bits >> 16) | 0x40U);
  const std::uint32_t rounding = 0x7fffU + ((bits >> 16) & 1U);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

/// A bfloat16 number (the top 16 bits of a float32): storage for tensors of 16-bit models,
/// converting to and from float like a built-in type. Same layout as CUDA's __nv_bfloat16.
struct bfloat16 {
  std::uint16_t bits;  // no initialiser: a trivial type, copied as bytes to and from the device

  bfloat16() = default;
  /// The nearest bfloat16 (ties to even).
  bfloat16(float value) : bits(float_to_bfloat16(value)) {}  // NOLINT: converts like float does
  /// The nearest bfloat16 of a double (through float).
  bfloat16(double value) : bfloat16(static_cast<float>(value)) {}  // NOLINT
  /// An integer's nearest bfloat16.
  bfloat16(int value) : bfloat16(static_cast<float>(value)) {}  // NOLINT
  /// Exactly its float value.
  operator float() const { return bfloat16_to_float(bits); }  // NOLINT
};

}  // namespace dnabert
