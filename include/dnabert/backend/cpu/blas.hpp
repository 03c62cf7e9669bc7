#pragma once
// Which BLAS the CPU backend's sgemm calls, chosen at build time: BLIS (DNABERT_USE_BLIS),
// OpenBLAS (DNABERT_USE_OPENBLAS) or none (Eigen's own GEMM). Both BLAS builds expose cblas.

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

}  // namespace dnabert::backend::detail
