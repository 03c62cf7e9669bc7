// The MPI tests: every case under doctest_main.hpp's rules, in each rank of `mpirun -np 2`.
#include <memory>

#include "dnabert/parallel/mpi.hpp"
#include "doctest_main.hpp"

int main(int argc, char** argv) {
  std::unique_ptr<dnabert::parallel::mpi_session> mpi;
  if (dnabert::parallel::launched_by_mpi()) mpi = std::make_unique<dnabert::parallel::mpi_session>(argc, argv);
  return dnabert::test::run_test_cases(argc, argv);
}
