// Multi-head self-attention on CUDA: batched cuBLAS GEMMs over batch × heads (pointer arrays
// built on the device) around a masked-softmax kernel, one warp per row of scores.
#include "dnabert/backend/cuda/common.cuh"
#include "dnabert/backend/cuda_ops.hpp"
#include "dnabert/backend/random.hpp"

namespace dnabert::backend {
namespace {

using detail::index_t;

constexpr int rows_per_block = 8;

// The matrices of one batched GEMM operand: base + strided_batch offset of matrix i.
struct operand {
  const float* base;
  cuda_launch::strided_batch layout;
};

__global__ void fill_pointers(operand a, operand b, operand c, index_t count, const float** pa, const float** pb,
                              float** pc) {
  const index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  pa[i] = a.base + a.layout.offset(i);
  pb[i] = b.base + b.layout.offset(i);
  pc[i] = const_cast<float*>(c.base) + c.layout.offset(i);
}

// Row-major C_i[m,n] = alpha op(A_i) op(B_i) + beta C_i for every matrix i of batch × heads.
void batched_gemm(cuda& be, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                  operand a, std::int64_t lda, operand b, std::int64_t ldb, float beta, operand c, std::int64_t ldc,
                  std::int64_t count) {
  detail::scratch<const float*> pointers(be, 3 * count);
  const float** pa = pointers.get();
  const float** pb = pa + count;
  float** pc = const_cast<float**>(pb + count);
  fill_pointers<<<static_cast<unsigned>((count + 255) / 256), 256, 0, be.context().stream()>>>(a, b, c, count, pa, pb, pc);
  detail::check_launch("fill_pointers");
  const auto g = cuda_launch::to_column_major(trans_a, trans_b, m, n, k, lda, ldb, ldc);
  detail::check_cublas(cublasSgemmBatched(be.context().blas(), g.transpose_first ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          g.transpose_second ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(g.rows),
                                          static_cast<int>(g.cols), static_cast<int>(g.depth), &alpha, pb,
                                          static_cast<int>(g.ld_first), pa, static_cast<int>(g.ld_second), &beta, pc,
                                          static_cast<int>(g.ld_result), static_cast<int>(count)),
                       "cublasSgemmBatched");
}

// scores row (bh, i) += key_bias[b]; softmax; probs (if wanted) = softmax; scores = dropout(softmax).
__global__ void masked_softmax(float* scores, const float* key_bias, index_t rows, index_t seq, index_t heads,
                               float* probs, double dropout_p, std::uint8_t* keep, std::uint64_t seed,
                               std::uint64_t offset) {
  const index_t row = blockIdx.x * static_cast<index_t>(rows_per_block) + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) return;
  float* s = scores + row * seq;
  const float* bias = key_bias == nullptr ? nullptr : key_bias + (row / (seq * heads)) * seq;
  float top = -INFINITY;
  for (index_t j = lane; j < seq; j += 32) top = fmaxf(top, s[j] + (bias ? bias[j] : 0.0f));
  top = detail::warp_max(top);
  float sum = 0;
  for (index_t j = lane; j < seq; j += 32) sum += expf(s[j] + (bias ? bias[j] : 0.0f) - top);
  sum = detail::warp_sum(sum);
  const float factor = dropout_p > 0 ? static_cast<float>(1.0 / (1.0 - dropout_p)) : 1.0f;
  for (index_t j = lane; j < seq; j += 32) {
    const float p = expf(s[j] + (bias ? bias[j] : 0.0f) - top) / sum;
    if (probs != nullptr) probs[row * seq + j] = p;
    if (dropout_p > 0) {
      const index_t i = row * seq + j;
      const bool kept = uniform_from_counter(seed, offset + static_cast<std::uint64_t>(i)) >= dropout_p;
      keep[i] = kept ? 1 : 0;
      s[j] = kept ? p * factor : 0.0f;
    } else {
      s[j] = p;
    }
  }
}

// dscores = P * (dP' - rowsum(dP' * P)) * scale, with dP' = dropout-masked dP; in place in dprobs.
__global__ void softmax_backward(const float* probs, float* dprobs, index_t rows, index_t seq, float scale,
                                 double dropout_p, const std::uint8_t* keep) {
  const index_t row = blockIdx.x * static_cast<index_t>(rows_per_block) + threadIdx.x / 32;
  const int lane = static_cast<int>(threadIdx.x % 32);
  if (row >= rows) return;
  const float* p = probs + row * seq;
  float* d = dprobs + row * seq;
  const float factor = dropout_p > 0 ? static_cast<float>(1.0 / (1.0 - dropout_p)) : 1.0f;
  float dot = 0;
  for (index_t j = lane; j < seq; j += 32) {
    if (dropout_p > 0) d[j] = keep[row * seq + j] ? d[j] * factor : 0.0f;
    dot += d[j] * p[j];
  }
  dot = detail::warp_sum(dot);
  for (index_t j = lane; j < seq; j += 32) d[j] = p[j] * (d[j] - dot) * scale;
}

__global__ void apply_keep(const float* probs, const std::uint8_t* keep, index_t n, float factor, float* out) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    out[i] = keep[i] ? probs[i] * factor : 0.0f;
}

