#pragma once
// BertAttention: query/key/value projections, multi-head scaled dot-product attention with the
// additive padding mask, output projection, dropout, residual and post-LayerNorm.

#include <string>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/nn/forward_context.hpp"
#include "dnabert/nn/linear.hpp"

namespace dnabert::nn {

/// The batch geometry and padding mask every attention layer of a pass shares.
template <class B>
struct attention_input {
  backend::attention_shape shape;
  tensor<B> key_bias;  ///< [batch, seq]: 0 for tokens, -10000 for padding (Hugging Face)
};

/// bert.encoder.layer.N.attention.*
template <class B>
struct self_attention {
  linear<B> query, key, value, output;
  layer_norm<B> norm;
  double attention_dropout = 0.1;
  double hidden_dropout = 0.1;

  self_attention() = default;
  /// Registers PREFIX.attention.self.{query,key,value} and PREFIX.attention.output.{dense,LayerNorm}.
  self_attention(B& backend, parameter_list<B>& params, const std::string& prefix, const bert_config& config)
      : query(backend, params, prefix + "attention.self.query", config.hidden_size, config.hidden_size),
        key(backend, params, prefix + "attention.self.key", config.hidden_size, config.hidden_size),
        value(backend, params, prefix + "attention.self.value", config.hidden_size, config.hidden_size),
        output(backend, params, prefix + "attention.output.dense", config.hidden_size, config.hidden_size),
        norm(backend, params, prefix + "attention.output.LayerNorm", config.hidden_size, config.layer_norm_eps),
        attention_dropout(config.attention_probs_dropout_prob),
        hidden_dropout(config.hidden_dropout_prob) {}

  /// Attends over x [B*S, hidden]; fills `probabilities` [B, heads, S, S] when asked to.
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& x, const attention_input<B>& in,
                              tensor<B>* probabilities) const {
    auto& t = ctx.tape;
    const auto& s = in.shape;
    autograd::attention_options options;
    options.dropout = ctx.dropout_active() ? attention_dropout : 0.0;
    options.seed = ctx.seed;
    options.offset = options.dropout > 0 ? ctx.reserve(s.batch * s.heads * s.seq * s.seq) : 0;
    options.keep_probabilities = probabilities != nullptr;
    auto attended = autograd::self_attention(t, query(t, x), key(t, x), value(t, x), in.key_bias, s, options);
    if (probabilities != nullptr) *probabilities = attended.probabilities;
    auto projected = ctx.dropout(output(t, attended.context), hidden_dropout);
    return norm(t, autograd::add(t, projected, x));
  }
};

}  // namespace dnabert::nn
