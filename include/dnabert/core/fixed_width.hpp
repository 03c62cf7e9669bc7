#pragma once
// A size fixed at compile time, handed to an op where it takes a run-time size. A backend with a
// kernel for the fixed size (the CPU's LayerNorm) sizes its loops and Eigen maps by it; any other
// backend's op takes it, through the implicit conversion, as the plain number, so a static model
// shape never needs a kernel that a backend lacks.

#include <concepts>
#include <cstdint>

#include "dnabert/core/vocabulary.hpp"

namespace dnabert {

/// The width N, known at compile time; reads as std::int64_t N wherever a size is expected.
template <int N>
struct fixed_width {
  static_assert(N > 0, "a fixed width must be positive");
  static constexpr std::int64_t value = N;
  /// The width as a run-time size.
  constexpr operator std::int64_t() const noexcept { return N; }  // NOLINT: implicit, the fallback described above
};

/// N for fixed_width<N>, `dynamic` for a run-time size (any integer type).
template <class W>
inline constexpr int width_extent = dynamic;
template <int N>
inline constexpr int width_extent<fixed_width<N>> = N;

/// A row width an op accepts: a run-time integer or a fixed_width.
template <class W>
concept row_width = std::integral<W> || width_extent<W> != dynamic;

}  // namespace dnabert
