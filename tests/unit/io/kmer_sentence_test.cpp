// K-mer sentences both ways, checked against sentences Python's seq2kmer wrote into kmer6.tsv.
#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/kmer_sentence.hpp"
#include "dnabert/io/line_reader.hpp"
#include "test_paths.hpp"

namespace io_kmer_sentence_test {

namespace {

using namespace dnabert;

std::string join(std::string_view sentence) { return io::kmer_sentence_to_sequence(sentence, "t.tsv", 9); }

// The first column of each non-empty data row of a table, read without the table parser.
std::vector<std::string> first_columns(const std::string& file) {
  io::line_reader lines(io::open_input(test::data_path(file)));
  std::vector<std::string> columns;
  std::string line;
  lines.next_line(line);  // header
  while (lines.next_line(line))
    if (!line.empty()) columns.push_back(line.substr(0, line.find_first_of("\t,")));
  return columns;
}

}  // namespace

TEST_CASE("kmer_sentence: DNABERT's README example joins back to its sequence") {
  CHECK(join("GTGGGG TGGGGA GGGGAG") == "GTGGGGAG");
  CHECK(join("ACGTAC") == "ACGTAC");
  CHECK(join("  ACG  CGT GTT   ") == "ACGTT");
  CHECK(io::sequence_to_kmer_sentence("GTGGGGAG", 6) == "GTGGGG TGGGGA GGGGAG");
  CHECK(io::sequence_to_kmer_sentence("ACGT", 4) == "ACGT");
  CHECK(io::sequence_to_kmer_sentence("ACG", 1) == "A C G");
}

TEST_CASE("kmer_sentence: matches the sentences Python's seq2kmer wrote, both ways") {
  const auto sentences = first_columns("text/kmer6.tsv");
  const auto sequences = first_columns("text/raw.csv");
  REQUIRE(sentences.size() == 7);
  REQUIRE(sequences.size() == 7);
  for (std::size_t row = 0; row < sentences.size(); ++row) {
    CAPTURE(row);
    CHECK(join(sentences[row]) == sequences[row]);
    CHECK(io::sequence_to_kmer_sentence(sequences[row], 6) == sentences[row]);
  }
}

TEST_CASE("kmer_sentence: broken sentences name the file, the line and the k-mers") {
  CHECK_THROWS_WITH_AS(join(""), doctest::Contains("t.tsv:9: empty k-mer sentence"), format_error);
  CHECK_THROWS_WITH_AS(join("   "), doctest::Contains("t.tsv:9: empty k-mer sentence"), format_error);
  CHECK_THROWS_WITH_AS(join("GTGGGG TGGGGA TTTTTT"),
                       doctest::Contains("t.tsv:9: k-mer 3 'TTTTTT' does not overlap k-mer 2 'TGGGGA' (it should "
                                         "start with 'GGGGA')"),
                       format_error);
  CHECK_THROWS_WITH_AS(join("GTGGGG TGGGG"),
                       doctest::Contains("t.tsv:9: k-mer 2 'TGGGG' has 5 letters, but the first k-mer has 6"),
                       format_error);
}

TEST_CASE("kmer_sentence: writing a sentence checks k and the sequence length") {
  CHECK_THROWS_WITH_AS(io::sequence_to_kmer_sentence("ACGTA", 6),
                       doctest::Contains("cannot write a 6-mer sentence for a sequence of 5 letters"), input_error);
  CHECK_THROWS_AS(io::sequence_to_kmer_sentence("ACGT", 0), config_error);
}

}  // namespace io_kmer_sentence_test
