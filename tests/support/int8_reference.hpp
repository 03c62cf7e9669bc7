#pragma once
// Symmetric int8 quantization of one weight row, written out independently of
// core/int8_quantization.hpp: the reference for what `dnabert quantize` writes.
#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

namespace dnabert::test {

/// Rounds to the nearest integer, ties to the even one, spelled out.
inline float round_half_even(float x) {
  const float lower = std::floor(x);
  const float fraction = x - lower;
  if (fraction > 0.5F) return lower + 1;
  if (fraction < 0.5F) return lower;
  return std::fmod(lower, 2.0F) == 0 ? lower : lower + 1;
}

/// One row as int8: scale = max|w| / 127 (1 for a row of zeros), q = round(w / scale).
struct row_quantization {
  float scale = 1;
  std::vector<int> values;
};

/// Quantizes `row` symmetrically to [-127, 127].
inline row_quantization quantize_row(std::span<const float> row) {
  float largest = 0;
  for (const float w : row) largest = std::max(largest, std::abs(w));
  row_quantization q;
  q.scale = largest == 0 ? 1.0F : largest / 127.0F;
  for (const float w : row) q.values.push_back(static_cast<int>(std::clamp(round_half_even(w / q.scale), -127.0F, 127.0F)));
  return q;
}

/// The values `row`'s int8 form stands for: q · scale.
inline std::vector<float> dequantized_row(std::span<const float> row) {
  const auto q = quantize_row(row);
  std::vector<float> out;
  for (const int v : q.values) out.push_back(static_cast<float>(v) * q.scale);
  return out;
}

}  // namespace dnabert::test
