// libFuzzer harness for the VCF glue: htslib reads the bytes (VCF, BGZF VCF or BCF) through
// io::hts::vcf_reader, every ALT allele is windowed against a small in-memory reference as
// `dnabert variants` does, and a file that reads is copied with added INFO fields by
// write_vcf_with_info. Any input must either work or throw dnabert::error; a crash, a sanitizer
// report or any other exception is a bug. htslib reads paths, so the bytes go to a scratch file.
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "dnabert/analysis/variant_effects.hpp"
#include "dnabert/io/hts/vcf.hpp"

namespace {

/// A per-process scratch folder (libFuzzer's -fork/-jobs run several processes).
const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    auto path = std::filesystem::temp_directory_path() / ("dnabert-fuzz-vcf-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    hts_set_log_level(HTS_LOG_OFF);  // htslib's complaints about each malformed input only slow the fuzzer
    return path;
  }();
  return dir;
}

const std::map<std::string, std::string>& contigs() {
  static const std::map<std::string, std::string> reference{
      {"1", std::string(300, 'A') + std::string(300, 'c')}, {"chr2", "ACGTNACGTRACGT"}, {"X", std::string(40, 'G')}};
  return reference;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace analysis = dnabert::analysis;
  const std::string input = (scratch() / "input.vcf").string();
  {
    std::ofstream out(input, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const analysis::reference_genome reference{
      [](const std::string& contig) -> std::optional<std::int64_t> {
        const auto found = contigs().find(contig);
        if (found == contigs().end()) return std::nullopt;
        return static_cast<std::int64_t>(found->second.size());
      },
      [](const std::string& contig, std::int64_t start, std::int64_t end) {
        const std::string& bases = contigs().at(contig);
        if (start < 0 || end < start || static_cast<std::size_t>(end) > bases.size()) std::abort();  // caller checks
        return bases.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start));
      }};
  try {
    dnabert::io::hts::vcf_reader reader(input);
    analysis::variant_report report;
    std::size_t records = 0;
    for (dnabert::io::hts::vcf_record record; reader.next(record); ++records) {
      if (record.index != records) std::abort();
      for (std::size_t a = 0; a < record.alts.size(); ++a) {
        const analysis::variant v{record.contig, record.pos0, record.ref, record.alts[a], record.index, a};
        for (const std::size_t window : {std::size_t{12}, std::size_t{101}}) {
          const auto built = analysis::make_variant_window(v, 0, reference, window, false, report);
          if (built && (built->reference.size() != window || built->alternative.size() != window)) std::abort();
        }
      }
    }
    const std::vector<dnabert::io::hts::vcf_info_field> fields{{"FUZZ", "a fuzzed field"}};
    dnabert::io::hts::write_vcf_with_info(input, (scratch() / "output.vcf").string(), fields,
                                          [](std::size_t, std::size_t alleles, std::span<float> values) {
                                            if (values.size() != alleles) std::abort();
                                            for (std::size_t a = 0; a < alleles; a += 2) values[a] = 0.5f;
                                          });
  } catch (const dnabert::error&) {
  }
  return 0;
}
