// Multi-head self-attention on CUDA: batched cuBLAS GEMMs over batch × heads (pointer arrays
// built on the device) around a masked-softmax kernel, one warp per row of scores. Scores and
// their gradients are float whatever T stores; bf16 models feed the GEMMs bf16 probabilities.
// attention_forward takes this path when probabilities or dropout are wanted, else the fused
// kernel of flash_attention.cu (cuda/flash_tiling.hpp's flash_dispatch decides).
#include "common.cuh"
#include "dnabert/backend/cuda/flash_tiling.hpp"
#include "dnabert/backend/cuda/ops.hpp"
#include "dnabert/core/alibi.hpp"
#include "dnabert/core/rng.hpp"

namespace dnabert::backend {
namespace {

using detail::from_float;
using detail::index_t;
using detail::to_float;

constexpr int rows_per_block = 8;

// The matrices of one batched GEMM operand: base + strided_batch offset of matrix i.
template <class E>
struct operand {
  const E* base;
  cuda_launch::strided_batch layout;
};

template <class A, class C>
__global__ void fill_pointers(operand<A> a, operand<A> b, operand<C> c, index_t count, const A** pa, const A** pb, C** pc) {
  const index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  pa[i] = a.base + a.layout.offset(i);
  pb[i] = b.base + b.layout.offset(i);
  pc[i] = const_cast<C*>(c.base) + c.layout.offset(i);
}

// Row-major C_i[m,n] = alpha op(A_i) op(B_i) + beta C_i for every matrix i of batch × heads; A and B
// hold A (float or bf16), C holds C (float, or bf16 for bf16 inputs), float accumulation.
template <class T, class A, class C>
void batched_gemm(cuda_t<T>& be, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                  operand<A> a, std::int64_t lda, operand<A> b, std::int64_t ldb, float beta, operand<C> c,
                  std::int64_t ldc, std::int64_t count) {
  detail::scratch<void*> pointers(be, 3 * count);
  const auto** pa = static_cast<const A**>(static_cast<void*>(pointers.get()));
  const auto** pb = static_cast<const A**>(static_cast<void*>(pointers.get() + count));
  auto** pc = static_cast<C**>(static_cast<void*>(pointers.get() + 2 * count));
  fill_pointers<<<static_cast<unsigned>((count + 255) / 256), 256, 0, be.context().stream()>>>(a, b, c, count, pa, pb, pc);
  detail::check_launch("fill_pointers");
  const auto g = cuda_launch::to_column_major(trans_a, trans_b, m, n, k, lda, ldb, ldc);
  const cublasOperation_t first = g.transpose_first ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t second = g.transpose_second ? CUBLAS_OP_T : CUBLAS_OP_N;
  if constexpr (std::is_same_v<A, float> && std::is_same_v<C, float>) {
    detail::check_cublas(cublasSgemmBatched(be.context().blas(), first, second, static_cast<int>(g.rows),
                                            static_cast<int>(g.cols), static_cast<int>(g.depth), &alpha, pb,
                                            static_cast<int>(g.ld_first), pa, static_cast<int>(g.ld_second), &beta, pc,
                                            static_cast<int>(g.ld_result), static_cast<int>(count)),
                         "cublasSgemmBatched");
  } else {
    detail::check_cublas(
        cublasGemmBatchedEx(be.context().blas(), first, second, static_cast<int>(g.rows), static_cast<int>(g.cols),
                            static_cast<int>(g.depth), &alpha, reinterpret_cast<const void* const*>(pb),
                            detail::blas_type<A>, static_cast<int>(g.ld_first), reinterpret_cast<const void* const*>(pa),
                            detail::blas_type<A>, static_cast<int>(g.ld_second), &beta,
                            reinterpret_cast<void* const*>(pc), detail::blas_type<C>, static_cast<int>(g.ld_result),
                            static_cast<int>(count), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmBatchedEx");
  }
}

// Row (bh, i) of the float scores: + key_bias[b] (+ ALiBi's bias); softmax → probs (if wanted); dropout(softmax) →
// weights (the P of P·V; may be the scores themselves when D is float).
template <class D>
__global__ void masked_softmax(const float* scores, const D* key_bias, bool alibi, index_t rows, index_t seq, index_t heads,
                               D* probs, D* weights, double dropout_p, std::uint8_t* keep, std::uint64_t seed,
                               std::uint64_t offset) {
  const index_t row = blockIdx.x * static_cast<index_t>(rows_per_block) + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) return;
  const float* s = scores + row * seq;
  const D* bias = key_bias == nullptr ? nullptr : key_bias + (row / (seq * heads)) * seq;
  const index_t query = row % seq;
  const float slope = alibi ? alibi_slope((row / seq) % heads, heads) : 0.0f;
  const auto logit = [&](index_t j) {
    const float distance = static_cast<float>(query > j ? query - j : j - query);
    return s[j] + (bias != nullptr ? to_float(bias[j]) : 0.0f) - slope * distance;
  };
  float top = -INFINITY;
  for (index_t j = lane; j < seq; j += 32) top = fmaxf(top, logit(j));
  top = detail::warp_max(top);
  if (top == -INFINITY) top = 0;  // every key masked with a true -inf: each exp is 0, not exp(-inf - -inf) = NaN
  float sum = 0;
  for (index_t j = lane; j < seq; j += 32) sum += expf(logit(j) - top);
  sum = detail::warp_sum(sum);
  const float inverse = sum > 0 ? 1.0f / sum : 0.0f;  // such a row attends to nothing: zeros
  if (dropout_p <= 0) {
    for (index_t j = lane; j < seq; j += 32) {
      const float p = expf(logit(j) - top) * inverse;
      const index_t i = row * seq + j;
      if (probs != nullptr) probs[i] = from_float<D>(p);
      weights[i] = from_float<D>(p);
    }
    return;
  }
  // Each lane draws whole Philox blocks and uses all four words: the row's stream offsets
  // offset + row * seq + j, the CPU's (philox_uniform reads one word of a block at a time).
  const float factor = static_cast<float>(1.0 / (1.0 - dropout_p));
  const std::uint64_t row_begin = offset + static_cast<std::uint64_t>(row * seq), row_end = row_begin + static_cast<std::uint64_t>(seq);
  for (std::uint64_t block = philox_block_index(row_begin) + static_cast<std::uint64_t>(lane);
       block <= philox_block_index(row_end - 1); block += 32) {
    const philox4x32_block words = philox_block(seed, block);
    for (unsigned word = 0; word < 4; ++word) {
      const std::uint64_t at = block * 4 + word;
      if (at < row_begin || at >= row_end) continue;
      const auto j = static_cast<index_t>(at - row_begin);
      const float p = expf(logit(j) - top) * inverse;
      const index_t i = row * seq + j;
      if (probs != nullptr) probs[i] = from_float<D>(p);
      const bool kept = uniform_from_bits(words.word[word]) >= dropout_p;
      keep[i] = kept ? 1 : 0;
      weights[i] = from_float<D>(kept ? p * factor : 0.0f);
    }
  }
}

// dscores = P * (dP' - rowsum(dP' * P)) * scale, with dP' = dropout-masked dP (float), into out.
template <class D>
__global__ void softmax_backward(const D* probs, const float* dprobs, index_t rows, index_t seq, float scale,
                                 double dropout_p, const std::uint8_t* keep, D* out) {
  const index_t row = blockIdx.x * static_cast<index_t>(rows_per_block) + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) return;
  const float factor = dropout_p > 0 ? static_cast<float>(1.0 / (1.0 - dropout_p)) : 1.0f;
  const auto masked = [&](index_t i) { return dropout_p > 0 ? (keep[i] ? dprobs[i] * factor : 0.0f) : dprobs[i]; };
  float dot = 0;
  for (index_t j = lane; j < seq; j += 32) dot += masked(row * seq + j) * to_float(probs[row * seq + j]);
  dot = detail::warp_sum(dot);
  for (index_t j = lane; j < seq; j += 32) {
    const index_t i = row * seq + j;
    out[i] = from_float<D>(to_float(probs[i]) * (masked(i) - dot) * scale);
  }
}

template <class D>
__global__ void apply_keep(const D* probs, const std::uint8_t* keep, index_t n, float factor, D* out) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    out[i] = from_float<D>(keep[i] ? to_float(probs[i]) * factor : 0.0f);
}

unsigned row_blocks(std::int64_t rows) { return static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block); }

