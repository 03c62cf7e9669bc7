#pragma once
// Differentiable ops. Each function runs its forward on the backend and, side by side,
// records the backward that adds into its inputs' gradients. Backend ops are found by
// argument-dependent lookup on the backend type, so this file never names a device.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "dnabert/autograd/tape.hpp"
#include "dnabert/ops/attention_shape.hpp"
#include "dnabert/core/tensor.hpp"

namespace dnabert::autograd {

/// Token ids on the backend ([rows] int32), shared by the ops that need them.
template <class B>
using id_tensor = tensor<B, std::int32_t>;

/// y = x W^T + b for x [rows, in], W [out, in], b [out] (torch.nn.Linear).
template <class B>
var<B> linear(tape<B>& t, const var<B>& x, const var<B>& weight, const var<B>& bias) {
  B& be = t.backend();
  const std::int64_t rows = x.value().rows();
  const std::int64_t in = x.value().dim(-1);
  const std::int64_t out = weight.value().dim(0);
  if (weight.value().dim(1) != in) throw shape_error("linear weight", {out, in}, weight.shape());
  shape_type y_shape = x.shape();
  y_shape.back() = out;
  tensor<B> y(be, y_shape);
  using T = typename B::value_type;
  linear_forward(be, x.value().data(), weight.value().data(), bias.value().data(), rows, in, out, y.data());
  var<B> result = t.make(y, x.requires_grad() || weight.requires_grad() || bias.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, x, weight, bias, result, rows, in, out] {
      const T* dy = result.grad(be).data();
      if (x.requires_grad()) gemm(be, false, false, rows, in, out, T(1), dy, weight.value().data(), T(1), x.grad(be).data());
      if (weight.requires_grad())
        gemm(be, true, false, out, in, rows, T(1), dy, x.value().data(), T(1), weight.grad(be).data());
      if (bias.requires_grad()) add_bias_grad(be, dy, rows, out, bias.grad(be).data());
    });
  return result;
}

/// Exact (erf) GELU.
template <class B>
var<B> gelu(tape<B>& t, const var<B>& x) {
  B& be = t.backend();
  tensor<B> y(be, x.shape());
  gelu_forward(be, x.value().data(), y.data(), y.numel());
  var<B> result = t.make(y, x.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, x, result] {
      gelu_backward(be, x.value().data(), result.grad(be).data(), x.grad(be).data(), x.value().numel());
    });
  return result;
}

/// GEGLU: x [rows, 2 * width] as [gate | value] → gelu(gate) * value [rows, width].
template <class B>
var<B> gated_gelu(tape<B>& t, const var<B>& x) {
  B& be = t.backend();
  const std::int64_t width = x.value().dim(-1) / 2;
  if (x.value().dim(-1) != 2 * width) throw shape_error("GEGLU input (gate and value halves)", {x.value().rows(), 2 * width}, x.shape());
  shape_type y_shape = x.shape();
  y_shape.back() = width;
  tensor<B> y(be, y_shape);
  const std::int64_t rows = y.numel() / std::max<std::int64_t>(width, 1);
  gated_gelu_forward(be, x.value().data(), y.data(), rows, width);
  var<B> result = t.make(y, x.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, x, result, rows, width] {
      gated_gelu_backward(be, x.value().data(), result.grad(be).data(), x.grad(be).data(), rows, width);
    });
  return result;
}

/// tanh.
template <class B>
var<B> tanh(tape<B>& t, const var<B>& x) {
  B& be = t.backend();
  tensor<B> y(be, x.shape());
  tanh_forward(be, x.value().data(), y.data(), y.numel());
  var<B> result = t.make(y, x.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, x, result] {
      tanh_backward(be, result.value().data(), result.grad(be).data(), x.grad(be).data(), x.value().numel());
    });
  return result;
}

/// a + b (same shapes).
template <class B>
var<B> add(tape<B>& t, const var<B>& a, const var<B>& b) {
  B& be = t.backend();
  if (a.shape() != b.shape()) throw shape_error("add", a.shape(), b.shape());
  tensor<B> y(be, a.shape());
  add(be, a.value().data(), b.value().data(), y.data(), y.numel());
  var<B> result = t.make(y, a.requires_grad() || b.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, a, b, result] {
      const auto n = result.value().numel();
      if (a.requires_grad()) accumulate(be, a.grad(be).data(), result.grad(be).data(), n);
      if (b.requires_grad()) accumulate(be, b.grad(be).data(), result.grad(be).data(), n);
    });
  return result;
}

