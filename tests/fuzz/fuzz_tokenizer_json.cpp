// libFuzzer harness for tokenizer.json: any bytes must either give a BPE vocabulary that builds a
// tokenizer, which then encodes DNA without failing, or throw dnabert::error.
#include <cstddef>
#include <cstdint>
#include <span>

#include "dnabert/io/tokenizer_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dnabert::bpe_vocabulary vocabulary;
  try {
    vocabulary = dnabert::io::parse_tokenizer_json(std::as_bytes(std::span(data, size)), "fuzz/tokenizer.json");
  } catch (const dnabert::error&) {
    return 0;
  }
  const dnabert::bpe_tokenizer tokenizer(vocabulary);  // the reader promised a usable vocabulary: any exception is a bug
  (void)tokenizer.encode("ACGTNNacgt-*ACGTTTGACCA ACGT\tGGCC");
  return 0;
}
