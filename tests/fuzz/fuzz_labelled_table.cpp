// libFuzzer harness for DNABERT TSV / DNABERT-2 CSV tables (k-mer sentences included) and for
// read_sequences' format detection: any bytes must either parse or throw dnabert::error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dnabert/io/labelled_table.hpp"
#include "dnabert/io/sequence_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  try {
    for (const auto& row : dnabert::io::read_labelled_table(bytes, "fuzz.tsv").rows) {
      if (row.sequence.empty() || row.line < 2) std::abort();  // rows follow the header and hold letters
    }
  } catch (const dnabert::error&) {
  }
  try {
    for (const auto& entry : dnabert::io::read_sequences(bytes, "fuzz.txt")) {
      if (entry.id.empty() || entry.sequence.empty()) std::abort();
    }
  } catch (const dnabert::error&) {
  }
  return 0;
}
