// DNABERT's cut_no_overlap: piece lengths, exact tiling, N runs, determinism per (seed, epoch),
// and a 1 Mb FASTA record streamed as views into the reader's record.

#include "dnabert/train/pretraining_pieces.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "dnabert/io/byte_source.hpp"
#include "dnabert/tokenizer/kmer_tokenizer.hpp"

namespace train_pretraining_pieces_test {

namespace {

using dnabert::train::piece_options;

struct cut {
  std::uint64_t offset;
  std::string_view text;
};

std::string random_dna(std::size_t length, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string dna(length, 'A');
  for (char& c : dna) c = "ACGT"[rng() % 4];
  return dna;
}

std::vector<cut> cut_all(std::string_view sequence, const piece_options& options, std::uint64_t epoch,
                         std::uint64_t index = 0) {
  dnabert::train::sequence_cutter cutter(sequence, options, epoch, index);
  std::vector<cut> cuts;
  cut next{};
  while (cutter.next(next.text, next.offset)) cuts.push_back(next);
  return cuts;
}

piece_options tiling_options(int k) {
  piece_options options;
  options.k = k;
  options.n_runs = dnabert::train::n_run_handling::keep;
  options.keep_short_pieces = true;
  return options;
}

}  // namespace

TEST_CASE("pretraining pieces: half are 509+k nt, the rest max(int(U x (509+k)), 5)") {
  const std::string dna = random_dna(400000, 1);
  for (const int k : {3, 6}) {
    const std::size_t full = dnabert::train::full_piece_length(k);
    CHECK(full == static_cast<std::size_t>(509 + k));
    const auto cuts = cut_all(dna, tiling_options(k), 0);
    REQUIRE(cuts.size() > 1000);
    std::size_t full_count = 0;
    double random_sum = 0;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
      const std::size_t length = cuts[i].text.size();
      CHECK(length >= dnabert::train::min_random_piece_length);
      CHECK(length <= full);
      if (length == full) ++full_count;
      else random_sum += static_cast<double>(length);
    }
    const double n = static_cast<double>(cuts.size() - 1);
    CHECK(std::abs(full_count / n - 0.5) < 5 * std::sqrt(0.25 / n));
    // Random lengths are int(U*full) floored at 5: mean about full/2 (standard deviation full/sqrt(12)).
    const double random_count = n - static_cast<double>(full_count);
    CHECK(std::abs(random_sum / random_count - static_cast<double>(full) / 2) <
          5 * static_cast<double>(full) / std::sqrt(12 * random_count));
    CHECK(cuts.back().text.size() <= full);
  }
}

TEST_CASE("pretraining pieces: a full piece is exactly 510 k-mers, filling 512 tokens") {
  const dnabert::KmerTokenizer<6> tokenizer;
  const auto pieces = tokenizer.encode(random_dna(dnabert::train::full_piece_length(6), 2));
  REQUIRE(pieces.size() == 1);
  CHECK(pieces[0].ids.size() == 512);
}

TEST_CASE("pretraining pieces: pieces tile the sequence exactly, short sequences stay whole") {
  const std::string dna = random_dna(50000, 3);
  const auto cuts = cut_all(dna, tiling_options(6), 5);
  std::uint64_t position = 0;
  for (const auto& piece : cuts) {
    CHECK(piece.offset == position);
    CHECK(piece.text == std::string_view(dna).substr(piece.offset, piece.text.size()));
    CHECK(piece.text.data() == dna.data() + piece.offset);  // a view, not a copy
    position += piece.text.size();
  }
  CHECK(position == dna.size());
  const auto whole = cut_all(std::string_view(dna).substr(0, 515), tiling_options(6), 5);
  REQUIRE(whole.size() == 1);
  CHECK(whole[0].text.size() == 515);
  CHECK(cut_all(std::string_view(), tiling_options(6), 0).empty());
}

TEST_CASE("pretraining pieces: pieces shorter than k are skipped by default, with the same cuts") {
  const std::string dna = random_dna(200000, 4);
  piece_options options = tiling_options(6);
  const auto all = cut_all(dna, options, 1);
  options.keep_short_pieces = false;
  const auto kept = cut_all(dna, options, 1);
  std::vector<cut> expected;
  for (const auto& piece : all)
    if (piece.text.size() >= 6) expected.push_back(piece);
  REQUIRE(expected.size() < all.size());  // int(U*515) < 6 happens about 1 % of the random cuts
  REQUIRE(kept.size() == expected.size());
  for (std::size_t i = 0; i < kept.size(); ++i) {
    CHECK(kept[i].offset == expected[i].offset);
    CHECK(kept[i].text.size() == expected[i].text.size());
  }
}

