#pragma once
// A genome a tiny masked LM can learn from, and text viewed as bytes, for the pre-training tests.
#include <cstddef>
#include <random>
#include <span>
#include <string>

namespace dnabert::test {

/// `text`'s bytes, viewed (for readers taking input held in memory).
inline std::span<const std::byte> bytes_of(const std::string& text) { return std::as_bytes(std::span(text.data(), text.size())); }

/// Random sequence with a repeated 12-mer every 40 nt: learnable.
inline std::string repetitive_genome(std::size_t length, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(length, 'A');
  for (char& c : s) c = "ACGT"[rng() % 4];
  for (std::size_t at = 0; at + 12 <= length; at += 40) s.replace(at, 12, "GATTACACATGC");
  return s;
}

}  // namespace dnabert::test