unsigned row_blocks(std::int64_t rows) { return static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block); }

// Layouts of a head slice of q/k/v/context ([B*S, row_stride]) and of a [B, H, S, S] buffer.
cuda_launch::strided_batch head_slices(const attention_shape& s) { return {s.heads, s.seq * s.row_stride, s.head_dim}; }
cuda_launch::strided_batch square_blocks(const attention_shape& s) { return {s.heads, s.heads * s.seq * s.seq, s.seq * s.seq}; }

}  // namespace

void attention_forward(cuda& be, const attention_shape& s, const float* q, const float* k, const float* v,
                       const float* key_bias, float scale, float* probs, float* context, double dropout_p,
                       std::uint8_t* keep, std::uint64_t seed, std::uint64_t offset) {
  const std::int64_t count = s.batch * s.heads;
  if (count == 0 || s.seq == 0) return;
  const std::int64_t S = s.seq;
  const std::int64_t ld = s.row_stride;
  detail::scratch<float> scores(be, count * S * S);
  // scores_i = scale · Q_i K_i^T
  batched_gemm(be, false, true, S, S, s.head_dim, scale, {q, head_slices(s)}, ld, {k, head_slices(s)}, ld, 0.0f,
               {scores.get(), square_blocks(s)}, S, count);
  masked_softmax<<<row_blocks(count * S), rows_per_block * 32, 0, be.context().stream()>>>(
      scores.get(), key_bias, count * S, S, s.heads, probs, dropout_p, keep, seed, offset);
  detail::check_launch("masked_softmax");
  // context_i = dropout(P_i) V_i
  batched_gemm(be, false, false, S, s.head_dim, S, 1.0f, {scores.get(), square_blocks(s)}, S, {v, head_slices(s)}, ld,
               0.0f, {context, head_slices(s)}, ld, count);
}

void attention_backward(cuda& be, const attention_shape& s, const float* q, const float* k, const float* v,
                        const float* probs, const float* dcontext, float scale, double dropout_p,
                        const std::uint8_t* keep, float* dq, float* dk, float* dv) {
  const std::int64_t count = s.batch * s.heads;
  if (count == 0 || s.seq == 0) return;
  const std::int64_t S = s.seq;
  const std::int64_t d = s.head_dim;
  const std::int64_t ld = s.row_stride;
  cudaStream_t stream = be.context().stream();
  const auto heads = head_slices(s);
  const auto blocks = square_blocks(s);
  // dV_i += dropout(P_i)^T dC_i
  detail::scratch<float> dropped(be, dropout_p > 0 ? count * S * S : 0);
  const float* used = probs;
  if (dropout_p > 0) {
    apply_keep<<<detail::grid_for(count * S * S), cuda_launch::block_threads, 0, stream>>>(
        probs, keep, count * S * S, static_cast<float>(1.0 / (1.0 - dropout_p)), dropped.get());
    detail::check_launch("apply_keep");
    used = dropped.get();
  }
  batched_gemm(be, true, false, S, d, S, 1.0f, {used, blocks}, S, {dcontext, heads}, ld, 1.0f, {dv, heads}, ld, count);
  // dP_i = dC_i V_i^T, then the softmax backward in place
  detail::scratch<float> dscores(be, count * S * S);
  batched_gemm(be, false, true, S, S, d, 1.0f, {dcontext, heads}, ld, {v, heads}, ld, 0.0f, {dscores.get(), blocks}, S,
               count);
  softmax_backward<<<row_blocks(count * S), rows_per_block * 32, 0, stream>>>(probs, dscores.get(), count * S, S, scale,
                                                                              dropout_p, keep);
  detail::check_launch("softmax_backward");
  // dQ_i += dS_i K_i;  dK_i += dS_i^T Q_i
  batched_gemm(be, false, false, S, d, S, 1.0f, {dscores.get(), blocks}, S, {k, heads}, ld, 1.0f, {dq, heads}, ld, count);
  batched_gemm(be, true, false, S, d, S, 1.0f, {dscores.get(), blocks}, S, {q, heads}, ld, 1.0f, {dk, heads}, ld, count);
}

}  // namespace dnabert::backend
