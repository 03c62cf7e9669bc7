#pragma once
// Element-wise comparisons of float tensors (as spans) for tests that check numbers against goldens.
#include <algorithm>
#include <cmath>
#include <span>

#include <doctest/doctest.h>

namespace dnabert::test {

/// Largest |a - b| over the elements; sizes must agree.
inline double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  return worst;
}

/// Largest |a| over the elements.
inline double max_abs(std::span<const float> a) {
  double top = 0;
  for (const float x : a) top = std::max(top, std::abs(static_cast<double>(x)));
  return top;
}

}  // namespace dnabert::test
