#pragma once
// Small BERT configurations for tests that need a model but no checkpoint.
#include <cstdint>
#include <string>

#include "dnabert/core/bert_config.hpp"

namespace dnabert::test {

/// A k=3 (vocab 69) configuration of the given sizes, for `head`.
inline bert_config tiny_config(bert_head head, std::int64_t hidden, std::int64_t layers, std::int64_t heads,
                               std::int64_t intermediate, std::int64_t positions, std::int64_t labels = 2) {
  bert_config config;
  config.vocab_size = 69;
  config.hidden_size = hidden;
  config.num_hidden_layers = layers;
  config.num_attention_heads = heads;
  config.intermediate_size = intermediate;
  config.max_position_embeddings = positions;
  config.num_labels = labels;
  config.architectures = {std::string(architecture_name(head))};
  return config;
}

}  // namespace dnabert::test