/// LayerNorm over the last dimension with affine gamma, beta.
template <class B>
var<B> layer_norm(tape<B>& t, const var<B>& x, const var<B>& gamma, const var<B>& beta, double eps) {
  B& be = t.backend();
  const std::int64_t rows = x.value().rows();
  const std::int64_t n = x.value().dim(-1);
  tensor<B> y(be, x.shape());
  const bool needs_grad = t.recording() && (x.requires_grad() || gamma.requires_grad() || beta.requires_grad());
  // The row statistics stay in float for the backward, whatever the backend's element type.
  tensor<B, float> mean = needs_grad ? tensor<B, float>(be, {rows}) : tensor<B, float>();
  tensor<B, float> rstd = needs_grad ? tensor<B, float>(be, {rows}) : tensor<B, float>();
  layer_norm_forward(be, x.value().data(), gamma.value().data(), beta.value().data(), rows, n, eps, y.data(),
                     mean.data(), rstd.data());
  var<B> result = t.make(y, needs_grad);
  if (result.requires_grad())
    t.on_backward([&be, x, gamma, beta, result, mean, rstd, rows, n] {
      const tensor<B> dx_scratch = x.requires_grad() ? x.grad(be) : tensor<B>(be, x.shape());
      const tensor<B> dgamma = gamma.requires_grad() ? gamma.grad(be) : tensor<B>(be, gamma.shape());
      const tensor<B> dbeta = beta.requires_grad() ? beta.grad(be) : tensor<B>(be, beta.shape());
      if (!gamma.requires_grad()) fill(be, dgamma.data(), typename B::value_type(0), dgamma.numel());
      if (!beta.requires_grad()) fill(be, dbeta.data(), typename B::value_type(0), dbeta.numel());
      if (!x.requires_grad()) fill(be, dx_scratch.data(), typename B::value_type(0), dx_scratch.numel());
      layer_norm_backward(be, result.grad(be).data(), x.value().data(), gamma.value().data(), mean.data(), rstd.data(),
                          rows, n, dx_scratch.data(), dgamma.data(), dbeta.data());
    });
  return result;
}

/// LayerNorm(a + b) over the last dimension (BERT's residual add + post-LayerNorm) in one op: a + b
/// is never stored; the backward recomputes it from a and b, which the tape keeps anyway.
template <class B>
var<B> add_layer_norm(tape<B>& t, const var<B>& a, const var<B>& b, const var<B>& gamma, const var<B>& beta,
                      double eps) {
  B& be = t.backend();
  if (a.shape() != b.shape()) throw shape_error("add_layer_norm", a.shape(), b.shape());
  const std::int64_t rows = a.value().rows();
  const std::int64_t n = a.value().dim(-1);
  tensor<B> y(be, a.shape());
  const bool needs_grad =
      t.recording() && (a.requires_grad() || b.requires_grad() || gamma.requires_grad() || beta.requires_grad());
  tensor<B, float> mean = needs_grad ? tensor<B, float>(be, {rows}) : tensor<B, float>();
  tensor<B, float> rstd = needs_grad ? tensor<B, float>(be, {rows}) : tensor<B, float>();
  add_layer_norm_forward(be, a.value().data(), b.value().data(), gamma.value().data(), beta.value().data(), rows, n,
                         eps, y.data(), mean.data(), rstd.data());
  var<B> result = t.make(y, needs_grad);
  if (result.requires_grad())
    t.on_backward([&be, a, b, gamma, beta, result, mean, rstd, rows, n] {
      using T = typename B::value_type;
      const tensor<B> dgamma = gamma.requires_grad() ? gamma.grad(be) : tensor<B>(be, gamma.shape());
      const tensor<B> dbeta = beta.requires_grad() ? beta.grad(be) : tensor<B>(be, beta.shape());
      if (!gamma.requires_grad()) fill(be, dgamma.data(), T(0), dgamma.numel());
      if (!beta.requires_grad()) fill(be, dbeta.data(), T(0), dbeta.numel());
      add_layer_norm_backward(be, result.grad(be).data(), a.value().data(), b.value().data(), gamma.value().data(),
                              mean.data(), rstd.data(), rows, n, a.requires_grad() ? a.grad(be).data() : nullptr,
                              b.requires_grad() ? b.grad(be).data() : nullptr, dgamma.data(), dbeta.data());
    });
  return result;
}

