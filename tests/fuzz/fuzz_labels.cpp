// libFuzzer harness for a labels side file: any bytes must either label every one of three
// records with a finite number or throw dnabert::error.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "dnabert/io/sequence_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<dnabert::io::sequence_entry> entries = {{"seq0", "ACGTAC", {}}, {"seq1", "GGGTTT", {}}, {"chr2", "AAAA", {}}};
  try {
    dnabert::io::attach_labels(entries, dnabert::io::open_input(std::as_bytes(std::span(data, size)), "fuzz/labels.tsv"),
                               "fuzz/reads.fa");
  } catch (const dnabert::error&) {
    return 0;
  }
  for (const auto& entry : entries)
    if (!entry.label || !std::isfinite(*entry.label)) std::abort();
  return 0;
}
