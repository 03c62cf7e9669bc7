// DNABERT's mutation file (--mut-file): rows as DNABERT's mutate_seqs.py reads them, the committed
// fixture from disk, and hostile files refused with the file and line named.
#include <doctest/doctest.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/io/mutation_file.hpp"
#include "test_paths.hpp"

namespace io_mutation_file_test {

namespace {

std::vector<dnabert::io::sequence_mutation> parse(std::string_view text) {
  const auto bytes = std::as_bytes(std::span<const char>(text.data(), text.size()));
  return dnabert::io::read_mutation_file(dnabert::io::open_input(bytes, "mut.txt"));
}

}  // namespace

TEST_CASE("mutation file: DNABERT's idx start end allele rows, with hostile lines rejected by line") {
  const auto rows = parse("0\t3\t4\tg\n\n1\t8\t8\tA\n2\t10\t11\n2\t5\t7\t\n");
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].sequence_id == "0");
  CHECK(rows[0].allele == "G");
  CHECK(rows[1].start == 8);
  CHECK(rows[1].end == 8);
  CHECK(rows[2].allele.empty());
  CHECK(rows[3].allele.empty());
  CHECK(rows[3].line == 5);
  CHECK_THROWS_WITH_AS((void)parse("0 3 4 A\n"), doctest::Contains("mut.txt:1: expected 'idx<TAB>start<TAB>end<TAB>allele'"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse("0\t3\t4\tA\n0\t-1\t4\tA\n"),
                       "mut.txt:2: start -1 is negative (coordinates are 0-based and start at 0)", dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse("0\t5\t4\tA\n"), "mut.txt:1: start 5 is after end 4 (0-based half-open [start, end))",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse("0\t3\t4\tA-\n"), "mut.txt:1: allele 'A-' has letters other than A, C, G, T, N",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse("0\t3\t4\tA\textra\n"), doctest::Contains("(3 or 4 tab-separated columns)"),
                       dnabert::format_error);
}

TEST_CASE("mutation file: CRLF line ends, a BOM, blank lines, no last newline and an empty file") {
  const auto rows = parse("\xEF\xBB\xBF" "0\t3\t4\tt\r\n1\t0\t2\r\n\r\n2\t7\t7\tACGTN");
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].sequence_id == "0");
  CHECK(rows[0].allele == "T");
  CHECK(rows[1].end == 2);
  CHECK(rows[1].allele.empty());
  CHECK(rows[2].allele == "ACGTN");
  CHECK(rows[2].line == 4);
  CHECK(parse("").empty());
  CHECK(parse("\n \t\n").empty());
}

TEST_CASE("mutation file: coordinates that are not small non-negative integers are refused by file and line") {
  CHECK_THROWS_WITH_AS((void)parse("0\tthree\t4\tA\n"), "mut.txt:1: start must be a non-negative integer, found 'three'",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse("0\t3\t4.0\tA\n"), "mut.txt:1: end must be a non-negative integer, found '4.0'",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse("0\t3\t\tA\n"), "mut.txt:1: end must be a non-negative integer, found ''",
                       dnabert::format_error);
  // 19 digits could overflow the coordinate arithmetic downstream.
  CHECK_THROWS_WITH_AS((void)parse("0\t1\t1234567890123456789\tA\n"),
                       "mut.txt:1: end must be a non-negative integer, found '1234567890123456789'", dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse("\t3\t4\tA\n"), "mut.txt:1: empty idx", dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse("0\t3\n"), doctest::Contains("mut.txt:1: expected 'idx<TAB>start<TAB>end<TAB>allele'"),
                       dnabert::format_error);
  // Control bytes are shown as '?', never written raw into the message.
  CHECK_THROWS_WITH_AS((void)parse(std::string_view("0\t3\t4\tA\x01\x00", 9)),
                       "mut.txt:1: allele 'A?\?' has letters other than A, C, G, T, N", dnabert::format_error);
  // One line may not swallow the memory: the reader caps it at 1 MiB.
  CHECK_THROWS_WITH_AS((void)parse("0\t3\t4\t" + std::string(std::size_t{1} << 21, 'A') + "\n"),
                       doctest::Contains("mut.txt:1: line is longer than the limit"), dnabert::format_error);
}

TEST_CASE("mutation file: the committed DNABERT example is read from disk with its line numbers") {
  const std::string path = dnabert::test::data_path("variants/mut.txt");
  const auto rows = dnabert::io::read_mutation_file(path);
  REQUIRE(rows.size() == 7);
  CHECK(rows[0].sequence_id == "2");
  CHECK(rows[0].start == 5);
  CHECK(rows[0].end == 6);
  CHECK(rows[0].allele == "A");
  CHECK(rows[6].start == 12);
  CHECK(rows[6].end == 14);
  CHECK(rows[6].allele.empty());  // "2\t12\t14\t": an empty allele deletes
  CHECK(rows[6].line == 7);
  CHECK_THROWS_WITH_AS((void)dnabert::io::read_mutation_file(path + ".missing"), doctest::Contains("cannot open"),
                       dnabert::format_error);
}

}  // namespace io_mutation_file_test
