// DNABERT TSV and DNABERT-2 CSV tables: fixtures from tests/reference/make_text_fixtures.py, the real
// DNABERT sample files when ../shared holds them, and hostile tables built in the test.
#include <doctest/doctest.h>

#include <cstddef>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/io/labelled_table.hpp"
#include "test_paths.hpp"
#include "test_skip.hpp"

namespace io_labelled_table_test {

namespace {

using namespace dnabert;

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text.data(), text.size())); }

io::labelled_table parse(std::string_view text) { return io::read_labelled_table(bytes_of(text), "t.tsv"); }

// tables.expected.tsv rows for one fixture: file, line, sequence, label.
std::vector<io::labelled_row> expected_rows(const std::string& fixture) {
  std::ifstream in(test::data_path("text/tables.expected.tsv"));
  std::vector<io::labelled_row> rows;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string file, number, sequence, label;
    std::getline(fields, file, '\t');
    std::getline(fields, number, '\t');
    std::getline(fields, sequence, '\t');
    std::getline(fields, label, '\t');
    if (file == fixture) rows.push_back({sequence, std::stod(label), std::stoull(number), {}});
  }
  return rows;
}

void check_rows(const io::labelled_table& table, const std::vector<io::labelled_row>& expected) {
  REQUIRE(table.rows.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(table.rows[i].sequence == expected[i].sequence);
    CHECK(table.rows[i].label == expected[i].label);
    CHECK(table.rows[i].line == expected[i].line);
  }
}

}  // namespace

TEST_CASE("labelled_table: DNABERT TSV of 6-mer sentences with CRLF, plain and gzip") {
  const auto expected = expected_rows("kmer6.tsv");
  REQUIRE(expected.size() == 7);
  for (const char* file : {"text/kmer6.tsv", "text/kmer6.tsv.gz"}) {
    CAPTURE(file);
    const auto table = io::read_labelled_table(test::data_path(file));
    CHECK(table.format == io::table_format::dnabert_tsv);
    check_rows(table, expected);
  }
}

TEST_CASE("labelled_table: DNABERT-2 CSV with BOM and trailing blank lines") {
  const auto table = io::read_labelled_table(test::data_path("text/raw.csv"));
  CHECK(table.format == io::table_format::dnabert2_csv);
  check_rows(table, expected_rows("raw.csv"));
}

TEST_CASE("labelled_table: real-valued labels, raw sequences and extra TSV columns") {
  const auto table = io::read_labelled_table(test::data_path("text/regression.tsv"));
  CHECK(table.format == io::table_format::dnabert_tsv);
  check_rows(table, expected_rows("regression.tsv"));
  CHECK(table.rows[3].label == -4.992);
}

TEST_CASE("labelled_table: DNABERT's own sample dev.tsv (1000 rows of 101 nt, CRLF)") {
  const std::string path = test::shared_path("data/dnabert-sample/examples/sample_data/ft/6/dev.tsv");
  if (!test::input_present(path)) return;
  const auto table = io::read_labelled_table(path);
  REQUIRE(table.rows.size() == 1000);
  std::size_t positives = 0;
  for (const auto& row : table.rows) {
    CHECK(row.sequence.size() == 101);
    CHECK((row.label == 0.0 || row.label == 1.0));
    positives += row.label == 1.0;
  }
  CHECK(positives == 500);
  CHECK(table.rows.front().line == 2);
  CHECK(table.rows.back().line == 1001);
  CHECK(table.rows.front().sequence.starts_with("GTGGGGAGGGAGG"));
}

TEST_CASE("labelled_table: DNABERT-2's sample dev.csv (15 rows of 101 nt)") {
  const std::string path = test::shared_path("data/dnabert-sample/DNABERT_2/sample_data/dev.csv");
  if (!test::input_present(path)) return;
  const auto table = io::read_labelled_table(path);
  CHECK(table.format == io::table_format::dnabert2_csv);
  REQUIRE(table.rows.size() == 15);
  std::size_t positives = 0;
  for (const auto& row : table.rows) {
    CHECK(row.sequence.size() == 101);
    positives += row.label == 1.0;
  }
  CHECK(positives == 6);
  CHECK(table.rows.front().sequence.starts_with("TCCATGTGTCATCATGG"));
}

