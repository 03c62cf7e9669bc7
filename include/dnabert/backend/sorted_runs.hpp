#pragma once
// The order both backends sum an embedding's gradient in, so that they agree bit for bit: the
// (id, position) pairs stable-sorted by id give one run of positions per id; each run is cut into
// chunks of chunk_rows positions, each chunk summed from zero in position order, and the chunk
// sums are added to the table row in chunk order, all in float (or wider) and rounded to the
// element type once. The chunks let a GPU sum a long run (the token-type run has a term for every
// row of the batch) with many threads and still in an order that depends on nothing but the ids.
// Host and device code; free of CUDA headers so that the CPU suite checks it.

#include <cstdint>

#include "dnabert/core/host_device.hpp"

namespace dnabert::backend::sorted_runs {

/// Positions summed one after the other before their sum joins the run's.
inline constexpr std::int64_t chunk_rows = 256;

/// Whether index i (0 <= i < n) of the sorted keys starts a run of equal keys.
template <class K>
DNABERT_HOST_DEVICE constexpr bool starts_run(const K* sorted, std::int64_t i) {
  return i == 0 || sorted[i] != sorted[i - 1];
}

/// The first index of the run that contains i (binary search: a thread of any position finds it).
template <class K>
DNABERT_HOST_DEVICE constexpr std::int64_t run_start(const K* sorted, std::int64_t i) {
  std::int64_t low = 0, high = i;  // sorted[high] == sorted[i]; the answer is in [low, high]
  while (low < high) {
    const std::int64_t middle = low + (high - low) / 2;
    if (sorted[middle] < sorted[i]) low = middle + 1;
    else high = middle;
  }
  return low;
}

/// One past the last index of the run that contains i (i < n).
template <class K>
DNABERT_HOST_DEVICE constexpr std::int64_t run_end(const K* sorted, std::int64_t n, std::int64_t i) {
  std::int64_t low = i + 1, high = n;  // the answer is in [low, high]
  while (low < high) {
    const std::int64_t middle = low + (high - low) / 2;
    if (sorted[i] < sorted[middle]) high = middle;
    else low = middle + 1;
  }
  return low;
}

/// Whether index i starts a chunk: its run's start plus a multiple of chunk_rows.
template <class K>
DNABERT_HOST_DEVICE constexpr bool starts_chunk(const K* sorted, std::int64_t i) {
  return (i - run_start(sorted, i)) % chunk_rows == 0;
}

/// Whether the run [start, end) has more than one chunk (its chunk sums are kept apart first).
DNABERT_HOST_DEVICE constexpr bool is_long(std::int64_t start, std::int64_t end) { return end - start > chunk_rows; }

/// How many chunk-sum slots partial_slot numbers for n sorted keys.
DNABERT_HOST_DEVICE constexpr std::int64_t partial_slots(std::int64_t n) {
  return 2 * ((n + chunk_rows - 1) / chunk_rows);
}

/// A slot of its own for the chunk starting at i in a long run. An aligned window of chunk_rows
/// indices meets at most two long runs, so it holds at most two of their chunk starts; when it
/// holds two, the later one starts its run and the earlier one does not.
template <class K>
DNABERT_HOST_DEVICE constexpr std::int64_t partial_slot(const K* sorted, std::int64_t i) {
  return 2 * (i / chunk_rows) + (starts_run(sorted, i) ? 1 : 0);
}

}  // namespace dnabert::backend::sorted_runs
