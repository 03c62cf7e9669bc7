#pragma once
// CPU backends of any element type and tensors filled from doubles, for op tests run at several
// precisions (float, double) against the same golden numbers.
#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

#include "dnabert/backend/cpu/ops.hpp"
#include "dnabert/core/tensor.hpp"

namespace dnabert::test {

/// The CPU backend computing in T.
template <class T>
using backend_of = backend::cpu_t<T>;

/// One single-threaded CPU backend per element type, shared by a test binary.
template <class T>
backend_of<T>& test_backend() {
  static backend_of<T> backend(1);
  return backend;
}

/// A tensor of `shape` on test_backend<T>() holding `values` converted to T.
template <class T>
tensor<backend_of<T>> make_tensor(const shape_type& shape, const std::vector<double>& values) {
  tensor<backend_of<T>> t(test_backend<T>(), shape);
  REQUIRE(values.size() == t.span().size());
  for (std::size_t i = 0; i < values.size(); ++i) t.span()[i] = static_cast<T>(values[i]);
  return t;
}

}  // namespace dnabert::test
