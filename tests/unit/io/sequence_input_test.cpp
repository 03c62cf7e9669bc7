// Format detection by content (gzip-aware) and read_sequences, the CLI's entry point for inputs.
#include <doctest/doctest.h>

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/io/sequence_input.hpp"
#include "test_paths.hpp"

namespace {

using namespace dnabert;

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text.data(), text.size())); }

io::sequence_format detect(std::string_view text) { return io::detect_sequence_format(io::open_input(bytes_of(text), "in")); }

}  // namespace

TEST_CASE("sequence_input: the format is told by content, through gzip, whatever the file is called") {
  CHECK(io::detect_sequence_format(test::data_path("text/records.fa")) == io::sequence_format::fasta);
  CHECK(io::detect_sequence_format(test::data_path("text/records_bgzf.fa.gz")) == io::sequence_format::fasta);
  CHECK(io::detect_sequence_format(test::data_path("text/kmer6.tsv.gz")) == io::sequence_format::dnabert_tsv);
  CHECK(io::detect_sequence_format(test::data_path("text/raw.csv")) == io::sequence_format::dnabert2_csv);
  const auto dir = test::scratch_dir("sequence_input_names");
  std::filesystem::copy_file(test::data_path("text/kmer6.tsv"), dir / "misleading.fa");
  CHECK(io::detect_sequence_format((dir / "misleading.fa").string()) == io::sequence_format::dnabert_tsv);
  CHECK(detect("\r\n  \n>x\nA\n") == io::sequence_format::fasta);
  CHECK(detect("seq\tlabel,with comma\n") == io::sequence_format::dnabert_tsv);
  CHECK(io::format_name(io::sequence_format::dnabert2_csv) == "DNABERT-2 CSV");
}

TEST_CASE("sequence_input: inputs of unknown format are refused") {
  CHECK_THROWS_WITH_AS(detect(""), doctest::Contains("in: cannot tell the format of an empty or blank input"),
                       format_error);
  CHECK_THROWS_WITH_AS(detect("\n\nhello world\n"),
                       doctest::Contains("in:3: cannot tell the format: expected a FASTA header ('>id'), a DNABERT TSV "
                                         "header ('sequence<TAB>label') or a DNABERT-2 CSV header ('sequence,label'), "
                                         "found 'hello world'"),
                       format_error);
}

TEST_CASE("sequence_input: FASTA records become entries without labels") {
  const auto entries = io::read_sequences(test::data_path("text/records_multimember.fa.gz"));
  const auto records = io::read_fasta(test::data_path("text/records.fa"));
  REQUIRE(entries.size() == records.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    CHECK(entries[i].id == records[i].id);
    CHECK(entries[i].sequence == records[i].sequence);
    CHECK_FALSE(entries[i].label.has_value());
  }
}

TEST_CASE("sequence_input: table rows become entries numbered from 0 with labels") {
  const auto entries = io::read_sequences(test::data_path("text/kmer6.tsv"));
  const auto table = io::read_labelled_table(test::data_path("text/raw.csv"));
  REQUIRE(entries.size() == 7);
  REQUIRE(table.rows.size() == 7);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    CHECK(entries[i].id == std::to_string(i));
    CHECK(entries[i].sequence == table.rows[i].sequence);
    REQUIRE(entries[i].label.has_value());
    CHECK(*entries[i].label == table.rows[i].label);
  }
  const auto in_memory = io::read_sequences(bytes_of("sequence,label\nACGT,1.5\n"), "mem.csv");
  REQUIRE(in_memory.size() == 1);
  CHECK(in_memory[0].id == "0");
  CHECK(in_memory[0].label == 1.5);
}

TEST_CASE("sequence_input: errors of the detected format come through with the file's name") {
  CHECK_THROWS_WITH_AS(io::read_sequences(bytes_of(">a\nAC\n>a\nGT\n"), "dup.fa"),
                       doctest::Contains("dup.fa:3: duplicate FASTA id 'a' (first used on line 1)"), format_error);
  CHECK_THROWS_WITH_AS(io::read_sequences(bytes_of("sequence,label\n"), "empty.csv"),
                       doctest::Contains("empty.csv: the table has a header but no rows"), format_error);
}
