#pragma once
// NCCL as a communicator for data-parallel training on GPUs, one GPU per rank (built into
// dnabert::cuda where the CUDA toolkit has NCCL; DNABERT_WITH_NCCL is then defined). Plain C++:
// nccl.h is included only by src/cuda/nccl.cu.
//
// It is bootstrapped over a host communicator (MPI): rank 0 makes NCCL's unique id and the
// bootstrap broadcasts it. Device buffers go over NCCL; host buffers (the loop's loss and token
// counts, stop requests) and gathers of bytes go over the bootstrap. The sum in rank order is
// the MPI communicator's recipe on the device: each rank receives its slice of every rank's
// buffer (grouped ncclSend/ncclRecv), adds them in rank order in a kernel, and ncclAllGather
// shares the sums, so the result does not depend on NCCL's ring or tree.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "dnabert/parallel/communicator.hpp"

namespace dnabert::backend {

/// The ranks of `bootstrap`, each on its own GPU, joined over NCCL.
class nccl_communicator final : public parallel::communicator {
 public:
  /// Joins every rank of `bootstrap` (which must outlive this) on CUDA device `device`
  /// (conventionally the rank's local rank on its node); throws dnabert::error naming the failed call.
  nccl_communicator(parallel::communicator& bootstrap, int device);
  nccl_communicator(const nccl_communicator&) = delete;
  nccl_communicator& operator=(const nccl_communicator&) = delete;
  ~nccl_communicator() override;

  [[nodiscard]] int rank() const noexcept override;
  [[nodiscard]] int size() const noexcept override;
  [[nodiscard]] parallel::memory_space buffers() const noexcept override { return parallel::memory_space::device; }
  [[nodiscard]] std::string name() const override { return "NCCL"; }
  using communicator::sum_in_rank_order;
  void sum_in_rank_order(void* data, std::size_t count, parallel::element_type type) override;
  void broadcast(void* data, std::size_t bytes, int root) override;
  void barrier() override;
  std::vector<std::string> gather_to_rank_0(const std::string& bytes) override;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace dnabert::backend
