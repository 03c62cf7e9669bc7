#pragma once
// The tokenizer a model reads DNA with: DNABERT's overlapping k-mers or DNABERT-2's byte-pair
// encoding. Both cut a long sequence into pieces of at most `max_tokens` tokens between [CLS] and
// [SEP], and say which nucleotides each token stands for, so that the layers above (batches,
// classifiers, attention maps, scans) are written once for both.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/core/vocabulary.hpp"
#include "dnabert/tokenizer/bpe_tokenizer.hpp"
#include "dnabert/tokenizer/kmer_tokenizer.hpp"

namespace dnabert {

/// The ids of the special tokens a tokenizer gives the model.
struct special_token_ids {
  token_id pad = special::pad;
  token_id cls = special::cls;
  token_id sep = special::sep;
  token_id mask = special::mask;
};

/// DNABERT's k-mers or DNABERT-2's BPE, behind one interface.
class sequence_tokenizer {
 public:
  /// DNABERT's k-mer tokenizer (implicit: a k-mer tokenizer serves wherever a sequence tokenizer does).
  sequence_tokenizer(kmer_tokenizer kmers) : kmers_(kmers) {}  // NOLINT(google-explicit-constructor)

  /// A BPE tokenizer (DNABERT-2's tokenizer.json); throws config_error when it lacks [CLS], [SEP]
  /// or [PAD], which every model input needs.
  explicit sequence_tokenizer(std::shared_ptr<const bpe_tokenizer> bpe) : kmers_(1), bpe_(std::move(bpe)) {
    if (!bpe_) throw config_error("no BPE tokenizer given");
    const bpe_vocabulary& v = bpe_->vocabulary();
    for (const auto& [id, name] : {std::pair{v.cls, "[CLS]"}, std::pair{v.sep, "[SEP]"}, std::pair{v.pad, "[PAD]"}})
      if (id < 0)
        throw config_error(std::string("the BPE tokenizer has no ") + name + " token, which every model input needs");
    specials_ = {v.pad, v.cls, v.sep, v.mask};
  }

  /// Whether tokens are BPE pieces (else k-mers).
  [[nodiscard]] bool is_bpe() const noexcept { return bpe_ != nullptr; }
  /// The k-mer size; config_error for BPE.
  [[nodiscard]] int k() const {
    if (bpe_) throw config_error("a BPE tokenizer (DNABERT-2) has no k-mer size");
    return kmers_.k();
  }
  /// The BPE tokenizer, null for k-mers.
  [[nodiscard]] const std::shared_ptr<const bpe_tokenizer>& bpe() const noexcept { return bpe_; }
  /// The special tokens' ids.
  [[nodiscard]] const special_token_ids& specials() const noexcept { return specials_; }

  /// Tokens between [CLS] and [SEP] of the whole of `sequence`: its k-mers, or its BPE pieces.
  [[nodiscard]] std::size_t token_count(std::string_view sequence) const {
    return bpe_ ? bpe_->token_ids(sequence).size() : kmers_.kmer_count(sequence.size());
  }

  /// Model inputs for one sequence: consecutive pieces of at most `max_tokens` tokens, each in
  /// [CLS]/[SEP], origin.first_kmer the first nucleotide of the piece's first token. Throws
  /// input_error naming `id` when the sequence has no token (shorter than k; empty).
  [[nodiscard]] std::vector<token_piece> encode(std::string_view sequence, std::string_view id = "sequence",
                                                std::size_t sequence_index = 0,
                                                std::size_t max_tokens = max_kmers_per_piece) const {
    if (!bpe_) return kmers_.encode(sequence, id, sequence_index, max_tokens);
    if (max_tokens == 0) throw input_error("max_kmers must be at least 1");
    std::vector<token_id> ids;
    std::vector<text_span> spans;
    bpe_->tokenize(sequence, ids, &spans);
    if (ids.empty()) throw input_error("sequence '" + std::string(id) + "' has no tokens (it is empty or blank)");
    const std::size_t pieces = (ids.size() + max_tokens - 1) / max_tokens;
    std::vector<token_piece> out(pieces);
    for (std::size_t p = 0; p < pieces; ++p) {
      const std::size_t first = p * max_tokens;
      const std::size_t count = std::min(max_tokens, ids.size() - first);
      token_piece& piece = out[p];
      piece.origin = {sequence_index, p, spans[first].begin, pieces};
      piece.ids.reserve(count + 2);
      piece.ids.push_back(specials_.cls);
      piece.ids.insert(piece.ids.end(), ids.begin() + static_cast<std::ptrdiff_t>(first),
                       ids.begin() + static_cast<std::ptrdiff_t>(first + count));
      piece.ids.push_back(specials_.sep);
    }
    return out;
  }

