#pragma once
// The CPU backend: 64-byte aligned host memory, OpenMP threads, Eigen for GEMM. Ops for it
// live in backend/cpu_ops.hpp; layers never name it, they receive it as a template parameter.

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <thread>

#include <Eigen/Core>

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef DNABERT_USE_OPENBLAS
#include <cblas.h>
#endif

namespace dnabert::backend {

/// Host backend computing in T (float for models; double for finite-difference checks).
template <class T>
class cpu_t {
 public:
  using value_type = T;
  /// Whether tensor memory is directly readable by the host.
  static constexpr bool host_memory = true;

  /// Uses `threads` threads for GEMM and parallel loops (0: one per hardware thread).
  explicit cpu_t(int threads = 0) : threads_(threads > 0 ? threads : default_threads()) {
    Eigen::setNbThreads(threads_);
#ifdef _OPENMP
    omp_set_num_threads(threads_);
#endif
#ifdef DNABERT_USE_OPENBLAS
    openblas_set_num_threads(threads_);
#endif
  }

  /// Fresh uninitialised storage of `size` bytes, 64-byte aligned.
  [[nodiscard]] std::shared_ptr<void> allocate(std::size_t size) const {
    const std::size_t bytes = ((size + 63) / 64) * 64;
    void* memory = bytes == 0 ? nullptr : std::aligned_alloc(64, bytes);
    if (bytes != 0 && memory == nullptr) throw std::bad_alloc();
    return {memory, [](void* p) { std::free(p); }};
  }

  /// Threads used by parallel ops.
  [[nodiscard]] int threads() const noexcept { return threads_; }

  /// Human-readable name ("cpu").
  [[nodiscard]] static std::string name() { return "cpu"; }

 private:
  static int default_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
  }

  int threads_;
};

/// The float32 CPU backend models run on.
using cpu = cpu_t<float>;

}  // namespace dnabert::backend
