// The CUDA embedding backward's run logic (backend/cuda/sorted_runs.hpp), checked on the CPU:
// run starts and ends against brute force, and the whole algorithm (stable sort of (id,
// position), then each run's rows added in position order) executed here gives the CPU backend's
// embedding_backward bit for bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "dnabert/backend/cpu/ops.hpp"
#include "dnabert/backend/cuda/sorted_runs.hpp"

namespace {

namespace runs = dnabert::backend::sorted_runs;

// Every (start, end) of equal keys, found by the header's functions as the kernel uses them.
std::vector<std::pair<std::int64_t, std::int64_t>> runs_found(const std::vector<std::int32_t>& sorted) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  const auto n = static_cast<std::int64_t>(sorted.size());
  for (std::int64_t i = 0; i < n; ++i)
    if (runs::starts_run(sorted.data(), i)) out.emplace_back(i, runs::run_end(sorted.data(), n, i));
  return out;
}

// Brute force: a run is a maximal [start, end) of equal values, found by comparing with both ends.
std::vector<std::pair<std::int64_t, std::int64_t>> runs_brute_force(const std::vector<std::int32_t>& sorted) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  const auto n = static_cast<std::int64_t>(sorted.size());
  for (std::int64_t a = 0; a < n; ++a)
    for (std::int64_t b = a + 1; b <= n; ++b) {
      bool equal = true;
      for (std::int64_t k = a; k < b; ++k) equal = equal && sorted[static_cast<std::size_t>(k)] == sorted[static_cast<std::size_t>(a)];
      const bool maximal = (a == 0 || sorted[static_cast<std::size_t>(a - 1)] != sorted[static_cast<std::size_t>(a)]) &&
                           (b == n || sorted[static_cast<std::size_t>(b)] != sorted[static_cast<std::size_t>(a)]);
      if (equal && maximal) out.emplace_back(a, b);
    }
  return out;
}

std::vector<std::int32_t> random_ids(std::size_t n, std::int32_t vocab, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::int32_t> id(0, vocab - 1);
  std::vector<std::int32_t> ids(n);
  for (auto& x : ids) x = id(rng);
  return ids;
}

}  // namespace

TEST_CASE("sorted runs: starts and ends match brute force (random, all equal, all distinct, empty)") {
  std::vector<std::vector<std::int32_t>> cases = {{}, {7}, std::vector<std::int32_t>(40, 3), {}, {0, 0, 1, 5, 5, 5, 9}};
  cases[3].resize(40);
  std::iota(cases[3].begin(), cases[3].end(), 0);  // all distinct
  for (std::uint32_t seed = 1; seed <= 50; ++seed)
    cases.push_back(random_ids(seed % 37, static_cast<std::int32_t>(1 + seed % 9), seed));
  for (auto& ids : cases) {
    std::sort(ids.begin(), ids.end());
    CHECK(runs_found(ids) == runs_brute_force(ids));
  }
  CHECK(runs_found({}).empty());
  CHECK(runs_found(std::vector<std::int32_t>(40, 3)) == std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 40}});
  CHECK(runs_found(cases[3]).size() == 40);
}

TEST_CASE("sorted runs: the CUDA embedding backward's order gives the CPU backend's bits") {
  // Host replay of the kernel: stable sort (id, position) by id, then per run and column start
  // from dtable's value and add the run's rows in position order, one float rounding per add.
  const std::int64_t width = 13;
  dnabert::backend::cpu cpu(1);
  for (const auto& ids : {random_ids(300, 7, 1), random_ids(300, 300, 2), std::vector<std::int32_t>(300, 4),
                          std::vector<std::int32_t>{}}) {
    const auto n = static_cast<std::int64_t>(ids.size());
    const std::int64_t vocab = 300;
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> value(-1, 1);
    std::vector<float> dout(static_cast<std::size_t>(n * width)), table(static_cast<std::size_t>(vocab * width));
    for (auto& x : dout) x = value(rng);
    for (auto& x : table) x = value(rng);

    std::vector<std::int32_t> order(ids.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
      return ids[static_cast<std::size_t>(a)] < ids[static_cast<std::size_t>(b)];
    });
    std::vector<std::int32_t> keys(ids.size());
    for (std::size_t k = 0; k < keys.size(); ++k) keys[k] = ids[static_cast<std::size_t>(order[k])];

    // `backwards` adds each run's rows last position first: a different order, to show the
    // comparison notices the order at all.
    const auto replay = [&](bool backwards) {
      auto out = table;
      for (std::int64_t start = 0; start < n; ++start) {
        if (!runs::starts_run(keys.data(), start)) continue;
        const std::int64_t end = runs::run_end(keys.data(), n, start);
        for (std::int64_t column = 0; column < width; ++column) {
          float& slot = out[static_cast<std::size_t>(keys[static_cast<std::size_t>(start)] * width + column)];
          float sum = slot;
          for (std::int64_t step = 0; step < end - start; ++step) {
            const std::int64_t k = backwards ? end - 1 - step : start + step;
            sum = sum + dout[static_cast<std::size_t>(order[static_cast<std::size_t>(k)] * width + column)];
          }
          slot = sum;
        }
      }
      return out;
    };
    auto want = table;
    embedding_backward(cpu, ids.data(), n, dout.data(), width, want.data());
    const auto bytes = want.size() * sizeof(float);
    CHECK(std::memcmp(replay(false).data(), want.data(), bytes) == 0);
    if (n > 0 && n >= 4 * static_cast<std::int64_t>(runs_found(keys).size()))  // long runs
      CHECK(std::memcmp(replay(true).data(), want.data(), bytes) != 0);
  }
}
