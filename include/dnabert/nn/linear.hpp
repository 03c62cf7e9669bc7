#pragma once
// torch.nn.Linear as a parameter holder over the autograd ops, with optional packed weights for
// inference on backends that have them (ops::packs_linear).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "dnabert/autograd/functions.hpp"
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
        bias(params.create(backend, prefix + ".bias", {out}, init_kind::zeros)) {}

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
  /// backend that does not pack). Weights changed afterwards need pack() again.
  void pack(B& be) {
    if constexpr (ops::packs_linear<B>)
      packed_.weights = std::make_shared<const ops::packed_linear_t<B>>(
          pack_linear(be, weight.value().data(), bias.value().data(), in(), out()));
  }
  /// Uses weights packed elsewhere (int8 weights read from a quantized model folder).
  template <class Backend = B>
    requires ops::packs_linear<Backend>
  void set_packed(std::shared_ptr<const ops::packed_linear_t<Backend>> weights) {
    packed_.weights = std::move(weights);
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
};

}  // namespace dnabert::nn
