// The packed corpus (`dnabert corpus`): letters back exactly as written (case, N runs, IUPAC
// codes, several records), and every truncated, damaged or inconsistent file refused by name.
#include "dnabert/io/packed_corpus.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "test_paths.hpp"

namespace io_packed_corpus_test {

namespace {

namespace io = dnabert::io;
namespace fs = std::filesystem;

struct test_record {
  std::string id, letters;
};

// Records a packed corpus must give back letter for letter: mixed case, N runs of both cases,
// IUPAC codes, '-' and '*', a one-letter record and one of a single N.
std::vector<test_record> tricky_records() {
  std::mt19937 rng(7);
  std::string long_one(3001, 'A');
  for (char& c : long_one) c = "ACGTacgt"[rng() % 8];
  long_one.replace(100, 40, std::string(40, 'N'));
  long_one.replace(140, 10, std::string(10, 'n'));
  long_one.replace(2000, 5, "RYKMs");
  return {{"chr1", long_one}, {"x", "G"}, {"chrUn_1 ", "nnnNNNacgtNRYn-*acgtACGT"}, {"n", "N"}, {"", "ttttTTTT"}};
}

// Writes `records`, each appended in pieces of `chunk` letters.
void write_corpus(const std::string& path, const std::vector<test_record>& records, std::size_t chunk, bool text_lines = false) {
  io::packed_corpus_writer writer(path);
  for (const auto& record : records) {
    writer.begin_record(record.id);
    for (std::size_t at = 0; at < record.letters.size(); at += chunk) writer.append(std::string_view(record.letters).substr(at, chunk));
    writer.end_record();
  }
  writer.commit(text_lines);
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string decoded(const io::packed_corpus& corpus, std::uint64_t start, std::uint64_t length) {
  std::string out(length, '\0');
  corpus.decode(start, length, out.data());
  return out;
}

// A little-endian u64/u32 stored at `offset` of `bytes`.
template <class T>
void patch(std::string& bytes, std::size_t offset, T value) {
  io::packed_corpus_format::store(bytes.data() + offset, value);
}

// Recomputes the index CRC of a file whose index a test edited, so that only the check under test fails.
void fix_index_crc(std::string& bytes, std::uint64_t records_offset) {
  using io::packed_corpus_format::crc32_of;
  const auto all = std::as_bytes(std::span(bytes.data(), bytes.size()));
  const auto crc = crc32_of(crc32_of(0, all.subspan(records_offset)), all.first(io::packed_corpus_format::checked_header_bytes));
  patch(bytes, 68, crc);
}

}  // namespace

TEST_CASE("packed corpus: every stretch decodes to the letters written, case, N runs and IUPAC codes kept") {
  const auto dir = dnabert::test::scratch_dir("packed-corpus");
  const auto records = tricky_records();
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{60}, std::size_t{1} << 20}) {
    CAPTURE(chunk);
    const auto path = (dir / ("c" + std::to_string(chunk) + ".dna")).string();
    write_corpus(path, records, chunk);
    CHECK(io::is_packed_corpus(path));
    const io::packed_corpus corpus(path);
    CHECK_FALSE(corpus.text_lines());
    REQUIRE(corpus.records() == records.size());
    std::string all;
    for (std::size_t r = 0; r < records.size(); ++r) {
      const auto record = corpus.record(r);
      CHECK(record.id == records[r].id);
      CHECK(record.start == all.size());
      CHECK(decoded(corpus, record.start, record.length) == records[r].letters);
      all += records[r].letters;
    }
    REQUIRE(corpus.nucleotides() == all.size());
    for (std::uint64_t start = 0; start < all.size(); start += 37)
      for (const std::uint64_t length : {0U, 1U, 5U, 64U, 515U})
        if (start + length <= all.size()) CHECK(decoded(corpus, start, length) == all.substr(start, length));
    CHECK_NOTHROW(corpus.verify_bases());
    CHECK_THROWS_AS((void)decoded(corpus, all.size() - 2, 3), dnabert::error);
    CHECK_THROWS_AS((void)corpus.record(records.size()), dnabert::error);
  }
  // The same letters give the same bytes however they were appended.
  CHECK(file_bytes(dir / "c1.dna") == file_bytes(dir / "c1048576.dna"));
}

TEST_CASE("packed corpus: the N runs of a record are found from an index, not by reading letters") {
  const auto dir = dnabert::test::scratch_dir("packed-corpus-n");
  const auto records = tricky_records();
  const auto path = (dir / "c.dna").string();
  write_corpus(path, records, 64);
  const io::packed_corpus corpus(path);
  for (std::size_t r = 0; r < records.size(); ++r) {
    CAPTURE(r);
    const std::string& letters = records[r].letters;
    const auto is_n = [](char c) { return c == 'N' || c == 'n'; };
    io::packed_n_runs runs(corpus, r);
    REQUIRE(runs.size() == letters.size());
    std::size_t answered = 0;  // a cutter asks of one cursor positions no smaller than its answers
    for (std::size_t p = 0; p <= letters.size(); ++p) {
      std::size_t skipped = p, next = p;
      while (skipped < letters.size() && is_n(letters[skipped])) ++skipped;
      while (next < letters.size() && !is_n(letters[next])) ++next;
      io::packed_n_runs fresh(corpus, r);  // the cursor only moves forward: one per question
      CHECK(fresh.skip_n(p) == skipped);
      io::packed_n_runs other(corpus, r);
      CHECK(other.next_n(p, letters.size()) == next);
      io::packed_n_runs from_p(corpus, r, p);  // a cutter resumed at p
      CHECK(from_p.next_n(p, std::min(p + 3, letters.size())) == std::min(next, std::min(p + 3, letters.size())));
      if (p >= answered) {
        answered = p % 2 == 0 ? runs.skip_n(p) : runs.next_n(p, letters.size());
        CHECK(answered == (p % 2 == 0 ? skipped : next));
      }
    }
  }
}

