// nccl_communicator (include/dnabert/backend/cuda/nccl.hpp): NCCL for device buffers, the
// bootstrap communicator for host ones, and a sum in rank order that does not depend on NCCL's
// reduction order.

#include <nccl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "common.cuh"
#include "dnabert/backend/cuda/nccl.hpp"

namespace dnabert::backend {

namespace {

void check_nccl(ncclResult_t status, const char* call) {
  if (status != ncclSuccess)
    throw error(std::string(call) + ": " + ncclGetErrorString(status) + " (a rank may have died; the job stops)");
}

// Whether `pointer` is device (or managed) memory, which NCCL can move.
bool on_device(const void* pointer) {
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, pointer) != cudaSuccess) {
    (void)cudaGetLastError();  // plain host memory on old runtimes: clear the error
    return false;
  }
  return attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged;
}

__device__ inline float widen(float x) { return x; }
__device__ inline float widen(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ inline double widen(double x) { return x; }

// out[i] = ((slices[0][i] + slices[1][i]) + slices[2][i]) + ..., added in float (double for
// double), stored as T.
template <class T>
__global__ void add_slices_in_rank_order(const T* slices, T* out, std::size_t slice, int ranks) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < slice;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    auto total = widen(slices[i]);
    for (int r = 1; r < ranks; ++r) total += widen(slices[static_cast<std::size_t>(r) * slice + i]);
    if constexpr (std::is_same_v<T, __nv_bfloat16>) out[i] = __float2bfloat16_rn(total);
    else out[i] = total;
  }
}

}  // namespace

struct nccl_communicator::state {
  parallel::communicator* bootstrap = nullptr;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int rank = 0;
  int size = 1;
  void* work = nullptr;      // the segment, padded to size × slice elements
  void* received = nullptr;  // every rank's slice of it
  std::size_t capacity = 0;  // bytes of each of the two buffers

  void reserve(std::size_t bytes) {
    if (bytes <= capacity) return;
    cudaFree(work);
    cudaFree(received);
    work = received = nullptr;
    capacity = 0;
    detail::check_cuda(cudaMalloc(&work, bytes), "cudaMalloc (NCCL sum)");
    detail::check_cuda(cudaMalloc(&received, bytes), "cudaMalloc (NCCL sum)");
    capacity = bytes;
  }
};

nccl_communicator::nccl_communicator(parallel::communicator& bootstrap, int device) : state_(std::make_unique<state>()) {
  state_->bootstrap = &bootstrap;
  state_->rank = bootstrap.rank();
  state_->size = bootstrap.size();
  ncclUniqueId id{};
  if (state_->rank == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  bootstrap.broadcast(&id, sizeof id, 0);
  detail::check_cuda(cudaSetDevice(device), "cudaSetDevice");
  detail::check_cuda(cudaStreamCreateWithFlags(&state_->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check_nccl(ncclCommInitRank(&state_->comm, state_->size, id, state_->rank), "ncclCommInitRank");
}

nccl_communicator::~nccl_communicator() {
  if (state_->comm != nullptr) ncclCommDestroy(state_->comm);
  cudaFree(state_->work);
  cudaFree(state_->received);
  if (state_->stream != nullptr) cudaStreamDestroy(state_->stream);
}

int nccl_communicator::rank() const noexcept { return state_->rank; }
int nccl_communicator::size() const noexcept { return state_->size; }

void nccl_communicator::sum_in_rank_order(void* data, std::size_t count, parallel::element_type type) {
  if (state_->size == 1 || count == 0) return;
  if (!on_device(data)) {
    state_->bootstrap->sum_in_rank_order(data, count, type);
    return;
  }
  const std::size_t width = parallel::element_size(type);
  const auto ranks = static_cast<std::size_t>(state_->size);
  constexpr std::size_t segment = std::size_t{1} << 24;  // elements per round: bounds the two work buffers
  // The gradients were written on the backend's stream: wait for them before NCCL reads.
  detail::check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize (before an NCCL sum)");
  for (std::size_t begin = 0; begin < count; begin += segment) {
    const std::size_t n = std::min(segment, count - begin);
    const std::size_t slice = (n + ranks - 1) / ranks;
    state_->reserve(ranks * slice * width);
    auto* segment_data = static_cast<std::byte*>(data) + begin * width;
    auto* work = static_cast<std::byte*>(state_->work);
    auto* received = static_cast<std::byte*>(state_->received);
    detail::check_cuda(cudaMemcpyAsync(work, segment_data, n * width, cudaMemcpyDeviceToDevice, state_->stream),
                       "cudaMemcpyAsync (NCCL sum)");
    check_nccl(ncclGroupStart(), "ncclGroupStart");
    for (std::size_t p = 0; p < ranks; ++p) {
      check_nccl(ncclSend(work + p * slice * width, slice * width, ncclUint8, static_cast<int>(p), state_->comm, state_->stream),
                 "ncclSend");
      check_nccl(ncclRecv(received + p * slice * width, slice * width, ncclUint8, static_cast<int>(p), state_->comm,
                          state_->stream),
                 "ncclRecv");
    }
    check_nccl(ncclGroupEnd(), "ncclGroupEnd");
    std::byte* own = work + static_cast<std::size_t>(state_->rank) * slice * width;
    const unsigned blocks = static_cast<unsigned>(std::min<std::size_t>((slice + 255) / 256, 4096));
    switch (type) {
      case parallel::element_type::float32:
        add_slices_in_rank_order<float><<<blocks, 256, 0, state_->stream>>>(
            reinterpret_cast<const float*>(received), reinterpret_cast<float*>(own), slice, state_->size);
        break;
      case parallel::element_type::float64:
        add_slices_in_rank_order<double><<<blocks, 256, 0, state_->stream>>>(
            reinterpret_cast<const double*>(received), reinterpret_cast<double*>(own), slice, state_->size);
        break;
      case parallel::element_type::bfloat16:
        add_slices_in_rank_order<__nv_bfloat16><<<blocks, 256, 0, state_->stream>>>(
            reinterpret_cast<const __nv_bfloat16*>(received), reinterpret_cast<__nv_bfloat16*>(own), slice, state_->size);
        break;
    }
    detail::check_launch("add_slices_in_rank_order");
    check_nccl(ncclAllGather(own, work, slice * width, ncclUint8, state_->comm, state_->stream), "ncclAllGather");
    detail::check_cuda(cudaMemcpyAsync(segment_data, work, n * width, cudaMemcpyDeviceToDevice, state_->stream),
                       "cudaMemcpyAsync (NCCL sum)");
  }
  detail::check_cuda(cudaStreamSynchronize(state_->stream), "cudaStreamSynchronize (NCCL sum)");
}

void nccl_communicator::broadcast(void* data, std::size_t bytes, int root) {
  if (!on_device(data)) {
    state_->bootstrap->broadcast(data, bytes, root);
    return;
  }
  detail::check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize (before an NCCL broadcast)");
  check_nccl(ncclBroadcast(data, data, bytes, ncclUint8, root, state_->comm, state_->stream), "ncclBroadcast");
  detail::check_cuda(cudaStreamSynchronize(state_->stream), "cudaStreamSynchronize (NCCL broadcast)");
}

void nccl_communicator::barrier() {
  detail::check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize (barrier)");
  state_->bootstrap->barrier();
}

std::vector<std::string> nccl_communicator::gather_to_rank_0(const std::string& bytes) {
  return state_->bootstrap->gather_to_rank_0(bytes);
}

}  // namespace dnabert::backend