/// Inverted dropout with probability p, mask drawn from (seed, offset); identity when p == 0
/// or when not training (tape not recording).
template <class B>
var<B> dropout(tape<B>& t, const var<B>& x, double p, std::uint64_t seed, std::uint64_t offset) {
  if (p <= 0 || !t.recording()) return x;
  B& be = t.backend();
  tensor<B> y(be, x.shape());
  tensor<B, std::uint8_t> keep(be, x.shape());
  dropout_forward(be, x.value().data(), y.data(), keep.data(), y.numel(), p, seed, offset);
  var<B> result = t.make(y, x.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, x, result, keep, p] {
      dropout_backward(be, result.grad(be).data(), keep.data(), x.grad(be).data(), x.value().numel(), p);
    });
  return result;
}

/// Rows of table [rows, width] at ids [n], each `count` consecutive ones side by side: [n / count,
/// count * width] (an embedding whose rows are joined; backward adds into the rows picked).
template <class B>
var<B> joined_rows(tape<B>& t, const id_tensor<B>& ids, const var<B>& table, std::int64_t count) {
  B& be = t.backend();
  const std::int64_t n = ids.numel();
  const std::int64_t width = table.value().dim(1);
  if (count <= 0 || n % count != 0)
    throw input_error("joined_rows: " + std::to_string(n) + " ids do not make rows of " + std::to_string(count));
  tensor<B> y(be, {n / count, count * width});
  embedding_forward(be, ids.data(), n, table.value().data(), width, y.data(), false);
  var<B> result = t.make(y, table.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, ids, table, result, n, width] {
      embedding_backward(be, ids.data(), n, result.grad(be).data(), width, table.grad(be).data(), table.value().dim(0));
    });
  return result;
}

/// table[ids] for ids [n] → [n, width] (torch.nn.Embedding).
template <class B>
var<B> embedding(tape<B>& t, const id_tensor<B>& ids, const var<B>& table) {
  return joined_rows(t, ids, table, 1);
}

/// Rows 0, stride, 2*stride, ... of x [count * stride, width] → [count, width] (the [CLS] rows).
template <class B>
var<B> strided_rows(tape<B>& t, const var<B>& x, std::int64_t count, std::int64_t stride) {
  B& be = t.backend();
  const std::int64_t width = x.value().dim(-1);
  tensor<B> y(be, {count, width});
  gather_strided_rows(be, x.value().data(), count, stride, width, y.data());
  var<B> result = t.make(y, x.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, x, result, count, stride, width] {
      scatter_strided_rows_add(be, result.grad(be).data(), count, stride, width, x.grad(be).data());
    });
  return result;
}

/// The inverse of embedding: x [n, width] placed at rows ids [n] (distinct) of a zero-filled
/// [rows, width] (packed tokens back to the padded layout); backward gathers those rows.
template <class B>
var<B> scatter_rows(tape<B>& t, const id_tensor<B>& ids, const var<B>& x, std::int64_t rows) {
  using T = typename B::value_type;
  B& be = t.backend();
  const std::int64_t n = ids.numel();
  const std::int64_t width = x.value().dim(-1);
  if (x.value().rows() != n) throw shape_error("scatter_rows input", {n, width}, x.shape());
  tensor<B> y(be, {rows, width});
  fill(be, y.data(), T(0), y.numel());
  scatter_rows(be, ids.data(), n, x.value().data(), width, y.data());  // y[ids[i]] = x[i]
  var<B> result = t.make(y, x.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, ids, x, result, n, width] {
      embedding_forward(be, ids.data(), n, result.grad(be).data(), width, x.grad(be).data(), true);
    });
  return result;
}

