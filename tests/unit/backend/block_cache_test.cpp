// The allocators' size classes: every request fits, little is wasted, and nearby sizes share a
// class (so a training run whose sizes vary per batch reuses its blocks instead of hoarding them).
#include <doctest/doctest.h>

#include <cstddef>
#include <set>

#include "dnabert/backend/block_cache.hpp"
#include "dnabert/backend/cpu/backend.hpp"

namespace backend_block_cache_test {

using dnabert::backend::block_cache;

TEST_CASE("block cache: size classes fit the request, stay aligned and waste at most 12.5 %") {
  std::size_t previous = 0;
  for (std::size_t bytes = 1; bytes < (std::size_t{1} << 22); bytes += 1 + bytes / 97) {
    const std::size_t size = block_cache::size_class(bytes, 64);
    CHECK(size >= bytes);
    CHECK(size % 64 == 0);
    CHECK(size >= previous);  // monotonic
    CHECK(static_cast<double>(size) <= static_cast<double>(bytes) * 1.125 + 64);
    previous = size;
  }
  CHECK(block_cache::size_class(0, 64) == 0);
  CHECK(block_cache::size_class(1, 256) == 256);
  CHECK(block_cache::size_class(512, 64) == 512);  // up to 8 alignments: exact multiples
  CHECK(block_cache::size_class(513, 64) == 576);
  CHECK(block_cache::size_class(1000, 64) == 1024);
  CHECK(block_cache::size_class(1100, 64) == 1152);  // 1/8 of 1024 steps above 1024
}

TEST_CASE("block cache: sizes that vary per batch fall into few classes") {
  std::set<std::size_t> classes;
  // A masked-LM head's logits: (masked rows) x 4101 floats for every row count of a run.
  for (std::size_t rows = 1; rows <= 4000; ++rows) classes.insert(block_cache::size_class(rows * 4101 * 4, 64));
  CHECK(classes.size() < 120);  // exact sizes would be 4000 distinct blocks kept alive
}

TEST_CASE("block cache: a freed block serves the next request of its class") {
  dnabert::backend::cpu cpu(1);
  void* first = nullptr;
  {
    const auto block = cpu.allocate(1000);
    first = block.get();
  }
  const auto again = cpu.allocate(1010);  // same class (1024 bytes)
  CHECK(again.get() == first);
  const auto other = cpu.allocate(2000);  // another class: a new block
  CHECK(other.get() != first);
}

}  // namespace backend_block_cache_test
