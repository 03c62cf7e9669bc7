// The dropout stream (core/rng.hpp): Philox4x32-10 against Random123's known answers, the
// offset → (block, lane) mapping, the uniforms' statistics, and the CPU backend's dropout drawing
// from it reproducibly whatever the thread count.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "dnabert/backend/cpu/ops.hpp"
#include "dnabert/core/rng.hpp"

namespace core_rng_test {

namespace {


// Random123's known-answer vectors, tests/kat_vectors of github.com/DEShawResearch/random123
// (the three "philox4x32 10" lines): counter (4 words), key (2 words), expected output (4 words).
struct known_answer {
  dnabert::philox4x32_block counter;
  dnabert::philox4x32_key key;
  dnabert::philox4x32_block expected;
};
constexpr known_answer random123_kat[] = {
    {{{0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}},
     {{0x00000000u, 0x00000000u}},
     {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
    {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
     {{0xffffffffu, 0xffffffffu}},
     {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
    {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
     {{0xa4093822u, 0x299f31d0u}},
     {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
};

// Usable in constant expressions (and so, through DNABERT_HOST_DEVICE, in kernels).
static_assert(dnabert::philox4x32_10(random123_kat[0].counter, random123_kat[0].key).word[0] == 0x6627e8d5u);

}  // namespace

TEST_CASE("philox: Philox4x32-10 gives Random123's known answers") {
  for (const auto& kat : random123_kat) {
    const auto got = dnabert::philox4x32_10(kat.counter, kat.key);
    for (int w = 0; w < 4; ++w) CHECK(got.word[w] == kat.expected.word[w]);
  }
}

TEST_CASE("philox: offset → (block offset/4, lane offset%4), key = seed's low and high words") {
  CHECK(dnabert::philox_block_index(0) == 0);
  CHECK(dnabert::philox_lane(0) == 0);
  CHECK(dnabert::philox_block_index(7) == 1);
  CHECK(dnabert::philox_lane(7) == 3);
  CHECK(dnabert::philox_block_index(0x123456789abcdefULL) == 0x48d159e26af37bULL);
  CHECK(dnabert::philox_lane(0x123456789abcdefULL) == 3);

  // The stream's value for (seed, offset) is lane offset%4 of Philox on counter {low, high word
  // of offset/4, 0, 0} and key {low, high word of seed}, written out word by word here.
  const std::uint64_t seed = 0xa4093822'299f31d0ULL;
  const dnabert::philox4x32_key key{{0x299f31d0u, 0xa4093822u}};
  for (const std::uint64_t block : {0ULL, 1ULL, 0xfffffffeULL, 0x1'00000003ULL, 0xffffffff'ffffffffULL / 4}) {
    const dnabert::philox4x32_block counter{{static_cast<std::uint32_t>(block & 0xffffffffu),
                                        static_cast<std::uint32_t>(block >> 32), 0u, 0u}};
    const auto words = dnabert::philox4x32_10(counter, key);
    for (std::uint64_t lane = 0; lane < 4; ++lane) {
      const float want = static_cast<float>(words.word[lane] >> 8) / 16777216.0f;
      CHECK(dnabert::philox_uniform(seed, 4 * block + lane) == want);
    }
  }
  // Seeds differing only in their high word give different streams (the whole seed is the key).
  CHECK(dnabert::philox_uniform(1, 0) != dnabert::philox_uniform(1 + (1ULL << 32), 0));
}

TEST_CASE("philox: 24-bit uniforms lie in the half-open unit interval") {
  CHECK(dnabert::uniform_from_bits(0u) == 0.0f);
  CHECK(dnabert::uniform_from_bits(0xffu) == 0.0f);  // the low 8 bits are dropped
  CHECK(dnabert::uniform_from_bits(0x100u) == std::ldexp(1.0f, -24));
  CHECK(dnabert::uniform_from_bits(0x80000000u) == 0.5f);
  CHECK(dnabert::uniform_from_bits(0xffffffffu) == 1.0f - std::ldexp(1.0f, -24));
  CHECK(dnabert::uniform_from_bits(0xffffffffu) < 1.0f);
}

TEST_CASE("philox: a million uniforms have the mean, variance and lag-1 correlation of the uniform distribution") {
  // Offsets from an odd start, so blocks are entered mid-way; the bounds are 6 standard errors:
  // mean 1/2 (se sqrt(1/12/n)), variance 1/12 (se sqrt((1/80 - 1/144)/n)), E[u_i u_{i+1}] 1/4
  // (se sqrt((1/9 - 1/16)/n), ignoring the weak dependence of overlapping pairs).
  const std::int64_t n = 1'000'000;
  const std::uint64_t seed = 20240611, start = 12345;
  double sum = 0, sum_sq = 0, lag = 0;
  float previous = dnabert::philox_uniform(seed, start - 1), low = 1, high = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float u = dnabert::philox_uniform(seed, start + static_cast<std::uint64_t>(i));
    low = std::min(low, u);
    high = std::max(high, u);
    sum += u;
    sum_sq += static_cast<double>(u) * u;
    lag += static_cast<double>(u) * previous;
    previous = u;
  }
  CHECK(low >= 0.0f);
  CHECK(high < 1.0f);
  const double count = static_cast<double>(n);
  const double mean = sum / count;
  const double variance = sum_sq / count - mean * mean;
  CHECK(std::abs(mean - 0.5) < 6 * std::sqrt(1.0 / 12 / count));
  CHECK(std::abs(variance - 1.0 / 12) < 6 * std::sqrt((1.0 / 80 - 1.0 / 144) / count));
  CHECK(std::abs(lag / count - 0.25) < 6 * std::sqrt((1.0 / 9 - 1.0 / 16) / count));
}

TEST_CASE("philox: CPU dropout keeps about 1 - p and reproduces exactly from (seed, offset)") {
  const std::int64_t n = 200'003;  // not a multiple of 4 or of any thread count
  const double p = 0.1;
  const std::uint64_t seed = 42, offset = 1'000'001;  // offset % 4 == 1: starts inside a block
  std::vector<float> x(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1.0f + static_cast<float>(i % 97);

  const auto run = [&](int threads, std::uint64_t at, std::int64_t count, std::int64_t first) {
    dnabert::backend::cpu cpu(threads);
    std::vector<float> y(static_cast<std::size_t>(count));
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(count));
    dropout_forward(cpu, x.data() + first, y.data(), keep.data(), count, p, seed, at);
    return std::pair{keep, y};
  };
  const auto [keep, y] = run(1, offset, n, 0);

  // Brute force: element i is kept iff its stream value is at least p, and then scaled by 1/(1-p).
  std::int64_t kept = 0;
  bool all_match = true;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const bool want = dnabert::philox_uniform(seed, offset + static_cast<std::uint64_t>(i)) >= p;
    const float want_y = want ? x[k] * static_cast<float>(1.0 / (1.0 - p)) : 0.0f;
    all_match = all_match && (keep[k] == (want ? 1 : 0)) && y[k] == want_y;
    kept += keep[k];
  }
  CHECK(all_match);
  const double fraction = static_cast<double>(kept) / static_cast<double>(n);
  CHECK(std::abs(fraction - (1 - p)) < 6 * std::sqrt(p * (1 - p) / static_cast<double>(n)));

  // The same mask whatever the thread count, on a second call, and for a sub-range drawn alone
  // (a pure function of the offset, not of where a call or a thread's chunk starts).
  CHECK(run(3, offset, n, 0).first == keep);
  CHECK(run(1, offset, n, 0).first == keep);
  const std::int64_t from = 1'002;  // offset + from is 3 mod 4
  const auto tail = run(2, offset + static_cast<std::uint64_t>(from), n - from, from);
  CHECK(tail.first == std::vector<std::uint8_t>(keep.begin() + from, keep.end()));
  CHECK(tail.second == std::vector<float>(y.begin() + from, y.end()));
  // Another seed gives another mask.
  dnabert::backend::cpu cpu(1);
  std::vector<float> other_y(x.size());
  std::vector<std::uint8_t> other_keep(x.size());
  dropout_forward(cpu, x.data(), other_y.data(), other_keep.data(), n, p, seed + 1, offset);
  CHECK(other_keep != keep);
}

}  // namespace core_rng_test
