#pragma once
// Shared by the CUDA backend's translation units: the context's definition, error checks that
// throw dnabert::error naming the failed call, scratch buffers, warp and block reductions.

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "dnabert/backend/block_cache.hpp"
#include "dnabert/backend/cuda/backend.hpp"
#include "dnabert/backend/cuda/launch.hpp"
#include "dnabert/core/error.hpp"

namespace dnabert::backend::detail {

/// Throws dnabert::error("<call>: <CUDA's message>") unless `status` is cudaSuccess.
inline void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw error(std::string(call) + ": " + cudaGetErrorString(status));
}

/// Throws dnabert::error naming `call` and cuBLAS's status unless it succeeded.
inline void check_cublas(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS) throw error(std::string(call) + ": " + cublasGetStatusString(status));
}

/// Throws if the last kernel launch failed (bad configuration, no kernel image for this GPU).
inline void check_launch(const char* kernel) { check_cuda(cudaGetLastError(), kernel); }

/// A cuBLASLt matmul prepared for one shape: descriptors and the heuristic's algorithm.
struct lt_plan {
  cublasLtMatmulDesc_t operation = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algorithm{};
  bool found = false;  ///< false: cuBLASLt offers no algorithm, the caller falls back to cuBLAS

  lt_plan() = default;
  lt_plan(const lt_plan&) = delete;
  lt_plan& operator=(const lt_plan&) = delete;
  ~lt_plan() {
    if (d != nullptr) cublasLtMatrixLayoutDestroy(d);
    if (b != nullptr) cublasLtMatrixLayoutDestroy(b);
    if (a != nullptr) cublasLtMatrixLayoutDestroy(a);
    if (operation != nullptr) cublasLtMatmulDescDestroy(operation);
  }
};

/// cuBLASLt plans a context keeps at most.
inline constexpr std::size_t max_lt_plans = 512;

/// What a cuBLASLt plan depends on: element type (as cudaDataType_t), rows, in, out.
using lt_plan_key = std::tuple<int, std::int64_t, std::int64_t, std::int64_t>;

class cuda_context {
 public:
  cuda_context(int device, cuda_math math, cuda_kernels kernels) : device_(device), math_(math), kernels_(kernels) {
    check_cuda(cudaSetDevice(device), "cudaSetDevice");
    check_cuda(cudaGetDeviceProperties(&properties_, device), "cudaGetDeviceProperties");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check_cublas(cublasCreate(&blas_), "cublasCreate");
    check_cublas(cublasSetStream(blas_, stream_), "cublasSetStream");
    check_cublas(cublasSetMathMode(blas_, math == cuda_math::tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH),
                 "cublasSetMathMode");
    check_cublas(cublasLtCreate(&lt_), "cublasLtCreate");
  }
  cuda_context(const cuda_context&) = delete;
  cuda_context& operator=(const cuda_context&) = delete;
  ~cuda_context() {
    cudaStreamSynchronize(stream_);
    cache_.release([](void* p, std::size_t) { cudaFree(p); });
    plans_.clear();
    cublasLtDestroy(lt_);
    cublasDestroy(blas_);
    cudaStreamDestroy(stream_);
  }

  [[nodiscard]] int device() const noexcept { return device_; }
  [[nodiscard]] cudaStream_t stream() const noexcept { return stream_; }
  [[nodiscard]] cublasHandle_t blas() const noexcept { return blas_; }
  [[nodiscard]] const cudaDeviceProp& properties() const noexcept { return properties_; }
  /// How float32 GEMMs may use the tensor cores.
  [[nodiscard]] cuda_math math() const noexcept { return math_; }
  [[nodiscard]] cuda_kernels kernels() const noexcept { return kernels_; }
  /// Whether the ops take the opt-in fused kernels.
  [[nodiscard]] bool fused() const noexcept { return kernels_ == cuda_kernels::fused; }
  /// The cuBLASLt handle (dense layers with epilogues).
  [[nodiscard]] cublasLtHandle_t lt() const noexcept { return lt_; }
  /// cuBLASLt plans by shape, made once each (the heuristic query costs more than a small GEMM).
  [[nodiscard]] std::map<lt_plan_key, lt_plan>& lt_plans() noexcept { return plans_; }

