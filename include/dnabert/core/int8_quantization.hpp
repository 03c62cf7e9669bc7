#pragma once
// Symmetric int8 quantization of a weight matrix, one scale per output channel (row): what the
// CPU's int8 inference multiplies with and what `dnabert quantize` writes (docs/precision.md).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace dnabert {

/// A [rows, cols] matrix as int8 values and one float scale per row: value ≈ q · scale.
struct int8_rows {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<std::int8_t> values;  ///< row-major [rows, cols], each in [-limit, limit]
  std::vector<float> scales;        ///< [rows]
};

/// Int8 weights by parameter name (e.g. "bert.pooler.dense.weight"), as a quantized folder holds them.
using int8_weight_map = std::map<std::string, int8_rows, std::less<>>;

/// Quantizes each row of `matrix` [rows, cols] to integers in [-limit, limit] (limit ≤ 127) with
/// scale max|row| / limit, rounding to nearest even (a row of zeros gets scale 1).
inline int8_rows quantize_rows(std::span<const float> matrix, std::int64_t rows, std::int64_t cols, int limit = 127) {
  int8_rows out{rows, cols, std::vector<std::int8_t>(matrix.size()), std::vector<float>(static_cast<std::size_t>(rows))};
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto row = matrix.subspan(static_cast<std::size_t>(r * cols), static_cast<std::size_t>(cols));
    float largest = 0;
    for (const float v : row) largest = std::max(largest, std::fabs(v));
    const float scale = largest > 0 ? largest / static_cast<float>(limit) : 1.0F;
    out.scales[static_cast<std::size_t>(r)] = scale;
    for (std::int64_t c = 0; c < cols; ++c) {
      const float q = std::nearbyint(row[static_cast<std::size_t>(c)] / scale);
      out.values[static_cast<std::size_t>(r * cols + c)] =
          static_cast<std::int8_t>(std::clamp(q, -static_cast<float>(limit), static_cast<float>(limit)));
    }
  }
  return out;
}

/// The float matrix an int8_rows stands for: q · scale of its row.
inline std::vector<float> dequantize_rows(const int8_rows& q) {
  std::vector<float> out(q.values.size());
  for (std::int64_t r = 0; r < q.rows; ++r)
    for (std::int64_t c = 0; c < q.cols; ++c) {
      const auto i = static_cast<std::size_t>(r * q.cols + c);
      out[i] = static_cast<float>(q.values[i]) * q.scales[static_cast<std::size_t>(r)];
    }
  return out;
}

/// Whether `matrix` holds exactly the values `q` stands for (dequantize_rows(q)): float weights
/// loaded from q and not changed since.
inline bool represents(const int8_rows& q, std::span<const float> matrix) {
  const std::vector<float> values = dequantize_rows(q);
  return std::equal(matrix.begin(), matrix.end(), values.begin(), values.end());
}

}  // namespace dnabert
