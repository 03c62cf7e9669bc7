#pragma once
// A Hugging Face model folder (config.json, vocab.txt, model.safetensors or pytorch_model.bin):
// reads it and checks every tensor against bert_parameters(); writes one transformers can load.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/io/config_json.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/io/tensor_map.hpp"
#include "dnabert/io/torch_checkpoint.hpp"
#include "dnabert/io/vocab_file.hpp"

namespace dnabert::io {

/// File names inside a model folder, as transformers writes them.
namespace model_files {
inline constexpr std::string_view config = "config.json";
inline constexpr std::string_view vocab = "vocab.txt";
inline constexpr std::string_view safetensors = "model.safetensors";
inline constexpr std::string_view torch = "pytorch_model.bin";
inline constexpr std::string_view safetensors_index = "model.safetensors.index.json";
inline constexpr std::string_view torch_index = "pytorch_model.bin.index.json";
}  // namespace model_files

/// A model folder read and checked against the parameters of the requested head.
struct model_folder {
  bert_config config;
  /// The k-mer size, from config.vocab_size (and vocab.txt, when present, agrees).
  int k = 0;
  /// Every parameter the checkpoint held, by Hugging Face name, tied ones filled in.
  tensor_map tensors;
  /// The weight file that was read.
  std::string weights_path;
  /// Parameters of the head the checkpoint lacks (e.g. a classifier on a pre-trained MLM
  /// checkpoint): the model must initialise them.
  std::vector<std::string> initialised;
  /// Things a user should know but that do not stop loading (unused tensors, no vocab.txt, ...).
  std::vector<std::string> warnings;
};

namespace detail {

/// True for a regular file; an unreadable entry counts as absent (no std::filesystem_error).
inline bool is_file(const std::filesystem::path& path) {
  std::error_code ignored;
  return std::filesystem::is_regular_file(path, ignored);
}

/// True when anything exists at `path`; an unreadable entry counts as absent.
inline bool is_present(const std::filesystem::path& path) {
  std::error_code ignored;
  return std::filesystem::exists(path, ignored);
}

/// Integer buffers that checkpoints carry next to the weights and that the model recomputes.
inline bool is_known_buffer(std::string_view name) {
  return name == "bert.embeddings.position_ids" || name == "bert.embeddings.token_type_ids" ||
         name == "embeddings.position_ids" || name == "embeddings.token_type_ids";
}

/// The weight file of `dir`: model.safetensors, else pytorch_model.bin; sharded ones are refused.
inline std::string choose_weight_file(const std::filesystem::path& dir) {
  for (const std::string_view name : {model_files::safetensors, model_files::torch})
    if (is_file(dir / name)) return (dir / name).string();
  for (const std::string_view index : {model_files::safetensors_index, model_files::torch_index})
    if (is_present(dir / index))
      throw format_error((dir / index).string(),
                         "sharded checkpoints are not supported yet; merge the shards into one model.safetensors "
                         "(e.g. save_pretrained with a larger max_shard_size)");
  throw format_error(dir.string(), "no weight file: looked for " + std::string(model_files::safetensors) + " and " +
                                       std::string(model_files::torch));
}

/// Tensors and skipped integer buffers of one weight file, whichever its format.
struct weight_file_contents {
  tensor_map tensors;
  std::vector<std::string> skipped;
};

/// Reads model.safetensors or pytorch_model.bin, chosen by the file name.
inline weight_file_contents read_weight_file(const std::string& path) {
  if (path.ends_with(model_files::safetensors)) {
    auto contents = read_safetensors(path);
    return {std::move(contents.tensors), std::move(contents.skipped)};
  }
  weight_file_contents contents;
  contents.tensors = read_torch_checkpoint(path, &contents.skipped);
  return contents;
}

/// A checkpoint of a bare BertModel names "embeddings.*" where the task models name
/// "bert.embeddings.*"; transformers adds the prefix when loading, and so do we.
inline void add_base_model_prefix(tensor_map& tensors) {
  const bool has_prefix =
      std::any_of(tensors.begin(), tensors.end(), [](const auto& entry) { return entry.first.starts_with("bert."); });
  if (has_prefix) return;
  tensor_map renamed;
  for (auto& [name, tensor] : tensors) {
    const bool base = name.starts_with("embeddings.") || name.starts_with("encoder.") || name.starts_with("pooler.");
    renamed.emplace(base ? "bert." + name : name, std::move(tensor));
  }
  tensors = std::move(renamed);
}

/// Throws format_error naming the tensor and the first element that is NaN or infinite.
inline void check_finite(const std::string& file, const std::string& name, const loaded_tensor& tensor) {
  const auto bad = std::find_if(tensor.values.begin(), tensor.values.end(), [](float v) { return !std::isfinite(v); });
  if (bad != tensor.values.end())
    throw format_error(file, "tensor " + name + ": element " + std::to_string(bad - tensor.values.begin()) + " is " +
                                 (std::isnan(*bad) ? "NaN" : "infinite") + "; the checkpoint is corrupt");
}

/// "a, b, c (and 7 more)": names for one message, bounded in length.
inline std::string name_list(const std::vector<std::string>& names) {
  constexpr std::size_t shown = 12;
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < shown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > shown) text += " (and " + std::to_string(names.size() - shown) + " more)";
  return text;
}

/// True when two tensors hold the same values (or are the same storage).
inline bool same_values(const loaded_tensor& a, const loaded_tensor& b) {
  return a.values.data() == b.values.data() ||
         std::equal(a.values.begin(), a.values.end(), b.values.begin(), b.values.end());
}

}  // namespace detail

