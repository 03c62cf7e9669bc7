// Byte sources (file, memory, gzip with several members, BGZF) and the line reader on top.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/line_reader.hpp"
#include "pipe_feed.hpp"
#include "test_paths.hpp"

namespace io_byte_source_test {

namespace {

using namespace dnabert;

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text.data(), text.size())); }

std::string slurp_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Drains a source through a small buffer, so that reads cross chunk and member boundaries.
std::string drain(io::byte_source& source, std::size_t buffer_size = 7) {
  std::string all;
  std::vector<char> buffer(buffer_size);
  while (const std::size_t count = source.read(buffer)) all.append(buffer.data(), count);
  return all;
}

std::vector<std::string> all_lines(io::line_reader& lines) {
  std::vector<std::string> result;
  std::string line;
  while (lines.next_line(line)) result.push_back(line);
  return result;
}

const std::string plain_fasta = test::data_path("text/records.fa");

}  // namespace

TEST_CASE("byte_source: a plain file reads back byte for byte") {
  io::file_source source(plain_fasta);
  CHECK(source.name() == plain_fasta);
  CHECK(drain(source) == slurp_file(plain_fasta));
}

TEST_CASE("byte_source: gzip written by Python inflates to the plain file") {
  const std::string expected = slurp_file(plain_fasta);
  REQUIRE(expected.size() == 487);
  for (const char* file : {"text/records.fa.gz", "text/records_multimember.fa.gz", "text/records_bgzf.fa.gz"}) {
    CAPTURE(file);
    auto source = io::open_input(test::data_path(file));
    CHECK(drain(*source) == expected);
    auto big_reads = io::open_input(test::data_path(file));
    CHECK(drain(*big_reads, 1 << 16) == expected);
  }
}

TEST_CASE("byte_source: gzip is recognised by content, not by file name") {
  const auto dir = test::scratch_dir("byte_source_sniff");
  std::filesystem::copy_file(test::data_path("text/records.fa.gz"), dir / "records.txt");
  std::filesystem::copy_file(plain_fasta, dir / "looks_compressed.gz");
  const std::string expected = slurp_file(plain_fasta);
  CHECK(drain(*io::open_input((dir / "records.txt").string())) == expected);
  CHECK(drain(*io::open_input((dir / "looks_compressed.gz").string())) == expected);
}

TEST_CASE("byte_source: memory input, empty input and a one-byte input") {
  CHECK(drain(*io::open_input(bytes_of("ACGT\n"), "mem")) == "ACGT\n");
  CHECK(drain(*io::open_input(bytes_of(""), "mem")).empty());
  CHECK(drain(*io::open_input(bytes_of("\x1f"), "mem")) == "\x1f");
}

TEST_CASE("byte_source: hostile gzip streams are format errors with the compressed offset") {
  CHECK_THROWS_WITH_AS(drain(*io::open_input(test::data_path("text/records_truncated.fa.gz"))),
                       doctest::Contains("records_truncated.fa.gz: byte 160: truncated gzip stream: the input ends "
                                         "inside the member that starts at byte 0"),
                       format_error);
  CHECK_THROWS_WITH_AS(drain(*io::open_input(test::data_path("text/records_corrupt.fa.gz"))),
                       doctest::Contains("records_corrupt.fa.gz: byte 317: corrupt gzip data (incorrect data check) in the member that starts at byte 0"),
                       format_error);
  CHECK_THROWS_WITH_AS(drain(*io::open_input(bytes_of("\x1f\x8b"), "magic.gz")),
                       doctest::Contains("magic.gz: byte 2: truncated gzip stream"), format_error);

  // A complete member followed by bytes that are not another member.
  std::string member = slurp_file(test::data_path("text/records.fa.gz"));
  const std::size_t member_size = member.size();
  member += "trailing junk";
  const std::string message = "junk.gz: byte " + std::to_string(member_size + 2) +
                              ": corrupt gzip data (incorrect header check) in the member that starts at byte " +
                              std::to_string(member_size);
  CHECK_THROWS_WITH_AS(drain(*io::open_input(bytes_of(member), "junk.gz")), doctest::Contains(message.c_str()),
                       format_error);
}

// A file_error, with errno's reason: what bindings turn into their I/O errors (Python's OSError).
int open_failure(const std::string& path) {
  try {
    (void)io::open_input(path);
  } catch (const dnabert::file_error& e) {
    CHECK(e.file() == path);
    return e.error_number();
  }
  FAIL("no file_error for " << path);
  return 0;
}

