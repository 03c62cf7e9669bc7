// Format detection by content (gzip-aware) and read_sequences, the CLI's entry point for inputs:
// from files, pipes and standard input alike, whole or a bounded chunk at a time.
#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/io/sequence_input.hpp"
#include "pipe_feed.hpp"
#include "test_paths.hpp"

namespace io_sequence_input_test {

namespace {

using namespace dnabert;

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text.data(), text.size())); }

io::sequence_format detect(std::string_view text) { return io::detect_sequence_format(io::open_input(bytes_of(text), "in")); }

std::string slurp_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The text of `path`, through gzip when it is compressed.
std::string decompressed(const std::string& path) {
  const auto source = io::open_input(path);
  std::string text;
  char buffer[4096];
  for (std::size_t got; (got = source->read(buffer)) > 0;) text.append(buffer, got);
  return text;
}

// `text` gzip-compressed by zlib, as `gzip -c` writes it.
std::string gzip_of(const std::string& text) {
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&stream, static_cast<uLong>(text.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

void check_same_entries(const std::vector<io::sequence_entry>& read, const std::vector<io::sequence_entry>& expected) {
  REQUIRE(read.size() == expected.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    CHECK(read[i].id == expected[i].id);
    CHECK(read[i].sequence == expected[i].sequence);
    CHECK(read[i].label == expected[i].label);
  }
}

// Generates `records` FASTA records of 100 nt on the fly and counts the bytes handed out: an input
// far larger than what a chunked reader may hold, which never exists in memory as a whole.
class generated_fasta final : public io::byte_source {
 public:
  explicit generated_fasta(std::uint64_t records) : byte_source("generated.fa"), records_(records) {}

  std::size_t read(std::span<char> buffer) override {
    std::size_t count = 0;
    while (count < buffer.size()) {
      if (at_ == pending_.size()) {
        if (made_ == records_) break;
        pending_ = ">r" + std::to_string(made_) + "\n" + std::string(100, "ACGT"[made_ % 4]) + "\n";
        at_ = 0;
        ++made_;
      }
      const std::size_t piece = std::min(buffer.size() - count, pending_.size() - at_);
      std::copy_n(pending_.data() + at_, piece, buffer.data() + count);
      at_ += piece;
      count += piece;
    }
    *handed_out_ += count;
    return count;
  }

  /// Where the count of bytes handed out goes (it outlives the source, which the reader owns).
  void count_into(std::uint64_t& handed_out) { handed_out_ = &handed_out; }

 private:
  std::uint64_t records_;
  std::uint64_t made_ = 0;
  std::string pending_;
  std::size_t at_ = 0;
  std::uint64_t unused_ = 0;
  std::uint64_t* handed_out_ = &unused_;
};

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

TEST_CASE("sequence_input: every format reads from a pipe as from its file, plain and gzip") {
  const auto dir = test::scratch_dir("sequence_input_pipes");
  for (const char* name : {"text/records.fa", "text/records_crlf_bom.fa", "text/records_bgzf.fa.gz",
                           "text/records_multimember.fa.gz", "text/kmer6.tsv", "text/kmer6.tsv.gz", "text/raw.csv"}) {
    const std::string file = test::data_path(name);
    const auto expected = io::read_sequences(file);
    const std::string text = decompressed(file);
    // The file's bytes as they are (a .gz as written: BGZF, several members), its text, its text gzipped.
    for (const std::string& bytes : {slurp_file(file), text, gzip_of(text)}) {
      CAPTURE(name);
      CAPTURE(bytes.size());
      const test::fifo_feed pipe(dir, "input", bytes, 5);  // 5-byte writes: short reads
      io::sequence_reader reader(pipe.path());
      CHECK(reader.format() == io::detect_sequence_format(file));
      std::vector<io::sequence_entry> read;
      for (io::sequence_entry entry; reader.next(entry);) read.push_back(entry);
      check_same_entries(read, expected);
    }
  }
}

TEST_CASE("sequence_input: '-' is standard input, called <stdin> in messages") {
  const std::string fasta = slurp_file(test::data_path("text/records.fa"));
  {
    const test::stdin_feed feed(gzip_of(fasta));
    check_same_entries(io::read_sequences("-"), io::read_sequences(test::data_path("text/records.fa")));
  }
  {
    const test::stdin_feed feed("\n\nhello world\n");
    CHECK_THROWS_WITH_AS(io::read_sequences("-"), doctest::Contains("<stdin>:3: cannot tell the format"), format_error);
  }
  {
    const test::stdin_feed feed(">a\nACGT\n>a\nACGT\n");
    CHECK_THROWS_WITH_AS(io::read_sequences("-"), "<stdin>:3: duplicate FASTA id 'a' (first used on line 1)", format_error);
  }
  {
    const test::stdin_feed feed("");
    CHECK_THROWS_WITH_AS(io::read_sequences("-"), "<stdin>: cannot tell the format of an empty or blank input", format_error);
  }
}

TEST_CASE("sequence_input: a chunk holds at most its limits, and the chunks are the input in order") {
  const auto whole = io::read_sequences(test::data_path("text/kmer6.tsv"));  // 7 rows
  for (const std::size_t records : {1, 2, 3, 7, 100}) {
    CAPTURE(records);
    io::sequence_reader reader(test::data_path("text/kmer6.tsv"));
    std::vector<io::sequence_entry> chunk, joined;
    std::size_t chunks = 0;
    while (reader.next_chunk(chunk, {records, std::size_t{1} << 30})) {
      CHECK(chunk.size() <= records);
      joined.insert(joined.end(), chunk.begin(), chunk.end());
      ++chunks;
    }
    CHECK(chunk.empty());
    CHECK(chunks == (whole.size() + records - 1) / records);
    CHECK(reader.count() == whole.size());
    check_same_entries(joined, whole);
  }
  // The nucleotide limit ends a chunk with the record that reaches it; a longer record is a chunk alone.
  io::sequence_reader reader(io::open_input(bytes_of(">a\nACGTACGTAC\n>b\nACG\n>c\nACGTA\n>d\nAC\n"), "mem.fa"));
  std::vector<io::sequence_entry> chunk;
  std::vector<std::size_t> sizes;
  while (reader.next_chunk(chunk, {100, 8})) sizes.push_back(chunk.size());
  CHECK(sizes == std::vector<std::size_t>{1, 2, 1});  // a (10 nt); b and c (3 + 5 reach 8); d
}

TEST_CASE("sequence_input: a chunked reader holds one chunk, however long the input") {
  // 1,000,000 records of 100 nt (about 109 MB) read 1,000 at a time: when a chunk comes back, the
  // reader has taken at most that chunk's bytes, one read-ahead buffer (64 KiB) and the next
  // record's header from the input.
  constexpr std::uint64_t records = 1000000;
  constexpr std::size_t chunk_records = 1000;
  std::uint64_t handed_out = 0;
  auto source = std::make_unique<generated_fasta>(records);
  source->count_into(handed_out);
  io::sequence_reader reader(std::move(source), {.unique_ids = false});  // as the CLI streams: no id kept
  std::vector<io::sequence_entry> chunk;
  std::uint64_t consumed = 0;  // bytes of the records returned so far
  std::uint64_t largest_lead = 0;
  while (reader.next_chunk(chunk, {chunk_records, std::size_t{1} << 30})) {
    REQUIRE(chunk.size() <= chunk_records);
    for (const auto& entry : chunk) consumed += entry.id.size() + entry.sequence.size() + 3;  // '>' and two '\n'
    largest_lead = std::max(largest_lead, handed_out - std::min(handed_out, consumed));
  }
  CHECK(reader.count() == records);
  CHECK(consumed == handed_out);
  CHECK(largest_lead <= (std::uint64_t{64} << 10) + 16);
}

}  // namespace io_sequence_input_test
