#pragma once
// Shared by the variant tests: the real FASTA files Debian ships (htslib-test, pyfaidx examples),
// the goldens of tests/reference/make_variant_goldens.py with the tolerances scores are held to,
// and an in-memory reference genome.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "dnabert/analysis/variant_effects.hpp"
#include "dnabert/io/sequence_input.hpp"
#include "test_paths.hpp"

namespace dnabert::test {

// Probabilities (about 0.03) to 1e-5; diff and logOR are small differences of them (goldens as
// small as 1.9e-6 and 1.6e-3, and one exact 0), so they are compared relative to the golden, with
// floors below the smallest: a zero, a sign flip or a factor of two cannot pass.
inline constexpr double probability_tolerance = 1e-5;
inline constexpr double relative_tolerance = 1e-2;
inline constexpr double diff_floor = 1e-6;
inline constexpr double log_odds_floor = 1e-4;

/// Whether `got` is within relative_tolerance of `want`, relative to at least `floor`.
inline bool relatively_close(double got, double want, double floor) {
  return std::abs(got - want) <= relative_tolerance * std::max(std::abs(want), floor);
}

/// A FASTA file shipped by a Debian package: "ce" (htslib-test's C. elegans sample, 7 contigs) or
/// "chr17" (python-pyfaidx-examples' soft-masked human chr17 piece, one 40,000-nt line).
inline std::string debian_fasta(const std::string& name) {
  const std::string path = name == "ce" ? "/usr/share/htslib-test/test/ce.fa"
                                        : "/usr/share/doc/python-pyfaidx-examples/examples/chr17.hg19.part.fa";
  REQUIRE_MESSAGE(std::filesystem::exists(path),
                  path << " is missing: install the Debian packages htslib-test and python-pyfaidx-examples");
  return path;
}

/// The contigs of a FASTA file by name, read with dnabert's own reader.
inline std::map<std::string, std::string> read_contigs(const std::string& path) {
  std::map<std::string, std::string> contigs;
  for (auto& entry : io::read_sequences(path)) contigs[entry.id] = std::move(entry.sequence);
  return contigs;
}

/// A reference genome over contigs held in memory.
inline analysis::reference_genome in_memory_reference(const std::map<std::string, std::string>& contigs) {
  return {[&contigs](const std::string& name) -> std::optional<std::int64_t> {
            const auto found = contigs.find(name);
            if (found == contigs.end()) return std::nullopt;
            return static_cast<std::int64_t>(found->second.size());
          },
          [&contigs](const std::string& name, std::int64_t start, std::int64_t end) {
            return contigs.at(name).substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start));
          }};
}

/// One row of tests/data/variants/goldens.tsv.
struct golden_variant {
  std::string name, fasta, contig;
  std::int64_t pos = 0;
  std::string ref, alt;
  std::size_t window = 0;
  std::int64_t start = 0;
  std::string ref_seq, alt_seq;
  double p_ref = 0, p_alt = 0, diff = 0, log_odds_ratio = 0;
};

/// Every golden variant, in file order.
inline std::vector<golden_variant> read_variant_goldens() {
  std::ifstream in(data_path("variants/goldens.tsv"));
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);  // header
  std::vector<golden_variant> rows;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    golden_variant g;
    fields >> g.name >> g.fasta >> g.contig >> g.pos >> g.ref >> g.alt >> g.window >> g.start >> g.ref_seq >> g.alt_seq >>
        g.p_ref >> g.p_alt >> g.diff >> g.log_odds_ratio;
    REQUIRE_MESSAGE(!fields.fail(), "bad golden line: " << line);
    rows.push_back(g);
  }
  REQUIRE(rows.size() >= 9);
  return rows;
}

/// The golden as the variant scoring takes it (record = its row).
inline analysis::variant to_variant(const golden_variant& g, std::size_t row) {
  return {g.contig, g.pos - 1, g.ref, g.alt, row, 0};
}

}  // namespace dnabert::test
