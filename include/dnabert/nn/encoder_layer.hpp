#pragma once
// One post-LN encoder layer: self-attention block, then a feed-forward block (BERT's GELU MLP by
// default; DNABERT-2's GEGLU, or the one config.json names, as the model spec chooses).

#include <string>

#include "dnabert/nn/feed_forward.hpp"
#include "dnabert/nn/self_attention.hpp"

namespace dnabert::nn {

/// One post-LN encoder layer: self-attention then the feed-forward block FeedForward.
template <class B, class FeedForward = feed_forward<B>>
struct encoder_layer {
  self_attention<B> attention;
  FeedForward ffn;

  encoder_layer() = default;
  /// Registers bert.encoder.layer.INDEX.*
  encoder_layer(B& backend, parameter_list<B>& params, std::int64_t index, const bert_config& config)
      : attention(backend, params, "bert.encoder.layer." + std::to_string(index) + ".", config),
        ffn(backend, params, "bert.encoder.layer." + std::to_string(index) + ".", config) {}

  /// Runs the layer on x [B*S, hidden].
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& x, const attention_input<B>& in,
                              tensor<B>* probabilities) const {
    return ffn(ctx, attention(ctx, x, in, probabilities));
  }

  /// Packs the layer's weights for inference (see linear::pack; `stored`: a quantized folder's int8 weights).
  void pack(B& be, const int8_weight_map& stored = {}) {
    attention.pack(be, stored);
    ffn.pack(be, stored);
  }
  /// Drops the packed weights.
  void unpack() {
    attention.unpack();
    ffn.unpack();
  }
};

}  // namespace dnabert::nn
