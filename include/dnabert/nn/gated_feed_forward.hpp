#pragma once
// MosaicBERT's BertGatedLinearUnitMLP (DNABERT-2): one bias-free dense to [gate | value], GEGLU
// (exact GELU of the gate times the value), dropout, dense, residual and post-LayerNorm.

#include <string>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/nn/forward_context.hpp"
#include "dnabert/nn/layer_norm.hpp"
#include "dnabert/nn/linear.hpp"

namespace dnabert::nn {

/// bert.encoder.layer.N.mlp.*
template <class B>
struct gated_feed_forward {
  linear<B> gated_layers, wo;
  layer_norm<B> norm;
  double hidden_dropout = 0.1;

  gated_feed_forward() = default;
  /// Registers PREFIX.mlp.gated_layers (weight only), PREFIX.mlp.wo and PREFIX.mlp.layernorm.
  gated_feed_forward(B& backend, parameter_list<B>& params, const std::string& prefix, const bert_config& config)
      : gated_layers(linear<B>::without_bias(backend, params, prefix + "mlp.gated_layers", config.hidden_size,
                                             2 * config.intermediate_size)),
        wo(backend, params, prefix + "mlp.wo", config.intermediate_size, config.hidden_size),
        norm(backend, params, prefix + "mlp.layernorm", config.hidden_size, config.layer_norm_eps),
        hidden_dropout(config.hidden_dropout_prob) {}

  /// Transforms x [B*S, hidden]; dropout falls on the gated activations, before wo, as MosaicBERT's.
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& x) const {
    auto& t = ctx.tape;
    const auto gated = ctx.dropout(autograd::gated_gelu(t, gated_layers(t, x)), hidden_dropout);
    return norm(t, wo(t, gated), x);
  }

  /// Packs both projections for inference (see linear::pack; `stored`: a quantized folder's int8 weights).
  void pack(B& be, const int8_weight_map& stored = {}) {
    gated_layers.pack(be, stored);
    wo.pack(be, stored);
  }
  /// Drops the packed weights.
  void unpack() {
    gated_layers.unpack();
    wo.unpack();
  }
};

}  // namespace dnabert::nn
