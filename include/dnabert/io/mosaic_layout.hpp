#pragma once
// DNABERT-2's checkpoint layout (MosaicBERT's bert_layers.py) against the names dnabert holds:
// each layer's fused attention.self.Wqkv [3·hidden, hidden] is query, key and value stacked by rows,
// and the masked-LM bias is cls.predictions.decoder.bias. Reading splits and renames; writing joins
// and renames back, so a folder round-trips with DNABERT-2's names.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/tensor_map.hpp"

namespace dnabert::io {

namespace mosaic {

/// The fused projection's parts, in the order its rows stack them.
inline constexpr std::array<std::string_view, 3> qkv_parts = {"query", "key", "value"};
/// What a fused tensor's name ends with; the parts keep the suffix (weight, bias, an int8 weight's scale).
inline constexpr std::array<std::string_view, 3> fused_suffixes = {".weight", ".bias", ".weight_scale"};
inline constexpr std::string_view fused_name = "attention.self.Wqkv";
inline constexpr std::string_view decoder_bias = "cls.predictions.decoder.bias";
inline constexpr std::string_view prediction_bias = "cls.predictions.bias";

/// "PREFIX.attention.self.Wqkv" → "PREFIX.attention.self.", else empty.
inline std::string fused_prefix(std::string_view name, std::string_view suffix) {
  if (!name.ends_with(suffix)) return {};
  const std::string_view stem = name.substr(0, name.size() - suffix.size());
  if (!stem.ends_with(fused_name)) return {};
  return std::string(stem.substr(0, stem.size() - fused_name.size())) + "attention.self.";
}

/// Splits every fused tensor of `tensors` into its three parts by rows, views of the same storage;
/// `file` names the checkpoint when a fused tensor's rows are not a multiple of 3.
template <class T>
void split_fused(std::map<std::string, basic_loaded_tensor<T>, std::less<>>& tensors, const std::string& file) {
  std::vector<std::string> fused;
  for (const auto& [name, tensor] : tensors)
    for (const std::string_view suffix : fused_suffixes)
      if (!fused_prefix(name, suffix).empty()) fused.push_back(name);
  for (const std::string& name : fused) {
    const auto node = tensors.extract(name);
    const basic_loaded_tensor<T>& whole = node.mapped();
    if (whole.shape.empty() || whole.shape[0] % 3 != 0)
      throw format_error(file, "tensor " + name + " has shape " + shape_to_string(whole.shape) +
                                   "; a fused query/key/value projection has 3 x hidden rows");
    std::vector<std::int64_t> part_shape = whole.shape;
    part_shape[0] /= 3;
    const auto part_size = whole.values.size() / 3;
    for (const std::string_view suffix : fused_suffixes) {
      const std::string prefix = fused_prefix(name, suffix);
      if (prefix.empty()) continue;
      for (std::size_t p = 0; p < qkv_parts.size(); ++p)
        tensors.insert_or_assign(prefix + std::string(qkv_parts[p]) + std::string(suffix),
                                 basic_loaded_tensor<T>{part_shape, whole.values.subspan(p * part_size, part_size), whole.storage});
      break;
    }
  }
}

/// Joins every query/key/value triple of `tensors` into the fused tensor (the inverse of split_fused).
template <class T>
void join_fused(std::map<std::string, basic_loaded_tensor<T>, std::less<>>& tensors) {
  std::vector<std::string> queries;
  for (const auto& [name, tensor] : tensors)
    if (name.find(".attention.self.query.") != std::string::npos) queries.push_back(name);
  for (const std::string& query : queries) {
    const auto at = query.find(".attention.self.query.");
    const std::string prefix = query.substr(0, at) + ".attention.self.";
    const std::string suffix = query.substr(at + std::string_view(".attention.self.query").size());
    std::vector<T> values;
    std::vector<std::int64_t> shape;
    for (const std::string_view part : qkv_parts) {
      const auto node = tensors.extract(prefix + std::string(part) + suffix);
      if (node.empty()) throw input_error("cannot join " + prefix + "Wqkv" + suffix + ": " + std::string(part) + " is missing");
      if (shape.empty()) shape = node.mapped().shape;
      else shape[0] += node.mapped().shape[0];
      values.insert(values.end(), node.mapped().values.begin(), node.mapped().values.end());
    }
    tensors.insert_or_assign(prefix + "Wqkv" + suffix, make_owned_tensor<T>(shape, std::move(values)));
  }
}

/// Renames the tensor `from` to `to` when present.
template <class T>
void rename(std::map<std::string, basic_loaded_tensor<T>, std::less<>>& tensors, std::string_view from, std::string_view to) {
  auto node = tensors.extract(std::string(from));
  if (node.empty()) return;
  node.key() = std::string(to);
  tensors.insert(std::move(node));
}

}  // namespace mosaic

/// A DNABERT-2 checkpoint's tensors (and int8 tensors) under the names dnabert holds.
inline void from_mosaic_layout(tensor_map& tensors, int8_tensor_map& int8_tensors, const std::string& file) {
  mosaic::split_fused(tensors, file);
  mosaic::split_fused(int8_tensors, file);
  if (!tensors.contains(mosaic::prediction_bias)) mosaic::rename(tensors, mosaic::decoder_bias, mosaic::prediction_bias);
}

/// dnabert's tensors (and int8 tensors) under DNABERT-2's checkpoint names.
inline void to_mosaic_layout(tensor_map& tensors, int8_tensor_map& int8_tensors) {
  mosaic::join_fused(tensors);
  mosaic::join_fused(int8_tensors);
  tensors.erase(std::string(mosaic::decoder_bias));
  mosaic::rename(tensors, mosaic::prediction_bias, mosaic::decoder_bias);
}

}  // namespace dnabert::io