/// max(x, 0) (torch.nn.ReLU).
template <class B>
var<B> relu(tape<B>& t, const var<B>& x) {
  B& be = t.backend();
  tensor<B> y(be, x.shape());
  relu_forward(be, x.value().data(), y.data(), y.numel());
  var<B> result = t.make(y, x.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, x, result] {
      relu_backward(be, result.value().data(), result.grad(be).data(), x.grad(be).data(), x.value().numel());
    });
  return result;
}

/// Row segments of x [rows, width] pooled to [segments, width]: segment s is rows starts[s] ..
/// starts[s + 1] - 1 (starts [segments + 1], increasing, each segment non-empty), pooled by their
/// mean or, with take_max, their element-wise max (whose gradient goes to the first max row).
template <class B>
var<B> segment_pool(tape<B>& t, const var<B>& x, const id_tensor<B>& starts, bool take_max) {
  B& be = t.backend();
  const std::int64_t segments = starts.numel() - 1;
  const std::int64_t width = x.value().dim(-1);
  tensor<B> y(be, {segments, width});
  id_tensor<B> argmax = take_max ? id_tensor<B>(be, {segments, width}) : id_tensor<B>();
  segment_pool_forward(be, x.value().data(), starts.data(), segments, width, take_max, y.data(), argmax.data());
  var<B> result = t.make(y, x.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, x, starts, argmax, result, segments, width, take_max] {
      segment_pool_backward(be, result.grad(be).data(), starts.data(), segments, width, take_max, argmax.data(),
                            x.grad(be).data());
    });
  return result;
}

/// Options of one self-attention call.
struct attention_options {
  double dropout = 0;            ///< attention-probability dropout (training only)
  std::uint64_t seed = 0;        ///< dropout stream
  std::uint64_t offset = 0;      ///< dropout counter offset
  bool keep_probabilities = false;  ///< save the probabilities for the caller (attention maps)
};

/// Result of self_attention: the context and, when asked for, the probabilities [B, h, S, S].
template <class B>
struct attention_result {
  var<B> context;
  tensor<B> probabilities;
};

/// softmax(Q K^T / sqrt(d) + key_bias) V per head; q, k, v and the result are [B*S, H].
template <class B>
attention_result<B> self_attention(tape<B>& t, const var<B>& q, const var<B>& k, const var<B>& v,
                                   const tensor<B>& key_bias, const ops::attention_shape& s,
                                   const attention_options& options) {
  using T = typename B::value_type;
  B& be = t.backend();
  const T scale = T(1) / static_cast<T>(std::sqrt(static_cast<double>(s.head_dim)));
  const bool needs_grad = t.recording() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  const double p = t.recording() ? options.dropout : 0.0;
  tensor<B> probs = (needs_grad || options.keep_probabilities) ? tensor<B>(be, {s.batch, s.heads, s.seq, s.seq})
                                                               : tensor<B>();
  tensor<B, std::uint8_t> keep = p > 0 ? tensor<B, std::uint8_t>(be, {s.batch, s.heads, s.seq, s.seq})
                                       : tensor<B, std::uint8_t>();
  tensor<B> context(be, q.shape());
  attention_forward(be, s, q.value().data(), k.value().data(), v.value().data(),
                    key_bias.numel() ? key_bias.data() : nullptr, scale, probs.data(), context.data(), p, keep.data(),
                    options.seed, options.offset);
  var<B> result = t.make(context, needs_grad);
  if (result.requires_grad())
    t.on_backward([&be, q, k, v, probs, keep, result, s, scale, p] {
      // All three inputs come from linear layers that need their gradients in practice.
      attention_backward(be, s, q.value().data(), k.value().data(), v.value().data(), probs.data(),
                         result.grad(be).data(), scale, p, keep.data(), q.grad(be).data(), k.grad(be).data(),
                         v.grad(be).data());
    });
  return {result, options.keep_probabilities ? probs : tensor<B>()};
}

