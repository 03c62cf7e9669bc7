#pragma once
// Hugging Face tokenizer.json (the `tokenizers` library's format) for DNABERT-2: a BPE model
// with no normalizer, the Whitespace pre-tokenizer and a [CLS] A [SEP] post-processor. What
// would tokenize differently from that (another model type, normalizer or pre-tokenizer, BPE
// dropout, subword prefixes, byte fallback) is refused by name rather than ignored.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnabert/core/error.hpp"
#include "dnabert/io/config_json.hpp"
#include "dnabert/io/mapped_file.hpp"
#include "dnabert/tokenizer/bpe_tokenizer.hpp"

namespace dnabert::io {

/// Largest tokenizer.json read (DNABERT-2's is 164 KiB).
inline constexpr std::size_t max_tokenizer_json_bytes = std::size_t{64} << 20;
/// Largest vocabulary read.
inline constexpr std::size_t max_bpe_tokens = std::size_t{1} << 22;

namespace detail {

// The object at key `key` of `parent` ("" when absent or null, as the library reads it).
inline std::string optional_text(const json& parent, const char* key, std::string_view name, std::string_view where) {
  const auto found = parent.find(key);
  if (found == parent.end() || found->is_null()) return {};
  if (!found->is_string()) throw format_error(name, std::string(where) + "." + key + ": expected a string or null");
  return found->get<std::string>();
}

inline const json& required_member(const json& parent, const char* key, std::string_view name, std::string_view where) {
  const auto found = parent.find(key);
  if (found == parent.end()) throw format_error(name, std::string(where) + ": no \"" + key + "\"");
  return *found;
}

// The special token a post-processor names: its id in the vocabulary, checked against the ids it gives.
inline token_id special_id(const json& entry, const bpe_tokenizer& tokens, std::string_view name, const std::string& where) {
  if (!entry.is_object() || !entry.contains("ids") || !entry["ids"].is_array() || entry["ids"].size() != 1 ||
      !entry["ids"][0].is_number_integer())
    throw format_error(name, where + ": expected one id in \"ids\"");
  const auto id = entry["ids"][0].get<long long>();
  const std::string text = entry.contains("tokens") && entry["tokens"].is_array() && entry["tokens"].size() == 1 &&
                                   entry["tokens"][0].is_string()
                               ? entry["tokens"][0].get<std::string>()
                               : std::string();
  if (id < 0 || id >= tokens.vocab_size() || tokens.token_text(static_cast<token_id>(id)) != text)
    throw format_error(name, where + ": id " + std::to_string(id) + " is not token '" + text + "' of the vocabulary");
  return static_cast<token_id>(id);
}

// [CLS] and [SEP] from the post-processor: TemplateProcessing with single = [CLS] $A [SEP]
// (DNABERT-2's), BertProcessing, or none.
// `tokens`: the tokenizer of `vocabulary`'s tokens and merges, for their ids.
inline void read_post_processor(const json& document, const bpe_tokenizer& tokens, bpe_vocabulary& vocabulary,
                                std::string_view name) {
  const auto found = document.find("post_processor");
  if (found == document.end() || found->is_null()) return;
  const json& processor = *found;
  const std::string type = optional_text(processor, "type", name, "post_processor");
  if (type == "BertProcessing") {
    const auto pair_id = [&](const char* key) {
      const json& pair = required_member(processor, key, name, "post_processor");
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_number_integer() ||
          tokens.id_of(pair[0].get<std::string>()) != pair[1].get<long long>())
        throw format_error(name, std::string("post_processor.") + key + ": expected [token, its id in the vocabulary]");
      return static_cast<token_id>(pair[1].get<long long>());
    };
    vocabulary.cls = pair_id("cls");
    vocabulary.sep = pair_id("sep");
    return;
  }
  if (type != "TemplateProcessing")
    throw format_error(name, "post_processor type '" + type + "' is not supported (TemplateProcessing or BertProcessing)");
  const json& single = required_member(processor, "single", name, "post_processor");
  const json& specials = required_member(processor, "special_tokens", name, "post_processor");
  const auto special_at = [&](const json& piece) -> const json* {
    return piece.is_object() && piece.contains("SpecialToken") && piece["SpecialToken"].is_object() ? &piece["SpecialToken"] : nullptr;
  };
  const bool dnabert_2 = single.is_array() && single.size() == 3 && special_at(single[0]) && special_at(single[2]) &&
                         single[1].is_object() && single[1].contains("Sequence") && single[1]["Sequence"].value("id", "") == "A";
  if (!dnabert_2)
    throw format_error(name, "post_processor.single: only the template [CLS] $A [SEP] (a special token, the sequence, a "
                             "special token) is supported");
  for (const auto& [position, slot] : {std::pair{0, &vocabulary.cls}, std::pair{2, &vocabulary.sep}}) {
    const std::string token = special_at(single[static_cast<std::size_t>(position)])->value("id", "");
    if (!specials.is_object() || !specials.contains(token))
      throw format_error(name, "post_processor.special_tokens: no entry for '" + token + "'");
    *slot = special_id(specials[token], tokens, name, "post_processor.special_tokens." + token);
  }
}

}  // namespace detail

