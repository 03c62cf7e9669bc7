#pragma once
// Which BLAS the CPU backend's sgemm may call, chosen at build time: BLIS (DNABERT_USE_BLIS),
// OpenBLAS (DNABERT_USE_OPENBLAS) or none. Both BLAS builds expose cblas. (oneDNN, which ops.hpp
// prefers when DNABERT_USE_ONEDNN is defined, is in onednn_matmul.hpp.)

#include <cstdint>

#if defined(DNABERT_USE_BLIS)
#include <blis.h>
#include <cblas.h>
#define DNABERT_HAS_CBLAS 1
#elif defined(DNABERT_USE_OPENBLAS)
#include <cblas.h>
#define DNABERT_HAS_CBLAS 1
#endif

namespace dnabert::backend::detail {

#if defined(DNABERT_USE_BLIS)
using cblas_int = f77_int;
/// Sets the BLAS's thread count.
inline void set_blas_threads(int threads) { bli_thread_set_num_threads(threads); }
#elif defined(DNABERT_USE_OPENBLAS)
using cblas_int = blasint;
/// Sets the BLAS's thread count.
inline void set_blas_threads(int threads) { openblas_set_num_threads(threads); }
#else
/// No BLAS: Eigen's GEMM follows Eigen::setNbThreads.
inline void set_blas_threads(int) {}
#endif

#ifdef DNABERT_HAS_CBLAS
/// C[m,n] = alpha·op(A)·op(B) + beta·C through the BLAS's cblas_sgemm, row-major contiguous.
inline void cblas_gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                       const float* a, const float* b, float beta, float* c) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<cblas_int>(m), static_cast<cblas_int>(n), static_cast<cblas_int>(k), alpha, a,
              static_cast<cblas_int>(trans_a ? m : k), b, static_cast<cblas_int>(trans_b ? k : n), beta, c,
              static_cast<cblas_int>(n));
}
#endif

}  // namespace dnabert::backend::detail
