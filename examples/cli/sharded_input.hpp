#pragma once
// The chunks of an input spread over the ranks of an MPI job: chunk c is computed on rank
// c mod ranks, and rank 0 gets every chunk's result in input order, so that what it writes is
// what one process writes, byte for byte.

#include <string>

#include <dnabert/core/error.hpp>
#include <dnabert/parallel/ordered_work.hpp>

#include "input.hpp"
#include "job.hpp"

namespace dnabert::cli {

/// Calls compute(chunk), which returns the chunk's result as bytes, for the chunks of `path` (as
/// for_each_input_chunk reads them) on the job's ranks, and emit(bytes) on rank 0 for every
/// chunk, in input order. Every rank reads the whole input; a round of one chunk per rank is
/// gathered to rank 0 before the next. A table of pairs only when `pairs`.
template <class Compute, class Emit>
void for_each_input_chunk_on_ranks(const std::string& path, const io::chunk_limits& limits, Compute&& compute, Emit&& emit,
                                   bool pairs = false) {
  if (job().size() > 1 && path == "-")
    throw input_error("standard input reaches rank 0 only: in an MPI job give the input as a file");
  struct no_item {};  // the result bytes are all rank 0 needs
  const auto use = [&emit](no_item, const std::string& bytes) { emit(bytes); };
  parallel::ordered_work<no_item, decltype(use)> work(job(), use);
  for_each_input_chunk(
      path, limits, [&](const input_chunk& chunk) { work.add(no_item{}, [&](no_item) { return compute(chunk); }); }, pairs);
  work.finish();
}

}  // namespace dnabert::cli
