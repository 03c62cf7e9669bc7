#pragma once
// LayerNorm with its width fixed at compile time (a static bert_spec's hidden size): the same
// parameters as layer_norm, normalised by the backend's fixed-width kernel where it has one.

#include <type_traits>

#include "dnabert/nn/linear.hpp"

namespace dnabert::nn {

/// layer_norm whose width is Width at compile time (checked against the input on every call).
template <class B, int Width>
struct fixed_layer_norm : layer_norm<B> {
  using layer_norm<B>::layer_norm;

  /// Normalises x [..., Width].
  autograd::var<B> operator()(autograd::tape<B>& t, const autograd::var<B>& x) const {
    return autograd::layer_norm<Width>(t, x, this->gamma, this->beta, this->eps);
  }
  /// Normalises x + residual (BERT's post-LayerNorm blocks) with the fused add_layer_norm.
  autograd::var<B> operator()(autograd::tape<B>& t, const autograd::var<B>& x, const autograd::var<B>& residual) const {
    return autograd::add_layer_norm<Width>(t, x, residual, this->gamma, this->beta, this->eps);
  }
};

/// The LayerNorm of a layer whose hidden width is Width: layer_norm when dynamic, else fixed_layer_norm.
template <class B, int Width>
using layer_norm_for = std::conditional_t<Width == dynamic, layer_norm<B>, fixed_layer_norm<B, Width>>;

}  // namespace dnabert::nn
