#pragma once
// Reads and writes a Hugging Face BertConfig config.json, accepting the fields every
// transformers version has written (DNABERT's 2.5.0 fork included) and rejecting the rest loudly.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/mapped_file.hpp"

namespace dnabert::io {

/// Largest config.json accepted: real ones are a few KB (1.5 MB with 50k label names).
inline constexpr std::size_t max_config_json_bytes = std::size_t{4} << 20;

/// Deepest JSON nesting accepted: config.json needs 2 levels (id2label), so 32 is generous.
inline constexpr int max_config_json_depth = 32;

namespace detail {

using json = nlohmann::json;

/// Turns nlohmann's "[json.exception.parse_error.101] parse error at line 2, column 5: why"
/// into a format_error at that line, keeping the column and the reason.
inline format_error json_syntax_error(std::string_view name, std::span<const char> text,
                                      const nlohmann::json::parse_error& failure) {
  const std::size_t end = std::min<std::size_t>(failure.byte, text.size());
  std::uint64_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i + 1 < end; ++i)
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  const std::string_view message = failure.what();
  const auto column_mark = message.find(", column ");
  const auto reason_start =
      column_mark == std::string_view::npos ? std::string_view::npos : message.find(": ", column_mark);
  const std::string_view reason = reason_start == std::string_view::npos ? message : message.substr(reason_start + 2);
  const std::size_t column = end > line_start ? end - line_start : 1;
  return format_error::at_line(name, line,
                               "column " + std::to_string(column) + ": invalid JSON: " + std::string(reason));
}

/// Reads config.json's members with type checks; `null` counts as absent, as transformers treats it.
class config_object {
 public:
  config_object(const json& object, std::string_view name) : object_(object), name_(name) {}

  [[nodiscard]] const json* find(std::string_view key) const {
    const auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  [[nodiscard]] std::optional<std::int64_t> integer(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (value->is_number_unsigned()) {
      const auto number = value->get<std::uint64_t>();
      if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(std::string(key) + " " + std::to_string(number) + " is too large");
      return static_cast<std::int64_t>(number);
    }
    if (value->is_number_integer()) return value->get<std::int64_t>();
    fail(std::string(key) + " must be an integer, found " + describe(*value));
  }

  [[nodiscard]] std::int64_t required_integer(std::string_view key) const {
    const auto value = integer(key);
    if (!value) fail("missing required key '" + std::string(key) + "'");
    return *value;
  }

  [[nodiscard]] std::optional<double> real(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_number()) fail(std::string(key) + " must be a number, found " + describe(*value));
    return value->get<double>();
  }

  [[nodiscard]] std::optional<std::string> text(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) fail(std::string(key) + " must be a string, found " + describe(*value));
    return value->get<std::string>();
  }

  [[nodiscard]] std::optional<std::vector<std::string>> texts(std::string_view key) const {
    const json* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (!value->is_array()) fail(std::string(key) + " must be an array of strings, found " + describe(*value));
    std::vector<std::string> result;
    for (const json& item : *value) {
      if (!item.is_string())
        fail(std::string(key) + " must be an array of strings, found an element that is " + describe(item));
      result.push_back(item.get<std::string>());
    }
    return result;
  }

  /// id2label as names by id; keys must be the decimal numbers 0..N-1, each once.
  [[nodiscard]] std::optional<std::vector<std::string>> label_names() const {
    const json* value = find("id2label");
    if (value == nullptr) return std::nullopt;
    if (!value->is_object()) fail("id2label must be an object, found " + describe(*value));
    std::vector<std::string> names(value->size());
    std::vector<bool> seen(value->size(), false);
    for (const auto& [key, label] : value->items()) {
      const auto id = small_decimal(key);
      if (!id || *id >= names.size())
        fail("id2label keys must be the numbers 0.." + std::to_string(names.size() - 1) + ", found '" + key + "'");
      if (seen[*id]) fail("id2label holds label " + std::to_string(*id) + " twice");
      if (!label.is_string()) fail("id2label[" + key + "] must be a string, found " + describe(label));
      seen[*id] = true;
      names[*id] = label.get<std::string>();
    }
    return names;
  }

  [[noreturn]] void fail(const std::string& what) const { throw format_error(name_, what); }

 private:
  static std::string describe(const json& value) {
    if (value.is_number()) return "number " + value.dump();
    return value.type_name();
  }

  /// "0".."999999" without sign, leading zeros or other characters (as Python's str(int) writes).
  static std::optional<std::size_t> small_decimal(std::string_view key) {
    if (key.empty() || key.size() > 6 || (key.size() > 1 && key[0] == '0')) return std::nullopt;
    std::size_t value = 0;
    for (char c : key) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    return value;
  }

  const json& object_;
  std::string_view name_;
};

/// True for transformers' placeholder names LABEL_0, LABEL_1, ..., which bert_config leaves empty.
inline bool are_default_label_names(const std::vector<std::string>& names) {
  for (std::size_t id = 0; id < names.size(); ++id)
    if (names[id] != "LABEL_" + std::to_string(id)) return false;
  return true;
}

