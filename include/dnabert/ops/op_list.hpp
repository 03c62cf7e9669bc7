#pragma once
// The op list: every operation the layers, the autograd tape and the trainer ask of a backend, with
// its arguments. A backend is a type B (its value_type T, its memory) plus free functions taking a
// B& first, found by argument-dependent lookup; each backend's ops header ends with
// static_assert(ops::backend_ops<B>), so an op a backend lacks, or declares with other arguments,
// is one error naming the requirement instead of a cascade inside a layer's template.
//
// Pointers are into the backend's memory; n, rows, width... are element counts. What each op
// computes is documented next to its CPU definition (backend/cpu/ops.hpp, backend/cpu/optimizer_ops.hpp).

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "dnabert/core/int8_quantization.hpp"
#include "dnabert/ops/attention_shape.hpp"
#include "dnabert/ops/multi_tensor.hpp"

namespace dnabert::ops {

/// The backend object itself: its element type, where its memory lives, how to get some.
template <class B>
concept backend_memory = requires(const B& be, std::size_t bytes) {
  typename B::value_type;
  { B::host_memory } -> std::convertible_to<bool>;
  { be.allocate(bytes) } -> std::same_as<std::shared_ptr<void>>;
  { be.name() } -> std::convertible_to<std::string>;
};

/// GEMMs, element-wise and row-wise ops, LayerNorm, embeddings and row copies.
template <class B, class T = typename B::value_type>
concept dense_ops = requires(B& be, T* y, const T* x, T value, bool flag, std::int64_t n, double real,
                             const std::int32_t* ids, std::uint8_t* keep, const std::uint8_t* kept, std::uint64_t seed,
                             const float* host_floats, float* floats, std::int32_t* segment_argmax) {
  gemm(be, flag, flag, n, n, n, value, x, x, value, y);
  linear_forward(be, x, x, x, n, n, n, y);
  add_bias(be, y, x, n, n);
  add_bias_grad(be, x, n, n, y);
  add(be, x, x, y, n);
  accumulate(be, y, x, n);
  fill(be, y, value, n);
  scale(be, y, real, n);
  gelu_forward(be, x, y, n);
  gelu_backward(be, x, x, y, n);
  gated_gelu_forward(be, x, y, n, n);
  gated_gelu_backward(be, x, x, y, n, n);
  tanh_forward(be, x, y, n);
  tanh_backward(be, x, x, y, n);
  relu_forward(be, x, y, n);
  relu_backward(be, x, x, y, n);
  segment_pool_forward(be, x, ids, n, n, flag, y, segment_argmax);
  segment_pool_backward(be, x, ids, n, n, flag, ids, y);
  layer_norm_forward(be, x, x, x, n, n, real, y, floats, floats);  // mean and rstd in float, whatever T
  layer_norm_backward(be, x, x, x, floats, floats, n, n, y, y, y);
  add_layer_norm_forward(be, x, x, x, x, n, n, real, y, floats, floats);
  add_layer_norm_backward(be, x, x, x, x, floats, floats, n, n, y, y, y, y);
  embedding_forward(be, ids, n, x, n, y, flag);
  embedding_backward(be, ids, n, x, n, y, n);
  scatter_rows(be, ids, n, x, n, y);
  gather_strided_rows(be, x, n, n, n, y);
  scatter_strided_rows_add(be, x, n, n, n, y);
  dropout_forward(be, x, y, keep, n, real, seed, seed);
  dropout_backward(be, x, kept, y, n, real);
  copy(be, x, y, n);
  clear(be, y, n);
  clear(be, floats, n);
  upload(be, host_floats, floats, n);
  download(be, host_floats, floats, n);
};

/// Multi-head self-attention (probabilities and dropout optional: null probs/keep, p = 0).
template <class B, class T = typename B::value_type>
concept attention_ops = requires(B& be, const attention_shape& shape, const T* x, T* y, T value, double p,
                                 std::uint8_t* keep, const std::uint8_t* kept, std::uint64_t seed) {
  attention_forward(be, shape, x, x, x, x, value, y, y, p, keep, seed, seed);
  attention_backward(be, shape, x, x, x, x, x, value, p, kept, y, y, y);
};

/// Losses: each forward returns host numbers, each backward adds into the gradient.
template <class B, class T = typename B::value_type>
concept loss_ops = requires(B& be, const T* x, T* y, T value, const std::int32_t* labels, std::int64_t n,
                            double real, std::int32_t ignore) {
  { cross_entropy_forward(be, x, labels, x, n, n, y, ignore) } -> std::same_as<std::pair<double, double>>;
  cross_entropy_backward(be, x, labels, x, n, n, real, value, y, ignore);
  { mse_forward(be, x, x, n) } -> std::convertible_to<double>;
  mse_backward(be, x, x, n, value, y);
  { bce_with_logits_forward(be, x, x, n) } -> std::convertible_to<double>;
  bce_with_logits_backward(be, x, x, n, value, y);
};

/// AdamW (one tensor, or many in one call), the squared norm gradient clipping needs, and the
/// float sums of narrower gradients over micro-batches.
template <class B, class T = typename B::value_type>
concept optimizer_ops = requires(B& be, T* y, const T* x, std::int64_t n, double real,
                                 std::span<const adamw_tensor<T>> tensors, const adamw_hyper& hyper,
                                 std::span<const tensor_extent<T>> extents, float* floats, const float* sums) {
  add_widened(be, x, floats, n);
  round_scaled(be, sums, real, y, n);
  adamw_update(be, y, x, y, y, n, real, real, real, real, real, real, real);
  adamw_update(be, tensors, hyper);
  { sum_of_squares(be, x, n) } -> std::convertible_to<double>;
  { sum_of_squares(be, extents) } -> std::convertible_to<double>;
};

/// What a linear layer's forward may apply to its output in the same pass.
enum class activation : std::uint8_t { none, gelu };

/// Optional: weights prepared once for inference (reordered, converted, quantized). A backend
/// that has them provides pack_linear (weight [out, in], bias [out] → its packed type) and a
/// linear_forward over the packed weights that reads x rows `x_stride` apart and applies an
/// activation; layers use them in forwards that do not record (nn/linear.hpp).
template <class B>
concept packs_linear = requires(B& be, const float* x, float* y, std::int64_t n, activation act) {
  pack_linear(be, x, x, n, n);
  linear_forward(be, x, n, pack_linear(be, x, x, n, n), n, y, act);
};

/// The packed weights of backend B (for a B that packs_linear).
template <class B>
using packed_linear_t = decltype(pack_linear(std::declval<B&>(), std::declval<const float*>(), std::declval<const float*>(),
                                             std::int64_t{}, std::int64_t{}));

/// Optional, beside packs_linear: int8 weights quantized ahead of time (a `dnabert quantize`
/// folder) packed as they are, never quantized again, when the backend computes in int8
/// (packs_int8(be)); layers fall back to pack_linear otherwise.
template <class B>
concept packs_quantized_linear = packs_linear<B> && requires(B& be, const int8_rows& weights, std::span<const float> bias) {
  { packs_int8(be) } -> std::convertible_to<bool>;
  { pack_quantized_linear(be, weights, bias) } -> std::same_as<packed_linear_t<B>>;
};

/// Everything a backend must provide for models to run and train on it.
template <class B>
concept backend_ops = backend_memory<B> && dense_ops<B> && attention_ops<B> && loss_ops<B> && optimizer_ops<B>;

}  // namespace dnabert::ops
