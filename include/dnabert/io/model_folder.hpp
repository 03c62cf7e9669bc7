#pragma once
// A Hugging Face model folder (config.json, vocab.txt or DNABERT-2's tokenizer.json,
// model.safetensors or pytorch_model.bin): reads it and checks every tensor against
// bert_parameters(); writes one transformers can load, or one whose linear weights are int8 with a
// scale per output channel (docs/precision.md).

#include <algorithm>
#include <cerrno>
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

#include <nlohmann/json.hpp>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/int8_quantization.hpp"
#include "dnabert/io/config_json.hpp"
#include "dnabert/io/mosaic_layout.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/io/tokenizer_json.hpp"
#include "dnabert/io/tensor_map.hpp"
#include "dnabert/io/torch_checkpoint.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/vocab_file.hpp"

namespace dnabert::io {

/// File names inside a model folder, as transformers writes them.
namespace model_files {
inline constexpr std::string_view config = "config.json";
inline constexpr std::string_view vocab = "vocab.txt";
inline constexpr std::string_view tokenizer = "tokenizer.json";
inline constexpr std::string_view safetensors = "model.safetensors";
inline constexpr std::string_view torch = "pytorch_model.bin";
inline constexpr std::string_view safetensors_index = "model.safetensors.index.json";
inline constexpr std::string_view torch_index = "pytorch_model.bin.index.json";
}  // namespace model_files

/// A model folder read and checked against the parameters of the requested head.
struct model_folder {
  bert_config config;
  /// The k-mer size, from config.vocab_size (and vocab.txt, when present, agrees); 0 for BPE.
  int k = 0;
  /// A BPE model's tokenizer (from tokenizer.json), else null.
  std::shared_ptr<const bpe_tokenizer> bpe;
  /// tokenizer.json as read, written back when the model is saved (empty for k-mer models).
  std::string tokenizer_json;
  /// Every parameter the checkpoint held, by Hugging Face name, tied ones filled in; an int8
  /// weight as the float values it stands for (q · scale).
  tensor_map tensors;
  /// The int8 weights of a quantized folder (`dnabert quantize`) with their scales, by name.
  int8_weight_map quantized;
  /// The weight file that was read.
  std::string weights_path;
  /// Parameters of the head the checkpoint lacks (e.g. a classifier on a pre-trained MLM
  /// checkpoint): the model must initialise them.
  std::vector<std::string> initialised;
  /// Tensors of the weight file that the requested head does not use (each also a warning), by name.
  std::vector<std::string> unused;
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

/// Tensors, int8 tensors and skipped integer buffers of one weight file, whichever its format.
struct weight_file_contents {
  tensor_map tensors;
  int8_tensor_map int8_tensors;
  std::vector<std::string> skipped;
};

/// Reads model.safetensors or pytorch_model.bin, chosen by the file name.
inline weight_file_contents read_weight_file(const std::string& path) {
  if (path.ends_with(model_files::safetensors)) {
    auto contents = read_safetensors(path);
    return {std::move(contents.tensors), std::move(contents.int8_tensors), std::move(contents.skipped)};
  }
  weight_file_contents contents;
  contents.tensors = read_torch_checkpoint(path, &contents.skipped);
  return contents;
}

/// A checkpoint of a bare BertModel names "embeddings.*" where the task models name
/// "bert.embeddings.*"; transformers adds the prefix when loading, and so do we (to int8 tensors too).
inline void add_base_model_prefix(weight_file_contents& contents) {
  const auto prefixed = [](const auto& entry) { return entry.first.starts_with("bert."); };
  if (std::any_of(contents.tensors.begin(), contents.tensors.end(), prefixed) ||
      std::any_of(contents.int8_tensors.begin(), contents.int8_tensors.end(), prefixed))
    return;
  const auto rename = [](auto& tensors) {
    std::remove_reference_t<decltype(tensors)> renamed;
    for (auto& [name, tensor] : tensors) {
      const bool base = name.starts_with("embeddings.") || name.starts_with("encoder.") || name.starts_with("pooler.");
      renamed.emplace(base ? "bert." + name : name, std::move(tensor));
    }
    tensors = std::move(renamed);
  };
  rename(contents.tensors);
  rename(contents.int8_tensors);
}

/// The name of the scale of int8 weight `name` (docs/precision.md).
inline std::string scale_name(std::string_view name) { return std::string(name) + "_scale"; }

/// Replaces each int8 tensor of `contents` and its scale by the float values they stand for (in
/// contents.tensors) and returns them as int8_rows. An int8 tensor without a scale is left out
/// as a buffer, unless it is a parameter (`is_parameter`); a malformed pair, or a scale without an
/// int8 tensor, throws format_error naming `file` and the tensor.
template <class IsParameter>
int8_weight_map dequantize_int8_tensors(const std::string& file, weight_file_contents& contents,
                                        IsParameter&& is_parameter) {
  int8_weight_map quantized;
  for (auto& [name, tensor] : contents.int8_tensors) {
    const std::string scale_key = scale_name(name);
    const auto scale = contents.tensors.find(scale_key);
    if (scale == contents.tensors.end()) {
      if (is_parameter(name))
        throw format_error(file, "tensor " + name + " is int8 but has no " + scale_key +
                                     " (a quantized weight needs its float32 scales, one per output channel)");
      contents.skipped.push_back(name);
      continue;
    }
    if (tensor.shape.size() != 2)
      throw format_error(file, "int8 tensor " + name + " has shape " + shape_to_string(tensor.shape) +
                                   "; a quantized weight is 2-D [out, in]");
    const std::int64_t rows = tensor.shape[0];
    if (scale->second.shape != std::vector<std::int64_t>{rows})
      throw format_error(file, "tensor " + scale_key + " has shape " + shape_to_string(scale->second.shape) + ", but " +
                                   name + " " + shape_to_string(tensor.shape) + " needs one scale per output channel: [" +
                                   std::to_string(rows) + "]");
    const auto bad = std::find_if(scale->second.values.begin(), scale->second.values.end(),
                                  [](float v) { return !(std::isfinite(v) && v > 0); });
    if (bad != scale->second.values.end())
      throw format_error(file, "tensor " + scale_key + ": element " + std::to_string(bad - scale->second.values.begin()) +
                                   " is " + std::to_string(*bad) + "; a scale must be finite and positive");
    int8_rows weights{rows, tensor.shape[1], {tensor.values.begin(), tensor.values.end()},
                      {scale->second.values.begin(), scale->second.values.end()}};
    contents.tensors.erase(scale);
    contents.tensors.insert_or_assign(name, make_owned_tensor(tensor.shape, dequantize_rows(weights)));
    quantized.emplace(name, std::move(weights));
  }
  contents.int8_tensors.clear();
  for (const auto& [name, tensor] : contents.tensors)
    if (name.ends_with(".weight_scale") && !quantized.contains(name.substr(0, name.size() - 6)))
      throw format_error(file, "tensor " + name + " scales an int8 weight, but " + name.substr(0, name.size() - 6) +
                                   " is not int8 (or absent)");
  return quantized;
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

/// Whether `path` is a tokenizer.json of a BPE model (DNABERT-2's); transformers also writes one
/// beside a DNABERT vocab.txt (a WordPiece model), which the folder's k-mers make redundant.
inline bool is_bpe_tokenizer_file(const std::filesystem::path& path) {
  if (!detail::is_present(path)) return false;
  const auto file = map_file(path.string());
  const auto document = detail::parse_json_object(file->bytes(), path.string(), max_tokenizer_json_bytes, "a tokenizer.json");
  const auto model = document.find("model");
  if (model == document.end() || !model->is_object()) return false;
  const auto type = model->find("type");
  return type != model->end() && type->is_string() && type->get<std::string>() == "BPE";
}

/// The config.json of model folder `dir`, read as a BPE model's when the folder holds a BPE
/// tokenizer.json (DNABERT-2), else as a k-mer model's.
inline bert_config read_folder_config(const std::string& dir) {
  const std::filesystem::path folder(dir);
  const bool bpe = is_bpe_tokenizer_file(folder / model_files::tokenizer);
  return read_config_json((folder / model_files::config).string(), bpe ? token_kind::bpe : token_kind::kmer);
}

/// Reads `dir` for a model with `head`: config.json (validated), vocab.txt (must match the
/// config's k; a warning when absent), then the weights. Throws format_error for unreadable files
/// and missing tensors (all named at once), shape_error for a tensor of the wrong shape.
inline model_folder read_model_folder(const std::string& dir, bert_head head) {
  const std::filesystem::path folder(dir);
  std::error_code unreadable;
  if (!std::filesystem::is_directory(folder, unreadable))
    throw file_error(dir, "is not a directory (expected a model folder)",
                     std::filesystem::exists(folder, unreadable) ? ENOTDIR : ENOENT);
  model_folder result;
  const auto tokenizer_path = folder / model_files::tokenizer;
  result.config = read_folder_config(dir);
  if (result.config.tokens == token_kind::bpe) {
    const auto file = map_file(tokenizer_path.string());
    const auto bytes = file->bytes();
    result.bpe = std::make_shared<const bpe_tokenizer>(parse_tokenizer_json(bytes, tokenizer_path.string()));
    result.tokenizer_json.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (detail::is_present(folder / model_files::vocab) && k_for_vocab_size(result.config.vocab_size))
      throw config_error(dir + " holds both a k-mer vocab.txt and a BPE tokenizer.json, and its vocab_size " +
                         std::to_string(result.config.vocab_size) +
                         " fits either; remove the one that is not this model's (dnabert's saves keep only their own)");
    if (result.bpe->vocab_size() > result.config.vocab_size)
      throw config_error(tokenizer_path.string() + " has " + std::to_string(result.bpe->vocab_size()) +
                         " tokens, more than the model's vocab_size " + std::to_string(result.config.vocab_size));
  } else {
    result.k = result.config.k();
    const auto vocab_path = folder / model_files::vocab;
    if (detail::is_present(vocab_path))
      check_vocab_file(vocab_path.string(), result.k);
    else
      result.warnings.push_back(dir + ": no vocab.txt; using DNABERT's k=" + std::to_string(result.k) + " vocabulary");
  }

  result.weights_path = detail::choose_weight_file(folder);
  const std::string& file = result.weights_path;
  auto contents = detail::read_weight_file(file);
  detail::add_base_model_prefix(contents);
  if (result.config.mosaic_layout()) from_mosaic_layout(contents.tensors, contents.int8_tensors, file);
  if (head == bert_head::sequence_classification &&
      std::any_of(contents.tensors.begin(), contents.tensors.end(), [](const auto& entry) { return entry.first.starts_with("rnn."); }))
    throw config_error(rnn_head_refusal(file));
  const std::vector<parameter_spec> specs = bert_parameters(result.config, head);
  result.quantized = detail::dequantize_int8_tensors(file, contents, [&](std::string_view name) {
    return std::any_of(specs.begin(), specs.end(), [&](const parameter_spec& spec) { return spec.name == name; });
  });
  auto& tensors = contents.tensors;
  for (const std::string& name : contents.skipped)
    if (!detail::is_known_buffer(name)) result.warnings.push_back(file + ": integer tensor " + name + " ignored");

  const std::string model_name(architecture_of(result.config, head));
  std::vector<std::string> missing;
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
  // Another head's tensors are expected (a pre-trained folder read for a classifier): one line per
  // head. Anything else (a DNABERT-XL rnn.*, say) is named tensor by tensor.
  for (const auto& [prefix, what] : {std::pair<std::string_view, std::string_view>{"cls.predictions.", "masked-LM head"},
                                     {"classifier.", "classifier head"}}) {
    std::size_t count = 0;
    for (const auto& entry : tensors) {
      if (!entry.first.starts_with(prefix)) continue;
      ++count;
      result.unused.push_back(entry.first);
    }
    if (count > 0)
      result.warnings.push_back(file + ": unused " + std::string(what) + " " + std::string(prefix) + "* (" +
                                std::to_string(count) + " tensor" + (count == 1 ? "" : "s") + ", not part of " +
                                model_name + ")");
  }
  for (const auto& [name, tensor] : tensors) {
    if (std::find(result.unused.begin(), result.unused.end(), name) != result.unused.end()) continue;
    result.unused.push_back(name);
    result.warnings.push_back(file + ": unused tensor " + name + " " + shape_to_string(tensor.shape) +
                              " (not part of " + model_name + ")");
  }
  std::erase_if(result.quantized, [&](const auto& entry) { return !result.tensors.contains(entry.first); });
  return result;
}

/// True when the weight file of `folder` holds every parameter of `head`'s own layers (the masked-LM
/// head's cls.predictions.*, the classifier's classifier.*), whichever head it was read for: what
/// the folder was trained for, whatever config.json's architectures say.
inline bool holds_head(const model_folder& folder, bert_head head) {
  const std::vector<parameter_spec> encoder = bert_parameters(folder.config, bert_head::none);
  for (const parameter_spec& spec : bert_parameters(folder.config, head)) {
    const bool own = spec.presence != parameter_presence::tied &&
                     std::none_of(encoder.begin(), encoder.end(), [&](const parameter_spec& e) { return e.name == spec.name; });
    if (own && !folder.tensors.contains(spec.name) &&
        std::find(folder.unused.begin(), folder.unused.end(), spec.name) == folder.unused.end())
      return false;
  }
  return true;
}

/// Copies the Python modules (*.py) of model folder `from` into `to`, each atomically, unchanged:
/// the remote code (DNABERT-2's bert_layers.py, ...) config.json's auto_map names, without which
/// transformers cannot load the folder. dnabert reads them as bytes and never runs them.
inline void copy_remote_code(const std::string& from, const std::string& to) {
  std::error_code unreadable;
  for (const auto& entry : std::filesystem::directory_iterator(from, unreadable)) {
    if (!entry.is_regular_file(unreadable) || entry.path().extension() != ".py") continue;
    if (std::filesystem::equivalent(entry.path(), std::filesystem::path(to) / entry.path().filename(), unreadable)) continue;
    const auto file = map_file(entry.path().string());
    const auto bytes = file->bytes();
    write_file_atomically((std::filesystem::path(to) / entry.path().filename()).string(),
                          std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
}

/// What config.json says of a quantized folder (docs/precision.md), under "dnabert_quantization".
inline nlohmann::json quantization_entry() {
  return {{"weights", "int8, symmetric, per output channel: NAME (I8 [out, in]) times NAME_scale (F32 [out])"},
          {"activations", "uint8 per call (dynamic), on an int8 CPU backend"}};
}

/// Writes config.json, vocab.txt (a BPE model: `tokenizer_json`, its tokenizer.json) and
/// model.safetensors (DNABERT-2's tensor names for its layout) into `dir` (created if needed), each
/// atomically. The head comes from config.architectures; `tensors` must hold every required
/// parameter of that model with its shape; tied ones are left out, as transformers does, and
/// initialisable ones (pooler, classifier) are written when present. Parameters in `quantized`
/// are written as int8 with their scales instead of their float values (a folder transformers
/// cannot load; config.json records it under "dnabert_quantization").
inline void write_model_folder(const std::string& dir, const bert_config& config, const tensor_map& tensors,
                               const int8_weight_map& quantized = {}, std::string_view tokenizer_json = {}) {
  if (config.tokens == token_kind::bpe && tokenizer_json.empty())
    throw input_error("cannot save a BPE model to " + dir + " without its tokenizer.json");
  const bert_head head = head_for_architectures(config.architectures);
  const std::string model_name(architecture_of(config, head));
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
  int8_tensor_map written_int8;
  for (const auto& [name, weights] : quantized) {
    const auto found = written.find(name);
    if (found == written.end())
      throw input_error("cannot save " + model_name + " to " + dir + ": int8 tensor " + name +
                        " is not one of its saved parameters");
    const std::vector<std::int64_t> shape{weights.rows, weights.cols};
    if (shape != found->second.shape) throw shape_error(name, found->second.shape, shape);
    if (std::ssize(weights.values) != weights.rows * weights.cols || std::ssize(weights.scales) != weights.rows)
      throw input_error("cannot save " + model_name + " to " + dir + ": int8 tensor " + name + " " +
                        shape_to_string(shape) + " holds " + std::to_string(weights.values.size()) + " values and " +
                        std::to_string(weights.scales.size()) + " scales");
    written.erase(found);
    written.emplace(detail::scale_name(name), loaded_tensor{{weights.rows}, weights.scales, nullptr});
    written_int8.emplace(name, loaded_int8_tensor{shape, weights.values, nullptr});
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
  if (config.mosaic_layout()) to_mosaic_layout(written, written_int8);
  // Weights first, config.json last: a folder with a config.json is never missing its weights.
  write_safetensors((folder / model_files::safetensors).string(), written, {{"format", "pt"}}, written_int8);
  // The other kind's tokenizer file, left by a model saved here before, would decide how this one loads.
  std::error_code stale;
  if (config.tokens == token_kind::bpe) {
    write_file_atomically((folder / model_files::tokenizer).string(), tokenizer_json);
    std::filesystem::remove(folder / model_files::vocab, stale);
  } else {
    write_vocab_file((folder / model_files::vocab).string(), config.k());
    bool stale_bpe = false;
    try {
      stale_bpe = is_bpe_tokenizer_file(folder / model_files::tokenizer);
    } catch (const format_error&) {  // not a tokenizer.json loading would read as BPE: left alone
    }
    if (stale_bpe) std::filesystem::remove(folder / model_files::tokenizer, stale);
  }
  const std::string config_path = (folder / model_files::config).string();
  if (quantized.empty()) {
    write_config_json(config_path, config);
  } else {
    auto document = nlohmann::json::parse(config_json_text(config));
    document["dnabert_quantization"] = quantization_entry();
    write_file_atomically(config_path, document.dump(2) + "\n");
  }
}

}  // namespace dnabert::io