/// Parses `bytes` as a JSON object, refusing more than `max_bytes` (`what` names the kind of file
/// in the message) and deep nesting before they cost memory.
inline json parse_json_object(std::span<const std::byte> bytes, std::string_view name,
                              std::size_t max_bytes = max_config_json_bytes, std::string_view what = "a config.json") {
  if (bytes.size() > max_bytes)
    throw format_error(name, "is " + std::to_string(bytes.size()) + " bytes, more than the " + std::to_string(max_bytes) +
                                 " accepted for " + std::string(what));
  const std::span<const char> text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const json::parser_callback_t limit_depth = [name](int depth, json::parse_event_t, json&) {
    if (depth > max_config_json_depth)
      throw format_error(name, "JSON nested deeper than " + std::to_string(max_config_json_depth) + " levels");
    return true;
  };
  json document;
  try {
    document = json::parse(text.data(), text.data() + text.size(), limit_depth);
  } catch (const json::parse_error& failure) {
    throw json_syntax_error(name, text, failure);
  } catch (const json::exception& failure) {  // e.g. out_of_range: a number too large for a double
    const std::string_view message = failure.what();
    const auto prefix_end = message.find("] ");
    throw format_error(
        name, "invalid JSON: " +
                  std::string(prefix_end == std::string_view::npos ? message : message.substr(prefix_end + 2)));
  }
  if (!document.is_object())
    throw format_error(name, std::string("expected a JSON object at the top level, found ") + document.type_name());
  return document;
}

}  // namespace detail

namespace detail {

/// The architecture config.json describes: DNABERT-2's MosaicBERT (ALiBi, GEGLU, its bert_layers.py
/// in auto_map) when it has alibi_starting_size, else BERT; dnabert_position_encoding and
/// dnabert_feed_forward, which dnabert writes for any other composition, say so explicitly.
inline void read_architecture(const config_object& fields, bert_config& config) {
  if (const auto starting_size = fields.integer("alibi_starting_size")) {
    config.position = position_encoding::alibi;
    config.feed_forward = feed_forward_kind::geglu;
    config.alibi_starting_size = *starting_size;
  }
  if (const auto position = fields.text("dnabert_position_encoding")) {
    if (*position != "absolute" && *position != "alibi")
      fields.fail("dnabert_position_encoding '" + *position + "' is not one of absolute, alibi");
    config.position = *position == "alibi" ? position_encoding::alibi : position_encoding::absolute;
  }
  if (const auto block = fields.text("dnabert_feed_forward")) {
    if (*block != "gelu" && *block != "geglu") fields.fail("dnabert_feed_forward '" + *block + "' is not one of gelu, geglu");
    config.feed_forward = *block == "geglu" ? feed_forward_kind::geglu : feed_forward_kind::gelu_mlp;
  }
  if (const json* map = fields.find("auto_map")) {
    if (!map->is_object()) fields.fail("auto_map must be an object, found " + std::string(map->type_name()));
    config.auto_map = map->dump();
  }
}

/// Whether a position encoding and feed-forward block make one of the published architectures
/// (BERT: absolute + GELU; MosaicBERT: ALiBi + GEGLU), which config.json implies without naming them.
inline bool published_composition(const bert_config& config) {
  return (config.position == position_encoding::absolute) == (config.feed_forward == feed_forward_kind::gelu_mlp);
}

}  // namespace detail

