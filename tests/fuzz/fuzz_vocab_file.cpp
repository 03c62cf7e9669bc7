// libFuzzer harness for vocab.txt: any bytes must either be accepted as DNABERT's vocabulary of
// some k or throw dnabert::error; an accepted file must have exactly 4^k+5 lines.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dnabert/io/vocab_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int k = 0;
  try {
    k = dnabert::io::parse_vocab_file(std::as_bytes(std::span(data, size)), "fuzz/vocab.txt");
  } catch (const dnabert::error&) {
    return 0;
  }
  if (k < 1 || k > dnabert::max_k) std::abort();
  // Every token ends with a newline except perhaps the last: so 4^k+5 - 1 or 4^k+5 newlines.
  const auto newlines = std::count(data, data + size, std::uint8_t{'\n'});
  const auto tokens = dnabert::vocab_size_for_k(k);
  if (newlines != tokens && newlines != tokens - 1) std::abort();
  return 0;
}
