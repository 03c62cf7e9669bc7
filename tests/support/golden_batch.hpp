#pragma once
// The token batch PyTorch saw, rebuilt from the input_ids and attention_mask tensors that a
// tests/reference script stored beside its goldens.
#include <cstddef>
#include <cstdint>

#include "dnabert/io/tensor_map.hpp"
#include "dnabert/tokenizer/token_batch.hpp"

namespace dnabert::test {

/// A batch of ids [rows, length] with its attention mask (both stored as float tensors).
inline token_batch batch_from_tensors(const io::loaded_tensor& ids, const io::loaded_tensor& mask) {
  token_batch batch;
  batch.rows = static_cast<std::size_t>(ids.shape[0]);
  batch.length = static_cast<std::size_t>(ids.shape[1]);
  for (const float v : ids.values) batch.input_ids.push_back(static_cast<token_id>(v));
  for (const float v : mask.values) batch.attention_mask.push_back(static_cast<std::int32_t>(v));
  batch.origins.resize(batch.rows);
  return batch;
}

}  // namespace dnabert::test
