#pragma once
// The xtensor edge of the API: host tensors seen as xtensor expressions and xtensor arrays
// seen as tensors, both without copying.

#include <cstddef>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "dnabert/core/tensor.hpp"

namespace dnabert {

/// A host tensor as an xtensor view sharing its memory (the tensor must outlive the view).
template <class B, class E>
  requires(B::host_memory)
auto as_xtensor(const tensor<B, E>& t) {
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  return xt::adapt(t.data(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), shape);
}

/// An xtensor array as a host tensor viewing its memory (the array must outlive the tensor).
template <class B, class E>
  requires(B::host_memory)
tensor<B, E> as_tensor(xt::xarray<E>& array) {
  shape_type shape(array.shape().begin(), array.shape().end());
  return tensor<B, E>::view(array.data(), std::move(shape), nullptr);
}

}  // namespace dnabert
