#pragma once
// The chunks of an input spread over the ranks of an MPI job: chunk c is computed on rank
// c mod ranks, and rank 0 gets every chunk's result in input order, so that what it writes is
// what one process writes, byte for byte.

#include <cstddef>
#include <string>
#include <utility>

#include <dnabert/core/error.hpp>

#include "input.hpp"
#include "job.hpp"

namespace dnabert::cli {

/// Calls compute(chunk), which returns the chunk's result as bytes, for the chunks of `path` (as
/// for_each_input_chunk reads them) on the job's ranks, and emit(bytes) on rank 0 for every
/// chunk, in input order. Every rank reads the whole input; a round of one chunk per rank is
/// gathered to rank 0 before the next.
template <class Compute, class Emit>
void for_each_input_chunk_on_ranks(const std::string& path, const io::chunk_limits& limits, Compute&& compute, Emit&& emit) {
  parallel::communicator& ranks = job();
  if (ranks.size() == 1) {
    for_each_input_chunk(path, limits, [&](const input_chunk& chunk) { emit(compute(chunk)); });
    return;
  }
  if (path == "-") throw input_error("standard input reaches rank 0 only: in an MPI job give the input as a file");
  const auto size = static_cast<std::size_t>(ranks.size());
  std::size_t chunks = 0;
  std::string mine;  // "1" and this rank's result in the round, or "0" when it had no chunk
  const auto gather_round = [&] {
    for (const std::string& part : ranks.gather_to_rank_0(mine.empty() ? std::string("0") : mine))
      if (part.front() == '1') emit(part.substr(1));
    mine.clear();
  };
  for_each_input_chunk(path, limits, [&](const input_chunk& chunk) {
    if (chunks % size == static_cast<std::size_t>(ranks.rank())) mine = "1" + compute(chunk);
    if (++chunks % size == 0) gather_round();
  });
  if (chunks % size != 0) gather_round();
}

}  // namespace dnabert::cli
