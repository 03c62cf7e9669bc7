#pragma once
// DNABERT-2's tokenizer: byte-pair encoding as Hugging Face's `tokenizers` library runs its BPE
// model (no normalizer, the Whitespace pre-tokenizer, [CLS] ... [SEP] around the tokens). The
// vocabulary and merges come from a tokenizer.json (io/tokenizer_json.hpp reads one).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/core/vocabulary.hpp"

namespace dnabert {

/// The characters [begin, end) of a text that one token stands for.
struct text_span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// A BPE model: its tokens by id, its merges in priority order, and the ids of its special
/// tokens (as tokenizer.json's BPE model, added tokens and post-processor give them).
struct bpe_vocabulary {
  std::vector<std::string> tokens;                             ///< token text by id
  std::vector<std::pair<std::string, std::string>> merges;     ///< first merge first
  token_id unk = -1;  ///< [UNK]: what a character outside the vocabulary becomes (-1: none, it is dropped)
  token_id cls = -1;  ///< the token before the sequence (-1: none)
  token_id sep = -1;  ///< the token after it (-1: none)
  token_id pad = -1;  ///< [PAD] (-1: none)
  token_id mask = -1; ///< [MASK] (-1: none)
  bool fuse_unk = false;  ///< consecutive unknown characters become one [UNK] (DNABERT-2's: false)
};

/// Byte-pair encoding of DNA as the `tokenizers` library computes it for DNABERT-2: the text is
/// cut into words (runs of letters, digits and '_', and runs of other non-blank characters;
/// blanks separate), each word starts as its characters and the applicable merge of lowest
/// rank is applied again and again (the leftmost first among equal ranks), a character outside
/// the vocabulary becoming [UNK] on its own. Case is kept: DNABERT-2's vocabulary is upper case,
/// so lower-case letters are [UNK]s, as in Python.
class bpe_tokenizer {
 public:
  /// The tokenizer of `vocabulary`; throws config_error for duplicate tokens, a merge of tokens
  /// it lacks, or a merge whose result is not a token.
  explicit bpe_tokenizer(bpe_vocabulary vocabulary) : vocabulary_(std::move(vocabulary)) {
    const auto count = vocabulary_.tokens.size();
    if (count == 0 || count > static_cast<std::size_t>(INT32_MAX)) throw config_error("a BPE vocabulary needs 1 to 2^31 - 1 tokens");
    for (std::size_t id = 0; id < count; ++id)
      if (!ids_.emplace(vocabulary_.tokens[id], static_cast<token_id>(id)).second)
        throw config_error("token '" + vocabulary_.tokens[id] + "' appears twice in the BPE vocabulary");
    for (const token_id special : {vocabulary_.unk, vocabulary_.cls, vocabulary_.sep, vocabulary_.pad, vocabulary_.mask})
      if (special < -1 || special >= static_cast<token_id>(count)) throw config_error("a special token id is outside the BPE vocabulary");
    for (std::size_t rank = 0; rank < vocabulary_.merges.size(); ++rank) {
      const auto& [left, right] = vocabulary_.merges[rank];
      const token_id a = id_of(left), b = id_of(right), merged = id_of(left + right);
      if (a < 0 || b < 0 || merged < 0)
        throw config_error("merge " + std::to_string(rank) + " ('" + left + "' '" + right + "') names a token the vocabulary lacks");
      merges_.insert_or_assign(pair_key(a, b), merge_rule{static_cast<std::uint32_t>(rank), merged});  // a repeated pair: the last, as the library
    }
    for (std::size_t c = 0; c < 256; ++c) single_[c] = id_of(std::string(1, static_cast<char>(c)));
  }

  /// The model's vocabulary and special tokens.
  [[nodiscard]] const bpe_vocabulary& vocabulary() const noexcept { return vocabulary_; }
  /// Number of tokens.
  [[nodiscard]] token_id vocab_size() const noexcept { return static_cast<token_id>(vocabulary_.tokens.size()); }
  /// The id of `token`, -1 when it is not in the vocabulary.
  [[nodiscard]] token_id id_of(std::string_view token) const {
    const auto found = ids_.find(std::string(token));
    return found == ids_.end() ? -1 : found->second;
  }
  /// The text of token `id`; throws input_error for an id outside the vocabulary.
  [[nodiscard]] const std::string& token_text(token_id id) const {
    if (id < 0 || id >= vocab_size()) throw input_error("token id " + std::to_string(id) + " is outside the BPE vocabulary");
    return vocabulary_.tokens[static_cast<std::size_t>(id)];
  }

  /// The ids of `text`'s tokens, without [CLS]/[SEP]. Throws input_error for a byte that is
  /// not ASCII (the pre-tokenizer's word classes are Unicode's; DNA text is ASCII).
  [[nodiscard]] std::vector<token_id> token_ids(std::string_view text) const {
    std::vector<token_id> out;
    tokenize(text, out, nullptr);
    return out;
  }

