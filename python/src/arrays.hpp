#pragma once
// NumPy arrays that own their memory: the C++ buffer moves into a capsule the array keeps alive,
// so nothing is copied and nothing outlives its owner.

#include <nanobind/ndarray.h>

#include <cstddef>
#include <utility>
#include <vector>

namespace dnabert::python {

namespace nb = nanobind;

/// A NumPy array of `shape` over `values` (moved, not copied; their count is the shape's product).
template <class T>
nb::ndarray<nb::numpy, T> owned_array(std::vector<T>&& values, const std::vector<std::size_t>& shape) {
  auto* owner = new std::vector<T>(std::move(values));
  nb::capsule release(owner, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(owner->data(), shape.size(), shape.data(), release);
}

}  // namespace dnabert::python
