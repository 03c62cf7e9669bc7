#pragma once
// The processes a command runs in: one, or the ranks of an MPI job (`mpirun -np N dnabert ...`
// or `srun`, when the program was built with the dnabert::mpi component). Only rank 0 writes
// files and talks to the user; an error on any rank ends every rank.

#include <algorithm>
#include <array>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "dnabert/core/error.hpp"
#include "dnabert/parallel/communicator.hpp"
#ifdef DNABERT_WITH_MPI
#include "dnabert/parallel/mpi.hpp"
#endif

namespace dnabert::cli {

namespace detail {
inline parallel::communicator*& job_ranks() {
  static parallel::communicator* ranks = nullptr;
  return ranks;
}
}  // namespace detail

/// The ranks this invocation runs as (one process unless an MPI launcher started it).
inline parallel::communicator& job() {
  parallel::communicator* ranks = detail::job_ranks();
  return ranks != nullptr ? *ranks : parallel::one_process();
}

/// This rank's number among the ranks on its node (Open MPI, MPICH or SLURM), 0 outside a job:
/// the GPU it takes.
inline int local_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return std::atoi(value);
  return 0;
}

/// Whether this process talks to the user and writes the outputs: always, but on ranks other than 0.
inline bool leads_job() { return job().writes_files(); }

/// Refuses, in an MPI job of several ranks, a command that does not share its work over them
/// (every rank would do all of it and write the same files).
inline void check_command_shares_work(std::string_view command) {
  constexpr std::array<std::string_view, 6> sharing{"pretrain", "finetune", "predict", "embed", "scan", "variants"};
  if (job().size() == 1 || command.empty() || command.starts_with('-')) return;
  if (std::find(sharing.begin(), sharing.end(), command) == sharing.end())
    throw input_error(std::string(command) + " runs in one process: start it without mpirun (pretrain, finetune, predict, "
                      "embed, scan and variants --vcf share their work over MPI ranks)");
}

/// The job for main()'s lifetime: MPI initialised and its world's ranks when an MPI launcher
/// started the program (and it was built with dnabert::mpi), else one process.
class job_scope {
 public:
  /// Joins the MPI job this process was launched into, if any.
  job_scope([[maybe_unused]] int& argc, [[maybe_unused]] char**& argv) {
#ifdef DNABERT_WITH_MPI
    if (parallel::launched_by_mpi()) {
      session_ = std::make_unique<parallel::mpi_session>(argc, argv);
      world_ = std::make_unique<parallel::mpi_communicator>();
      detail::job_ranks() = world_.get();
      if (world_->rank() != 0) standard_output_ = std::cout.rdbuf(nullptr);  // rank 0 prints the job's results
    }
#endif
  }
  job_scope(const job_scope&) = delete;
  job_scope& operator=(const job_scope&) = delete;
  ~job_scope() {
    if (standard_output_ != nullptr) std::cout.rdbuf(standard_output_);
    detail::job_ranks() = nullptr;
  }

  /// main()'s exit status `status` after an error: with several ranks a failure ends the whole job now
  /// (the others would wait for this one forever), after saying which rank failed.
  int failed(int status) const {
#ifdef DNABERT_WITH_MPI
    if (status != 0 && world_ && world_->size() > 1) {
      std::cerr << "dnabert: rank " << world_->rank() << " of " << world_->size() << " failed; ending the job\n";
      std::cerr.flush();
      parallel::mpi_session::abort_job(status);
    }
#endif
    return status;
  }

 private:
  std::streambuf* standard_output_ = nullptr;  // a rank other than 0: std::cout's, while it is muted
#ifdef DNABERT_WITH_MPI
  std::unique_ptr<parallel::mpi_session> session_;       // before world_: finalised after it is freed
  std::unique_ptr<parallel::mpi_communicator> world_;
#endif
};

}  // namespace dnabert::cli
