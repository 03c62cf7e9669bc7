#pragma once
// What sits on the encoder: the pooler (tanh dense on [CLS]), the masked-LM head (transform,
// decoder tied to the word embeddings, separate bias) and the sequence-classification head.

#include "dnabert/core/bert_config.hpp"
#include "dnabert/nn/forward_context.hpp"
#include "dnabert/nn/layer_norm.hpp"
#include "dnabert/nn/linear.hpp"

namespace dnabert::nn {

/// bert.pooler.dense: tanh(W h_[CLS] + b).
template <class B>
struct pooler {
  linear<B> dense;

  pooler() = default;
  /// Registers bert.pooler.dense.
  pooler(B& backend, parameter_list<B>& params, const bert_config& config)
      : dense(backend, params, "bert.pooler.dense", config.hidden_size, config.hidden_size) {}

  /// Pools sequence output [batch*seq, hidden] → [batch, hidden].
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& sequence_output, std::int64_t batch,
                              std::int64_t seq) const {
    return pool(ctx, autograd::strided_rows(ctx.tape, sequence_output, batch, seq));
  }

  /// Pools the rows `cls_rows` [batch] of sequence output (the [CLS] rows of packed tokens).
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& sequence_output,
                              const autograd::id_tensor<B>& cls_rows) const {
    return pool(ctx, autograd::embedding(ctx.tape, cls_rows, sequence_output));
  }

 private:
  autograd::var<B> pool(forward_context<B>& ctx, const autograd::var<B>& cls) const {
    return autograd::tanh(ctx.tape, dense(ctx.tape, cls));
  }
};

/// cls.predictions.*: logits = LN(gelu(dense(h))) E^T + bias, E the word embeddings (tied).
template <class B>
struct masked_lm_head {
  linear<B> transform;
  layer_norm<B> norm;
  autograd::var<B> decoder;  ///< the word-embedding matrix itself
  autograd::var<B> bias;

  masked_lm_head() = default;
  /// Registers cls.predictions.{bias, transform.dense, transform.LayerNorm} and the tied decoder names.
  masked_lm_head(B& backend, parameter_list<B>& params, const bert_config& config, const autograd::var<B>& word_embeddings)
      : decoder(word_embeddings) {
    bias = params.create(backend, "cls.predictions.bias", {config.vocab_size}, init_kind::zeros);
    transform = linear<B>(backend, params, "cls.predictions.transform.dense", config.hidden_size, config.hidden_size);
    norm = layer_norm<B>(backend, params, "cls.predictions.transform.LayerNorm", config.hidden_size, config.layer_norm_eps);
    params.alias("cls.predictions.decoder.weight", word_embeddings);
    params.alias("cls.predictions.decoder.bias", bias);
  }

  /// Vocabulary logits [rows, vocab] for hidden states [rows, hidden].
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& hidden) const {
    auto& t = ctx.tape;
    return autograd::linear(t, norm(t, transform(t, hidden, ops::activation::gelu)), decoder, bias);
  }
};

/// classifier: dropout(pooled) W^T + b, num_labels outputs (1 = regression; multi-label: one logit per label).
template <class B>
struct classification_head {
  linear<B> classifier;
  double dropout_p = 0.1;

  classification_head() = default;
  /// Registers classifier.weight [num_labels, hidden] and classifier.bias.
  classification_head(B& backend, parameter_list<B>& params, const bert_config& config)
      : classifier(backend, params, "classifier", config.hidden_size, config.num_labels),
        dropout_p(config.hidden_dropout_prob) {}

  /// Logits [batch, num_labels] from pooled output [batch, hidden].
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& pooled) const {
    return classifier(ctx.tape, ctx.dropout(pooled, dropout_p));
  }
};

}  // namespace dnabert::nn