/// Parses tokenizer.json bytes held in memory; `name` appears in error messages. Throws
/// format_error naming the field for anything malformed or tokenizing otherwise than DNABERT-2's.
inline bpe_vocabulary parse_tokenizer_json(std::span<const std::byte> bytes, std::string_view name) {
  using detail::json;
  const json document = detail::parse_json_object(bytes, name, max_tokenizer_json_bytes, "a tokenizer.json");
  for (const char* part : {"normalizer", "pre_tokenizer"}) {
    const auto found = document.find(part);
    const bool absent = found == document.end() || found->is_null();
    const std::string type = absent ? std::string() : detail::optional_text(*found, "type", name, part);
    if (std::string_view(part) == "normalizer" && !absent)
      throw format_error(name, "normalizer '" + type + "' is not supported (DNABERT-2's tokenizer.json has none)");
    if (std::string_view(part) == "pre_tokenizer" && type != "Whitespace")
      throw format_error(name, "pre_tokenizer '" + (absent ? std::string("null") : type) +
                                   "' is not supported (DNABERT-2's is Whitespace)");
  }
  const json& model = detail::required_member(document, "model", name, "tokenizer.json");
  if (!model.is_object()) throw format_error(name, "model: expected an object");
  const std::string type = detail::optional_text(model, "type", name, "model");
  if (type != "BPE") throw format_error(name, "model type '" + type + "' is not supported (only BPE, DNABERT-2's)");
  if (model.contains("dropout") && !model["dropout"].is_null() && !(model["dropout"].is_number() && model["dropout"].get<double>() == 0))
    throw format_error(name, "model.dropout: BPE dropout (random merges) is not supported");
  for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (!detail::optional_text(model, affix, name, "model").empty())
      throw format_error(name, std::string("model.") + affix + " is not supported (DNABERT-2's is null)");
  for (const char* flag : {"byte_fallback", "ignore_merges"})
    if (model.contains(flag) && !(model[flag].is_boolean() && !model[flag].get<bool>()) && !model[flag].is_null())
      throw format_error(name, std::string("model.") + flag + " is not supported (DNABERT-2's is false)");
  if (model.contains("fuse_unk") && !model["fuse_unk"].is_boolean() && !model["fuse_unk"].is_null())
    throw format_error(name, "model.fuse_unk: expected true or false");

  bpe_vocabulary vocabulary;
  vocabulary.fuse_unk = model.value("fuse_unk", false) == true;
  const json& vocab = detail::required_member(model, "vocab", name, "model");
  if (!vocab.is_object() || vocab.empty()) throw format_error(name, "model.vocab: expected an object of token: id");
  if (vocab.size() > max_bpe_tokens)
    throw format_error(name, "model.vocab: " + std::to_string(vocab.size()) + " tokens, more than the " +
                                 std::to_string(max_bpe_tokens) + " accepted");
  vocabulary.tokens.assign(vocab.size(), std::string());
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<long long>() < 0 || id.get<long long>() >= static_cast<long long>(vocab.size()))
      throw format_error(name, "model.vocab: token '" + token + "' has id " + id.dump() + "; ids must be 0 to " +
                                   std::to_string(vocab.size() - 1) + ", each once");
    const auto slot = static_cast<std::size_t>(id.get<long long>());
    if (seen[slot]) throw format_error(name, "model.vocab: id " + std::to_string(slot) + " is given to two tokens");
    seen[slot] = true;
    vocabulary.tokens[slot] = token;
  }
  const json& merges = detail::required_member(model, "merges", name, "model");
  if (!merges.is_array()) throw format_error(name, "model.merges: expected an array");
  vocabulary.merges.reserve(merges.size());
  for (std::size_t m = 0; m < merges.size(); ++m) {
    const json& merge = merges[m];
    if (merge.is_string()) {  // "A T" (tokenizers before 0.20)
      const auto text = merge.get<std::string>();
      const auto space = text.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == text.size() || text.find(' ', space + 1) != std::string::npos)
        throw format_error(name, "model.merges[" + std::to_string(m) + "]: '" + text + "' is not two tokens separated by one space");
      vocabulary.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {  // ["A", "T"]
      vocabulary.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      throw format_error(name, "model.merges[" + std::to_string(m) + "]: expected \"left right\" or [left, right]");
    }
  }
  std::unique_ptr<bpe_tokenizer> tokens;
  try {
    tokens = std::make_unique<bpe_tokenizer>(vocabulary);
  } catch (const config_error& e) {
    throw format_error(name, std::string("model: ") + e.what());
  }
  const std::string unk = detail::optional_text(model, "unk_token", name, "model");
  if (!unk.empty()) {
    vocabulary.unk = tokens->id_of(unk);
    if (vocabulary.unk < 0) throw format_error(name, "model.unk_token '" + unk + "' is not in the vocabulary");
  }
  vocabulary.pad = tokens->id_of("[PAD]");
  vocabulary.mask = tokens->id_of("[MASK]");
  if (document.contains("added_tokens")) {  // each must be the vocabulary's token of that id
    const json& added = document["added_tokens"];
    if (!added.is_array()) throw format_error(name, "added_tokens: expected an array");
    for (std::size_t a = 0; a < added.size(); ++a) {
      const json& entry = added[a];
      if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_number_integer() || !entry.contains("content") ||
          !entry["content"].is_string() || tokens->id_of(entry["content"].get<std::string>()) != entry["id"].get<long long>())
        throw format_error(name, "added_tokens[" + std::to_string(a) + "]: expected {\"id\", \"content\"} of a vocabulary token");
    }
  }
  detail::read_post_processor(document, *tokens, vocabulary, name);
  return vocabulary;
}

/// Reads and checks a tokenizer.json file.
inline bpe_vocabulary read_tokenizer_json(const std::string& path) {
  const auto file = map_file(path);
  return parse_tokenizer_json(file->bytes(), path);
}

}  // namespace dnabert::io
