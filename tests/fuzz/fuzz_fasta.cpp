// libFuzzer harness for the FASTA reader (plain and, when the bytes start with 1f 8b, gzip): any
// bytes must either parse or throw dnabert::error; a crash, a sanitizer report or any other
// exception is a bug. Small caps make the length checks reachable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dnabert/io/fasta.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  dnabert::io::fasta_options small_caps;
  small_caps.max_line_length = 512;
  small_caps.max_record_length = 1024;
  for (const dnabert::io::fasta_options& options : {dnabert::io::fasta_options{}, small_caps}) {
    try {
      std::uint64_t letters = 0;
      for (const auto& record : dnabert::io::read_fasta(bytes, "fuzz.fa", options)) {
        if (record.id.empty() || record.sequence.empty()) std::abort();  // the reader promised both
        if (record.soft_masked > record.sequence.size() || record.non_acgt > record.sequence.size()) std::abort();
        letters += record.sequence.size();
      }
      if (letters > size * 1032) std::abort();  // gzip expands at most ~1032:1
    } catch (const dnabert::error&) {
    }
  }
  return 0;
}
