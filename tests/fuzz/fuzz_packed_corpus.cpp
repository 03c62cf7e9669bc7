// libFuzzer harness for the packed corpus (`dnabert corpus`): any bytes must either be refused
// with dnabert::error when opened, or give records whose every letter decodes and whose N runs
// a cutter's cursor finds inside the record, reading nothing outside the bytes. Each input is
// tried as it is and with its index checksum made right, so that mutations get past the CRC to
// the checks of the index entries behind it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "dnabert/io/packed_corpus.hpp"

namespace {

void open_and_read(std::span<const std::byte> bytes) {
  namespace io = dnabert::io;
  try {
    const io::packed_corpus corpus(bytes, "fuzz.dna");
    std::string letters;
    std::uint64_t total = 0;
    for (std::uint64_t r = 0; r < corpus.records(); ++r) {
      const io::packed_record record = corpus.record(r);
      total += record.length;
      const auto length = static_cast<std::size_t>(std::min<std::uint64_t>(record.length, 1U << 16));
      letters.resize(length);
      corpus.decode(record.start, length, letters.data());
      io::packed_n_runs runs(corpus, r);
      for (std::size_t position = 0; position < runs.size();) {
        const std::size_t stretch = runs.skip_n(position);
        const std::size_t next = runs.next_n(stretch, runs.size());
        if (stretch < position || next < stretch || next > runs.size()) std::abort();
        position = next == stretch ? next + 1 : next;
      }
    }
    if (total != corpus.nucleotides()) std::abort();
    try {
      corpus.verify_bases();
    } catch (const dnabert::format_error&) {
    }
  } catch (const dnabert::error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace format = dnabert::io::packed_corpus_format;
  const auto bytes = std::as_bytes(std::span(data, size));
  open_and_read(bytes);
  if (size < format::header_size) return 0;
  const auto nucleotides = format::load<std::uint64_t>(bytes.data() + 16);
  if (nucleotides / 4 > size || format::header_size + format::bases_bytes(nucleotides) > size) return 0;
  std::vector<std::byte> fixed(bytes.begin(), bytes.end());
  const auto all = std::span<const std::byte>(fixed);
  const std::uint32_t crc = format::crc32_of(format::crc32_of(0, all.subspan(format::header_size + format::bases_bytes(nucleotides))),
                                             all.first(format::checked_header_bytes));
  format::store(reinterpret_cast<char*>(fixed.data()) + 68, crc);
  open_and_read(all);
  return 0;
}
