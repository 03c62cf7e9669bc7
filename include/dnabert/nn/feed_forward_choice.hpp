#pragma once
// The feed-forward block chosen at run time (a model whose spec leaves it dynamic): BERT's GELU
// MLP or DNABERT-2's GEGLU, whichever config.json describes.

#include <string>
#include <variant>

#include "dnabert/nn/feed_forward.hpp"
#include "dnabert/nn/gated_feed_forward.hpp"

namespace dnabert::nn {

/// feed_forward or gated_feed_forward, by config.feed_forward.
template <class B>
struct feed_forward_choice {
  std::variant<feed_forward<B>, gated_feed_forward<B>> block;

  feed_forward_choice() = default;
  /// Registers the parameters of the block config.feed_forward names.
  feed_forward_choice(B& backend, parameter_list<B>& params, const std::string& prefix, const bert_config& config) {
    if (config.feed_forward == feed_forward_kind::geglu) block.template emplace<gated_feed_forward<B>>(backend, params, prefix, config);
    else block.template emplace<feed_forward<B>>(backend, params, prefix, config);
  }

  /// Transforms x [B*S, hidden] through the chosen block.
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& x) const {
    return std::visit([&](const auto& chosen) { return chosen(ctx, x); }, block);
  }
  /// Packs the chosen block's weights for inference.
  void pack(B& be, const int8_weight_map& stored = {}) {
    std::visit([&](auto& chosen) { chosen.pack(be, stored); }, block);
  }
  /// Drops the packed weights.
  void unpack() {
    std::visit([](auto& chosen) { chosen.unpack(); }, block);
  }
};

}  // namespace dnabert::nn
