#pragma once
// dnabert::mpi (optional component, Debian's libopenmpi-dev): MPI as a communicator, for
// data-parallel training and sharded inference across processes and CPU nodes.
//
// The sum in rank order is a reduce-scatter then an all-gather, as a ring all-reduce moves data
// (each rank sends and receives about twice the buffer in all), but each rank adds its slice of
// every rank's buffer in rank order, so the result does not depend on MPI's reduction tree:
// the same bits on every rank, and the bits one process adding the same terms in order gets.
// It runs as non-blocking collectives, so a training step can sum one part of the model's
// gradients while backward computes the next.

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/core/half_float.hpp"
#include "dnabert/parallel/communicator.hpp"

namespace dnabert::parallel {

/// Whether an MPI launcher started this process (mpirun/mpiexec of Open MPI or MPICH, srun with
/// PMI or PMIx): the environment variables they set for their ranks.
inline bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

/// MPI for the life of the object: initialised (one thread calls MPI) unless something else
/// did, finalised at the end by whoever initialised it.
class mpi_session {
 public:
  /// Initialises MPI with the program's arguments.
  mpi_session(int& argc, char**& argv) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw error("MPI could not be initialised");
    owns_ = true;
  }
  mpi_session(const mpi_session&) = delete;
  mpi_session& operator=(const mpi_session&) = delete;
  ~mpi_session() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owns_ && !finalized) MPI_Finalize();
  }

  /// Ends every rank of the job with `status`: after an error on one rank the others would wait
  /// for it in their next collective forever.
  [[noreturn]] static void abort_job(int status) {
    MPI_Abort(MPI_COMM_WORLD, status);
    std::_Exit(status);
  }

 private:
  bool owns_ = false;
};

/// The ranks of an MPI communicator (a duplicate of MPI_COMM_WORLD by default, so that its
/// traffic never meets the caller's). Buffers are host memory.
class mpi_communicator final : public communicator {
 public:
  /// Elements summed per round: bounds the receive buffer (64 MiB of float) and keeps MPI's int
  /// counts in range.
  static constexpr std::size_t segment_elements = std::size_t{1} << 24;

