#pragma once
// `dnabert quantize`: a model folder rewritten with the weights of its per-token linear layers as
// int8, one scale per output channel, so that an int8 CPU backend loads them without quantizing
// again (docs/precision.md describes the folder).

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/int8_quantization.hpp"
#include "dnabert/io/config_json.hpp"
#include "dnabert/io/model_folder.hpp"

namespace dnabert::io {

/// The integer range a quantized folder's weights use: ±127, what the int8 CPU backend quantizes
/// to itself. Where oneDNN has no VNNI, it narrows them to ±63 when it packs them
/// (pack_quantized_linear), so one folder serves every CPU.
inline constexpr int quantized_folder_limit = 127;

/// What quantize_model_folder read and wrote.
struct quantized_folder_report {
  std::string source_weights;        ///< the weight file read (model.safetensors or pytorch_model.bin)
  std::uintmax_t source_bytes = 0;   ///< its size
  std::string written_weights;       ///< the model.safetensors written
  std::uintmax_t written_bytes = 0;  ///< its size
  std::vector<std::string> weights;  ///< the int8 weights written, by name
  std::vector<std::string> warnings; ///< from reading the source folder
};

namespace detail {

/// The size of the file at `path`; throws dnabert::error when it cannot be read.
inline std::uintmax_t file_bytes(const std::string& path) {
  std::error_code failure;
  const auto bytes = std::filesystem::file_size(path, failure);
  if (failure) throw error("cannot read the size of " + path + ": " + failure.message());
  return bytes;
}

}  // namespace detail

/// Reads the model folder `from` (its head from config.json) and writes it to `to` with the weights
/// the int8 CPU backend packs as int8 (those of the per-token linear layers: the encoder's
/// projections and the MLM transform; parameter_spec::per_token_linear), each with a float32 scale
/// per output channel, symmetric, rounded to nearest even (quantize_rows); everything else, the
/// pooler and the classifier included, in float32; config.json marked. Refuses a folder that is
/// already quantized (input_error). Each file is written atomically.
inline quantized_folder_report quantize_model_folder(const std::string& from, const std::string& to) {
  const bert_config config = read_folder_config(from);
  const bert_head head = head_for_architectures(config.architectures);
  const model_folder folder = read_model_folder(from, head);
  if (!folder.quantized.empty())
    throw input_error(from + " is already quantized (" + std::to_string(folder.quantized.size()) +
                      " int8 weights, e.g. " + folder.quantized.begin()->first +
                      "); quantize the float32 folder it was made from");
  quantized_folder_report report;
  report.source_weights = folder.weights_path;
  report.source_bytes = detail::file_bytes(folder.weights_path);  // before `to` may replace it
  report.written_weights = (std::filesystem::path(to) / model_files::safetensors).string();
  report.warnings = folder.warnings;
  int8_weight_map quantized;
  for (const parameter_spec& spec : bert_parameters(folder.config, head)) {
    const auto found = folder.tensors.find(spec.name);
    if (!spec.per_token_linear || found == folder.tensors.end()) continue;
    quantized.emplace(spec.name, quantize_rows(found->second.values, spec.shape[0], spec.shape[1], quantized_folder_limit));
    report.weights.push_back(spec.name);
  }
  write_model_folder(to, folder.config, folder.tensors, quantized, folder.tokenizer_json);
  report.written_bytes = detail::file_bytes(report.written_weights);
  return report;
}

}  // namespace dnabert::io
