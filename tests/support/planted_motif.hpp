#pragma once
// A learnable labelled set for training tests: random sequences, TATAAT planted in every other one.
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "dnabert/io/sequence_input.hpp"

namespace dnabert::test {

/// `n` random sequences of `length` nt (from `seed`); even ones carry TATAAT at a random place
/// and label 1, odd ones label 0.
inline std::vector<io::sequence_entry> planted_motif_set(std::size_t n, unsigned seed, std::size_t length = 40) {
  std::mt19937 rng(seed);
  std::vector<io::sequence_entry> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string s(length, 'A');
    for (char& c : s) c = "ACGT"[rng() % 4];
    const bool positive = i % 2 == 0;
    if (positive) s.replace(rng() % (length - 6), 6, "TATAAT");
    out.push_back({std::to_string(i), s, positive ? 1.0 : 0.0, {}});
  }
  return out;
}

}  // namespace dnabert::test