TEST_CASE("packed corpus: a truncated, foreign, damaged or inconsistent file is refused, naming it") {
  const auto dir = dnabert::test::scratch_dir("packed-corpus-bad");
  const auto good = dir / "good.dna";
  write_corpus(good.string(), tricky_records(), 100);
  const std::string bytes = file_bytes(good);
  const auto bad = (dir / "bad.dna").string();
  const auto refused = [&](const std::string& content) -> std::string {
    put_bytes(bad, content);
    try {
      const io::packed_corpus corpus(bad);
    } catch (const dnabert::format_error& e) {
      return e.what();
    }
    return "accepted";
  };

  // Every truncation: a message naming the file, never a read past its end.
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    CAPTURE(size);
    const std::string message = refused(bytes.substr(0, size));
    CHECK(message.find(bad) != std::string::npos);
  }
  CHECK(refused(bytes.substr(0, 100)).find("truncated: 100 bytes, shorter than the 128-byte header") != std::string::npos);
  CHECK(refused(bytes.substr(0, bytes.size() - 1)).find("truncated") != std::string::npos);
  CHECK(refused(bytes + "x").find("1 bytes after the end the header gives") != std::string::npos);
  CHECK(refused(">chr1\nACGT\n").find("not a dnabert packed corpus") != std::string::npos);

  std::string other_version = bytes;
  patch(other_version, 8, std::uint32_t{2});
  CHECK(refused(other_version).find("format version 2; this dnabert reads version 1") != std::string::npos);

  std::string huge_count = bytes;  // a count no file can hold must not be multiplied into an overflow
  patch(huge_count, 24, ~std::uint64_t{0});
  CHECK(refused(huge_count).find("records, more than the file's") != std::string::npos);

  const std::uint64_t nucleotides = io::packed_corpus_format::load<std::uint64_t>(reinterpret_cast<const std::byte*>(bytes.data()) + 16);
  const std::uint64_t records_offset = io::packed_corpus_format::header_size + io::packed_corpus_format::bases_bytes(nucleotides);
  std::string flipped = bytes;  // one bit of the index changed
  flipped[records_offset + 9] = static_cast<char>(flipped[records_offset + 9] ^ 1);
  CHECK(refused(flipped).find("the index does not match its checksum") != std::string::npos);

  // Inconsistent indexes with a correct checksum (a hostile file): each caught by its check.
  std::string overlong = bytes;  // record 1 longer than the genome
  patch(overlong, records_offset + 8, nucleotides + 1);
  fix_index_crc(overlong, records_offset);
  CHECK(refused(overlong).find("record 1 of the index has length") != std::string::npos);

  std::string gap = bytes;  // record 2 starts past where record 1 ends
  patch(gap, records_offset + 32, std::uint64_t{5000});
  fix_index_crc(gap, records_offset);
  CHECK(refused(gap).find("record 2 of the index starts at 5000, expected 3001") != std::string::npos);

  const std::uint64_t runs_offset = records_offset + 5 * io::packed_corpus_format::record_size;
  std::string past_end = bytes;  // the first letter run reaches past the last nucleotide
  patch(past_end, runs_offset + 8, std::uint32_t{0xffffffffU});
  fix_index_crc(past_end, records_offset);
  CHECK(refused(past_end).find("letter run 1 ") != std::string::npos);

  std::string base_letter = bytes;  // a run may not claim to be A, C, G or T
  base_letter[runs_offset + 12] = 'A';
  fix_index_crc(base_letter, records_offset);
  CHECK(refused(base_letter).find("not an upper-case letter other than A/C/G/T") != std::string::npos);

  std::string damaged_base = bytes;  // bases are checked on request only
  damaged_base[io::packed_corpus_format::header_size] = static_cast<char>(damaged_base[io::packed_corpus_format::header_size] ^ 3);
  put_bytes(bad, damaged_base);
  const io::packed_corpus opened(bad);
  CHECK_THROWS_WITH_AS(opened.verify_bases(), doctest::Contains("the bases do not match their checksum"), dnabert::format_error);
}

TEST_CASE("packed corpus: the file appears whole or not at all, and only from a regular file") {
  const auto dir = dnabert::test::scratch_dir("packed-corpus-atomic");
  const auto path = (dir / "c.dna").string();
  {
    io::packed_corpus_writer writer(path);
    writer.begin_record("a");
    writer.append("ACGT");
    writer.end_record();
    // destroyed uncommitted
  }
  CHECK_FALSE(fs::exists(path));
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 0);
  io::packed_corpus_writer empty_record(path);
  empty_record.begin_record("a");
  CHECK_THROWS_AS(empty_record.end_record(), dnabert::error);
  CHECK_FALSE(io::is_packed_corpus("-"));
  CHECK_FALSE(io::is_packed_corpus((dir / "missing.dna").string()));
}

}  // namespace io_packed_corpus_test
