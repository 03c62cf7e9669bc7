#pragma once
// Labelled sequences for fine-tuning and evaluation: tokenized once, served in batches in an
// order that is a pure function of (seed, epoch), so a resumed run sees the same batches.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <sstream>
#include <span>
#include <string>
#include <vector>

#include "dnabert/core/rng.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/io/sequence_input.hpp"
#include "dnabert/model/long_sequences.hpp"
#include "dnabert/tokenizer/sequence_tokenizer.hpp"
#include "dnabert/tokenizer/token_batch.hpp"

namespace dnabert::train {

/// One training example: its model input (the first piece of the sequence, or for a long-sequence
/// classifier its first `split` pieces) and its label.
struct labelled_example {
  std::string id;
  std::vector<token_piece> pieces;
  double label = 0;
  std::vector<std::uint8_t> multi_labels = {};  ///< a multi-label example's 0/1 per label (empty otherwise)
};

/// A batch of examples: padded token ids with attention mask, and the labels in row order (for a
/// long-sequence classifier, one label per example, whose pieces are consecutive rows).
struct labelled_batch {
  token_batch tokens;
  std::vector<double> labels;
  /// Multi-label examples: their 0/1 labels [rows, labels] row-major (empty otherwise).
  std::vector<float> multi_labels = {};
};

/// Tokenized labelled examples. Sequences longer than one piece are cut to their first piece,
/// as DNABERT's max_seq_length does, pairs ([CLS] a [SEP] b [SEP]) to fit one piece as Hugging
/// Face's longest_first; for a long-sequence classifier (`pooling` other than none) to their first
/// `split` pieces (model/long_sequences.hpp). How many were cut is reported by truncated().
class labelled_dataset {
 public:
  /// Tokenizes `entries` (every one must carry a label) with `tokenizer` (the model's: k-mers or
  /// BPE), at most `max_kmers` tokens per piece (the model's max_position_embeddings - 2, up to
  /// 510), for a classifier reading long sequences by `pooling` over `split` pieces.
  labelled_dataset(const std::vector<io::sequence_entry>& entries, const sequence_tokenizer& tokenizer,
                   std::size_t max_kmers = max_kmers_per_piece, piece_pooling pooling = piece_pooling::none,
                   std::size_t split = 1)
      : pooling_(pooling), split_(split), max_kmers_(max_kmers), pad_(tokenizer.specials().pad) {
    examples_.reserve(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& entry = entries[i];
      if (!entry.label && entry.multi_labels.empty())
        throw input_error("sequence '" + entry.id + "' has no label; training needs a DNABERT TSV, a DNABERT-2 CSV "
                          "or labels for every FASTA record");
      bool cut = false;
      std::vector<token_piece> pieces;
      if (!entry.second.empty()) {  // a pair: one input, cut to fit as Hugging Face's longest_first
        if (pooling != piece_pooling::none)
          throw input_error("sequence '" + entry.id + "' is a pair; a long-sequence classifier reads single sequences");
        pieces.push_back(tokenizer.encode_pair(entry.sequence, entry.second, entry.id, i, max_kmers + 2, &cut));
      } else if (pooling != piece_pooling::none) {
        pieces = long_sequence_pieces(tokenizer, pooling, split, entry.sequence, entry.id, i, max_kmers, &cut);
      } else {
        pieces = tokenizer.encode(entry.sequence, entry.id, i, max_kmers);
        cut = pieces.size() > 1;
        pieces.resize(1);
      }
      if (cut) ++truncated_;
      examples_.push_back({entry.id, std::move(pieces), entry.label.value_or(0.0), entry.multi_labels});
    }
  }

  /// Number of examples.
  [[nodiscard]] std::size_t size() const noexcept { return examples_.size(); }
  /// Examples longer than one piece, cut to their first piece.
  [[nodiscard]] std::size_t truncated() const noexcept { return truncated_; }
  /// How a long-sequence classifier reads the examples (none: one piece each).
  [[nodiscard]] piece_pooling pooling() const noexcept { return pooling_; }
  /// Pieces per example at most (with pooling).
  [[nodiscard]] std::size_t split() const noexcept { return split_; }
  /// Example `i` in input order.
  [[nodiscard]] const labelled_example& operator[](std::size_t i) const { return examples_.at(i); }

  /// Class labels as integers 0..classes-1; throws input_error naming the first example whose
  /// label is not such an integer.
  [[nodiscard]] std::vector<std::int32_t> class_labels(std::int64_t classes) const {
    std::vector<std::int32_t> out;
    out.reserve(examples_.size());
    for (const auto& example : examples_) {
      if (!example.multi_labels.empty())
        throw input_error("sequence '" + example.id + "' has a vector of " + std::to_string(example.multi_labels.size()) +
                          " labels, but the model is a single-label classifier; a multi-label model "
                          "(problem_type multi_label_classification) trains on label vectors");
      const double label = example.label;
      if (label != std::floor(label) || label < 0 || label >= static_cast<double>(classes))
        throw input_error("sequence '" + example.id + "' has label " + label_text(label) + ", not a class id in 0.." +
                          std::to_string(classes - 1));
      out.push_back(static_cast<std::int32_t>(label));
    }
    return out;
  }

