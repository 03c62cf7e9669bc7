#include "dnabert/tokenizer/kmer_tokenizer.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dnabert/tokenizer/token_batch.hpp"
#include "test_paths.hpp"

namespace tokenizer_kmer_tokenizer_test {

namespace {

using dnabert::token_id;

std::vector<token_id> parse_ids(const std::string& text) {
  std::istringstream in(text);
  std::vector<token_id> ids;
  for (token_id id = 0; in >> id;) ids.push_back(id);
  return ids;
}

// Slow, obviously-correct reference: upper-case, cut every window, look each up by text.
std::vector<token_id> naive_kmer_ids(int k, std::string sequence) {
  for (char& c : sequence) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::vector<token_id> ids;
  for (std::size_t i = 0; i + static_cast<std::size_t>(k) <= sequence.size(); ++i)
    ids.push_back(dnabert::token_id_of(k, sequence.substr(i, static_cast<std::size_t>(k))));
  return ids;
}

std::string random_dna(std::mt19937& rng, std::size_t length, std::string_view alphabet) {
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string s(length, 'A');
  for (char& c : s) c = alphabet[pick(rng)];
  return s;
}

template <int K>
void check_static_matches_dynamic(const std::string& sequence) {
  const dnabert::KmerTokenizer<K> fixed;
  const dnabert::kmer_tokenizer runtime(K);
  CHECK(fixed.kmer_ids(sequence) == runtime.kmer_ids(sequence));
  CHECK(fixed.kmer_ids(sequence) == naive_kmer_ids(K, sequence));
}

}  // namespace

TEST_CASE("tokenizer: vocabulary ids follow itertools.product('ATCG') order") {
  CHECK(dnabert::vocab_size_for_k(3) == 69);
  CHECK(dnabert::vocab_size_for_k(4) == 261);
  CHECK(dnabert::vocab_size_for_k(5) == 1029);
  CHECK(dnabert::vocab_size_for_k(6) == 4101);
  CHECK(dnabert::token_id_of(6, "AAAAAA") == 5);
  CHECK(dnabert::token_id_of(6, "AAAAAT") == 6);
  CHECK(dnabert::token_id_of(6, "AAAAAC") == 7);
  CHECK(dnabert::token_id_of(6, "AAAAAG") == 8);
  CHECK(dnabert::token_id_of(6, "AAAATA") == 9);
  CHECK(dnabert::token_id_of(6, "GGGGGG") == 4100);
  CHECK(dnabert::token_id_of(6, "[MASK]") == dnabert::special::mask);
  CHECK(dnabert::token_id_of(6, "AAAAAN") == dnabert::special::unk);
  CHECK(dnabert::token_id_of(6, "aaaaaa") == dnabert::special::unk);  // vocab.txt is upper case only
  CHECK(dnabert::token_text(6, 4100) == "GGGGGG");
  CHECK(dnabert::token_text(3, 2) == "[CLS]");
  for (int k = 1; k <= 6; ++k)
    for (token_id id = 0; id < dnabert::vocab_size_for_k(k); ++id)
      REQUIRE(dnabert::token_id_of(k, dnabert::token_text(k, id)) == id);
  CHECK(dnabert::k_for_vocab_size(4101) == 6);
  CHECK_FALSE(dnabert::k_for_vocab_size(4100).has_value());
}

TEST_CASE("tokenizer: matches DNABERT's seq2kmer + vocab lookup (goldens from tests/reference)") {
  std::ifstream in(dnabert::test::data_path("tokenizer/goldens.tsv"));
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);  // header
  int cases = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string k_text, sequence, ids_text;
    std::getline(fields, k_text, '\t');
    std::getline(fields, sequence, '\t');
    std::getline(fields, ids_text);
    const dnabert::kmer_tokenizer tokenizer(std::stoi(k_text));
    const auto pieces = tokenizer.encode(sequence, "golden");
    REQUIRE(pieces.size() == 1);
    CHECK_MESSAGE(pieces[0].ids == parse_ids(ids_text), "k=" << k_text << " sequence " << sequence);
    ++cases;
  }
  CHECK(cases == 32);
}

TEST_CASE("tokenizer: compile-time and run-time k give the same ids as the naive reference") {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    const auto sequence = random_dna(rng, 1 + rng() % 700, "ACGTACGTACGTacgtNRY");
    check_static_matches_dynamic<3>(sequence);
    check_static_matches_dynamic<4>(sequence);
    check_static_matches_dynamic<5>(sequence);
    check_static_matches_dynamic<6>(sequence);
    check_static_matches_dynamic<1>(sequence);
    check_static_matches_dynamic<15>(sequence);
  }
}