/// Parses config.json bytes held in memory; `name` appears in error messages (fuzzing, tests).
/// `tokens` is what the folder's tokenizer says (a tokenizer.json: BPE, any vocabulary size).
inline bert_config parse_config_json(std::span<const std::byte> bytes, std::string_view name,
                                     token_kind tokens = token_kind::kmer) {
  const detail::json document = detail::parse_json_object(bytes, name);
  const detail::config_object fields(document, name);
  bert_config config;
  config.tokens = tokens;
  detail::read_architecture(fields, config);
  config.vocab_size = fields.required_integer("vocab_size");
  config.hidden_size = fields.required_integer("hidden_size");
  config.num_hidden_layers = fields.required_integer("num_hidden_layers");
  config.num_attention_heads = fields.required_integer("num_attention_heads");
  config.intermediate_size = fields.required_integer("intermediate_size");
  config.hidden_act = fields.text("hidden_act").value_or(config.hidden_act);
  config.hidden_dropout_prob = fields.real("hidden_dropout_prob").value_or(config.hidden_dropout_prob);
  config.attention_probs_dropout_prob =
      fields.real("attention_probs_dropout_prob").value_or(config.attention_probs_dropout_prob);
  config.max_position_embeddings = fields.integer("max_position_embeddings").value_or(config.max_position_embeddings);
  config.type_vocab_size = fields.integer("type_vocab_size").value_or(config.type_vocab_size);
  config.initializer_range = fields.real("initializer_range").value_or(config.initializer_range);
  config.layer_norm_eps = fields.real("layer_norm_eps").value_or(config.layer_norm_eps);
  config.pad_token_id = fields.integer("pad_token_id").value_or(config.pad_token_id);
  config.architectures = fields.texts("architectures").value_or(std::vector<std::string>{});
  config.model_type = fields.text("model_type").value_or("");
  config.problem_type = fields.text("problem_type").value_or("");
  // num_labels wins over id2label, as in every transformers version: DNABERT's 2.5.0 fork wrote
  // "num_labels": 3 next to a stale two-entry id2label, whose names are then meaningless.
  auto names = fields.label_names();
  const auto declared_labels = fields.integer("num_labels");
  config.num_labels = declared_labels ? *declared_labels : names && !names->empty() ? std::ssize(*names) : 2;
  if (names && std::ssize(*names) == config.num_labels && !detail::are_default_label_names(*names))
    config.label_names = std::move(*names);
  // DNABERT-XL's dnalongcat names its class and writes config.split; dnabert writes its pooling too.
  const auto& listed = config.architectures;
  if (std::find(listed.begin(), listed.end(), concat_architecture) != listed.end()) config.long_pooling = piece_pooling::concat;
  if (const auto pooling = fields.text("long_sequence_pooling")) {
    try {
      const auto named = piece_pooling_from_name(*pooling);
      if (config.long_pooling == piece_pooling::concat && named != piece_pooling::concat)
        fields.fail("long_sequence_pooling '" + *pooling + "' contradicts the architecture " +
                    std::string(concat_architecture) + " (concatenated pieces)");
      config.long_pooling = named;
    } catch (const config_error& unknown) {
      fields.fail(unknown.what());
    }
  }
  if (config.long_pooling != piece_pooling::none) {
    const auto split = fields.integer("split");
    if (!split) fields.fail("a long-sequence classifier (" + std::string(piece_pooling_name(config.long_pooling)) +
                            " pooling) needs \"split\", the number of 510-k-mer pieces it reads");
    config.split = *split;
  }
  try {
    config.validate();
  } catch (const config_error& invalid) {
    fields.fail(invalid.what());
  }
  return config;
}

/// Reads a small JSON file that must hold one object (size- and depth-limited, as config.json).
inline nlohmann::json read_json_object(const std::string& path) {
  const auto file = map_file(path);
  return detail::parse_json_object(file->bytes(), path);
}

/// Reads and validates a config.json file (of a model whose tokens are `tokens`).
inline bert_config read_config_json(const std::string& path, token_kind tokens = token_kind::kmer) {
  const auto file = map_file(path);
  return parse_config_json(file->bytes(), path, tokens);
}

/// The config.json text for `config`: keys sorted as transformers writes them, loadable by
/// BertConfig.from_pretrained in transformers 2.5 through 5.x (num_labels is written for 2.5,
/// which ignores id2label's size).
inline std::string config_json_text(const bert_config& config) {
  config.validate();
  detail::json document = detail::json::object();
  document["architectures"] = config.architectures;
  if (config.position == position_encoding::alibi) document["alibi_starting_size"] = config.alibi_starting_size;
  if (!config.auto_map.empty()) document["auto_map"] = detail::json::parse(config.auto_map);
  if (!detail::published_composition(config)) {
    document["dnabert_feed_forward"] = feed_forward_name(config.feed_forward);
    document["dnabert_position_encoding"] = position_encoding_name(config.position);
  }
  document["attention_probs_dropout_prob"] = config.attention_probs_dropout_prob;
  document["hidden_act"] = config.hidden_act;
  document["hidden_dropout_prob"] = config.hidden_dropout_prob;
  document["hidden_size"] = config.hidden_size;
  document["initializer_range"] = config.initializer_range;
  document["intermediate_size"] = config.intermediate_size;
  document["layer_norm_eps"] = config.layer_norm_eps;
  if (config.long_pooling != piece_pooling::none) {
    document["long_sequence_pooling"] = piece_pooling_name(config.long_pooling);
    document["split"] = config.split;
  }
  document["max_position_embeddings"] = config.max_position_embeddings;
  document["model_type"] = "bert";
  document["num_attention_heads"] = config.num_attention_heads;
  document["num_hidden_layers"] = config.num_hidden_layers;
  document["num_labels"] = config.num_labels;
  document["pad_token_id"] = config.pad_token_id;
  if (!config.problem_type.empty()) document["problem_type"] = config.problem_type;  // transformers leaves None out
  document["type_vocab_size"] = config.type_vocab_size;
  document["vocab_size"] = config.vocab_size;
  detail::json id2label = detail::json::object();
  detail::json label2id = detail::json::object();
  for (std::int64_t id = 0; id < config.num_labels; ++id) {
    const std::string label =
        config.label_names.empty() ? "LABEL_" + std::to_string(id) : config.label_names[static_cast<std::size_t>(id)];
    id2label[std::to_string(id)] = label;
    label2id[label] = id;
  }
  document["id2label"] = std::move(id2label);
  document["label2id"] = std::move(label2id);
  return document.dump(2) + "\n";
}

/// Writes config.json atomically (readers never see a half-written file).
inline void write_config_json(const std::string& path, const bert_config& config) {
  write_file_atomically(path, config_json_text(config));
}

}  // namespace dnabert::io
