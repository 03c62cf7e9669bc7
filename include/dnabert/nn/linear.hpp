#pragma once
// torch.nn.Linear as a parameter holder over the autograd ops.

#include <cstdint>
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

}  // namespace dnabert::nn