TEST_CASE("pretraining pieces: N runs are dropped and cut around, or kept on request") {
  std::string dna = random_dna(30000, 5);
  dna.replace(0, 7, "NNNNNNN");
  dna.replace(1000, 3000, std::string(3000, 'N'));
  dna.replace(9000, 1, "n");
  dna.replace(29990, 10, "NNNNNNNNNN");
  piece_options options = tiling_options(6);
  options.n_runs = dnabert::train::n_run_handling::drop;
  std::string rebuilt(dna.size(), 'N');
  for (const auto& piece : cut_all(dna, options, 2)) {
    CHECK(piece.text.find_first_of("Nn") == std::string_view::npos);
    rebuilt.replace(piece.offset, piece.text.size(), piece.text);
  }
  std::string expected = dna;
  expected[9000] = 'N';
  CHECK(rebuilt == expected);  // every non-N letter lies in exactly one piece
  options.n_runs = dnabert::train::n_run_handling::keep;
  std::size_t total = 0;
  bool n_inside = false;
  for (const auto& piece : cut_all(dna, options, 2)) {
    total += piece.text.size();
    n_inside = n_inside || piece.text.find('N') != std::string_view::npos;
  }
  CHECK(total == dna.size());
  CHECK(n_inside);
  options.n_runs = dnabert::train::n_run_handling::drop;
  CHECK(cut_all("NNNNnnnn", options, 0).empty());
}

TEST_CASE("pretraining pieces: cuts are fixed by (seed, epoch, sequence) and differ otherwise") {
  const std::string dna = random_dna(100000, 6);
  const auto lengths = [&](std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
    piece_options options = tiling_options(6);
    options.seed = seed;
    std::vector<std::size_t> out;
    for (const auto& piece : cut_all(dna, options, epoch, index)) out.push_back(piece.text.size());
    return out;
  };
  CHECK(lengths(42, 3, 0) == lengths(42, 3, 0));
  CHECK(lengths(42, 3, 0) != lengths(42, 4, 0));
  CHECK(lengths(42, 3, 0) != lengths(43, 3, 0));
  CHECK(lengths(42, 3, 0) != lengths(42, 3, 1));
}

TEST_CASE("pretraining pieces: a 1 Mb FASTA record streams as views into the reader's record") {
  const std::string contig = random_dna(1000000, 7);
  std::string fasta = ">chrTest synthetic\n";
  for (std::size_t i = 0; i < contig.size(); i += 60) fasta += contig.substr(i, 60) + "\n";
  fasta += ">tiny\nACGTACGTAC\n";
  const auto bytes = std::as_bytes(std::span(fasta));
  const auto stream_epoch = [&](std::uint64_t epoch) {
    dnabert::train::fasta_piece_stream stream(
        dnabert::io::fasta_reader(dnabert::io::open_input(bytes, "synthetic.fa")), piece_options{}, epoch);
    std::vector<std::uint64_t> offsets;
    std::uint64_t covered = 0;
    std::uint64_t expected_offset = 0;
    std::uint64_t record = 0;
    dnabert::train::pretraining_piece piece;
    while (stream.next(piece)) {
      const std::string& held = stream.current_record().sequence;
      REQUIRE(piece.sequence.data() >= held.data());
      REQUIRE(piece.sequence.data() + piece.sequence.size() <= held.data() + held.size());
      CHECK(piece.sequence.data() == held.data() + piece.offset);
      if (piece.record_index != record) {
        CHECK(piece.record_index == record + 1);
        record = piece.record_index;
        expected_offset = 0;
      }
      CHECK(piece.offset >= expected_offset);  // only pieces shorter than k leave gaps
      expected_offset = piece.offset + piece.sequence.size();
      CHECK(piece.record_id == (record == 0 ? "chrTest" : "tiny"));
      covered += piece.sequence.size();
      offsets.push_back(piece.offset);
    }
    CHECK(record == 1);
    CHECK(covered > contig.size() - contig.size() / 100);
    CHECK(covered <= contig.size() + 10);
    return offsets;
  };
  const auto epoch0 = stream_epoch(0);
  CHECK(epoch0 == stream_epoch(0));
  CHECK(epoch0 != stream_epoch(1));
}

TEST_CASE("pretraining pieces: k outside 1..15 is refused") {
  piece_options options;
  options.k = 16;
  CHECK_THROWS_WITH_AS(dnabert::train::sequence_cutter("ACGT", options, 0, 0),
                       doctest::Contains("k-mer size must be between 1 and 15, got 16"), dnabert::config_error);
}

}  // namespace train_pretraining_pieces_test
