// The CUDA backend's context: creation, the caching allocator's entry points, byte copies and
// the GEMM, each CUDA/cuBLAS failure turned into dnabert::error.
#include "common.cuh"
#include "dnabert/backend/cuda/ops.hpp"

namespace dnabert::backend {

int cuda_device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

namespace detail {

std::shared_ptr<cuda_context> make_cuda_context(int device, cuda_math math, cuda_kernels kernels) {
  const int count = cuda_device_count();
  if (device < 0 || device >= count)
    throw error("cuda:" + std::to_string(device) + " requested but " + std::to_string(count) +
                " CUDA device(s) are visible");
  return std::make_shared<cuda_context>(device, math, kernels);
}

std::shared_ptr<void> cuda_allocate(const std::shared_ptr<cuda_context>& context, std::size_t bytes) {
  const std::size_t rounded = block_cache::size_class(bytes, 256);
  if (rounded == 0) return {};
  return {context->take(rounded), [context, rounded](void* p) { context->give_back(p, rounded); }};
}

void cuda_synchronize(cuda_context& context) { check_cuda(cudaStreamSynchronize(context.stream()), "cudaStreamSynchronize"); }

int cuda_device(const cuda_context& context) { return context.device(); }

std::string cuda_device_name(const cuda_context& context) { return context.properties().name; }

cuda_kernels cuda_kernel_set(const cuda_context& context) { return context.kernels(); }

std::size_t cuda_cached_bytes(const cuda_context& context) { return context.cached_bytes(); }

std::size_t cuda_linear_plans(cuda_context& context) { return context.lt_plans().size(); }

std::size_t cuda_linear_plans_without_algorithm(cuda_context& context) {
  std::size_t count = 0;
  for (const auto& [key, plan] : context.lt_plans()) count += plan.found ? 0 : 1;
  return count;
}

void cuda_zero_bytes(cuda_context& context, void* dst, std::size_t bytes) {
  check_cuda(cudaMemsetAsync(dst, 0, bytes, context.stream()), "cudaMemsetAsync");
}

void cuda_copy_bytes(cuda_context& context, const void* src, void* dst, std::size_t bytes, cuda_copy_kind kind) {
  cudaStream_t stream = context.stream();
  switch (kind) {
    case cuda_copy_kind::host_to_device:
      // From pageable memory the call returns once the bytes are staged: src may be freed after.
      check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync (host to device)");
      return;
    case cuda_copy_kind::device_to_host:
      check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync (device to host)");
      check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
      return;
    case cuda_copy_kind::device_to_device:
      check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync (device to device)");
      return;
  }
}

}  // namespace detail

template <class T>
void gemm(cuda_t<T>& be, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
          const T* a, const T* b, T beta, T* c) {
  if (m == 0 || n == 0) return;
  const auto g = cuda_launch::to_column_major(trans_a, trans_b, m, n, k, cuda_launch::contiguous_ld(trans_a, m, k),
                                              cuda_launch::contiguous_ld(trans_b, k, n), n);
  const cublasOperation_t first = g.transpose_first ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t second = g.transpose_second ? CUBLAS_OP_T : CUBLAS_OP_N;
  const float alpha_f = static_cast<float>(alpha);
  const float beta_f = static_cast<float>(beta);
  if constexpr (std::is_same_v<T, float>) {
    detail::check_cublas(cublasSgemm(be.context().blas(), first, second, static_cast<int>(g.rows), static_cast<int>(g.cols),
                                     static_cast<int>(g.depth), &alpha_f, b, static_cast<int>(g.ld_first), a,
                                     static_cast<int>(g.ld_second), &beta_f, c, static_cast<int>(g.ld_result)),
                         "cublasSgemm");
  } else {
    constexpr cudaDataType_t type = detail::blas_type<detail::device_t<T>>;
    detail::check_cublas(cublasGemmEx(be.context().blas(), first, second, static_cast<int>(g.rows), static_cast<int>(g.cols),
                                      static_cast<int>(g.depth), &alpha_f, b, type, static_cast<int>(g.ld_first), a, type,
                                      static_cast<int>(g.ld_second), &beta_f, c, type, static_cast<int>(g.ld_result),
                                      CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                         "cublasGemmEx (bf16)");
  }
}

template void gemm<float>(cuda_t<float>&, bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*,
                          const float*, float, float*);
template void gemm<bfloat16>(cuda_t<bfloat16>&, bool, bool, std::int64_t, std::int64_t, std::int64_t, bfloat16,
                             const bfloat16*, const bfloat16*, bfloat16, bfloat16*);

}  // namespace dnabert::backend
