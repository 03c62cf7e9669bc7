#pragma once
// Inference over sequences of any length: every sequence cut into model pieces, the pieces sorted
// by length and run in batches, each batch's output handed to the caller (classifier, attention).

#include <algorithm>
#include <functional>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "dnabert/model/bert.hpp"
#include "dnabert/tokenizer/sequence_tokenizer.hpp"
#include "dnabert/tokenizer/token_batch.hpp"

namespace dnabert {

/// Every sequence's pieces of at most `max_kmers` tokens (k-mers or BPE tokens), sorted by length: each piece carries
/// its origin, so sorting loses nothing and batches of neighbours carry little padding. `ids`
/// (optional) name sequences in errors. With `pairs_with` (one per sequence), sequence s is the
/// pair (sequences[s], pairs_with[s]): one piece of at most max_kmers + 2 k-mers in all.
inline std::vector<token_piece> sorted_pieces(const sequence_tokenizer& tokenizer, std::span<const std::string> sequences,
                                              std::span<const std::string> ids, std::size_t max_kmers,
                                              std::span<const std::string> pairs_with = {}) {
  if (!pairs_with.empty() && pairs_with.size() != sequences.size())
    throw input_error(std::to_string(pairs_with.size()) + " second sequences for " + std::to_string(sequences.size()) +
                      " pairs");
  std::vector<token_piece> pieces;
  for (std::size_t s = 0; s < sequences.size(); ++s) {
    const std::string id = s < ids.size() ? ids[s] : std::to_string(s);
    if (!pairs_with.empty()) {
      pieces.push_back(tokenizer.encode_pair(sequences[s], pairs_with[s], id, s, max_kmers + 2));
      continue;
    }
    auto encoded = tokenizer.encode(sequences[s], id, s, max_kmers);
    pieces.insert(pieces.end(), std::make_move_iterator(encoded.begin()), std::make_move_iterator(encoded.end()));
  }
  std::stable_sort(pieces.begin(), pieces.end(),
                   [](const token_piece& a, const token_piece& b) { return a.ids.size() < b.ids.size(); });
  return pieces;
}

/// Runs `model` (nothing recorded) over consecutive spans of `pieces`: the batch starting at
/// `start` takes `rows_for(start)` (>= 1) pieces; `consume(batch, output)` gets each result and
/// `progress(done, total)`, when set, the count so far. `pad_to` > 0 pads every batch to that
/// many tokens (make_batch).
template <class Spec, class B, class RowsFor, class Consume>
void for_each_piece_batch(const Bert<Spec, B>& model, std::span<const token_piece> pieces, const forward_options& outputs,
                          RowsFor&& rows_for, Consume&& consume,
                          const std::function<void(std::size_t, std::size_t)>& progress = {}, std::size_t pad_to = 0) {
  autograd::tape<B> tape(model.backend());
  const token_id pad = model.tokenizer().specials().pad;
  for (std::size_t start = 0; start < pieces.size();) {
    const std::size_t rows = std::max<std::size_t>(1, std::min(rows_for(start), pieces.size() - start));
    const token_batch batch = make_batch(pieces.subspan(start, rows), pad_to, pad);
    nn::forward_context<B> ctx{tape};
    consume(batch, model.forward(ctx, batch, outputs));
    start += rows;
    if (progress) progress(start, pieces.size());
  }
}

}  // namespace dnabert
