#pragma once
// torch.nn.Linear and torch.nn.LayerNorm as parameter holders over the autograd ops.

#include <string>

#include "dnabert/autograd/functions.hpp"
#include "dnabert/nn/parameter.hpp"

namespace dnabert::nn {

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

  /// Applies the layer to x [..., in].
  autograd::var<B> operator()(autograd::tape<B>& t, const autograd::var<B>& x) const {
    return autograd::linear(t, x, weight, bias);
  }
};

/// LayerNorm over the last dimension; PREFIX.weight (ones) and PREFIX.bias (zeros).
template <class B>
struct layer_norm {
  autograd::var<B> gamma;
  autograd::var<B> beta;
  double eps = 1e-12;

  layer_norm() = default;
  /// Registers PREFIX.weight and PREFIX.bias of `width`.
  layer_norm(B& backend, parameter_list<B>& params, const std::string& prefix, std::int64_t width, double epsilon)
      : gamma(params.create(backend, prefix + ".weight", {width}, init_kind::ones)),
        beta(params.create(backend, prefix + ".bias", {width}, init_kind::zeros)),
        eps(epsilon) {}

  /// Normalises x [..., width].
  autograd::var<B> operator()(autograd::tape<B>& t, const autograd::var<B>& x) const {
    return autograd::layer_norm(t, x, gamma, beta, eps);
  }
  /// Normalises x + residual (BERT's post-LayerNorm blocks) with the fused add_layer_norm.
  autograd::var<B> operator()(autograd::tape<B>& t, const autograd::var<B>& x, const autograd::var<B>& residual) const {
    return autograd::add_layer_norm(t, x, residual, gamma, beta, eps);
  }
};

}  // namespace dnabert::nn
