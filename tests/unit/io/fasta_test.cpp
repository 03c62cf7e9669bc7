// FASTA reader against records written by tests/reference/make_text_fixtures.py (plain, CRLF+BOM,
// gzip, multi-member gzip, BGZF, one 40 kb line) and against hostile inputs built byte by byte.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/io/fasta.hpp"
#include "test_paths.hpp"

namespace io_fasta_test {

namespace {

using namespace dnabert;

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text.data(), text.size())); }

std::vector<io::fasta_record> parse(std::string_view text, io::fasta_options options = {}) {
  return io::read_fasta(bytes_of(text), "in.fa", options);
}

// records.expected.tsv: id, description, soft-masked count, non-ACGT count, sequence.
std::vector<io::fasta_record> expected_records() {
  std::ifstream in(test::data_path("text/records.expected.tsv"));
  std::vector<io::fasta_record> records;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    io::fasta_record record;
    std::string soft_masked, non_acgt;
    std::getline(fields, record.id, '\t');
    std::getline(fields, record.description, '\t');
    std::getline(fields, soft_masked, '\t');
    std::getline(fields, non_acgt, '\t');
    std::getline(fields, record.sequence, '\t');
    record.soft_masked = std::stoull(soft_masked);
    record.non_acgt = std::stoull(non_acgt);
    records.push_back(record);
  }
  return records;
}

void check_same_records(const std::vector<io::fasta_record>& got, const std::vector<io::fasta_record>& expected) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(expected[i].id);
    CHECK(got[i].id == expected[i].id);
    CHECK(got[i].description == expected[i].description);
    CHECK(got[i].sequence == expected[i].sequence);
    CHECK(got[i].soft_masked == expected[i].soft_masked);
    CHECK(got[i].non_acgt == expected[i].non_acgt);
  }
}

}  // namespace

TEST_CASE("fasta: records written by the reference script, in every layout and compression") {
  const auto expected = expected_records();
  REQUIRE(expected.size() == 5);
  for (const char* file : {"text/records.fa", "text/records_crlf_bom.fa", "text/records.fa.gz",
                           "text/records_multimember.fa.gz", "text/records_bgzf.fa.gz"}) {
    CAPTURE(file);
    check_same_records(io::read_fasta(test::data_path(file)), expected);
  }
  const auto records = io::read_fasta(test::data_path("text/records.fa"));
  CHECK(records[0].header_line == 1);
  CHECK(records[1].header_line == 6);  // 3 sequence lines of 60 and a blank line after chr1
  CHECK(records[4].header_line == 16);
}

TEST_CASE("fasta: one 40,000-letter line, 43 percent soft-masked, is kept as written") {
  std::ifstream in(test::data_path("text/one_long_line.expected.txt"));
  std::uint64_t length = 0, soft_masked = 0, non_acgt = 0;
  in >> length >> soft_masked >> non_acgt;
  REQUIRE(length == 40000);
  const auto records = io::read_fasta(test::data_path("text/one_long_line.fa"));
  REQUIRE(records.size() == 1);
  CHECK(records[0].id == "chr17_part");
  CHECK(records[0].description == "one line");
  CHECK(records[0].sequence.size() == length);
  CHECK(records[0].soft_masked == soft_masked);
  CHECK(records[0].soft_masked == 17200);
  CHECK(records[0].non_acgt == non_acgt);
}

TEST_CASE("fasta: the streaming reader returns one record per call, then false") {
  io::fasta_reader reader(test::data_path("text/records.fa.gz"));
  io::fasta_record record;
  std::vector<std::string> ids;
  while (reader.next(record)) ids.push_back(record.id);
  CHECK(ids == std::vector<std::string>{"chr1", "seq_2", "iupac", "short", "mask.5"});
  CHECK_FALSE(reader.next(record));
}

TEST_CASE("fasta: tolerated layouts (no final newline, blanks anywhere, spaces in sequence, lower case)") {
  const auto records = parse("\n\n>a first\r\nac gt\tNN\r\n\r\n  \nRYK\n>b\n\nu-*\n\n");
  REQUIRE(records.size() == 2);
  CHECK(records[0].id == "a");
  CHECK(records[0].description == "first");
  CHECK(records[0].sequence == "acgtNNRYK");
  CHECK(records[0].header_line == 3);
  CHECK(records[0].soft_masked == 4);
  CHECK(records[0].non_acgt == 5);
  CHECK(records[1].sequence == "u-*");
  CHECK(records[1].soft_masked == 1);
  CHECK(records[1].non_acgt == 3);
  CHECK(parse(">x\nACGT")[0].sequence == "ACGT");
  CHECK(parse("\xEF\xBB\xBF>bom\nA\n")[0].id == "bom");
}

