#pragma once
// The CPU backend: 64-byte aligned host memory, OpenMP threads (shared by oneDNN and the BLAS). Ops for it
// live in backend/cpu/ops.hpp; layers never name it, they receive it as a template parameter.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <type_traits>

#include <Eigen/Core>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "dnabert/backend/block_cache.hpp"
#include "dnabert/backend/cpu/blas.hpp"
#include "dnabert/core/error.hpp"

namespace dnabert::backend {

/// What the CPU's GEMMs compute in. Tensors stay float32 in every mode; LayerNorm, softmax, GELU
/// and every accumulation stay float32 too.
enum class cpu_math : std::uint8_t {
  fp32,  ///< IEEE float32
  bf16,  ///< GEMM operands rounded to bfloat16, float32 accumulation (AVX512_BF16 / AMX through oneDNN)
  int8,  ///< inference: packed linear layers in int8 (weights per output channel, activations per call), as
         ///< ONNX Runtime's quantize_dynamic; every other GEMM, and training, in float32
};

/// "fp32", "bf16" or "int8".
[[nodiscard]] inline std::string to_string(cpu_math math) {
  switch (math) {
    case cpu_math::bf16: return "bf16";
    case cpu_math::int8: return "int8";
    case cpu_math::fp32: break;
  }
  return "fp32";
}

/// Host backend computing in T (float for models; double for finite-difference checks).
template <class T>
class cpu_t {
 public:
  using value_type = T;
  /// Whether tensor memory is directly readable by the host.
  static constexpr bool host_memory = true;

  /// Uses `threads` threads for GEMM and parallel loops (0: one per hardware thread) and computes
  /// float GEMMs in `math` (bf16 and int8 need a build with oneDNN: DNABERT_USE_ONEDNN).
  explicit cpu_t(int threads = 0, cpu_math math = cpu_math::fp32)
      : threads_(threads > 0 ? threads : default_threads()), math_(math) {
    if (math_ != cpu_math::fp32 && !std::is_same_v<T, float>)
      throw config_error("the CPU backend computes " + to_string(math_) + " only for float tensors");
#ifndef DNABERT_USE_ONEDNN
    if (math_ != cpu_math::fp32)
      throw config_error("--precision " + to_string(math_) + " on the CPU needs oneDNN: this dnabert was built without it "
                         "(install libdnnl-dev and configure with -DDNABERT_BLAS=onednn or auto)");
#endif
    Eigen::setNbThreads(threads_);
#ifdef _OPENMP
    omp_set_num_threads(threads_);
#endif
    detail::set_blas_threads(threads_);
  }

  /// Uninitialised storage of `size` bytes, 64-byte aligned, from a cache of freed blocks by size
  /// class: a forward pass allocates the same sizes again and again, and fresh pages cost a page
  /// fault each (measured: about 5 % of an 8x512 forward).
  [[nodiscard]] std::shared_ptr<void> allocate(std::size_t size) const {
    const std::size_t bytes = block_cache::size_class(size, 64);
    if (bytes == 0) return {};
    return {pool_->take(bytes), [pool = pool_, bytes](void* p) { pool->give_back(p, bytes); }};
  }

  /// What float GEMMs compute in.
  [[nodiscard]] cpu_math math() const noexcept { return math_; }

  /// Threads used by parallel ops.
  [[nodiscard]] int threads() const noexcept { return threads_; }

  /// Human-readable name ("cpu").
  [[nodiscard]] static std::string name() { return "cpu"; }

 private:
  // Freed blocks by exact size; shared with every live block's deleter, so it outlives them.
  class block_pool {
   public:
    block_pool() = default;
    block_pool(const block_pool&) = delete;
    block_pool& operator=(const block_pool&) = delete;
    ~block_pool() {
      cache_.release([](void* p, std::size_t) { std::free(p); });
    }

    void* take(std::size_t bytes) {
      if (void* p = cache_.reuse(bytes)) return p;
      void* p = std::aligned_alloc(64, bytes);
      if (p == nullptr) throw std::bad_alloc();
      return p;
    }

    void give_back(void* p, std::size_t bytes) { cache_.keep(p, bytes); }

   private:
    block_cache cache_;
  };

  static int default_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
  }

  int threads_;
  cpu_math math_;
  std::shared_ptr<block_pool> pool_ = std::make_shared<block_pool>();
};

/// The float32 CPU backend models run on.
using cpu = cpu_t<float>;

}  // namespace dnabert::backend
