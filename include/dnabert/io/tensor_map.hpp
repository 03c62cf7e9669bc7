#pragma once
// The common result of every weight-file reader: named float32 tensors, row-major and
// contiguous, whose bytes may live in a memory map shared by all tensors of one file; and the
// int8 tensors of a quantized folder (`dnabert quantize`, docs/precision.md), held the same way.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dnabert::io {

/// One tensor of element type T read from a checkpoint; `storage` keeps `values` alive.
template <class T>
struct basic_loaded_tensor {
  std::vector<std::int64_t> shape;
  std::span<const T> values;
  std::shared_ptr<const void> storage;
};

/// A float32 tensor (every reader's weights).
using loaded_tensor = basic_loaded_tensor<float>;
/// An int8 tensor (safetensors dtype I8: the weights of a quantized folder).
using loaded_int8_tensor = basic_loaded_tensor<std::int8_t>;

/// Tensors by their Hugging Face name (e.g. "bert.embeddings.word_embeddings.weight").
using tensor_map = std::map<std::string, loaded_tensor, std::less<>>;
/// Int8 tensors by name.
using int8_tensor_map = std::map<std::string, loaded_int8_tensor, std::less<>>;

/// Makes a tensor that owns its values (float32 unless they are a std::vector of another type).
template <class T = float>
basic_loaded_tensor<T> make_owned_tensor(std::vector<std::int64_t> shape, std::vector<T> values) {
  auto owner = std::make_shared<std::vector<T>>(std::move(values));
  return basic_loaded_tensor<T>{std::move(shape), std::span<const T>(owner->data(), owner->size()), owner};
}

}  // namespace dnabert::io