// Layouts of a head slice of q/k/v/context ([B*S, row_stride]) and of a [B, H, S, S] buffer.
cuda_launch::strided_batch head_slices(const attention_shape& s) { return {s.heads, s.seq * s.row_stride, s.head_dim}; }
cuda_launch::strided_batch square_blocks(const attention_shape& s) { return {s.heads, s.heads * s.seq * s.seq, s.seq * s.seq}; }

}  // namespace

template <class T>
void attention_forward_gemm(cuda_t<T>& be, const attention_shape& s, const T* q, const T* k, const T* v,
                            const T* key_bias, T scale, T* probs, T* context, double dropout_p, std::uint8_t* keep,
                            std::uint64_t seed, std::uint64_t offset) {
  using D = detail::device_t<T>;
  const std::int64_t count = s.batch * s.heads;
  if (count == 0 || s.seq == 0) return;
  const std::int64_t S = s.seq;
  const std::int64_t ld = s.row_stride;
  const auto heads = head_slices(s);
  const auto blocks = square_blocks(s);
  detail::scratch<float> scores(be, count * S * S);
  // bf16 models need the probabilities in bf16 for the second product; float ones reuse the scores.
  detail::scratch<D> bf16_weights(be, std::is_same_v<D, float> ? 0 : count * S * S);
  D* weights = std::is_same_v<D, float> ? reinterpret_cast<D*>(scores.get()) : bf16_weights.get();
  // scores_i = scale · Q_i K_i^T
  batched_gemm<T, D, float>(be, false, true, S, S, s.head_dim, static_cast<float>(scale), {detail::device_ptr(q), heads},
                            ld, {detail::device_ptr(k), heads}, ld, 0.0f, {scores.get(), blocks}, S, count);
  masked_softmax<<<row_blocks(count * S), rows_per_block * 32, 0, be.context().stream()>>>(
      scores.get(), detail::device_ptr(key_bias), s.alibi, count * S, S, s.heads, detail::device_ptr(probs), weights, dropout_p,
      keep, seed, offset);
  detail::check_launch("masked_softmax");
  // context_i = dropout(P_i) V_i
  batched_gemm<T, D, D>(be, false, false, S, s.head_dim, S, 1.0f, {weights, blocks}, S, {detail::device_ptr(v), heads}, ld,
                        0.0f, {detail::device_ptr(context), heads}, ld, count);
}

