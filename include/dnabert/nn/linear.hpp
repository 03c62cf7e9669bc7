#pragma once
// torch.nn.Linear as a parameter holder over the autograd ops, with optional packed weights for
// inference on backends that have them (ops::packs_linear), packed from a quantized folder's int8
// weights as they are where the backend computes in int8 (ops::packs_quantized_linear).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "dnabert/autograd/functions.hpp"
#include "dnabert/core/int8_quantization.hpp"
#include "dnabert/nn/parameter.hpp"
#include "dnabert/ops/op_list.hpp"

namespace dnabert::nn {

namespace detail {

/// Where a layer keeps packed weights: nothing on a backend that does not pack.
template <class B>
struct packed_slot {};

template <class B>
  requires ops::packs_linear<B>
struct packed_slot<B> {
  std::shared_ptr<const ops::packed_linear_t<B>> weights;
};

}  // namespace detail

/// act(x[:, :in] · Wᵀ + b) through packed weights W [out, in], for a forward that records nothing;
/// x is [..., width ≥ in] (the first `in` columns are read: a column block of a wider tensor).
template <class B>
  requires ops::packs_linear<B>
autograd::var<B> packed_forward(autograd::tape<B>& t, const tensor<B>& x, const ops::packed_linear_t<B>& weights,
                                std::int64_t in, std::int64_t out, ops::activation act) {
  B& be = t.backend();
  const std::int64_t width = x.dim(-1);
  if (width < in) throw shape_error("packed linear input", {x.numel() / std::max<std::int64_t>(width, 1), in}, x.shape());
  shape_type y_shape = x.shape();
  y_shape.back() = out;
  tensor<B> y(be, y_shape);
  linear_forward(be, x.data(), width, weights, x.numel() / width, y.data(), act);
  return t.make(y, false);
}

/// y = x W^T + b with W [out, in] named PREFIX.weight and b [out] named PREFIX.bias.
template <class B>
struct linear {
  autograd::var<B> weight;
  autograd::var<B> bias;

  linear() = default;
  /// Registers PREFIX.weight (normal init) and PREFIX.bias (zeros).
  linear(B& backend, parameter_list<B>& params, const std::string& prefix, std::int64_t in, std::int64_t out)
      : weight(params.create(backend, prefix + ".weight", {out, in}, init_kind::normal)),
        bias(params.create(backend, prefix + ".bias", {out}, init_kind::zeros)),
        name_(prefix) {}

  /// A layer without bias (torch's bias=False): registers PREFIX.weight only; the bias is a
  /// constant zero that no checkpoint holds and no optimizer changes.
  static linear without_bias(B& backend, parameter_list<B>& params, const std::string& prefix, std::int64_t in,
                             std::int64_t out) {
    linear layer;
    layer.weight = params.create(backend, prefix + ".weight", {out, in}, init_kind::normal);
    tensor<B> zeros(backend, {out});
    clear(backend, zeros.data(), out);
    layer.bias = autograd::var<B>(zeros, false);
    layer.name_ = prefix;
    return layer;
  }

  /// Applies the layer to x [..., in], then `act`: through the packed weights when pack() made
  /// them and the tape does not record (inference), else through the autograd ops.
  autograd::var<B> operator()(autograd::tape<B>& t, const autograd::var<B>& x,
                              ops::activation act = ops::activation::none) const {
    if constexpr (ops::packs_linear<B>)
      if (packed_.weights && !t.recording()) return packed_forward(t, x.value(), *packed_.weights, in(), out(), act);
    auto y = autograd::linear(t, x, weight, bias);
    return act == ops::activation::gelu ? autograd::gelu(t, y) : y;
  }

  /// Prepares the current weights for inference in the backend's precision (a no-op on a
  /// backend that does not pack): from the int8 weights `stored` holds for this layer where
  /// stored_int8 finds them usable, else from the float weights. Weights changed afterwards need
  /// pack() again.
  void pack(B& be, const int8_weight_map& stored = {}) {
    if constexpr (ops::packs_linear<B>) {
      const linear* self = this;
      packed_.weights = std::make_shared<const ops::packed_linear_t<B>>(
          pack_stored_or_float(be, {&self, 1}, weight.value().data(), bias.value().span(), stored));
    }
  }
  /// Packs `layers` stacked by rows as one projection, weights [rows, in] and biases [rows] already
  /// stacked: from their stored int8 weights where stored_int8 finds them, else from `weights`.
  static auto pack_stored_or_float(B& be, std::span<const linear* const> layers, const float* weights,
                                   std::span<const float> biases, const int8_weight_map& stored)
    requires ops::packs_linear<B>
  {
    if constexpr (ops::packs_quantized_linear<B>)
      if (const auto int8 = stored_int8(be, layers, stored)) return pack_quantized_linear(be, *int8, biases);
    return pack_linear(be, weights, biases.data(), layers.front()->in(), std::ssize(biases));
  }
  /// The int8 weights `stored` holds for `layers` (by their names), stacked by rows as one
  /// projection, where the backend computes in int8 and each layer's float weight is still exactly
  /// what its int8 values stand for (loaded from them, not trained since); else nothing, and the
  /// float weights are packed (quantized, converted) instead.
  static std::optional<int8_rows> stored_int8(B& be, std::span<const linear* const> layers, const int8_weight_map& stored) {
    if constexpr (ops::packs_quantized_linear<B>) {
      if (stored.empty() || layers.empty() || !packs_int8(be)) return std::nullopt;
      int8_rows stacked{0, layers.front()->in(), {}, {}};
      for (const linear* layer : layers) {
        const auto found = stored.find(layer->name_ + ".weight");
        if (found == stored.end() || found->second.cols != stacked.cols ||
            !represents(found->second, layer->weight.value().span()))
          return std::nullopt;
        stacked.rows += found->second.rows;
        stacked.values.insert(stacked.values.end(), found->second.values.begin(), found->second.values.end());
        stacked.scales.insert(stacked.scales.end(), found->second.scales.begin(), found->second.scales.end());
      }
      return stacked;
    } else {
      return std::nullopt;
    }
  }
  /// Drops packed weights: inference uses the float weights again.
  void unpack() { packed_ = {}; }
  /// Whether the layer has packed weights.
  [[nodiscard]] bool packed() const {
    if constexpr (ops::packs_linear<B>) return packed_.weights != nullptr;
    return false;
  }

  /// Input features.
  [[nodiscard]] std::int64_t in() const { return weight.value().dim(1); }
  /// Output features.
  [[nodiscard]] std::int64_t out() const { return weight.value().dim(0); }

 private:
  detail::packed_slot<B> packed_;
  std::string name_;  // PREFIX: a quantized folder's int8 weights are found as PREFIX.weight
};

}  // namespace dnabert::nn
