#pragma once
// The common result of every weight-file reader: named float32 tensors, row-major and
// contiguous, whose bytes may live in a memory map shared by all tensors of one file.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dnabert::io {

/// One float32 tensor read from a checkpoint; `storage` keeps `values` alive.
struct loaded_tensor {
  std::vector<std::int64_t> shape;
  std::span<const float> values;
  std::shared_ptr<const void> storage;
};

/// Tensors by their Hugging Face name (e.g. "bert.embeddings.word_embeddings.weight").
using tensor_map = std::map<std::string, loaded_tensor, std::less<>>;

/// Makes a tensor that owns its values.
inline loaded_tensor make_owned_tensor(std::vector<std::int64_t> shape, std::vector<float> values) {
  auto owner = std::make_shared<std::vector<float>>(std::move(values));
  return loaded_tensor{std::move(shape), std::span<const float>(owner->data(), owner->size()), owner};
}

}  // namespace dnabert::io