  /// Checks that every example holds a vector of `labels` 0/1 labels, as a multi-label model
  /// needs; throws input_error naming the first that does not.
  void check_multi_labels(std::int64_t labels) const {
    for (const auto& example : examples_)
      if (std::ssize(example.multi_labels) != labels)
        throw input_error("sequence '" + example.id + "' has " +
                          (example.multi_labels.empty() ? "a single label (" + label_text(example.label) + ")"
                                                        : "a vector of " + std::to_string(example.multi_labels.size()) + " labels") +
                          ", but the multi-label model needs a vector of " + std::to_string(labels) +
                          " 0/1 labels (space-separated in the label column, e.g. '0 1 1 0')");
  }

  /// The batch of the examples at `indices` (in that order): one row per example, padded to
  /// `pad_to` tokens when it is not 0 (make_batch), or for a long-sequence classifier its pieces as
  /// consecutive rows (make_sequence_batch).
  [[nodiscard]] labelled_batch batch(std::span<const std::size_t> indices, std::size_t pad_to = 0) const {
    std::vector<token_piece> pieces;
    labelled_batch out;
    out.labels.reserve(indices.size());
    for (const std::size_t i : indices) {
      const auto& example = examples_.at(i);
      pieces.insert(pieces.end(), example.pieces.begin(), example.pieces.end());
      out.labels.push_back(example.label);
      out.multi_labels.insert(out.multi_labels.end(), example.multi_labels.begin(), example.multi_labels.end());
    }
    if (pooling_ == piece_pooling::none) {
      out.tokens = make_batch(pieces, pad_to, pad_);
      return out;
    }
    if (pad_to > 0) throw input_error("a long-sequence classifier's batches are not padded to a fixed length");
    out.tokens = make_sequence_batch(pieces, pooling_, split_, max_kmers_ + 2, pad_);
    return out;
  }

 private:
  static std::string label_text(double label) {
    std::ostringstream text;
    text << label;
    return text.str();
  }

  std::vector<labelled_example> examples_;
  std::size_t truncated_ = 0;
  piece_pooling pooling_;
  std::size_t split_;
  std::size_t max_kmers_;
  token_id pad_;  // the tokenizer's [PAD]
};

/// A permutation of 0..n-1 that depends only on (seed, epoch): Fisher-Yates driven by the
/// counter-based generator, so resuming at any epoch reproduces the order. `Index` may be
/// narrower than size_t (n must fit it) to hold a large permutation in less memory: the
/// permutation is the same.
template <class Index = std::size_t>
std::vector<Index> epoch_order(std::size_t n, std::uint64_t seed, std::uint64_t epoch) {
  if constexpr (sizeof(Index) < sizeof(std::size_t))
    if (n > 0 && n - 1 > std::numeric_limits<Index>::max())
      throw config_error("cannot order " + std::to_string(n) + " items with a " + std::to_string(sizeof(Index)) + "-byte index");
  std::vector<Index> order(n);
  std::iota(order.begin(), order.end(), Index{0});
  const std::uint64_t stream = mix64(seed ^ mix64(epoch + 0x5bd1e995ULL));
  for (std::size_t i = n; i > 1; --i) {
    const double u = uniform_from_counter(stream, i);
    const auto j = std::min(static_cast<std::size_t>(u * static_cast<double>(i)), i - 1);
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

/// A permutation of 0..n-1 that depends only on (seed, epoch), computed one index at a time in
/// constant memory, for orders too long to hold: a 6-round Feistel network over the smallest
/// even number of bits that covers n, its outputs of n or more walked on through the network
/// until they fall below n (cycle walking, Black & Rogaway 2002), which keeps it a bijection.
class index_permutation {
 public:
  /// The permutation of 0..n-1 for (seed, epoch).
  index_permutation(std::uint64_t n, std::uint64_t seed, std::uint64_t epoch)
      : n_(n), key_(mix64(seed ^ mix64(epoch + 0x2545f4914f6cdd1dULL))) {
    while (half_bits_ < 32 && (std::uint64_t{1} << (2 * half_bits_)) < n) ++half_bits_;
    mask_ = (std::uint64_t{1} << half_bits_) - 1;
  }

  /// Where index `i` (< n) goes.
  [[nodiscard]] std::uint64_t operator()(std::uint64_t i) const {
    if (i >= n_) throw config_error("index " + std::to_string(i) + " is outside a permutation of " + std::to_string(n_));
    std::uint64_t x = i;
    do x = encrypt(x);
    while (x >= n_);
    return x;
  }

  /// How many indices it permutes.
  [[nodiscard]] std::uint64_t size() const noexcept { return n_; }

 private:
  [[nodiscard]] std::uint64_t encrypt(std::uint64_t x) const {
    std::uint64_t left = x >> half_bits_, right = x & mask_;
    for (std::uint64_t round = 0; round < 6; ++round) {
      const std::uint64_t mixed = left ^ (mix64(key_ + mix64(right ^ (round << 40))) & mask_);
      left = right;
      right = mixed;
    }
    return left << half_bits_ | right;
  }

  std::uint64_t n_;
  std::uint64_t key_;
  int half_bits_ = 1;
  std::uint64_t mask_ = 1;
};

}  // namespace dnabert::train