  /// The pair (a, b) as one input of at most `max_tokens` tokens, [CLS] a [SEP] b [SEP], token type
  /// 1 from b on, cut by longest_first when too long (kmer_tokenizer::encode_pair); `truncated`
  /// says whether anything was cut.
  [[nodiscard]] token_piece encode_pair(std::string_view a, std::string_view b, std::string_view id = "sequence",
                                        std::size_t sequence_index = 0, std::size_t max_tokens = max_kmers_per_piece + 2,
                                        bool* truncated = nullptr) const {
    if (!bpe_) return kmers_.encode_pair(a, b, id, sequence_index, max_tokens, truncated);
    if (max_tokens < 5) throw input_error("a pair needs at least 5 tokens ([CLS] a [SEP] b [SEP])");
    const auto ids_a = bpe_->token_ids(a), ids_b = bpe_->token_ids(b);
    for (const auto& [ids, which] : {std::pair{&ids_a, "first"}, std::pair{&ids_b, "second"}})
      if (ids->empty())
        throw input_error("sequence '" + std::string(id) + "': the " + which + " sequence of the pair has no tokens");
    const auto [keep_a, keep_b] = detail::longest_first(ids_a.size(), ids_b.size(), max_tokens - 3);
    if (truncated != nullptr) *truncated = keep_a + keep_b < ids_a.size() + ids_b.size();
    token_piece piece;
    piece.origin = {sequence_index, 0, 0, 1};
    piece.ids.push_back(specials_.cls);
    piece.ids.insert(piece.ids.end(), ids_a.begin(), ids_a.begin() + static_cast<std::ptrdiff_t>(keep_a));
    piece.ids.push_back(specials_.sep);
    piece.second_segment = piece.ids.size();
    piece.ids.insert(piece.ids.end(), ids_b.begin(), ids_b.begin() + static_cast<std::ptrdiff_t>(keep_b));
    piece.ids.push_back(specials_.sep);
    return piece;
  }

  /// The nucleotides [begin, end) of `sequence` each of its tokens stands for, in order (the
  /// tokens encode() cuts into pieces of max_tokens, so token t of piece p, after its [CLS], is
  /// token p * max_tokens + t - 1 here): k-mer i is [i, i + k); a BPE token, its letters.
  [[nodiscard]] std::vector<text_span> token_spans(std::string_view sequence) const {
    std::vector<text_span> spans;
    if (bpe_) {
      std::vector<token_id> ids;
      bpe_->tokenize(sequence, ids, &spans);
      return spans;
    }
    const auto k = static_cast<std::size_t>(kmers_.k());
    spans.resize(kmers_.kmer_count(sequence.size()));
    for (std::size_t i = 0; i < spans.size(); ++i) spans[i] = {i, i + k};
    return spans;
  }

  /// "k = 6" or "BPE, 4096 tokens": what the model's tokens are, for messages.
  [[nodiscard]] std::string describe() const {
    return bpe_ ? "BPE, " + std::to_string(bpe_->vocab_size()) + " tokens" : "k = " + std::to_string(kmers_.k());
  }

  /// The text of token `id` ("AATG", "[CLS]", ...).
  [[nodiscard]] std::string token_text(token_id id) const {
    return bpe_ ? bpe_->token_text(id) : dnabert::token_text(kmers_.k(), id);
  }

 private:
  kmer_tokenizer kmers_;
  std::shared_ptr<const bpe_tokenizer> bpe_;
  special_token_ids specials_;
};

}  // namespace dnabert
