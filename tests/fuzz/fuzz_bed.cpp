// libFuzzer harness for BED region files: any bytes must either be refused with dnabert::error
// or give intervals with 0 <= start <= end on named contigs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "dnabert/io/bed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto bytes = std::as_bytes(std::span(data, size));
    const auto read = dnabert::io::read_bed_regions(std::make_unique<dnabert::io::memory_source>(bytes, "fuzz.bed"));
    for (const auto& region : read.regions)
      if (region.contig.empty() || region.start < 0 || region.start > region.end || region.line == 0) std::abort();
  } catch (const dnabert::error&) {
  }
  return 0;
}