/// Reads `dir` for a model with `head`: config.json (validated), vocab.txt (must match the
/// config's k; a warning when absent), then the weights. Throws format_error for unreadable files
/// and missing tensors (all named at once), shape_error for a tensor of the wrong shape.
inline model_folder read_model_folder(const std::string& dir, bert_head head) {
  const std::filesystem::path folder(dir);
  std::error_code unreadable;
  if (!std::filesystem::is_directory(folder, unreadable))
    throw format_error(dir, "is not a directory (expected a model folder)");
  model_folder result;
  result.config = read_config_json((folder / model_files::config).string());
  result.k = result.config.k();
  const auto vocab_path = folder / model_files::vocab;
  if (detail::is_present(vocab_path))
    check_vocab_file(vocab_path.string(), result.k);
  else
    result.warnings.push_back(dir + ": no vocab.txt; using DNABERT's k=" + std::to_string(result.k) + " vocabulary");

  result.weights_path = detail::choose_weight_file(folder);
  const std::string& file = result.weights_path;
  auto [tensors, skipped] = detail::read_weight_file(file);
  detail::add_base_model_prefix(tensors);
  for (const std::string& name : skipped)
    if (!detail::is_known_buffer(name)) result.warnings.push_back(file + ": integer tensor " + name + " ignored");

  const std::string model_name(architecture_name(head));
  std::vector<std::string> missing;
  const std::vector<parameter_spec> specs = bert_parameters(result.config, head);
  std::vector<const parameter_spec*> tied;
  for (const parameter_spec& spec : specs) {
    const auto found = tensors.find(spec.name);
    if (found == tensors.end()) {
      if (spec.presence == parameter_presence::required) missing.push_back(spec.name);
      if (spec.presence == parameter_presence::initialised) result.initialised.push_back(spec.name);
      if (spec.presence == parameter_presence::tied) tied.push_back(&spec);
      continue;
    }
    if (found->second.shape != spec.shape)
      throw shape_error(spec.name + " in " + file, spec.shape, found->second.shape);
    detail::check_finite(file, spec.name, found->second);
    if (spec.presence == parameter_presence::tied) tied.push_back(&spec);
    result.tensors.insert(tensors.extract(found));
  }
  if (!missing.empty())
    throw format_error(file, "missing " + std::to_string(missing.size()) + " tensor" +
                                 (missing.size() == 1 ? "" : "s") + " that " + model_name +
                                 " needs: " + detail::name_list(missing));
  // Like transformers' tie_weights: the tied parameter takes the values of the one it is tied to.
  for (const parameter_spec* spec : tied) {
    const loaded_tensor& source = result.tensors.at(spec->tied_to);
    const auto present = result.tensors.find(spec->name);
    if (present != result.tensors.end() && !detail::same_values(present->second, source))
      result.warnings.push_back(file + ": " + spec->name + " differs from " + spec->tied_to +
                                ", to which it is tied; using " + spec->tied_to);
    result.tensors.insert_or_assign(spec->name, source);
  }
  for (const auto& [name, tensor] : tensors)
    result.warnings.push_back(file + ": unused tensor " + name + " " + shape_to_string(tensor.shape) +
                              " (not part of " + model_name + ")");
  return result;
}

/// Writes config.json, vocab.txt and model.safetensors into `dir` (created if needed), each
/// atomically. The head comes from config.architectures; `tensors` must hold every required
/// parameter of that model with its shape; tied ones are left out, as transformers does, and
/// initialisable ones (pooler, classifier) are written when present.
inline void write_model_folder(const std::string& dir, const bert_config& config, const tensor_map& tensors) {
  const bert_head head = head_for_architectures(config.architectures);
  const std::string model_name(architecture_name(head));
  tensor_map written;
  std::vector<std::string> missing;
  std::set<std::string, std::less<>> parameter_names;
  for (const parameter_spec& spec : bert_parameters(config, head)) {
    parameter_names.insert(spec.name);
    if (spec.presence == parameter_presence::tied) continue;
    const auto found = tensors.find(spec.name);
    if (found == tensors.end()) {
      if (spec.presence == parameter_presence::required) missing.push_back(spec.name);
      continue;
    }
    if (found->second.shape != spec.shape) throw shape_error(spec.name, spec.shape, found->second.shape);
    written.emplace(spec.name, found->second);
  }
  if (!missing.empty())
    throw input_error("cannot save " + model_name + " to " + dir + ": missing tensors " + detail::name_list(missing));
  for (const auto& entry : tensors)
    if (!parameter_names.contains(entry.first) && !detail::is_known_buffer(entry.first))
      throw input_error("cannot save " + model_name + " to " + dir + ": tensor " + entry.first +
                        " is not one of its parameters");

  const std::filesystem::path folder(dir);
  std::error_code failure;
  std::filesystem::create_directories(folder, failure);
  if (failure) throw error("cannot create directory " + dir + ": " + failure.message());
  // Weights first, config.json last: a folder with a config.json is never missing its weights.
  write_safetensors((folder / model_files::safetensors).string(), written, {{"format", "pt"}});
  write_vocab_file((folder / model_files::vocab).string(), config.k());
  write_config_json((folder / model_files::config).string(), config);
}

}  // namespace dnabert::io