TEST_CASE("byte_source: a missing file or a directory cannot be opened") {
  CHECK_THROWS_WITH_AS(io::open_input("/nonexistent/dir/x.fa"),
                       doctest::Contains("/nonexistent/dir/x.fa: cannot open: No such file or directory"),
                       format_error);
  const auto dir = test::scratch_dir("byte_source_dir");
  CHECK_THROWS_WITH_AS(io::open_input(dir.string()), doctest::Contains("cannot open: is a directory, expected a file"),
                       format_error);
  CHECK(open_failure("/nonexistent/dir/x.fa") == ENOENT);
  CHECK(open_failure(dir.string()) == EISDIR);
}

TEST_CASE("line_reader: LF, CRLF, a final line without newline, blank lines and line numbers") {
  io::line_reader lines(io::open_input(bytes_of("one\r\ntwo\n\n\r\nlast"), "mem"));
  std::string line;
  REQUIRE(lines.next_line(line));
  CHECK(line == "one");
  CHECK(lines.line_number() == 1);
  CHECK(all_lines(lines) == std::vector<std::string>{"two", "", "", "last"});
  CHECK(lines.line_number() == 5);
  CHECK_FALSE(lines.next_line(line));
  CHECK(line.empty());
}

TEST_CASE("line_reader: a UTF-8 BOM is removed at the start only, a lone CR inside a line is kept") {
  io::line_reader lines(io::open_input(bytes_of("\xEF\xBB\xBFhead\n\xEF\xBB\xBFx\ra\r"), "mem"));
  CHECK(all_lines(lines) == std::vector<std::string>{"head", "\xEF\xBB\xBFx\ra"});
}

TEST_CASE("line_reader: lines that cross read chunks come back whole") {
  std::string text;
  std::vector<std::string> expected;
  for (std::size_t length = 0; text.size() < 300000; length = (length * 7 + 13) % 20011) {
    expected.emplace_back(length, static_cast<char>('A' + expected.size() % 26));
    text += expected.back() + (expected.size() % 2 ? "\n" : "\r\n");
  }
  io::line_reader lines(io::open_input(bytes_of(text), "mem"));
  CHECK(all_lines(lines) == expected);
}

TEST_CASE("line_reader: a line over the cap is an error naming its line") {
  io::line_reader lines(io::open_input(bytes_of("short\n0123456789abcdef\n"), "capped.txt"), 10);
  std::string line;
  REQUIRE(lines.next_line(line));
  CHECK_THROWS_WITH_AS(lines.next_line(line),
                       doctest::Contains("capped.txt:2: line is longer than the limit of 10 bytes"), format_error);
  io::line_reader exact(io::open_input(bytes_of("0123456789\n"), "exact.txt"), 10);
  CHECK(all_lines(exact) == std::vector<std::string>{"0123456789"});
}

TEST_CASE("line_reader: peek_first_line looks at the first non-blank line and gives every byte back") {
  const std::string text = "\xEF\xBB\xBF\r\n \t\n>first line\nsecond\n";
  io::peeked_line peeked = io::peek_first_line(io::open_input(bytes_of(text), "mem"), 1 << 20);
  CHECK(peeked.found);
  CHECK(peeked.line == ">first line");
  CHECK(peeked.line_number == 3);
  CHECK(drain(*peeked.source) == text);
  CHECK(peeked.source->name() == "mem");

  io::peeked_line blank = io::peek_first_line(io::open_input(bytes_of("\n \n"), "blank"), 1 << 20);
  CHECK_FALSE(blank.found);
  CHECK(drain(*blank.source) == "\n \n");
  // A long input is read only up to the chunk holding its first line.
  const std::string big = ">x\n" + std::string(1 << 20, 'A');
  io::peeked_line prefix = io::peek_first_line(io::open_input(bytes_of(big), "big"), 1 << 20);
  CHECK(drain(*prefix.source, 1 << 16) == big);
}

TEST_CASE("byte_source: '-' reads standard input, named <stdin>, and leaves it open") {
  const std::string fasta = slurp_file(plain_fasta);
  const test::stdin_feed feed(fasta);
  {
    auto source = io::open_input("-");
    CHECK(source->name() == "<stdin>");
    CHECK(drain(*source) == fasta);
  }
  CHECK(::fcntl(STDIN_FILENO, F_GETFD) != -1);
  CHECK(io::input_name("-") == "<stdin>");
  CHECK(io::input_name("x.fa") == "x.fa");
}

}  // namespace io_byte_source_test
