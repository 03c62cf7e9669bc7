#pragma once
// Runs of equal keys in a sorted array, for host and device code: the CUDA embedding backward
// sorts the ids, then one thread per (run start, column) sums that run's rows. Kept free of CUDA
// headers so that the CPU test suite checks it.

#include <cstdint>

#include "dnabert/core/host_device.hpp"

namespace dnabert::backend::sorted_runs {

/// Whether index i (0 <= i < n) of the sorted keys starts a run of equal keys.
template <class K>
DNABERT_HOST_DEVICE constexpr bool starts_run(const K* sorted, std::int64_t i) {
  return i == 0 || sorted[i] != sorted[i - 1];
}

/// One past the last index of the run that contains `start` (start < n).
template <class K>
DNABERT_HOST_DEVICE constexpr std::int64_t run_end(const K* sorted, std::int64_t n, std::int64_t start) {
  std::int64_t end = start + 1;
  while (end < n && sorted[end] == sorted[start]) ++end;
  return end;
}

}  // namespace dnabert::backend::sorted_runs
