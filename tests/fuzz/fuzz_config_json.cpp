// libFuzzer harness for config.json: any bytes must either give a valid bert_config or throw
// dnabert::error. An accepted config must also survive write -> read unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "dnabert/io/config_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dnabert::bert_config config;
  try {
    config = dnabert::io::parse_config_json(std::as_bytes(std::span(data, size)), "fuzz/config.json");
  } catch (const dnabert::error&) {
    return 0;
  }
  config.validate();  // the reader promised a valid config: any exception here is a bug
  const std::string text = dnabert::io::config_json_text(config);
  const auto back = dnabert::io::parse_config_json(std::as_bytes(std::span(text.data(), text.size())), "round-trip");
  const bool same =
      back.vocab_size == config.vocab_size && back.hidden_size == config.hidden_size &&
      back.num_hidden_layers == config.num_hidden_layers && back.num_attention_heads == config.num_attention_heads &&
      back.intermediate_size == config.intermediate_size && back.num_labels == config.num_labels &&
      back.layer_norm_eps == config.layer_norm_eps && back.hidden_dropout_prob == config.hidden_dropout_prob &&
      back.label_names == config.label_names && back.architectures == config.architectures;
  if (!same) std::abort();
  return 0;
}