TEST_CASE("tokenizer: lower case is upper-cased, N and IUPAC letters give one [UNK] per k-mer") {
  const dnabert::KmerTokenizer<3> tokenizer;
  CHECK(tokenizer.kmer_ids("acgt") == tokenizer.kmer_ids("ACGT"));
  const auto ids = tokenizer.kmer_ids("AACNGTT");
  // k-mers: AAC ACN CNG NGT GTT -> the three touching N are [UNK]
  REQUIRE(ids.size() == 5);
  CHECK(ids[0] == dnabert::token_id_of(3, "AAC"));
  CHECK(ids[1] == dnabert::special::unk);
  CHECK(ids[2] == dnabert::special::unk);
  CHECK(ids[3] == dnabert::special::unk);
  CHECK(ids[4] == dnabert::token_id_of(3, "GTT"));
  CHECK(tokenizer.decode(tokenizer.encode("ACGTA")[0].ids) == "[CLS] ACG CGT GTA [SEP]");
}

TEST_CASE("tokenizer: sequences over 510 k-mers are cut into consecutive pieces with their origin") {
  const dnabert::KmerTokenizer<6> tokenizer;
  std::mt19937 rng(11);
  const std::string exact = random_dna(rng, 510 + 5, "ACGT");  // exactly 510 k-mers
  auto pieces = tokenizer.encode(exact, "exact", 3);
  REQUIRE(pieces.size() == 1);
  CHECK(pieces[0].ids.size() == 512);
  CHECK(pieces[0].origin.sequence == 3);

  const std::string longer = random_dna(rng, 1021 + 5, "ACGT");  // 1021 k-mers: 510 + 510 + 1
  pieces = tokenizer.encode(longer, "long", 0);
  REQUIRE(pieces.size() == 3);
  const auto all = tokenizer.kmer_ids(longer);
  std::size_t next = 0;
  for (std::size_t p = 0; p < pieces.size(); ++p) {
    const auto& piece = pieces[p];
    CHECK(piece.ids.front() == dnabert::special::cls);
    CHECK(piece.ids.back() == dnabert::special::sep);
    CHECK(piece.origin.piece == p);
    CHECK(piece.origin.piece_count == 3);
    CHECK(piece.origin.first_kmer == next);
    for (std::size_t i = 1; i + 1 < piece.ids.size(); ++i) CHECK(piece.ids[i] == all[next++]);
  }
  CHECK(next == all.size());
  CHECK(pieces[2].ids.size() == 3);

  const std::string two = random_dna(rng, 1020 + 5, "ACGT");  // an exact multiple: no empty piece
  CHECK(tokenizer.encode(two).size() == 2);
}

TEST_CASE("tokenizer: a sequence shorter than k is an error naming it") {
  const dnabert::KmerTokenizer<6> tokenizer;
  CHECK_THROWS_WITH_AS((void)tokenizer.encode("ACGTA", "chr_short"),
                       "sequence 'chr_short' is 5 nt long, shorter than k = 6", dnabert::input_error);
  CHECK_THROWS_AS((void)tokenizer.encode("", "empty"), dnabert::input_error);
  CHECK(tokenizer.encode("ACGTAC", "just_k")[0].ids.size() == 3);
  CHECK_THROWS_WITH_AS(dnabert::kmer_tokenizer(16), "k-mer size must be between 1 and 15, got 16",
                       dnabert::config_error);
}

TEST_CASE("tokenizer: batches pad with [PAD] to the longest piece, mask 1 on real tokens") {
  const dnabert::KmerTokenizer<3> tokenizer;
  std::vector<dnabert::token_piece> pieces;
  for (const char* sequence : {"ACGTAC", "ACG", "ACGTACGTAC"}) {
    auto encoded = tokenizer.encode(sequence, sequence, pieces.size());
    pieces.insert(pieces.end(), encoded.begin(), encoded.end());
  }
  const auto batch = dnabert::make_batch(pieces);
  CHECK(batch.rows == 3);
  CHECK(batch.length == 10);
  const auto ids = batch.ids_view();
  const auto mask = batch.mask_view();
  CHECK(ids.shape()[0] == 3);
  CHECK(ids.shape()[1] == 10);
  CHECK(ids(1, 0) == dnabert::special::cls);
  CHECK(ids(1, 1) == dnabert::token_id_of(3, "ACG"));
  CHECK(ids(1, 2) == dnabert::special::sep);
  CHECK(ids(1, 3) == dnabert::special::pad);
  CHECK(mask(1, 2) == 1);
  CHECK(mask(1, 3) == 0);
  CHECK(mask(2, 9) == 1);
  CHECK(batch.origins[2].sequence == 2);
  CHECK(&ids(0, 0) == batch.input_ids.data());  // a view, not a copy
}

}  // namespace tokenizer_kmer_tokenizer_test