TEST_CASE("fasta: hostile empty inputs and records") {
  CHECK_THROWS_WITH_AS(parse(""), doctest::Contains("in.fa: no FASTA records (the input is empty or blank)"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse("\n \r\n\t\n"), doctest::Contains("no FASTA records"), format_error);
  CHECK_THROWS_WITH_AS(parse(">only_header\n"),
                       doctest::Contains("in.fa:1: FASTA record 'only_header' has no sequence (header followed by end "
                                         "of file)"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse(">a\nAC\n>b\n\n>c\nGT\n"),
                       doctest::Contains("in.fa:3: FASTA record 'b' has no sequence (header followed by another "
                                         "header)"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse(">\nACGT\n"),
                       doctest::Contains("in.fa:1: empty FASTA id: expected an id right after '>', found end of line"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse(">a\nA\n> described but no id\nACGT\n"),
                       doctest::Contains("in.fa:3: empty FASTA id: expected an id right after '>', found ' '"),
                       format_error);
}

TEST_CASE("fasta: duplicate ids name both lines") {
  CHECK_THROWS_WITH_AS(parse(">chr1\nAC\n>chr2\nGG\n>chr1 again\nTT\n"),
                       doctest::Contains("in.fa:5: duplicate FASTA id 'chr1' (first used on line 1)"), format_error);
}

TEST_CASE("fasta: bad bytes in sequence lines give line, column and the byte") {
  CHECK_THROWS_WITH_AS(parse(">a\nACGT\nAC>GT\n"),
                       doctest::Contains("in.fa:3: column 3: unexpected '>' in the sequence of FASTA record 'a' ('>' "
                                         "starts a header only at the beginning of a line)"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse(">a\nACGT\n >b\nGG\n"),
                       doctest::Contains("in.fa:3: column 2: unexpected '>'"), format_error);
  CHECK_THROWS_WITH_AS(parse(">seq7\nACGT1\n"),
                       doctest::Contains("in.fa:2: column 5: unexpected '1' in the sequence of FASTA record 'seq7' "
                                         "(expected nucleotide letters, IUPAC codes, '-' or '*')"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse(std::string_view(">a\nAC\0GT\n", 9)),
                       doctest::Contains("in.fa:2: column 3: unexpected byte 0x00"), format_error);
  CHECK_THROWS_WITH_AS(parse(">a\nACG\xC3\xA9T\n"), doctest::Contains("in.fa:2: column 4: unexpected byte 0xC3"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse(">protein\nMEEPQSDPSV\n"), doctest::Contains("in.fa:2: column 2: unexpected 'E'"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse(">a\nAC\rGT\n"), doctest::Contains("in.fa:2: column 3: unexpected byte 0x0D"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse(">a\x01\nACGT\n"), doctest::Contains("in.fa:1: column 3: unexpected byte 0x01 in FASTA header"),
                       format_error);
}

TEST_CASE("fasta: text before the first header and binary junk") {
  CHECK_THROWS_WITH_AS(parse("\nNNNN\n>a\nACGT\n"),
                       doctest::Contains("in.fa:2: expected '>' at start of FASTA record, found 'N'"), format_error);
  CHECK_THROWS_WITH_AS(parse(std::string_view("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)),
                       doctest::Contains("in.fa:1: expected '>' at start of FASTA record, found byte 0x89"),
                       format_error);
}

TEST_CASE("fasta: the record and line caps stop oversized input") {
  io::fasta_options small_records;
  small_records.max_record_length = 6;
  CHECK(parse(">a\nACG\nTAC\n", small_records)[0].sequence == "ACGTAC");
  CHECK_THROWS_WITH_AS(parse(">a\nACG\nTAC\nG\n", small_records),
                       doctest::Contains("in.fa:4: FASTA record 'a' is longer than the limit of 6 nucleotides"),
                       format_error);
  io::fasta_options short_lines;
  short_lines.max_line_length = 8;
  CHECK_THROWS_WITH_AS(parse(">a\nACGTACGTA\n", short_lines),
                       doctest::Contains("in.fa:2: line is longer than the limit of 8 bytes"), format_error);
}

TEST_CASE("fasta: gzip errors surface through the reader") {
  CHECK_THROWS_WITH_AS(io::read_fasta(test::data_path("text/records_truncated.fa.gz")),
                       doctest::Contains("truncated gzip stream"), format_error);
}

}  // namespace io_fasta_test