template <class T>
void attention_forward(cuda_t<T>& be, const attention_shape& s, const T* q, const T* k, const T* v, const T* key_bias,
                       T scale, T* probs, T* context, double dropout_p, std::uint8_t* keep, std::uint64_t seed,
                       std::uint64_t offset) {
  if (be.context().fused() && cuda_launch::flash_dispatch(probs != nullptr, dropout_p, s.head_dim))
    attention_forward_fused(be, s, q, k, v, key_bias, scale, context);
  else
    attention_forward_gemm(be, s, q, k, v, key_bias, scale, probs, context, dropout_p, keep, seed, offset);
}

template <class T>
void attention_backward(cuda_t<T>& be, const attention_shape& s, const T* q, const T* k, const T* v, const T* probs,
                        const T* dcontext, T scale, double dropout_p, const std::uint8_t* keep, T* dq, T* dk, T* dv) {
  using D = detail::device_t<T>;
  const std::int64_t count = s.batch * s.heads;
  if (count == 0 || s.seq == 0) return;
  const std::int64_t S = s.seq;
  const std::int64_t d = s.head_dim;
  const std::int64_t ld = s.row_stride;
  cudaStream_t stream = be.context().stream();
  const auto heads = head_slices(s);
  const auto blocks = square_blocks(s);
  const D* p = detail::device_ptr(probs);
  const D* dc = detail::device_ptr(dcontext);
  // dV_i += dropout(P_i)^T dC_i
  detail::scratch<D> dropped(be, dropout_p > 0 ? count * S * S : 0);
  const D* used = p;
  if (dropout_p > 0) {
    apply_keep<<<detail::grid_for(count * S * S), cuda_launch::block_threads, 0, stream>>>(
        p, keep, count * S * S, static_cast<float>(1.0 / (1.0 - dropout_p)), dropped.get());
    detail::check_launch("apply_keep");
    used = dropped.get();
  }
  batched_gemm<T, D, D>(be, true, false, S, d, S, 1.0f, {used, blocks}, S, {dc, heads}, ld, 1.0f,
                        {detail::device_ptr(dv), heads}, ld, count);
  // dP_i = dC_i V_i^T (float), then the softmax backward into dS (in place for float models)
  detail::scratch<float> dprobs(be, count * S * S);
  batched_gemm<T, D, float>(be, false, true, S, S, d, 1.0f, {dc, heads}, ld, {detail::device_ptr(v), heads}, ld, 0.0f,
                            {dprobs.get(), blocks}, S, count);
  detail::scratch<D> bf16_dscores(be, std::is_same_v<D, float> ? 0 : count * S * S);
  D* dscores = std::is_same_v<D, float> ? reinterpret_cast<D*>(dprobs.get()) : bf16_dscores.get();
  softmax_backward<<<row_blocks(count * S), rows_per_block * 32, 0, stream>>>(
      p, dprobs.get(), count * S, S, static_cast<float>(scale), dropout_p, keep, dscores);
  detail::check_launch("softmax_backward");
  // dQ_i += dS_i K_i;  dK_i += dS_i^T Q_i
  batched_gemm<T, D, D>(be, false, false, S, d, S, 1.0f, {dscores, blocks}, S, {detail::device_ptr(k), heads}, ld, 1.0f,
                        {detail::device_ptr(dq), heads}, ld, count);
  batched_gemm<T, D, D>(be, true, false, S, d, S, 1.0f, {dscores, blocks}, S, {detail::device_ptr(q), heads}, ld, 1.0f,
                        {detail::device_ptr(dk), heads}, ld, count);
}

#define DNABERT_INSTANTIATE_ATTENTION(T)                                                                             \
  template void attention_forward<T>(cuda_t<T>&, const attention_shape&, const T*, const T*, const T*, const T*, T,   \
                                     T*, T*, double, std::uint8_t*, std::uint64_t, std::uint64_t);                 \
  template void attention_forward_gemm<T>(cuda_t<T>&, const attention_shape&, const T*, const T*, const T*,         \
                                          const T*, T, T*, T*, double, std::uint8_t*, std::uint64_t, std::uint64_t); \
  template void attention_backward<T>(cuda_t<T>&, const attention_shape&, const T*, const T*, const T*, const T*,    \
                                      const T*, T, double, const std::uint8_t*, T*, T*, T*);
DNABERT_INSTANTIATE_ATTENTION(float)
DNABERT_INSTANTIATE_ATTENTION(bfloat16)

}  // namespace dnabert::backend
