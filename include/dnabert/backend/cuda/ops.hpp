#pragma once
// Every op of the op list (ops/op_list.hpp) for the CUDA backend: the same names and arguments as
// the CPU backend's (found by argument-dependent lookup), pointers into device memory, all queued
// on the backend's stream. T is float or bfloat16; definitions and both instantiations are in src/cuda/*.cu,
// compiled into dnabert::cuda.

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "dnabert/backend/cuda/backend.hpp"
#include "dnabert/ops/op_list.hpp"

namespace dnabert::backend {

using ops::adamw_hyper;
using ops::adamw_tensor;
using ops::attention_shape;
using ops::tensor_extent;

namespace detail {
/// Direction of a byte copy.
enum class cuda_copy_kind { host_to_device, device_to_host, device_to_device };
/// Copies `bytes` bytes on the context's stream; device_to_host waits for the data.
void cuda_copy_bytes(cuda_context& context, const void* src, void* dst, std::size_t bytes, cuda_copy_kind kind);
/// Sets `bytes` device bytes at dst to zero (queued on the context's stream).
void cuda_zero_bytes(cuda_context& context, void* dst, std::size_t bytes);
}  // namespace detail

// GEMM -----------------------------------------------------------------------------------------

/// C[m,n] = alpha * op(A) * op(B) + beta * C, row-major contiguous (cuBLAS: fp32 or TF32; bf16 with float accumulation).
template <class T>
void gemm(cuda_t<T>& be, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
          const T* a, const T* b, T beta, T* c);

/// y[rows, out] = x[rows, in] · weight[out, in]^T + bias: cuBLASLt with the bias in the epilogue
/// (plain cuBLAS and a bias pass where cuBLASLt cannot take the operands).
template <class T>
void linear_forward(cuda_t<T>& be, const T* x, const T* weight, const T* bias, std::int64_t rows, std::int64_t in,
                    std::int64_t out, T* y);

// Element-wise and row-wise ops ------------------------------------------------------------------

/// y[r, :] += bias for each of `rows` rows of width n.
template <class T>
void add_bias(cuda_t<T>& be, T* y, const T* bias, std::int64_t rows, std::int64_t n);
/// dbias += column sums of dy [rows, n].
template <class T>
void add_bias_grad(cuda_t<T>& be, const T* dy, std::int64_t rows, std::int64_t n, T* dbias);
/// out = a + b (n elements); out may alias a or b.
template <class T>
void add(cuda_t<T>& be, const T* a, const T* b, T* out, std::int64_t n);
/// dst += src (n elements).
template <class T>
void accumulate(cuda_t<T>& be, T* dst, const T* src, std::int64_t n);
/// dst = value (n elements).
template <class T>
void fill(cuda_t<T>& be, T* dst, T value, std::int64_t n);
/// x[i] *= factor over n elements, in float: a bf16 gradient is rounded once, the factor not at all.
template <class T>
void scale(cuda_t<T>& be, T* x, double factor, std::int64_t n);
/// sum[i] += x[i] in float: gradients narrower than float summed over micro-batches.
template <class T>
void add_widened(cuda_t<T>& be, const T* x, float* sum, std::int64_t n);
/// y[i] = sum[i] * factor in float, rounded to T once.
template <class T>
void round_scaled(cuda_t<T>& be, const float* sum, double factor, T* y, std::int64_t n);
/// y = gelu(x) (exact erf form).
template <class T>
void gelu_forward(cuda_t<T>& be, const T* x, T* y, std::int64_t n);
/// dx += dy * gelu'(x).
template <class T>
void gelu_backward(cuda_t<T>& be, const T* x, const T* dy, T* dx, std::int64_t n);
/// GEGLU: y[r, c] = gelu(x[r, c]) * x[r, width + c] for x [rows, 2 * width], y [rows, width].
template <class T>
void gated_gelu_forward(cuda_t<T>& be, const T* x, T* y, std::int64_t rows, std::int64_t width);
/// dx[:, :width] += dy * value * gelu'(gate), dx[:, width:] += dy * gelu(gate).
template <class T>
void gated_gelu_backward(cuda_t<T>& be, const T* x, const T* dy, T* dx, std::int64_t rows, std::int64_t width);
/// y = tanh(x).
template <class T>
void tanh_forward(cuda_t<T>& be, const T* x, T* y, std::int64_t n);
/// dx += dy * (1 - y^2), with y = tanh(x).
template <class T>
void tanh_backward(cuda_t<T>& be, const T* y, const T* dy, T* dx, std::int64_t n);
/// y = max(x, 0).
template <class T>
void relu_forward(cuda_t<T>& be, const T* x, T* y, std::int64_t n);
/// dx += dy where y = relu(x) is positive.
template <class T>
void relu_backward(cuda_t<T>& be, const T* y, const T* dy, T* dx, std::int64_t n);
/// y[s, :] = mean (or max, argmax saved) of rows starts[s] .. starts[s + 1] - 1 of x (one thread per
/// output element, float sums).
template <class T>
void segment_pool_forward(cuda_t<T>& be, const T* x, const std::int32_t* starts, std::int64_t segments,
                          std::int64_t width, bool take_max, T* y, std::int32_t* argmax);
/// Backward of segment_pool_forward (a segment's rows are its own, so no two threads write one element).
template <class T>
void segment_pool_backward(cuda_t<T>& be, const T* dy, const std::int32_t* starts, std::int64_t segments,
                           std::int64_t width, bool take_max, const std::int32_t* argmax, T* dx);
/// LayerNorm over rows of width n (one warp per row, float statistics, saved as float for the
/// backward); mean/rstd may be null.
template <class T>
void layer_norm_forward(cuda_t<T>& be, const T* x, const T* gamma, const T* beta, std::int64_t rows,
                        std::int64_t n, double eps, T* y, float* mean, float* rstd);
/// LayerNorm backward: dx += ..., dgamma += sum(dy * xhat), dbeta += sum(dy).
template <class T>
void layer_norm_backward(cuda_t<T>& be, const T* dy, const T* x, const T* gamma, const float* mean,
                         const float* rstd, std::int64_t rows, std::int64_t n, T* dx, T* dgamma, T* dbeta);
/// y = LayerNorm(a + b), a + b summed in float and never stored; mean/rstd may be null.
template <class T>
void add_layer_norm_forward(cuda_t<T>& be, const T* a, const T* b, const T* gamma, const T* beta, std::int64_t rows,
                            std::int64_t n, double eps, T* y, float* mean, float* rstd);
/// Backward of add_layer_norm_forward, recomputing a + b: da and db (either may be null) += dx.
template <class T>
void add_layer_norm_backward(cuda_t<T>& be, const T* dy, const T* a, const T* b, const T* gamma, const float* mean,
                             const float* rstd, std::int64_t rows, std::int64_t n, T* da, T* db, T* dgamma, T* dbeta);

// Embeddings -----------------------------------------------------------------------------------

/// out[i, :] (+)= table[ids[i], :]; `accumulate` adds instead of sets.
template <class T>
void embedding_forward(cuda_t<T>& be, const std::int32_t* ids, std::int64_t n, const T* table, std::int64_t width,
                       T* out, bool accumulate);
/// dtable[ids[i], :] += dout[i, :] for a table of `rows` rows, without atomics: (id, position)
/// pairs sorted by id, each id's rows summed in backend/sorted_runs.hpp's chunks (many threads
/// for a long run) in float, rounded to T once — the CPU backend's order, so the same bits, and
/// the same bits on every run.
template <class T>
void embedding_backward(cuda_t<T>& be, const std::int32_t* ids, std::int64_t n, const T* dout, std::int64_t width,
                        T* dtable, std::int64_t rows);
/// dst[ids[i], :] = src[i, :] for distinct ids (a plain copy, no sort: padding removal's expansion).
template <class T>
void scatter_rows(cuda_t<T>& be, const std::int32_t* ids, std::int64_t n, const T* src, std::int64_t width, T* dst);
/// out[i, :] = src[i * stride_rows, :].
template <class T>
void gather_strided_rows(cuda_t<T>& be, const T* src, std::int64_t count, std::int64_t stride_rows, std::int64_t width,
                         T* out);
/// dsrc[i * stride_rows, :] += dout[i, :].
template <class T>
void scatter_strided_rows_add(cuda_t<T>& be, const T* dout, std::int64_t count, std::int64_t stride_rows,
                              std::int64_t width, T* dsrc);

// Dropout (the CPU backend's Philox stream: the same seed and offset give the same mask) ----------

/// y = x * keep / (1 - p), keep[i] = philox_uniform(seed, offset + i) >= p; writes keep as 0/1 bytes.
template <class T>
void dropout_forward(cuda_t<T>& be, const T* x, T* y, std::uint8_t* keep, std::int64_t n, double p,
                     std::uint64_t seed, std::uint64_t offset);
/// dx += dy * keep / (1 - p).
template <class T>
void dropout_backward(cuda_t<T>& be, const T* dy, const std::uint8_t* keep, T* dx, std::int64_t n, double p);

// Multi-head self-attention ----------------------------------------------------------------------

/// As the CPU backend's attention_forward: the fused kernel (attention_forward_fused) when probs is null,
/// dropout_p is 0 and head_dim <= 128 (cuda/flash_tiling.hpp's flash_dispatch), else attention_forward_gemm.
template <class T>
void attention_forward(cuda_t<T>& be, const attention_shape& s, const T* q, const T* k, const T* v,
                       const T* key_bias, T scale, T* probs, T* context, double dropout_p,
                       std::uint8_t* keep, std::uint64_t seed, std::uint64_t offset);
/// attention_forward by batched GEMMs over batch x heads around a masked softmax ([B, H, S, S] float scores).
template <class T>
void attention_forward_gemm(cuda_t<T>& be, const attention_shape& s, const T* q, const T* k, const T* v,
                            const T* key_bias, T scale, T* probs, T* context, double dropout_p,
                            std::uint8_t* keep, std::uint64_t seed, std::uint64_t offset);
/// context = softmax(Q K^T * scale + key_bias) V by one fused kernel (online softmax over key tiles in
/// shared memory, no scores stored); throws dnabert::error naming the op unless 1 <= head_dim <= 128.
template <class T>
void attention_forward_fused(cuda_t<T>& be, const attention_shape& s, const T* q, const T* k, const T* v,
                             const T* key_bias, T scale, T* context);
/// Backward of attention_forward: dq, dk, dv += gradients.
template <class T>
void attention_backward(cuda_t<T>& be, const attention_shape& s, const T* q, const T* k, const T* v,
                        const T* probs, const T* dcontext, T scale, double dropout_p,
                        const std::uint8_t* keep, T* dq, T* dk, T* dv);

// Losses ---------------------------------------------------------------------------------------

/// Weighted mean cross-entropy over rows whose label is not ignore_label; writes softmax
/// probabilities; returns the loss and the total weight (per-row terms summed in row order).
template <class T>
std::pair<double, double> cross_entropy_forward(cuda_t<T>& be, const T* logits, const std::int32_t* labels,
                                                const T* class_weights, std::int64_t rows, std::int64_t classes,
                                                T* probs, std::int32_t ignore_label = -100);
/// dlogits += dloss * w[label] (probs - onehot(label)) / total_weight.
template <class T>
void cross_entropy_backward(cuda_t<T>& be, const T* probs, const std::int32_t* labels, const T* class_weights,
                            std::int64_t rows, std::int64_t classes, double total_weight, T dloss, T* dlogits,
                            std::int32_t ignore_label = -100);
/// Mean squared error between predictions and targets (n values).
template <class T>
double mse_forward(cuda_t<T>& be, const T* predictions, const T* targets, std::int64_t n);
/// dpredictions += dloss * 2 (p - t) / n.
template <class T>
void mse_backward(cuda_t<T>& be, const T* predictions, const T* targets, std::int64_t n, T dloss,
                  T* dpredictions);
/// Mean binary cross-entropy with logits over n values (torch's binary_cross_entropy_with_logits).
template <class T>
double bce_with_logits_forward(cuda_t<T>& be, const T* logits, const T* targets, std::int64_t n);
/// dlogits += dloss (sigmoid(x) - t) / n.
template <class T>
void bce_with_logits_backward(cuda_t<T>& be, const T* logits, const T* targets, std::int64_t n, T dloss, T* dlogits);

// Optimizer ------------------------------------------------------------------------------------

/// One torch.optim.AdamW update of n elements, in torch's order (see backend/cpu/optimizer_ops.hpp).
template <class T>
void adamw_update(cuda_t<T>& be, T* param, const T* grad, T* m, T* v, std::int64_t n, double lr,
                  double beta1, double beta2, double eps, double weight_decay, double bias_correction1,
                  double bias_correction2);
/// One AdamW update of every listed tensor in one launch (multi-tensor), each as adamw_update
/// above; bf16 parameters update their float32 master copy and receive it rounded.
template <class T>
void adamw_update(cuda_t<T>& be, std::span<const adamw_tensor<T>> tensors, const adamw_hyper& h);
/// Sum of x[i]^2 in double over a fixed grid: the same value on every run.
template <class T>
double sum_of_squares(cuda_t<T>& be, const T* x, std::int64_t n);
/// The sums of squares of several tensors in one launch and one download: each tensor's value
/// equals sum_of_squares above, and they are added in list order.
template <class T>
double sum_of_squares(cuda_t<T>& be, std::span<const tensor_extent<T>> tensors);

// Copies ---------------------------------------------------------------------------------------

/// dst = src (n elements of any type, both on the device).
template <class T, class E>
void copy(cuda_t<T>& be, const E* src, E* dst, std::int64_t n) {
  if (n > 0)
    detail::cuda_copy_bytes(be.context(), src, dst, static_cast<std::size_t>(n) * sizeof(E), detail::cuda_copy_kind::device_to_device);
}

/// device = host, n elements of any type.
/// dst = 0 over n elements of any type.
template <class T, class E>
void clear(cuda_t<T>& be, E* dst, std::int64_t n) {
  if (n > 0) detail::cuda_zero_bytes(be.context(), dst, static_cast<std::size_t>(n) * sizeof(E));
}

template <class T, class E>
void upload(cuda_t<T>& be, const E* host, E* device, std::int64_t n) {
  if (n > 0)
    detail::cuda_copy_bytes(be.context(), host, device, static_cast<std::size_t>(n) * sizeof(E), detail::cuda_copy_kind::host_to_device);
}

/// host = device, n elements of any type (waits for the queued work that produces them).
template <class T, class E>
void download(cuda_t<T>& be, const E* device, E* host, std::int64_t n) {
  if (n > 0)
    detail::cuda_copy_bytes(be.context(), device, host, static_cast<std::size_t>(n) * sizeof(E), detail::cuda_copy_kind::device_to_host);
}

}  // namespace dnabert::backend

// Both element types provide every op of the op list.
static_assert(dnabert::ops::backend_ops<dnabert::backend::cuda_t<float>>);
static_assert(dnabert::ops::backend_ops<dnabert::backend::cuda_t<dnabert::bfloat16>>);
