#pragma once
// BertEmbeddings: word + position + token type (always 0 in DNABERT), LayerNorm, dropout; with
// ALiBi (DNABERT-2) there is no position table: attention adds the position bias instead.

#include <optional>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/nn/forward_context.hpp"
#include "dnabert/nn/layer_norm.hpp"

namespace dnabert::nn {

/// A batch's token rows split by whether their word id is pad_token_id, for a word lookup whose
/// [PAD] rows send no gradient to the table (torch.nn.Embedding's padding_idx).
template <class B>
struct padding_idx_rows {
  autograd::id_tensor<B> rows, words;          ///< the other rows and their word ids
  autograd::id_tensor<B> pad_rows, pad_words;  ///< the rows whose word id is pad_token_id, and those ids
};

/// Token ids of one batch on the backend: word, position and token-type ids, each [B*S].
template <class B>
struct batch_ids {
  autograd::id_tensor<B> words;
  autograd::id_tensor<B> positions;
  autograd::id_tensor<B> token_types;
  /// Set when [PAD] tokens are attended (DNABERT 2.5 compatibility), so that their word lookups,
  /// like transformers' padding_idx, add nothing to the word embeddings' gradient.
  std::optional<padding_idx_rows<B>> padding_idx;
};

/// bert.embeddings.* of Hugging Face's BertModel.
template <class B>
struct embeddings {
  autograd::var<B> word;
  autograd::var<B> position;
  autograd::var<B> token_type;
  layer_norm<B> norm;
  double dropout_p = 0.1;

  embeddings() = default;
  /// Registers bert.embeddings.{word,position,token_type}_embeddings and LayerNorm (no position
  /// table when config.position is ALiBi).
  embeddings(B& backend, parameter_list<B>& params, const bert_config& config)
      : word(params.create(backend, "bert.embeddings.word_embeddings.weight", {config.vocab_size, config.hidden_size},
                           init_kind::normal)),
        position(config.position == position_encoding::absolute
                     ? params.create(backend, "bert.embeddings.position_embeddings.weight",
                                     {config.max_position_embeddings, config.hidden_size}, init_kind::normal)
                     : autograd::var<B>()),
        token_type(params.create(backend, "bert.embeddings.token_type_embeddings.weight",
                                 {config.type_vocab_size, config.hidden_size}, init_kind::normal)),
        norm(backend, params, "bert.embeddings.LayerNorm", config.hidden_size, config.layer_norm_eps),
        dropout_p(config.hidden_dropout_prob) {}

  /// Whether positions are embedded (learned absolute positions, not ALiBi).
  [[nodiscard]] bool has_positions() const { return static_cast<bool>(position); }

  /// Embeds a batch → [B*S, hidden].
  autograd::var<B> operator()(forward_context<B>& ctx, const batch_ids<B>& ids) const {
    auto& t = ctx.tape;
    const auto words = ids.padding_idx ? words_without_padding_gradient(t, *ids.padding_idx, ids.words.numel())
                                       : autograd::embedding(t, ids.words, word);
    auto sum = has_positions() ? autograd::add(t, words, autograd::embedding(t, ids.positions, position)) : words;
    sum = autograd::add(t, sum, autograd::embedding(t, ids.token_types, token_type));
    return ctx.dropout(norm(t, sum), dropout_p);
  }

 private:
  // The word lookup of `rows` tokens as two lookups put back in place: the [PAD] rows read a copy
  // of the table that records no gradient. The values are the plain lookup's, bit for bit.
  autograd::var<B> words_without_padding_gradient(autograd::tape<B>& t, const padding_idx_rows<B>& split,
                                                  std::int64_t rows) const {
    const autograd::var<B> frozen(word.value());
    return autograd::add(t, autograd::scatter_rows(t, split.rows, autograd::embedding(t, split.words, word), rows),
                         autograd::scatter_rows(t, split.pad_rows, autograd::embedding(t, split.pad_words, frozen), rows));
  }
};

}  // namespace dnabert::nn
