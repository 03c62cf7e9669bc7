// The tokenizer models read DNA with: k-mers exactly as kmer_tokenizer cuts them, and DNABERT-2's
// BPE cut into pieces of max_tokens with the nucleotides of every token.
#include "dnabert/tokenizer/sequence_tokenizer.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "dnabert/io/tokenizer_json.hpp"
#include "test_paths.hpp"

namespace tokenizer_sequence_tokenizer_test {

namespace {

std::shared_ptr<const dnabert::bpe_tokenizer> chr17_bpe() {
  static const auto bpe = std::make_shared<const dnabert::bpe_tokenizer>(
      dnabert::io::read_tokenizer_json(dnabert::test::data_path("bpe/chr17_bpe200/tokenizer.json")));
  return bpe;
}

const std::string sequence =
    "GATTACAGGCCTTAACGGTACCATGNNNNACGTACGTTTAAAGGGCCCATATATCGCGATCGATCGTAGCTAGCTAGGATCCAAGCTT";

}  // namespace

TEST_CASE("sequence tokenizer: k-mers are kmer_tokenizer's pieces, spans and specials") {
  const dnabert::kmer_tokenizer kmers(4);
  const dnabert::sequence_tokenizer tokenizer(kmers);
  CHECK_FALSE(tokenizer.is_bpe());
  CHECK(tokenizer.k() == 4);
  const auto ours = tokenizer.encode(sequence, "s", 3, 20);
  const auto theirs = kmers.encode(sequence, "s", 3, 20);
  REQUIRE(ours.size() == theirs.size());
  for (std::size_t p = 0; p < ours.size(); ++p) {
    CHECK(ours[p].ids == theirs[p].ids);
    CHECK(ours[p].origin.first_kmer == theirs[p].origin.first_kmer);
  }
  const auto spans = tokenizer.token_spans(sequence);
  REQUIRE(spans.size() == sequence.size() - 3);
  CHECK(spans[5].begin == 5);
  CHECK(spans[5].end == 9);
  CHECK(tokenizer.token_count(sequence) == spans.size());
  CHECK(tokenizer.specials().cls == dnabert::special::cls);
  CHECK(tokenizer.describe() == "k = 4");
}

TEST_CASE("sequence tokenizer: BPE pieces hold the whole sequence's tokens in order, each with its nucleotides") {
  const auto bpe = chr17_bpe();
  const dnabert::sequence_tokenizer tokenizer(bpe);
  CHECK(tokenizer.is_bpe());
  CHECK_THROWS_AS((void)tokenizer.k(), dnabert::config_error);
  const auto whole = bpe->token_ids(sequence);
  REQUIRE(whole.size() > 8);
  const std::size_t max_tokens = 7;
  const auto pieces = tokenizer.encode(sequence, "s", 2, max_tokens);
  CHECK(pieces.size() == (whole.size() + max_tokens - 1) / max_tokens);
  const auto spans = tokenizer.token_spans(sequence);
  REQUIRE(spans.size() == whole.size());
  std::vector<dnabert::token_id> joined;
  for (std::size_t p = 0; p < pieces.size(); ++p) {
    const auto& ids = pieces[p].ids;
    CHECK(ids.front() == bpe->vocabulary().cls);
    CHECK(ids.back() == bpe->vocabulary().sep);
    CHECK(pieces[p].origin.sequence == 2);
    CHECK(pieces[p].origin.piece == p);
    CHECK(pieces[p].origin.piece_count == pieces.size());
    CHECK(pieces[p].origin.first_kmer == spans[p * max_tokens].begin);  // the first nucleotide of its first token
    joined.insert(joined.end(), ids.begin() + 1, ids.end() - 1);
  }
  CHECK(joined == whole);
  // The spans tile the sequence; each token's letters are its text, an [UNK] one letter (here an N).
  std::size_t next = 0;
  for (std::size_t t = 0; t < spans.size(); ++t) {
    CHECK(spans[t].begin == next);
    next = spans[t].end;
    const std::string letters = sequence.substr(spans[t].begin, spans[t].end - spans[t].begin);
    if (whole[t] == bpe->vocabulary().unk) CHECK(letters == "N");
    else CHECK(letters == bpe->token_text(whole[t]));
  }
  CHECK(next == sequence.size());
  CHECK(tokenizer.token_count(sequence) == whole.size());
  CHECK(tokenizer.describe() == "BPE, 200 tokens");
  CHECK_THROWS_WITH_AS((void)tokenizer.encode("", "empty"), doctest::Contains("'empty' has no tokens"), dnabert::input_error);
}

TEST_CASE("sequence tokenizer: BPE pairs are cut as longest_first, the second segment typed 1") {
  const auto bpe = chr17_bpe();
  const dnabert::sequence_tokenizer tokenizer(bpe);
  const std::string a = sequence.substr(0, 40), b = sequence.substr(40);
  const auto ids_a = bpe->token_ids(a), ids_b = bpe->token_ids(b);
  bool cut = true;
  const auto whole = tokenizer.encode_pair(a, b, "p", 0, 1000, &cut);
  CHECK_FALSE(cut);
  CHECK(whole.ids.size() == ids_a.size() + ids_b.size() + 3);
  CHECK(whole.second_segment == ids_a.size() + 2);
  const auto room = ids_a.size() + ids_b.size() - 2;  // two tokens too many
  const auto trimmed = tokenizer.encode_pair(a, b, "p", 0, room + 3, &cut);
  CHECK(cut);
  const auto [keep_a, keep_b] = dnabert::detail::longest_first(ids_a.size(), ids_b.size(), room);
  CHECK(trimmed.ids.size() == keep_a + keep_b + 3);
  CHECK(trimmed.ids[keep_a + 1] == bpe->vocabulary().sep);
}

TEST_CASE("sequence tokenizer: a BPE vocabulary without [CLS], [SEP] or [PAD] cannot feed a model") {
  auto vocabulary = chr17_bpe()->vocabulary();
  vocabulary.pad = -1;
  CHECK_THROWS_WITH_AS(dnabert::sequence_tokenizer(std::make_shared<const dnabert::bpe_tokenizer>(vocabulary)),
                       doctest::Contains("no [PAD] token"), dnabert::config_error);
}

}  // namespace tokenizer_sequence_tokenizer_test
