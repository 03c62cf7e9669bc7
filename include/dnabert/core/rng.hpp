#pragma once
// Counter-based random numbers: the value for (seed, counter) is a pure function, so every draw
// is reproducible from a seed and an offset on any backend and in any thread order.
//
// Two streams:
// - dropout (CPU and CUDA backends): Philox4x32-10 (Salmon et al., "Parallel random numbers: as
//   easy as 1, 2, 3", SC'11; the Random123 generator PyTorch's CUDA generator uses), host and
//   device code alike, so both backends draw the same masks;
// - host-side data draws (shuffles, piece cuts, MLM masking): uniform_from_counter, a SplitMix64
//   mix giving 53-bit doubles.

#include <cstdint>

#include "dnabert/core/host_device.hpp"

namespace dnabert {

/// SplitMix64's finaliser: a bijective 64-bit mix with good avalanche.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/// Uniform double in [0, 1) for element `counter` of the stream `seed` (host-side data draws).
constexpr double uniform_from_counter(std::uint64_t seed, std::uint64_t counter) {
  const std::uint64_t bits = mix64(mix64(seed) + counter * 0x9e3779b97f4a7c15ULL);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

// ---------------------------------------------------------------------------------------------
// Philox4x32-10

/// Four 32-bit words: a Philox counter, or the four random words it maps to.
struct philox4x32_block {
  std::uint32_t word[4];
};

/// Philox4x32's key: two 32-bit words.
struct philox4x32_key {
  std::uint32_t word[2];
};

/// One Philox4x32 round (Random123's philox4x32round): two 32×32→64 products, xored with the key.
DNABERT_HOST_DEVICE constexpr philox4x32_block philox4x32_round(const philox4x32_block& c, const philox4x32_key& k) {
  const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c.word[0];
  const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c.word[2];
  return {{static_cast<std::uint32_t>(p1 >> 32) ^ c.word[1] ^ k.word[0], static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ c.word[3] ^ k.word[1], static_cast<std::uint32_t>(p0)}};
}

/// Philox4x32-10: ten rounds, the key bumped by the Weyl constants before rounds 2 to 10.
DNABERT_HOST_DEVICE constexpr philox4x32_block philox4x32_10(philox4x32_block counter, philox4x32_key key) {
  counter = philox4x32_round(counter, key);
  for (int round = 1; round < 10; ++round) {
    key.word[0] += 0x9E3779B9u;
    key.word[1] += 0xBB67AE85u;
    counter = philox4x32_round(counter, key);
  }
  return counter;
}

/// The Philox key of a 64-bit seed: {low word, high word}.
DNABERT_HOST_DEVICE constexpr philox4x32_key philox_key(std::uint64_t seed) {
  return {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
}

/// Philox block that holds stream offset `offset`: one call yields four consecutive uniforms.
DNABERT_HOST_DEVICE constexpr std::uint64_t philox_block_index(std::uint64_t offset) { return offset / 4; }

/// Word of its block that offset `offset` reads.
DNABERT_HOST_DEVICE constexpr unsigned philox_lane(std::uint64_t offset) { return static_cast<unsigned>(offset % 4); }

/// The four words of block `block` of stream `seed`: counter {low, high word of block, 0, 0}.
DNABERT_HOST_DEVICE constexpr philox4x32_block philox_block(std::uint64_t seed, std::uint64_t block) {
  return philox4x32_10({{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0u, 0u}},
                       philox_key(seed));
}

/// Uniform float in [0, 1) from 32 random bits: the top 24 bits × 2^-24 (each value exact in float).
DNABERT_HOST_DEVICE constexpr float uniform_from_bits(std::uint32_t bits) {
  return static_cast<float>(bits >> 8) * 0x1.0p-24f;
}

/// The dropout stream: uniform for element `offset` of stream `seed`, i.e. word offset % 4 of
/// Philox block offset / 4 keyed by the seed. A pure function of (seed, offset).
DNABERT_HOST_DEVICE constexpr float philox_uniform(std::uint64_t seed, std::uint64_t offset) {
  return uniform_from_bits(philox_block(seed, philox_block_index(offset)).word[philox_lane(offset)]);
}

}  // namespace dnabert