  /// Duplicates `comm`; errors are returned (and thrown as dnabert::error), not fatal.
  explicit mpi_communicator(MPI_Comm comm = MPI_COMM_WORLD) {
    check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  mpi_communicator(const mpi_communicator&) = delete;
  mpi_communicator& operator=(const mpi_communicator&) = delete;
  ~mpi_communicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  [[nodiscard]] int rank() const noexcept override { return rank_; }
  [[nodiscard]] int size() const noexcept override { return size_; }
  [[nodiscard]] memory_space buffers() const noexcept override { return memory_space::host; }
  [[nodiscard]] std::string name() const override { return "MPI"; }
  using communicator::sum_in_rank_order;

  void sum_in_rank_order(void* data, std::size_t count, element_type type) override {
    segmented_sum(*this, static_cast<std::byte*>(data), count, type).wait();
  }

  std::unique_ptr<pending_sum> start_sum_in_rank_order(void* data, std::size_t count, element_type type) override {
    return std::make_unique<segmented_sum>(*this, static_cast<std::byte*>(data), count, type);
  }

  void broadcast(void* data, std::size_t bytes, int root) override {
    constexpr std::size_t piece = std::size_t{1} << 30;
    auto* at = static_cast<std::byte*>(data);
    for (std::size_t done = 0; done < bytes; done += piece)
      check(MPI_Bcast(at + done, static_cast<int>(std::min(piece, bytes - done)), MPI_BYTE, root, comm_), "MPI_Bcast");
  }

  void barrier() override { check(MPI_Barrier(comm_), "MPI_Barrier"); }

  std::vector<std::string> gather_to_rank_0(const std::string& bytes) override {
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw error("cannot gather " + std::to_string(bytes.size()) + " bytes from one rank (MPI counts are int): use smaller chunks");
    int size = static_cast<int>(bytes.size());
    std::vector<int> sizes(rank_ == 0 ? static_cast<std::size_t>(size_) : 0), offsets(sizes.size());
    check(MPI_Gather(&size, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, comm_), "MPI_Gather");
    std::vector<char> all;
    if (rank_ == 0) {
      std::size_t total = 0;
      for (std::size_t r = 0; r < sizes.size(); ++r) {
        offsets[r] = static_cast<int>(total);
        total += static_cast<std::size_t>(sizes[r]);
        if (total > static_cast<std::size_t>(std::numeric_limits<int>::max()))
          throw error("cannot gather more than 2 GiB on rank 0 at once: use smaller chunks");
      }
      all.resize(total);
    }
    check(MPI_Gatherv(bytes.data(), size, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, 0, comm_),
          "MPI_Gatherv");
    std::vector<std::string> parts;
    for (std::size_t r = 0; r < sizes.size(); ++r)
      parts.emplace_back(all.data() + offsets[r], static_cast<std::size_t>(sizes[r]));
    return parts;
  }

 private:
  // A sum in rank order as non-blocking collectives, segment after segment: MPI_Ialltoallv gives
  // each rank its slice of every rank's segment, the rank adds them in rank order, and
  // MPI_Iallgatherv shares the sums. Nothing starts before the first progress() or wait(): every
  // rank must start collectives in the same order, so the caller moves its sums on one at a time.
  class segmented_sum final : public pending_sum {
   public:
    segmented_sum(mpi_communicator& ranks, std::byte* data, std::size_t count, element_type type)
        : ranks_(&ranks), data_(data), count_(count), type_(type), width_(element_size(type)) {
      if (ranks.size_ == 1 || count == 0) stage_ = stage::done;
    }
    segmented_sum(const segmented_sum&) = delete;
    segmented_sum& operator=(const segmented_sum&) = delete;
    ~segmented_sum() override {
      if (stage_ == stage::exchanging || stage_ == stage::gathering)
        MPI_Wait(&request_, MPI_STATUS_IGNORE);  // a collective cannot be cancelled
    }

    bool progress() override { return advance(false); }
    void wait() override { advance(true); }

   private:
    enum class stage { waiting_to_start, exchanging, gathering, done };

    // Starts, then moves through the stages while MPI has finished the one in flight (waiting
    // for it when `block`); true once done.
    bool advance(bool block) {
      if (stage_ == stage::waiting_to_start) start_segment();
      while (stage_ != stage::done) {
        int finished = 0;
        if (block) check(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait");
        else check(MPI_Test(&request_, &finished, MPI_STATUS_IGNORE), "MPI_Test");
        if (!block && finished == 0) return false;
        if (stage_ == stage::exchanging) {
          add_slices();
          check(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, segment(), counts_.data(), offsets_.data(), MPI_BYTE,
                                ranks_->comm_, &request_),
                "MPI_Iallgatherv");
          stage_ = stage::gathering;
        } else if ((begin_ += n_) < count_) {
          start_segment();
        } else {
          stage_ = stage::done;
        }
      }
      return true;
    }

    [[nodiscard]] std::byte* segment() const { return data_ + begin_ * width_; }
    // Rank r owns elements [first(r), first(r + 1)) of the segment.
    [[nodiscard]] std::size_t first(int r) const { return n_ * static_cast<std::size_t>(r) / static_cast<std::size_t>(ranks_->size_); }

    void start_segment() {
      n_ = std::min(segment_elements, count_ - begin_);
      const auto ranks = static_cast<std::size_t>(ranks_->size_);
      mine_ = first(ranks_->rank_ + 1) - first(ranks_->rank_);
      counts_.resize(ranks);
      offsets_.resize(ranks);
      receive_counts_.assign(ranks, static_cast<int>(mine_ * width_));
      receive_offsets_.resize(ranks);
      for (std::size_t r = 0; r < ranks; ++r) {
        counts_[r] = static_cast<int>((first(static_cast<int>(r) + 1) - first(static_cast<int>(r))) * width_);
        offsets_[r] = static_cast<int>(first(static_cast<int>(r)) * width_);
        receive_offsets_[r] = static_cast<int>(r * mine_ * width_);
      }
      received_.resize(ranks * mine_ * width_);
      check(MPI_Ialltoallv(segment(), counts_.data(), offsets_.data(), MPI_BYTE, received_.data(), receive_counts_.data(),
                           receive_offsets_.data(), MPI_BYTE, ranks_->comm_, &request_),
            "MPI_Ialltoallv");
      stage_ = stage::exchanging;
    }

    void add_slices() {
      std::byte* slice = segment() + first(ranks_->rank_) * width_;
      switch (type_) {
        case element_type::float32: add_in_rank_order<float, float>(slice); break;
        case element_type::float64: add_in_rank_order<double, double>(slice); break;
        case element_type::bfloat16: add_in_rank_order<bfloat16, float>(slice); break;
      }
    }

    // slice[i] = ((rank 0's + rank 1's) + rank 2's) + ..., added in Sum, stored as T.
    template <class T, class Sum>
    void add_in_rank_order(std::byte* slice) const {
      const auto* parts = reinterpret_cast<const T*>(received_.data());
      auto* out = reinterpret_cast<T*>(slice);
      for (std::size_t i = 0; i < mine_; ++i) {
        Sum total = static_cast<Sum>(parts[i]);
        for (int r = 1; r < ranks_->size_; ++r) total += static_cast<Sum>(parts[static_cast<std::size_t>(r) * mine_ + i]);
        out[i] = static_cast<T>(total);
      }
    }

    mpi_communicator* ranks_;
    std::byte* data_;
    std::size_t count_;
    element_type type_;
    std::size_t width_;
    std::size_t begin_ = 0;  // the segment in flight: [begin_, begin_ + n_)
    std::size_t n_ = 0;
    std::size_t mine_ = 0;   // elements of the segment this rank adds
    std::vector<int> counts_, offsets_, receive_counts_, receive_offsets_;  // bytes, alive while MPI works
    std::vector<std::byte> received_;
    MPI_Request request_ = MPI_REQUEST_NULL;
    stage stage_ = stage::waiting_to_start;
  };

  static void check(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING] = {};
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw error(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)) +
                " (a rank may have died; the job stops)");
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace dnabert::parallel
