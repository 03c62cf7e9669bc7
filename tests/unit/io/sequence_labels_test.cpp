// FASTA with labels in a side file: id<sep>label lines or one label per line, and every way a
// labels file can disagree with its FASTA.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/io/sequence_input.hpp"
#include "test_paths.hpp"

namespace io_sequence_labels_test {

namespace {

using namespace dnabert;

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text.data(), text.size())); }

constexpr std::string_view three_records = ">a first\nACGT\n>b\nGGCC\n>c\nTTAA\n";

/// The labels of three_records after attaching `labels` (read as "labels.txt").
std::vector<double> labels_of(std::string_view labels) {
  auto entries = io::read_sequences(bytes_of(three_records), "seqs.fa");
  io::attach_labels(entries, io::open_input(bytes_of(labels), "labels.txt"), "seqs.fa");
  std::vector<double> values;
  for (const auto& entry : entries) {
    REQUIRE(entry.label.has_value());
    values.push_back(*entry.label);
  }
  return values;
}

const std::vector<double> expected{1.0, 0.0, 2.5};

}  // namespace

TEST_CASE("sequence_labels: id<sep>label lines match records by id, in any order, any separator") {
  CHECK(labels_of("c\t2.5\na\t1\nb\t0\n") == expected);
  CHECK(labels_of("id,label\r\nb,0\r\n\r\na, 1\r\nc ,2.5\r\n") == expected);
  CHECK(labels_of("id label\n  b   0\na\t1\n\nc 2.5") == expected);
}

TEST_CASE("sequence_labels: one label per line follows record order") {
  CHECK(labels_of("1\n0\n\n2.5\n") == expected);
  CHECK(labels_of("  1\r\n0\r\n2.5e0") == expected);
}

TEST_CASE("sequence_labels: read_sequences(path, labels_path) reads a FASTA and its side file") {
  const auto dir = test::scratch_dir("sequence_labels");
  std::ofstream(dir / "labels.tsv") << "id\tlabel\nseq2\t1\nseq0\t0\nseq1\t1\n";
  const auto entries = io::read_sequences(test::data_path("cli/three.fa"), (dir / "labels.tsv").string());
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].id == "seq0");
  CHECK(entries[0].label == 0.0);
  CHECK(entries[1].label == 1.0);
  CHECK(entries[2].label == 1.0);
}

TEST_CASE("sequence_labels: labels files that disagree with the FASTA are refused with the file and line") {
  CHECK_THROWS_WITH_AS(labels_of("a\t1\nzz\t0\nc\t2\n"),
                       doctest::Contains("labels.txt:2: unknown id 'zz': no record of seqs.fa has it"), format_error);
  CHECK_THROWS_WITH_AS(labels_of("a\t1\nb\t0\na\t1\nc\t2\n"),
                       doctest::Contains("labels.txt:3: duplicate label for 'a' (first given on line 1)"),
                       format_error);
  CHECK_THROWS_WITH_AS(labels_of("a\t1\nc\t2\n"),
                       doctest::Contains("labels.txt: no label for record 'b' of seqs.fa (1 of 3 records have none)"),
                       format_error);
  CHECK_THROWS_WITH_AS(labels_of("a\t1\nb\tpositive\nc\t2\n"),
                       doctest::Contains("labels.txt:2: label 'positive' is not a number"), format_error);
  CHECK_THROWS_WITH_AS(labels_of("a\t1\nb\tnan\nc\t2\n"),
                       doctest::Contains("labels.txt:2: label 'nan' is not a finite number"), format_error);
  CHECK_THROWS_WITH_AS(labels_of("a\t1\nb\t0\t7\nc\t2\n"),
                       doctest::Contains("labels.txt:2: expected 2 columns 'id<TAB>label' as on line 1, found 3"),
                       format_error);
  CHECK_THROWS_WITH_AS(labels_of("a,1\nb,\nc,2\n"), doctest::Contains("labels.txt:2: empty label (expected a number)"),
                       format_error);
  CHECK_THROWS_WITH_AS(labels_of("\n\nx\ty\tz\n"),
                       doctest::Contains("labels.txt:3: expected 'id<TAB>label' or one label per line, found 3 "
                                         "columns"),
                       format_error);
  CHECK_THROWS_WITH_AS(labels_of("1\n0\n"),
                       doctest::Contains("labels.txt: has 2 labels (one per line) but seqs.fa has 3 records"),
                       format_error);
  CHECK_THROWS_WITH_AS(labels_of("1\n0\n2\n3\n"),
                       doctest::Contains("labels.txt: has 4 labels (one per line) but seqs.fa has 3 records"),
                       format_error);
  CHECK_THROWS_WITH_AS(labels_of("1\nb 0\n2\n"),
                       doctest::Contains("labels.txt:2: expected one label per line, as on the first line, found 2 "
                                         "columns"),
                       format_error);
  CHECK_THROWS_WITH_AS(labels_of(" \n\t\n"), doctest::Contains("labels.txt: no labels: the file is empty or blank"),
                       format_error);
}

TEST_CASE("sequence_labels: a table that has labels of its own does not take a second source") {
  CHECK_THROWS_WITH_AS(
      (void)io::read_sequences(test::data_path("cli/three_labelled.csv"), test::data_path("cli/three.fa")),
      doctest::Contains("three_labelled.csv: has labels of its own (a table with a label column); labels from "),
      format_error);
  CHECK_THROWS_WITH_AS(
      (void)io::read_sequences(test::data_path("cli/three_labelled.csv"), test::data_path("cli/three.fa")),
      doctest::Contains("three.fa as well would be two sources of labels: give one"), format_error);
  CHECK_THROWS_WITH_AS((void)io::read_sequences(test::data_path("cli/three.fa"), "/nonexistent/labels.txt"),
                       doctest::Contains("/nonexistent/labels.txt"), error);
}

TEST_CASE("sequence_labels: a line of millions of separators is counted, not split into memory") {
  std::string many_tabs = "a\t1";
  many_tabs.append(std::size_t{1} << 22, '\t');
  CHECK_THROWS_WITH_AS(labels_of(many_tabs),
                       doctest::Contains("labels.txt:1: expected 'id<TAB>label' or one label per line, found 4194306 "
                                         "columns"),
                       format_error);
}

}  // namespace io_sequence_labels_test
