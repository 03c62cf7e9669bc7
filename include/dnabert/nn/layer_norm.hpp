#pragma once
// torch.nn.LayerNorm as a parameter holder over the autograd ops.

#include <cstdint>
#include <string>

#include "dnabert/autograd/functions.hpp"
#include "dnabert/nn/parameter.hpp"

namespace dnabert::nn {

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