namespace detail {

/// Throws unless `weights` holds one finite, non-negative weight per class.
template <class B>
void check_class_weights(B& be, const tensor<B>& weights, std::int64_t classes) {
  expect_shape(weights, {classes}, "cross_entropy class weights");
  std::vector<typename B::value_type> host(static_cast<std::size_t>(classes));
  download(be, weights.data(), host.data(), classes);
  for (std::size_t c = 0; c < host.size(); ++c)
    if (!std::isfinite(host[c]) || host[c] < 0) {
      std::ostringstream message;
      message << "cross-entropy class weight " << c << " is " << host[c] << "; class weights must be finite and >= 0";
      throw config_error(message.str());
    }
}

}  // namespace detail

/// Mean cross-entropy of logits [rows, classes] against labels [rows] (-100 = ignored) → scalar;
/// with class_weights [classes], the weighted mean of torch's cross_entropy(weight=...). A batch
/// whose used rows weigh 0 in total (e.g. all ignored) gives loss 0 and no gradient.
template <class B>
var<B> cross_entropy(tape<B>& t, const var<B>& logits, const id_tensor<B>& labels,
                     const std::type_identity_t<tensor<B>>* class_weights = nullptr) {  // not deduced: nullptr works
  using T = typename B::value_type;
  B& be = t.backend();
  const std::int64_t rows = logits.value().rows();
  const std::int64_t classes = logits.value().dim(-1);
  if (labels.numel() != rows) throw shape_error("cross_entropy labels", {rows}, labels.shape());
  if (class_weights != nullptr) detail::check_class_weights(be, *class_weights, classes);
  const tensor<B> weights = class_weights != nullptr ? *class_weights : tensor<B>();
  tensor<B> probs(be, logits.shape());
  const auto [loss, total_weight] = cross_entropy_forward(be, logits.value().data(), labels.data(), weights.data(),
                                                          rows, classes, probs.data());
  tensor<B> value(be, {});
  const T loss_value = static_cast<T>(loss);
  upload(be, &loss_value, value.data(), 1);
  var<B> result = t.make(value, logits.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, logits, labels, weights, probs, result, rows, classes, total_weight = total_weight] {
      T dloss = 0;
      download(be, result.grad(be).data(), &dloss, 1);
      cross_entropy_backward(be, probs.data(), labels.data(), weights.data(), rows, classes, total_weight, dloss,
                             logits.grad(be).data());
    });
  return result;
}

/// Mean squared error of predictions against targets (same number of elements) → scalar.
template <class B>
var<B> mse(tape<B>& t, const var<B>& predictions, const tensor<B>& targets) {
  using T = typename B::value_type;
  B& be = t.backend();
  const std::int64_t n = predictions.value().numel();
  if (targets.numel() != n) throw shape_error("mse targets", predictions.shape(), targets.shape());
  tensor<B> value(be, {});
  const T loss_value = static_cast<T>(mse_forward(be, predictions.value().data(), targets.data(), n));
  upload(be, &loss_value, value.data(), 1);
  var<B> result = t.make(value, predictions.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, predictions, targets, result, n] {
      T dloss = 0;
      download(be, result.grad(be).data(), &dloss, 1);
      mse_backward(be, predictions.value().data(), targets.data(), n, dloss, predictions.grad(be).data());
    });
  return result;
}

/// Mean binary cross-entropy of logits against 0/1 targets (same number of elements) → scalar:
/// torch's BCEWithLogitsLoss, the multi-label classification loss of BertForSequenceClassification.
template <class B>
var<B> bce_with_logits(tape<B>& t, const var<B>& logits, const tensor<B>& targets) {
  using T = typename B::value_type;
  B& be = t.backend();
  const std::int64_t n = logits.value().numel();
  if (targets.numel() != n) throw shape_error("bce_with_logits targets", logits.shape(), targets.shape());
  tensor<B> value(be, {});
  const T loss_value = static_cast<T>(bce_with_logits_forward(be, logits.value().data(), targets.data(), n));
  upload(be, &loss_value, value.data(), 1);
  var<B> result = t.make(value, logits.requires_grad());
  if (result.requires_grad())
    t.on_backward([&be, logits, targets, result, n] {
      T dloss = 0;
      download(be, result.grad(be).data(), &dloss, 1);
      bce_with_logits_backward(be, logits.value().data(), targets.data(), n, dloss, logits.grad(be).data());
    });
  return result;
}

}  // namespace dnabert::autograd
