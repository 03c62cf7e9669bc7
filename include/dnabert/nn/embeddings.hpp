#pragma once
// BertEmbeddings: word + position + token type (always 0 in DNABERT), LayerNorm, dropout.

#include "dnabert/core/bert_config.hpp"
#include "dnabert/nn/forward_context.hpp"
#include "dnabert/nn/layer_norm.hpp"

namespace dnabert::nn {

/// Token ids of one batch on the backend: word, position and token-type ids, each [B*S].
template <class B>
struct batch_ids {
  autograd::id_tensor<B> words;
  autograd::id_tensor<B> positions;
  autograd::id_tensor<B> token_types;
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
  /// Registers bert.embeddings.{word,position,token_type}_embeddings and LayerNorm.
  embeddings(B& backend, parameter_list<B>& params, const bert_config& config)
      : word(params.create(backend, "bert.embeddings.word_embeddings.weight", {config.vocab_size, config.hidden_size},
                           init_kind::normal)),
        position(params.create(backend, "bert.embeddings.position_embeddings.weight",
                               {config.max_position_embeddings, config.hidden_size}, init_kind::normal)),
        token_type(params.create(backend, "bert.embeddings.token_type_embeddings.weight",
                                 {config.type_vocab_size, config.hidden_size}, init_kind::normal)),
        norm(backend, params, "bert.embeddings.LayerNorm", config.hidden_size, config.layer_norm_eps),
        dropout_p(config.hidden_dropout_prob) {}

  /// Embeds a batch → [B*S, hidden].
  autograd::var<B> operator()(forward_context<B>& ctx, const batch_ids<B>& ids) const {
    auto& t = ctx.tape;
    auto sum = autograd::add(t, autograd::embedding(t, ids.words, word), autograd::embedding(t, ids.positions, position));
    sum = autograd::add(t, sum, autograd::embedding(t, ids.token_types, token_type));
    return ctx.dropout(norm(t, sum), dropout_p);
  }
};

}  // namespace dnabert::nn
