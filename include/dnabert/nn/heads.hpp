#pragma once
// What sits on the encoder: the pooler (tanh dense on [CLS]), the masked-LM head (transform,
// decoder tied to the word embeddings, separate bias) and the sequence-classification head (on one
// piece, or on a long sequence's pieces as DNABERT-XL).

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
    // MosaicBERT (DNABERT-2) fixes this LayerNorm's eps at 1e-12 whatever config.json says.
    norm = layer_norm<B>(backend, params, "cls.predictions.transform.LayerNorm", config.hidden_size,
                         config.mosaic_layout() ? 1e-12 : config.layer_norm_eps);
    params.alias("cls.predictions.decoder.weight", word_embeddings);
    params.alias("cls.predictions.decoder.bias", bias);
  }

  /// Vocabulary logits [rows, vocab] for hidden states [rows, hidden]; `double_bias` adds the bias
  /// twice, as transformers 2.5.0 did (decoder.bias is the bias, added again: HF issue #2957).
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& hidden, bool double_bias = false) const {
    auto& t = ctx.tape;
    return autograd::linear(t, norm(t, transform(t, hidden, ops::activation::gelu)), decoder,
                            double_bias ? autograd::add(t, bias, bias) : bias);
  }
};

/// The sequence-classification head: dropout(pooled) W^T + b, num_labels outputs (1 = regression;
/// multi-label: one logit per label), on one piece per sequence; a long-sequence classifier (config.long_pooling) first pools each
/// sequence's pieces by their mean or max, or joins `split` of them for DNABERT-XL's dnalongcat:
/// classifier2(dropout(relu(classifier1(dropout(joined))))).
template <class B>
struct classification_head {
  linear<B> classifier;   ///< "classifier" [num_labels, hidden]; none, mean and max
  linear<B> classifier1;  ///< concat: "classifier1" [hidden, split * hidden]
  linear<B> classifier2;  ///< concat: "classifier2" [num_labels, hidden]
  piece_pooling pooling = piece_pooling::none;
  std::int64_t split = 1;
  double dropout_p = 0.1;

  classification_head() = default;
  /// Registers the head's parameters under Hugging Face's (or DNABERT-XL's) names.
  classification_head(B& backend, parameter_list<B>& params, const bert_config& config)
      : pooling(config.long_pooling), split(config.split), dropout_p(config.hidden_dropout_prob) {
    const std::int64_t hidden = config.hidden_size;
    if (pooling != piece_pooling::concat) {
      classifier = linear<B>(backend, params, "classifier", hidden, config.num_labels);
      return;
    }
    classifier1 = linear<B>(backend, params, "classifier1", split * hidden, hidden);
    classifier2 = linear<B>(backend, params, "classifier2", hidden, config.num_labels);
  }

  /// Logits [batch, num_labels] from pooled output [batch, hidden], one piece per sequence.
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& pooled) const {
    return classifier(ctx.tape, ctx.dropout(pooled, dropout_p));
  }

  /// Logits [sequences, num_labels] of whole sequences from their pieces' pooled output [rows,
  /// hidden]: `starts` [sequences + 1] delimit each sequence's rows (mean, max), `slots`
  /// [sequences * split] name the row of each piece slot (concat).
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& pooled,
                              const autograd::id_tensor<B>& starts, const autograd::id_tensor<B>& slots) const {
    auto& t = ctx.tape;
    if (pooling != piece_pooling::concat)
      return (*this)(ctx, autograd::segment_pool(t, pooled, starts, pooling == piece_pooling::max));
    const auto joined = autograd::joined_rows(t, slots, pooled, split);
    const auto hidden = autograd::relu(t, classifier1(t, ctx.dropout(joined, dropout_p)));
    return classifier2(t, ctx.dropout(hidden, dropout_p));
  }
};

}  // namespace dnabert::nn
