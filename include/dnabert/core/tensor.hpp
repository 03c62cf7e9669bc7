#pragma once
// A small dense tensor: row-major, contiguous, elements of the backend's scalar type, on the
// backend's device. It owns its storage or views someone else's (a memory-mapped checkpoint).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <type_traits>
#include <vector>

#include "dnabert/core/error.hpp"

namespace dnabert {

/// Shape of a tensor, outermost dimension first.
using shape_type = std::vector<std::int64_t>;

/// Number of elements of a shape (1 for rank 0).
inline std::int64_t element_count(const shape_type& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
}

/// Dense row-major tensor of E (default: the backend's scalar; a bf16 type later) on backend B,
/// whose type is the device tag; copies share storage (like torch.Tensor), owned or viewed.
template <class B, class E = typename B::value_type>
class tensor {
 public:
  using backend_type = B;
  using value_type = E;

  /// An empty tensor of shape [0].
  tensor() : shape_{0} {}

  /// A tensor of `shape` in fresh storage from `backend` (contents unspecified).
  tensor(B& backend, shape_type shape) : shape_(std::move(shape)) {
    const auto count = element_count(shape_);
    if (count < 0) throw shape_error("(new tensor)", {}, shape_);
    storage_ = backend.allocate(static_cast<std::size_t>(count) * sizeof(E));
    data_ = static_cast<value_type*>(storage_.get());
  }

  /// A view of `count(shape)` elements at `data`, kept alive by `owner`.
  static tensor view(value_type* data, shape_type shape, std::shared_ptr<void> owner) {
    tensor t;
    t.shape_ = std::move(shape);
    t.data_ = data;
    t.storage_ = std::move(owner);
    return t;
  }

  /// First element.
  [[nodiscard]] value_type* data() const noexcept { return data_; }
  /// Shape, outermost first.
  [[nodiscard]] const shape_type& shape() const noexcept { return shape_; }
  /// Size of dimension `i` (negative counts from the end).
  [[nodiscard]] std::int64_t dim(int i) const { return shape_.at(static_cast<std::size_t>(i < 0 ? rank() + i : i)); }
  /// Number of dimensions.
  [[nodiscard]] int rank() const noexcept { return static_cast<int>(shape_.size()); }
  /// Number of elements.
  [[nodiscard]] std::int64_t numel() const { return element_count(shape_); }
  /// Elements as a span (host backends only make sense to read this).
  [[nodiscard]] std::span<value_type> span() const { return {data_, static_cast<std::size_t>(numel())}; }
  /// Row-major strides in elements. Tensors are always contiguous: views only reshape or take
  /// a range of rows, so the strides follow from the shape.
  [[nodiscard]] shape_type strides() const {
    shape_type out(shape_.size(), 1);
    for (int i = rank() - 2; i >= 0; --i)
      out[static_cast<std::size_t>(i)] = out[static_cast<std::size_t>(i) + 1] * shape_[static_cast<std::size_t>(i) + 1];
    return out;
  }
  /// Rows of the flattened [numel / last, last] view.
  [[nodiscard]] std::int64_t rows() const { return shape_.empty() || dim(-1) == 0 ? 0 : numel() / dim(-1); }

  /// The same elements with another shape of equal element count.
  [[nodiscard]] tensor reshaped(shape_type shape) const {
    if (element_count(shape) != numel()) throw shape_error("(reshape)", shape_, shape);
    tensor t = *this;
    t.shape_ = std::move(shape);
    return t;
  }

  /// Rows [begin, end) of dimension 0, sharing storage.
  [[nodiscard]] tensor slice_rows(std::int64_t begin, std::int64_t end) const {
    const std::int64_t row = shape_.empty() ? 1 : numel() / std::max<std::int64_t>(shape_[0], 1);
    tensor t = *this;
    t.shape_[0] = end - begin;
    t.data_ = data_ + begin * row;
    return t;
  }

  /// Storage owner (to keep views alive).
  [[nodiscard]] const std::shared_ptr<void>& storage() const noexcept { return storage_; }

 private:
  shape_type shape_;
  value_type* data_ = nullptr;
  std::shared_ptr<void> storage_;
};

/// The elements of `t` copied into host memory (a download on a device backend; `download` is
/// found by argument-dependent lookup on B, as every op).
template <class B, class E>
std::vector<E> host_values(B& backend, const tensor<B, E>& t) {
  std::vector<E> values(static_cast<std::size_t>(t.numel()));
  download(backend, t.data(), values.data(), t.numel());
  return values;
}

/// The elements of `t` as float32 on the host (widened where the backend stores bfloat16).
template <class B, class E>
std::vector<float> host_floats(B& backend, const tensor<B, E>& t) {
  if constexpr (std::is_same_v<E, float>) {
    return host_values(backend, t);
  } else {
    const auto values = host_values(backend, t);
    return {values.begin(), values.end()};
  }
}

/// Throws shape_error naming `what` unless `t` has exactly `expected` shape.
template <class B, class E>
void expect_shape(const tensor<B, E>& t, const shape_type& expected, std::string_view what) {
  if (t.shape() != expected) throw shape_error(what, expected, t.shape());
}

}  // namespace dnabert
