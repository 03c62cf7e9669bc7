#pragma once
// Counter-based random numbers: the value for (seed, counter) is a pure function, so dropout
// masks are reproducible from a seed and an offset on any backend and in any thread order.

#include <cstdint>

namespace dnabert::backend {

/// SplitMix64's finaliser: a bijective 64-bit mix with good avalanche.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/// Uniform double in [0, 1) for element `counter` of the stream `seed`.
constexpr double uniform_from_counter(std::uint64_t seed, std::uint64_t counter) {
  const std::uint64_t bits = mix64(mix64(seed) + counter * 0x9e3779b97f4a7c15ULL);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

}  // namespace dnabert::backend
