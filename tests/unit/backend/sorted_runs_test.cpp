// The embedding gradient's sum order (backend/sorted_runs.hpp), checked on the CPU: run starts
// and ends against brute force, every chunk of a long run gets a slot of its own, and the CUDA
// kernels' two passes replayed here give the CPU backend's embedding_backward bit for bit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "dnabert/backend/cpu/ops.hpp"
#include "dnabert/backend/sorted_runs.hpp"

namespace backend_sorted_runs_test {

namespace {

namespace runs = dnabert::backend::sorted_runs;

// Every (start, end) of equal keys, found by the header's functions as the kernel uses them.
std::vector<std::pair<std::int64_t, std::int64_t>> runs_found(const std::vector<std::int32_t>& sorted) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  const auto n = static_cast<std::int64_t>(sorted.size());
  for (std::int64_t i = 0; i < n; ++i)
    if (runs::starts_run(sorted.data(), i)) {
      out.emplace_back(i, runs::run_end(sorted.data(), n, i));
      for (std::int64_t k = i; k < out.back().second; ++k)  // every index of the run finds both ends
        if (runs::run_start(sorted.data(), k) != i || runs::run_end(sorted.data(), n, k) != out.back().second) return {};
    }
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

TEST_CASE("sorted runs: each chunk of a long run has a slot no other chunk has") {
  const std::int64_t c = runs::chunk_rows;
  // Runs just longer than a chunk, back to back, so that windows hold the end of one and the
  // start of the next; then random lengths around the chunk size.
  std::vector<std::vector<std::int32_t>> cases;
  for (const std::int64_t length : {c + 1, c + 2, 2 * c - 1, 2 * c + 1, 3 * c}) {
    std::vector<std::int32_t> ids;
    for (std::int32_t id = 0; id < 7; ++id) ids.insert(ids.end(), static_cast<std::size_t>(length + id), id);
    cases.push_back(ids);
  }
  std::mt19937 rng(5);
  std::uniform_int_distribution<std::int64_t> length(1, 3 * c);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::int32_t> ids;
    for (std::int32_t id = 0; id < 12; ++id) ids.insert(ids.end(), static_cast<std::size_t>(length(rng)), id);
    cases.push_back(ids);
  }
  for (const auto& ids : cases) {
    const auto n = static_cast<std::int64_t>(ids.size());
    std::vector<int> used(static_cast<std::size_t>(runs::partial_slots(n)), 0);
    std::int64_t chunks = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t start = runs::run_start(ids.data(), i), end = runs::run_end(ids.data(), n, i);
      CHECK(runs::starts_chunk(ids.data(), i) == ((i - start) % c == 0));
      if (!runs::starts_chunk(ids.data(), i)) continue;
      ++chunks;
      if (!runs::is_long(start, end)) continue;
      const std::int64_t slot = runs::partial_slot(ids.data(), i);
      REQUIRE(slot >= 0);
      REQUIRE(slot < runs::partial_slots(n));
      ++used[static_cast<std::size_t>(slot)];
    }
    CHECK(std::ranges::all_of(used, [](int uses) { return uses <= 1; }));
    std::int64_t want = 0;  // ceil(length / c) chunks per run
    for (const auto& [start, end] : runs_found(ids)) want += (end - start + c - 1) / c;
    CHECK(chunks == want);
  }
}

TEST_CASE("sorted runs: the CUDA embedding backward's order gives the CPU backend's bits") {
  // Host replay of the two kernels: stable sort (id, position) by id; per chunk and column a sum
  // from zero in position order; a one-chunk run added to dtable's value at once, a longer one
  // through its slots in chunk order.
  const std::int64_t width = 13, vocab = 300;
  dnabert::backend::cpu cpu(1);
  for (const auto& ids : {random_ids(300, 7, 1), random_ids(3000, 3, 3), random_ids(300, 300, 2),
                          std::vector<std::int32_t>(1000, 4), std::vector<std::int32_t>{}}) {
    const auto n = static_cast<std::int64_t>(ids.size());
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
    const auto row = [&](std::int64_t k, std::int64_t column) {
      return dout[static_cast<std::size_t>(order[static_cast<std::size_t>(k)] * width + column)];
    };

    // `serial` adds every row of a run to the table one after the other, no chunks: a different
    // order, to show the comparison notices the order at all.
    const auto replay = [&](bool serial) {
      auto out = table;
      std::vector<float> partial(static_cast<std::size_t>(runs::partial_slots(n) * width));
      for (std::int64_t k = 0; k < n; ++k) {  // the chunk pass
        if (!runs::starts_chunk(keys.data(), k)) continue;
        const std::int64_t end = runs::run_end(keys.data(), n, k);
        for (std::int64_t column = 0; column < width; ++column) {
          float& slot = out[static_cast<std::size_t>(keys[static_cast<std::size_t>(k)] * width + column)];
          if (serial) {
            if (!runs::starts_run(keys.data(), k)) continue;
            for (std::int64_t r = k; r < end; ++r) slot = slot + row(r, column);
            continue;
          }
          float sum = 0.0f;
          for (std::int64_t r = k; r < std::min(end, k + runs::chunk_rows); ++r) sum = sum + row(r, column);
          if (runs::is_long(runs::run_start(keys.data(), k), end))
            partial[static_cast<std::size_t>(runs::partial_slot(keys.data(), k) * width + column)] = sum;
          else
            slot = slot + sum;
        }
      }
      for (std::int64_t k = 0; k < n && !serial; ++k) {  // the long-run pass
        const std::int64_t end = runs::run_end(keys.data(), n, k);
        if (!runs::starts_run(keys.data(), k) || !runs::is_long(k, end)) continue;
        for (std::int64_t column = 0; column < width; ++column) {
          float& slot = out[static_cast<std::size_t>(keys[static_cast<std::size_t>(k)] * width + column)];
          float sum = slot;
          for (std::int64_t c = k; c < end; c += runs::chunk_rows)
            sum = sum + partial[static_cast<std::size_t>(runs::partial_slot(keys.data(), c) * width + column)];
          slot = sum;
        }
      }
      return out;
    };
    auto want = table;
    embedding_backward(cpu, ids.data(), n, dout.data(), width, want.data(), vocab);
    const auto bytes = want.size() * sizeof(float);
    CHECK(std::memcmp(replay(false).data(), want.data(), bytes) == 0);
    if (n > 0 && n >= 4 * static_cast<std::int64_t>(runs_found(keys).size()))  // long runs
      CHECK(std::memcmp(replay(true).data(), want.data(), bytes) != 0);
  }
}

TEST_CASE("embedding backward: an id outside the table throws, naming it") {
  dnabert::backend::cpu cpu(1);
  const std::vector<std::int32_t> ids{0, 5};
  const std::vector<float> dout(4, 1.0f);
  std::vector<float> table(10, 0.0f);
  CHECK_THROWS_WITH_AS(embedding_backward(cpu, ids.data(), 2, dout.data(), 2, table.data(), 5),
                       doctest::Contains("id 5 outside a table of 5 rows"), std::out_of_range);
}

}  // namespace backend_sorted_runs_test
