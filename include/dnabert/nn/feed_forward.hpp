#pragma once
// BertIntermediate + BertOutput: dense → exact GELU → dense → dropout → residual → LayerNorm.

#include <string>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/nn/forward_context.hpp"
#include "dnabert/nn/layer_norm.hpp"
#include "dnabert/nn/linear.hpp"

namespace dnabert::nn {

/// bert.encoder.layer.N.{intermediate,output}.*
template <class B>
struct feed_forward {
  linear<B> intermediate, output;
  layer_norm<B> norm;
  double hidden_dropout = 0.1;

  feed_forward() = default;
  /// Registers PREFIX.intermediate.dense, PREFIX.output.dense and PREFIX.output.LayerNorm.
  feed_forward(B& backend, parameter_list<B>& params, const std::string& prefix, const bert_config& config)
      : intermediate(backend, params, prefix + "intermediate.dense", config.hidden_size, config.intermediate_size),
        output(backend, params, prefix + "output.dense", config.intermediate_size, config.hidden_size),
        norm(backend, params, prefix + "output.LayerNorm", config.hidden_size, config.layer_norm_eps),
        hidden_dropout(config.hidden_dropout_prob) {}

  /// Transforms x [B*S, hidden].
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& x) const {
    auto& t = ctx.tape;
    auto h = ctx.dropout(output(t, intermediate(t, x, ops::activation::gelu)), hidden_dropout);
    return norm(t, h, x);
  }

  /// Packs both projections for inference (see linear::pack; `stored`: a quantized folder's int8 weights).
  void pack(B& be, const int8_weight_map& stored = {}) {
    intermediate.pack(be, stored);
    output.pack(be, stored);
  }
  /// Drops the packed weights.
  void unpack() {
    intermediate.unpack();
    output.unpack();
  }
};

}  // namespace dnabert::nn
