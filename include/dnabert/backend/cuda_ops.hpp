#pragma once
// Every op the layers need, for the CUDA backend: the same names and arguments as cpu_ops.hpp
// (found by argument-dependent lookup), pointers into device memory, all queued on the backend's
// stream. Definitions are in backend/cuda/*.cu, compiled into dnabert::cuda.

#include <cstddef>
#include <cstdint>
#include <utility>

#include "dnabert/backend/attention_shape.hpp"
#include "dnabert/backend/cuda.hpp"

namespace dnabert::backend {

namespace detail {
/// Direction of a byte copy.
enum class cuda_copy_kind { host_to_device, device_to_host, device_to_device };
/// Copies `bytes` bytes on the backend's stream; device_to_host waits for the data.
void cuda_copy_bytes(cuda& be, const void* src, void* dst, std::size_t bytes, cuda_copy_kind kind);
}  // namespace detail

// GEMM -----------------------------------------------------------------------------------------

/// C[m,n] = alpha * op(A) * op(B) + beta * C, row-major contiguous (cuBLAS, fp32 or TF32).
void gemm(cuda& be, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
          const float* a, const float* b, float beta, float* c);

// Element-wise and row-wise ops ------------------------------------------------------------------

/// y[r, :] += bias for each of `rows` rows of width n.
void add_bias(cuda& be, float* y, const float* bias, std::int64_t rows, std::int64_t n);
/// dbias += column sums of dy [rows, n].
void add_bias_grad(cuda& be, const float* dy, std::int64_t rows, std::int64_t n, float* dbias);
/// out = a + b (n elements); out may alias a or b.
void add(cuda& be, const float* a, const float* b, float* out, std::int64_t n);
/// dst += src (n elements).
void accumulate(cuda& be, float* dst, const float* src, std::int64_t n);
/// dst = value (n elements).
void fill(cuda& be, float* dst, float value, std::int64_t n);
/// x[i] *= factor over n elements.
void scale(cuda& be, float* x, float factor, std::int64_t n);
/// y = gelu(x) (exact erf form).
void gelu_forward(cuda& be, const float* x, float* y, std::int64_t n);
/// dx += dy * gelu'(x).
void gelu_backward(cuda& be, const float* x, const float* dy, float* dx, std::int64_t n);
/// y = tanh(x).
void tanh_forward(cuda& be, const float* x, float* y, std::int64_t n);
/// dx += dy * (1 - y^2), with y = tanh(x).
void tanh_backward(cuda& be, const float* y, const float* dy, float* dx, std::int64_t n);
/// LayerNorm over rows of width n (one warp per row, float statistics); mean/rstd may be null.
void layer_norm_forward(cuda& be, const float* x, const float* gamma, const float* beta, std::int64_t rows,
                        std::int64_t n, double eps, float* y, float* mean, float* rstd);
/// LayerNorm backward: dx += ..., dgamma += sum(dy * xhat), dbeta += sum(dy).
void layer_norm_backward(cuda& be, const float* dy, const float* x, const float* gamma, const float* mean,
                         const float* rstd, std::int64_t rows, std::int64_t n, float* dx, float* dgamma, float* dbeta);

// Embeddings -----------------------------------------------------------------------------------

/// out[i, :] (+)= table[ids[i], :]; `accumulate` adds instead of sets.
void embedding_forward(cuda& be, const std::int32_t* ids, std::int64_t n, const float* table, std::int64_t width,
                       float* out, bool accumulate);
/// dtable[ids[i], :] += dout[i, :] (atomic adds: repeated ids sum in no fixed order).
void embedding_backward(cuda& be, const std::int32_t* ids, std::int64_t n, const float* dout, std::int64_t width,
                        float* dtable);
/// out[i, :] = src[i * stride_rows, :].
void gather_strided_rows(cuda& be, const float* src, std::int64_t count, std::int64_t stride_rows, std::int64_t width,
                         float* out);
/// dsrc[i * stride_rows, :] += dout[i, :].
void scatter_strided_rows_add(cuda& be, const float* dout, std::int64_t count, std::int64_t stride_rows,
                              std::int64_t width, float* dsrc);

// Dropout (the CPU backend's counter-based stream: the same seed and offset give the same mask) -

/// y = x * keep / (1 - p), keep[i] = uniform(seed, offset + i) >= p; writes keep as 0/1 bytes.
void dropout_forward(cuda& be, const float* x, float* y, std::uint8_t* keep, std::int64_t n, double p,
                     std::uint64_t seed, std::uint64_t offset);
/// dx += dy * keep / (1 - p).
void dropout_backward(cuda& be, const float* dy, const std::uint8_t* keep, float* dx, std::int64_t n, double p);

// Multi-head self-attention ----------------------------------------------------------------------

/// As cpu_ops.hpp's attention_forward: batched GEMMs over batch x heads around a masked softmax.
void attention_forward(cuda& be, const attention_shape& s, const float* q, const float* k, const float* v,
                       const float* key_bias, float scale, float* probs, float* context, double dropout_p,
                       std::uint8_t* keep, std::uint64_t seed, std::uint64_t offset);
/// Backward of attention_forward: dq, dk, dv += gradients.
void attention_backward(cuda& be, const attention_shape& s, const float* q, const float* k, const float* v,
                        const float* probs, const float* dcontext, float scale, double dropout_p,
                        const std::uint8_t* keep, float* dq, float* dk, float* dv);

// Losses ---------------------------------------------------------------------------------------

/// Weighted mean cross-entropy over rows whose label is not ignore_label; writes softmax
/// probabilities; returns the loss and the total weight (per-row terms summed in row order).
std::pair<double, double> cross_entropy_forward(cuda& be, const float* logits, const std::int32_t* labels,
                                                const float* class_weights, std::int64_t rows, std::int64_t classes,
                                                float* probs, std::int32_t ignore_label = -100);
/// dlogits += dloss * w[label] (probs - onehot(label)) / total_weight.
void cross_entropy_backward(cuda& be, const float* probs, const std::int32_t* labels, const float* class_weights,
                            std::int64_t rows, std::int64_t classes, double total_weight, float dloss, float* dlogits,
                            std::int32_t ignore_label = -100);
/// Mean squared error between predictions and targets (n values).
double mse_forward(cuda& be, const float* predictions, const float* targets, std::int64_t n);
/// dpredictions += dloss * 2 (p - t) / n.
void mse_backward(cuda& be, const float* predictions, const float* targets, std::int64_t n, float dloss,
                  float* dpredictions);

// Optimizer ------------------------------------------------------------------------------------

/// One torch.optim.AdamW update of n elements, in torch's order (see cpu_optimizer_ops.hpp).
void adamw_update(cuda& be, float* param, const float* grad, float* m, float* v, std::int64_t n, double lr,
                  double beta1, double beta2, double eps, double weight_decay, double bias_correction1,
                  double bias_correction2);
/// Sum of x[i]^2 in double over a fixed grid: the same value on every run.
double sum_of_squares(cuda& be, const float* x, std::int64_t n);

// Copies ---------------------------------------------------------------------------------------

/// dst = src (n elements of any type, both on the device).
template <class E>
void copy(cuda& be, const E* src, E* dst, std::int64_t n) {
  if (n > 0) detail::cuda_copy_bytes(be, src, dst, static_cast<std::size_t>(n) * sizeof(E), detail::cuda_copy_kind::device_to_device);
}

/// device = host, n elements of any type.
template <class E>
void upload(cuda& be, const E* host, E* device, std::int64_t n) {
  if (n > 0) detail::cuda_copy_bytes(be, host, device, static_cast<std::size_t>(n) * sizeof(E), detail::cuda_copy_kind::host_to_device);
}

/// host = device, n elements of any type (waits for the queued work that produces them).
template <class E>
void download(cuda& be, const E* device, E* host, std::int64_t n) {
  if (n > 0) detail::cuda_copy_bytes(be, device, host, static_cast<std::size_t>(n) * sizeof(E), detail::cuda_copy_kind::device_to_host);
}

}  // namespace dnabert::backend
