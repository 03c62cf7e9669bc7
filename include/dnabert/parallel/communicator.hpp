#pragma once
// The processes of a data-parallel job, and the few collectives training needs from them: a sum
// in rank order (the same bits on every rank, and the bits one process summing the same terms in
// the same order gets), a broadcast and a barrier. Implementations: single_process (here),
// dnabert::parallel::mpi_communicator (parallel/mpi.hpp, component dnabert::mpi) and
// dnabert::backend::nccl_communicator (backend/cuda/nccl.hpp, inside dnabert::cuda). The training
// loop and the layers see only this interface.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "dnabert/core/half_float.hpp"

namespace dnabert::parallel {

/// Element types a communicator sums.
enum class element_type { float32, float64, bfloat16 };

/// The element_type of T.
template <class T>
constexpr element_type element_type_of() {
  if constexpr (std::is_same_v<T, float>) return element_type::float32;
  else if constexpr (std::is_same_v<T, double>) return element_type::float64;
  else {
    static_assert(std::is_same_v<T, bfloat16>, "a communicator sums float, double or bfloat16");
    return element_type::bfloat16;
  }
}

/// Bytes of one element of `type`.
constexpr std::size_t element_size(element_type type) {
  return type == element_type::float64 ? 8 : type == element_type::float32 ? 4 : 2;
}

/// Where a communicator's buffers live.
enum class memory_space { host, device };

/// A sum in rank order in flight (communicator::start_sum_in_rank_order): its buffer must not be
/// touched until it is complete.
class pending_sum {
 public:
  virtual ~pending_sum() = default;
  /// Moves the sum on without blocking; true once it is complete.
  virtual bool progress() = 0;
  /// Blocks until the sum is complete.
  virtual void wait() = 0;
};

/// A sum that was complete when it was started.
class completed_sum final : public pending_sum {
 public:
  bool progress() override { return true; }
  void wait() override {}
};

/// The ranks of one job and their collectives. Every rank calls the same collectives in the same
/// order with the same counts; a failure throws dnabert::error naming the collective.
class communicator {
 public:
  virtual ~communicator() = default;
  /// This process's rank, 0 .. size() - 1.
  [[nodiscard]] virtual int rank() const noexcept = 0;
  /// Number of ranks.
  [[nodiscard]] virtual int size() const noexcept = 0;
  /// Where the buffers given to the collectives must be (host memory or the device's).
  [[nodiscard]] virtual memory_space buffers() const noexcept = 0;
  /// What it runs on, for messages ("MPI", "NCCL", "one process").
  [[nodiscard]] virtual std::string name() const = 0;
  /// Replaces `count` elements at `data`, on every rank, by their sum over the ranks taken in
  /// rank order, ((x0 + x1) + x2) + ... (bfloat16: summed in float, rounded once).
  virtual void sum_in_rank_order(void* data, std::size_t count, element_type type) = 0;
  /// sum_in_rank_order as a pending sum, run by its progress() and wait() where the transport
  /// allows (MPI's non-blocking collectives), else done at once. Every rank starts the same sums
  /// in the same order and moves them on one at a time, in that order: a sum's progress() only
  /// once the sums before it are complete.
  virtual std::unique_ptr<pending_sum> start_sum_in_rank_order(void* data, std::size_t count, element_type type) {
    sum_in_rank_order(data, count, type);
    return std::make_unique<completed_sum>();
  }
  /// Copies `bytes` at `data` on rank `root` to `data` on every other rank.
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  /// Returns once every rank has called it.
  virtual void barrier() = 0;
  /// Every rank's `bytes`, in rank order, on rank 0 (an empty list on the others).
  virtual std::vector<std::string> gather_to_rank_0(const std::string& bytes) = 0;

  /// Whether this rank writes the job's files (checkpoints, logs, outputs): rank 0.
  [[nodiscard]] bool writes_files() const noexcept { return rank() == 0; }

  /// sum_in_rank_order for a typed buffer.
  template <class T>
  void sum_in_rank_order(T* data, std::size_t count) {
    sum_in_rank_order(static_cast<void*>(data), count, element_type_of<T>());
  }

  /// Whether `flag` is true on any rank (host memory).
  bool any(bool flag) {
    double count = flag ? 1.0 : 0.0;
    if (size() > 1) sum_in_rank_order(&count, 1);
    return count > 0;
  }
};

/// A job of one process: every collective leaves its buffers as they are.
class single_process final : public communicator {
 public:
  [[nodiscard]] int rank() const noexcept override { return 0; }
  [[nodiscard]] int size() const noexcept override { return 1; }
  [[nodiscard]] memory_space buffers() const noexcept override { return memory_space::host; }
  [[nodiscard]] std::string name() const override { return "one process"; }
  void sum_in_rank_order(void*, std::size_t, element_type) override {}
  void broadcast(void*, std::size_t, int) override {}
  void barrier() override {}
  std::vector<std::string> gather_to_rank_0(const std::string& bytes) override { return {bytes}; }
  using communicator::sum_in_rank_order;
};

/// The communicator of a run given none: one process.
inline communicator& one_process() {
  static single_process only;
  return only;
}

}  // namespace dnabert::parallel
