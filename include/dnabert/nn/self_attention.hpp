#pragma once
// BertAttention: query/key/value projections, multi-head scaled dot-product attention with the
// additive padding mask, output projection, dropout, residual and post-LayerNorm.

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/nn/forward_context.hpp"
#include "dnabert/nn/layer_norm.hpp"
#include "dnabert/nn/linear.hpp"

namespace dnabert::nn {

/// The batch geometry and padding mask every attention layer of a pass shares.
template <class B>
struct attention_input {
  ops::attention_shape shape;
  tensor<B> key_bias;  ///< [batch, seq]: 0 for tokens, -10000 for padding (Hugging Face)
  /// Padding removal: the row of [batch*seq] of each of the T packed token rows the dense layers
  /// run on; empty when rows are not packed (every layer then sees [batch*seq] rows).
  autograd::id_tensor<B> packed_rows;

  /// Whether the dense layers run on packed token rows.
  [[nodiscard]] bool packed() const noexcept { return packed_rows.numel() > 0; }
  /// Rows in the padded layout [batch*seq, width], zeros on padding (x itself when not packed).
  autograd::var<B> to_padded(autograd::tape<B>& t, const autograd::var<B>& x) const {
    return packed() ? autograd::scatter_rows(t, packed_rows, x, shape.batch * shape.seq) : x;
  }
  /// Padded-layout rows back to the packed token rows (x itself when not packed).
  autograd::var<B> to_packed(autograd::tape<B>& t, const autograd::var<B>& x) const {
    return packed() ? autograd::embedding(t, packed_rows, x) : x;
  }
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

  /// Attends over x [B*S, hidden] (or its T packed rows, expanded to the padded layout for the
  /// attention itself); fills `probabilities` [B, heads, S, S] when asked to.
  autograd::var<B> operator()(forward_context<B>& ctx, const autograd::var<B>& x, const attention_input<B>& in,
                              tensor<B>* probabilities) const {
    auto& t = ctx.tape;
    if constexpr (ops::packs_linear<B>)
      if (qkv_.weights && !t.recording()) return packed_attention(ctx, x, in, probabilities);
    const auto& s = in.shape;
    autograd::attention_options options;
    options.dropout = ctx.dropout_active() ? attention_dropout : 0.0;
    options.seed = ctx.seed;
    options.offset = options.dropout > 0 ? ctx.reserve(s.batch * s.heads * s.seq * s.seq) : 0;
    options.keep_probabilities = probabilities != nullptr;
    auto attended = autograd::self_attention(t, in.to_padded(t, query(t, x)), in.to_padded(t, key(t, x)),
                                             in.to_padded(t, value(t, x)), in.key_bias, s, options);
    if (probabilities != nullptr) *probabilities = attended.probabilities;
    auto projected = ctx.dropout(output(t, in.to_packed(t, attended.context)), hidden_dropout);
    return norm(t, projected, x);
  }

  /// Packs the weights for inference (see linear::pack; `stored`: a quantized folder's int8
  /// weights), query, key and value as one [3·hidden, hidden] projection: one GEMM instead of
  /// three, which pays most in int8 and for short batches (docs/benchmarks.md).
  void pack(B& be, const int8_weight_map& stored = {}) {
    if constexpr (ops::packs_linear<B>) {
      const std::int64_t width = query.in();
      const std::int64_t h = query.out();
      tensor<B> weights(be, {3 * h, width});
      tensor<B> biases(be, {3 * h});
      const linear<B>* parts[] = {&query, &key, &value};
      for (std::int64_t i = 0; i < 3; ++i) {
        copy(be, parts[i]->weight.value().data(), weights.data() + i * h * width, h * width);
        copy(be, parts[i]->bias.value().data(), biases.data() + i * h, h);
      }
      qkv_.weights = std::make_shared<const ops::packed_linear_t<B>>(
          linear<B>::pack_stored_or_float(be, parts, weights.data(), biases.span(), stored));
      output.pack(be, stored);
    }
  }
  /// Drops the packed weights.
  void unpack() {
    qkv_ = {};
    output.unpack();
  }

 private:
  // Inference through the packed weights: q, k and v are column blocks of one [rows, 3·hidden]
  // product; the attention reads them and writes the context with that row stride, and the
  // output projection reads the context's block in place.
  autograd::var<B> packed_attention(forward_context<B>& ctx, const autograd::var<B>& x, const attention_input<B>& in,
                                    tensor<B>* probabilities) const
    requires ops::packs_linear<B>
  {
    using T = typename B::value_type;
    auto& t = ctx.tape;
    B& be = t.backend();
    const std::int64_t h = query.out();
    const auto qkv = in.to_padded(t, packed_forward(t, x.value(), *qkv_.weights, query.in(), 3 * h, ops::activation::none));
    ops::attention_shape shape = in.shape;
    shape.row_stride = 3 * h;
    tensor<B> context(be, qkv.shape());  // only the first `h` columns of each row are written and read
    tensor<B> kept = probabilities != nullptr ? tensor<B>(be, {shape.batch, shape.heads, shape.seq, shape.seq}) : tensor<B>();
    const T* q = qkv.value().data();
    const T scale = T(1) / static_cast<T>(std::sqrt(static_cast<double>(shape.head_dim)));
    attention_forward(be, shape, q, q + h, q + 2 * h, in.key_bias.numel() ? in.key_bias.data() : nullptr, scale, kept.data(),
                      context.data(), 0.0, nullptr, 0, 0);
    if (probabilities != nullptr) *probabilities = kept;
    const auto projected = output(t, in.to_packed(t, t.make(context, false)));
    return norm(t, projected, x);
  }

  detail::packed_slot<B> qkv_;
};

}  // namespace dnabert::nn