TEST_CASE("labelled_table: hostile labels and columns") {
  CHECK_THROWS_WITH_AS(parse("sequence\tlabel\nACGT\t1\nACGT\tabc\n"),
                       doctest::Contains("t.tsv:3: label 'abc' is not a number"), format_error);
  CHECK_THROWS_WITH_AS(parse("sequence\tlabel\nACGT\tnan\n"),
                       doctest::Contains("t.tsv:2: label 'nan' is not a finite number"), format_error);
  CHECK_THROWS_WITH_AS(parse("sequence\tlabel\nACGT\t \n"),
                       doctest::Contains("t.tsv:2: empty label (expected a number)"), format_error);
  CHECK_THROWS_WITH_AS(parse("sequence\tlabel\r\nACGT\t0\r\nACGTACGT\r\n"),
                       doctest::Contains("t.tsv:3: missing label column: expected 'sequence<TAB>label', found 1 column"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse("sequence,label\nACGT,1\nACGT,1,extra\n"),
                       doctest::Contains("t.tsv:3: expected 2 comma-separated columns (sequence,label) as in the "
                                         "header, found 3"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse("sequence_a,sequence_b,label,extra\nAC,GT,1,2\n"),
                       doctest::Contains("t.tsv:1: expected a CSV header with 2 columns ('sequence,label') or 3 (a "
                                         "pair: 'sequence1,sequence2,label'), found 4 columns"),
                       format_error);
}

TEST_CASE("labelled_table: hostile sequences, including k-mers that do not overlap") {
  CHECK_THROWS_WITH_AS(parse("sequence\tlabel\nGTGGGG TGGGGA GGGGAG\t1\nGTGGGG TGGGGA TTTTTT\t0\n"),
                       doctest::Contains("t.tsv:3: k-mer 3 'TTTTTT' does not overlap k-mer 2 'TGGGGA'"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse("sequence\tlabel\n\t1\n"), doctest::Contains("t.tsv:2: empty sequence"), format_error);
  CHECK_THROWS_WITH_AS(parse("sequence,label\nACG1T,0\n"),
                       doctest::Contains("t.tsv:2: sequence character 4 is '1', expected a letter"), format_error);
  CHECK_THROWS_WITH_AS(parse("sequence\tlabel\nACG TT\xC3\t0\n"),
                       doctest::Contains("t.tsv:2: sequence character 7 is byte 0xC3, expected a letter or a space "
                                         "between k-mers"),
                       format_error);
}

TEST_CASE("labelled_table: empty, header-only and unrecognisable tables") {
  CHECK_THROWS_WITH_AS(parse(""), doctest::Contains("t.tsv: empty table: expected a header line"), format_error);
  CHECK_THROWS_WITH_AS(parse("\r\n\r\n"), doctest::Contains("t.tsv: empty table"), format_error);
  CHECK_THROWS_WITH_AS(parse("sequence\tlabel\r\n\r\n"), doctest::Contains("t.tsv: the table has a header but no rows"),
                       format_error);
  CHECK_THROWS_WITH_AS(parse("sequence label\nACGT 1\n"),
                       doctest::Contains("t.tsv:1: expected a table header with a tab ('sequence<TAB>label') or a "
                                         "comma ('sequence,label'), found 'sequence label'"),
                       format_error);
}

TEST_CASE("labelled_table: the TSV header row is always skipped, as DNABERT does") {
  const auto table = parse("ACGTAC\t1\nGGGG\t0\n");
  REQUIRE(table.rows.size() == 1);
  CHECK(table.rows[0].sequence == "GGGG");
  CHECK(table.rows[0].line == 2);
}

}  // namespace io_labelled_table_test