  // Blocks are reused by size class (block_cache.hpp). Every op runs on the one stream, so a block handed back
  // while kernels still use it is only reused by work queued after them: no synchronisation.
  void* take(std::size_t bytes) {
    if (void* p = cache_.reuse(bytes)) return p;
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      cudaGetLastError();  // clear the error and retry once with the cache emptied
      cudaStreamSynchronize(stream_);
      cached_ -= cache_.release([](void* block, std::size_t) { cudaFree(block); });
      if (cudaMalloc(&p, bytes) != cudaSuccess) {
        cudaGetLastError();
        throw error("cudaMalloc: out of memory on cuda:" + std::to_string(device_) + " allocating " +
                    std::to_string(bytes) + " bytes (" + std::to_string(cached_ / (1 << 20)) + " MiB cached)");
      }
    }
    cached_ += bytes;
    return p;
  }

  void give_back(void* p, std::size_t bytes) { cache_.keep(p, bytes); }

  [[nodiscard]] std::size_t cached_bytes() const noexcept { return cached_; }

 private:
  int device_;
  cuda_math math_;
  cuda_kernels kernels_;
  cudaDeviceProp properties_{};
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  std::map<lt_plan_key, lt_plan> plans_;
  block_cache cache_;
  std::atomic<std::size_t> cached_ = 0;  // bytes held by this context, in use or cached
};

/// Scratch device memory for `count` elements of E, returned to the cache when it goes out of scope.
template <class E>
struct scratch {
  template <class T>
  scratch(cuda_t<T>& be, std::int64_t count) : storage(be.allocate(static_cast<std::size_t>(count) * sizeof(E))) {}
  [[nodiscard]] E* get() const noexcept { return static_cast<E*>(storage.get()); }
  std::shared_ptr<void> storage;
};

/// The element type kernels see for a backend element type: float, or CUDA's __nv_bfloat16 for
/// dnabert::bfloat16 (the same 16 bits).
template <class T>
struct device_element {
  using type = float;
};
template <>
struct device_element<bfloat16> {
  using type = __nv_bfloat16;
};
template <class T>
using device_t = typename device_element<T>::type;

/// A backend element pointer as the kernels' element pointer.
template <class T>
device_t<T>* device_ptr(T* p) {
  return reinterpret_cast<device_t<T>*>(p);
}
template <class T>
const device_t<T>* device_ptr(const T* p) {
  return reinterpret_cast<const device_t<T>*>(p);
}

/// An element as float (all arithmetic is in float).
__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

/// A float rounded to the element type D (nearest even for bf16).
template <class D>
__device__ inline D from_float(float x) {
  if constexpr (std::is_same_v<D, float>) return x;
  else return __float2bfloat16_rn(x);
}

/// cuBLAS's name of an element type.
template <class D>
inline constexpr cudaDataType_t blas_type = std::is_same_v<D, float> ? CUDA_R_32F : CUDA_R_16BF;

/// Blocks for n elements of an element-wise kernel.
inline unsigned grid_for(std::int64_t n) { return static_cast<unsigned>(cuda_launch::blocks_for(n)); }

/// Sum over a warp (every lane gets the total).
template <class T>
__device__ inline T warp_sum(T value) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

/// Maximum over a warp (every lane gets it).
__device__ inline float warp_max(float value) {
  for (int offset = 16; offset > 0; offset /= 2) value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}

/// Sum over a block of blockDim.x threads (a multiple of 32, at most 1024); every thread gets it.
template <class T>
__device__ inline T block_sum(T value) {
  __shared__ T partial[32];
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int warp = static_cast<int>(threadIdx.x) / 32;
  value = warp_sum(value);
  __syncthreads();  // partial may still be read by a previous call
  if (lane == 0) partial[warp] = value;
  __syncthreads();
  const int warps = static_cast<int>(blockDim.x) / 32;
  T total = lane < warps ? partial[lane] : T(0);
  return warp_sum(total);
}

/// Maximum over a block (as block_sum).
__device__ inline float block_max(float value) {
  __shared__ float partial[32];
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int warp = static_cast<int>(threadIdx.x) / 32;
  value = warp_max(value);
  __syncthreads();
  if (lane == 0) partial[warp] = value;
  __syncthreads();
  const int warps = static_cast<int>(blockDim.x) / 32;
  return warp_max(lane < warps ? partial[lane] : -INFINITY);
}

/// Grid-stride loop index type.
using index_t = long long;

// Runs f(i) for every i in [0, n) on the backend's stream.
template <class F>
__global__ void for_each_kernel(index_t n, F f) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    f(i);
}

template <class T, class F>
void for_each(cuda_t<T>& be, std::int64_t n, F f, const char* name) {
  if (n <= 0) return;
  for_each_kernel<<<grid_for(n), cuda_launch::block_threads, 0, be.context().stream()>>>(n, f);
  check_launch(name);
}

/// n elements copied from the device into a host vector (waits for the queued work).
template <class T, class E>
std::vector<E> to_host(cuda_t<T>& be, const E* device, std::int64_t n) {
  std::vector<E> host(static_cast<std::size_t>(n));
  download(be, device, host.data(), n);
  return host;
}

}  // namespace dnabert::backend::detail
