#pragma once
// The CUDA backend: device memory from a caching allocator, one stream and one cuBLAS handle per
// backend object. Plain C++ (no CUDA headers): the kernels live in the compiled dnabert::cuda.

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "dnabert/core/half_float.hpp"

namespace dnabert::backend {

/// How float32 GEMMs may use the tensor cores.
enum class cuda_math {
  fp32,  ///< IEEE float32 GEMMs (exact comparison with the CPU backend)
  tf32,  ///< TF32 tensor-core GEMMs: 10-bit mantissa inputs, float32 accumulation
};

/// Which of two kernel sets the ops use where the CUDA code has both. `standard` is the design that
/// ran on an H100 (docs/architecture.md, "What has run on a GPU"); `fused` was written since and
/// stays opt-in until a GPU run has passed its tests.
enum class cuda_kernels {
  standard,  ///< cuBLAS GEMM then a bias kernel, residual add then LayerNorm, attention through batched
             ///< GEMMs, AdamW and the gradient norm one tensor per launch (float32)
  fused,     ///< cuBLASLt with the bias in its epilogue, fused add + LayerNorm, the flash-style
             ///< attention for inference, multi-tensor AdamW and gradient norm
};

/// The kernel set a backend gets unless told: DNABERT_CUDA_KERNELS=fused or =standard, standard when
/// unset or empty; any other value throws, naming the variable.
inline cuda_kernels default_cuda_kernels() {
  const char* chosen = std::getenv("DNABERT_CUDA_KERNELS");
  const std::string value = chosen == nullptr ? "" : chosen;
  if (value.empty() || value == "standard") return cuda_kernels::standard;
  if (value == "fused") return cuda_kernels::fused;
  throw std::invalid_argument("DNABERT_CUDA_KERNELS=" + value + ": expected standard or fused");
}

namespace detail {
/// Device, stream, cuBLAS handle and memory cache of one backend (defined in cuda/context.cu).
class cuda_context;
/// Creates the context for `device` (throws dnabert::error naming the failed CUDA call).
std::shared_ptr<cuda_context> make_cuda_context(int device, cuda_math math, cuda_kernels kernels);
/// `bytes` of device memory from the context's cache; freed blocks go back to the cache.
std::shared_ptr<void> cuda_allocate(const std::shared_ptr<cuda_context>& context, std::size_t bytes);
/// Waits until every op queued on the context's stream has finished.
void cuda_synchronize(cuda_context& context);
/// The device ordinal of a context.
int cuda_device(const cuda_context& context);
/// The device's name ("NVIDIA H100 80GB HBM3").
std::string cuda_device_name(const cuda_context& context);
/// The kernel set of a context.
cuda_kernels cuda_kernel_set(const cuda_context& context);
/// Bytes the cache holds (in use and free).
std::size_t cuda_cached_bytes(const cuda_context& context);
/// cuBLASLt plans the context holds (one per dense-layer shape seen; bounded).
std::size_t cuda_linear_plans(cuda_context& context);
/// Those of them for which cuBLASLt offered no algorithm (their shapes run on cuBLAS).
std::size_t cuda_linear_plans_without_algorithm(cuda_context& context);
}  // namespace detail

/// Number of CUDA devices visible to this process (0 without a driver or a GPU; never throws).
int cuda_device_count() noexcept;

/// CUDA backend whose tensors hold T: float, or bfloat16 (weights and activations in bf16,
/// products accumulated and statistics computed in float). Ops for it are declared in
/// backend/cuda/ops.hpp and found by argument-dependent lookup, exactly as the CPU backend's.
template <class T>
class cuda_t {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, bfloat16>, "the CUDA backend holds float or bfloat16");

 public:
  using value_type = T;
  /// Tensor memory lives on the device: read it through download().
  static constexpr bool host_memory = false;

  /// Runs on device `device`; float32 GEMMs are computed as `math` says (bf16 ones always on
  /// the tensor cores with float accumulation), with the `kernels` set.
  explicit cuda_t(int device = 0, cuda_math math = std::is_same_v<T, float> ? cuda_math::fp32 : cuda_math::tf32,
                  cuda_kernels kernels = default_cuda_kernels())
      : context_(detail::make_cuda_context(device, math, kernels)) {}

  /// Uninitialised device storage of `size` bytes (256-byte aligned), from the cache.
  [[nodiscard]] std::shared_ptr<void> allocate(std::size_t size) const { return detail::cuda_allocate(context_, size); }

  /// Blocks until queued work is done (timings, or before reading results another way).
  void synchronize() const { detail::cuda_synchronize(*context_); }

  /// Human-readable name ("cuda:0").
  [[nodiscard]] std::string name() const { return "cuda:" + std::to_string(detail::cuda_device(*context_)); }

  /// The GPU's own name.
  [[nodiscard]] std::string device_name() const { return detail::cuda_device_name(*context_); }

  /// The kernel set the ops use.
  [[nodiscard]] cuda_kernels kernels() const { return detail::cuda_kernel_set(*context_); }

  /// Device memory held by the cache, in bytes.
  [[nodiscard]] std::size_t cached_bytes() const { return detail::cuda_cached_bytes(*context_); }

  /// The context the ops run in.
  [[nodiscard]] detail::cuda_context& context() const noexcept { return *context_; }

 private:
  std::shared_ptr<detail::cuda_context> context_;
};

/// The float32 CUDA backend.
using cuda = cuda_t<float>;
/// The bfloat16 CUDA backend (train::adamw keeps float32 master weights and moments for it).
using cuda_bf16 = cuda_t<bfloat16>;

}  // namespace dnabert::backend