  /// token_ids(text), and the characters of `text` each token stands for in `spans` (in order;
  /// blanks between words belong to none; a token runs to the next one's start, so an [UNK] stands
  /// for its character, or for the run fused into it, and a character dropped for want of an
  /// [UNK] goes to the token before it).
  void tokenize(std::string_view text, std::vector<token_id>& ids, std::vector<text_span>* spans) const {
    std::size_t i = 0;
    while (i < text.size()) {
      const auto byte = static_cast<unsigned char>(text[i]);
      if (byte >= 0x80)
        throw input_error("byte " + std::to_string(byte) + " at position " + std::to_string(i) + " is not ASCII");
      if (is_blank(byte)) {
        ++i;
        continue;
      }
      const bool word = is_word(byte);
      std::size_t end = i + 1;
      while (end < text.size() && static_cast<unsigned char>(text[end]) < 0x80 &&
             !is_blank(static_cast<unsigned char>(text[end])) && is_word(static_cast<unsigned char>(text[end])) == word)
        ++end;
      encode_word(text.substr(i, end - i), i, ids, spans);
      i = end;
    }
  }

  /// The model input of `text`: [CLS] tokens [SEP] (whichever of the two the vocabulary has).
  [[nodiscard]] std::vector<token_id> encode(std::string_view text) const {
    std::vector<token_id> out;
    if (vocabulary_.cls >= 0) out.push_back(vocabulary_.cls);
    const auto ids = token_ids(text);
    out.insert(out.end(), ids.begin(), ids.end());
    if (vocabulary_.sep >= 0) out.push_back(vocabulary_.sep);
    return out;
  }

 private:
  struct merge_rule {
    std::uint32_t rank;
    token_id merged;
  };
  // A symbol of the word being merged, in a doubly linked list over the word's characters; 32-bit
  // fields, since a chromosome is one word (16 bytes a nucleotide, with its queue entry 28).
  struct symbol {
    token_id id;
    std::int32_t previous, next;
    std::uint32_t begin;  // its first character in the word
    bool merged_away;
  };
  // A pair that may merge: the lowest rank first, then the leftmost.
  struct candidate {
    std::uint32_t rank;
    std::int32_t position;
    token_id merged;
    bool operator>(const candidate& other) const {
      return rank != other.rank ? rank > other.rank : position > other.position;
    }
  };

  static std::uint64_t pair_key(token_id a, token_id b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }
  static bool is_blank(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }  // ASCII's Unicode White_Space
  static bool is_word(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }

  // Appends the tokens of `word`, which starts at character `offset` of the text (and their spans).
  void encode_word(std::string_view word, std::size_t offset, std::vector<token_id>& out, std::vector<text_span>* spans) const {
    if (word.size() >= std::size_t{1} << 31)
      throw input_error("a run of " + std::to_string(word.size()) + " letters without a break is longer than BPE's 2^31 - 1");
    std::vector<symbol> symbols;
    symbols.reserve(word.size());
    bool after_unknown = false;
    for (std::size_t c = 0; c < word.size(); ++c) {
      const token_id id = single_[static_cast<unsigned char>(word[c])];
      const bool fused = id < 0 && after_unknown && vocabulary_.fuse_unk;
      after_unknown = id < 0;
      if ((id < 0 && vocabulary_.unk < 0) || fused) continue;  // no [UNK]: the character is dropped, as the library drops it
      const auto position = static_cast<std::int32_t>(symbols.size());
      symbols.push_back({id < 0 ? vocabulary_.unk : id, position - 1, position + 1, static_cast<std::uint32_t>(c), false});
    }
    if (symbols.empty()) return;
    symbols.back().next = -1;
    std::priority_queue<candidate, std::vector<candidate>, std::greater<>> queue;
    const auto offer = [&](std::int32_t position) {
      const std::int32_t next = symbols[static_cast<std::size_t>(position)].next;
      if (next < 0) return;
      const auto rule = merges_.find(pair_key(symbols[static_cast<std::size_t>(position)].id, symbols[static_cast<std::size_t>(next)].id));
      if (rule != merges_.end()) queue.push({rule->second.rank, position, rule->second.merged});
    };
    for (std::int32_t p = 0; p + 1 < static_cast<std::int32_t>(symbols.size()); ++p) offer(p);
    while (!queue.empty()) {
      const candidate top = queue.top();
      queue.pop();
      symbol& left = symbols[static_cast<std::size_t>(top.position)];
      if (left.merged_away || left.next < 0) continue;
      symbol& right = symbols[static_cast<std::size_t>(left.next)];
      const auto rule = merges_.find(pair_key(left.id, right.id));
      if (rule == merges_.end() || rule->second.merged != top.merged) continue;  // the pair changed since it was offered
      left.id = top.merged;
      right.merged_away = true;
      left.next = right.next;
      if (left.next >= 0) symbols[static_cast<std::size_t>(left.next)].previous = top.position;
      if (left.previous >= 0) offer(left.previous);
      offer(top.position);
    }
    for (std::size_t at = 0; at < symbols.size(); at = static_cast<std::size_t>(symbols[at].next)) {
      out.push_back(symbols[at].id);
      const bool last = symbols[at].next < 0;
      if (spans != nullptr)
        spans->push_back({offset + symbols[at].begin,
                          offset + (last ? word.size() : symbols[static_cast<std::size_t>(symbols[at].next)].begin)});
      if (last) break;
    }
  }

  bpe_vocabulary vocabulary_;
  std::unordered_map<std::string, token_id> ids_;
  std::unordered_map<std::uint64_t, merge_rule> merges_;
  token_id single_[256] = {};
};

}  // namespace dnabert
