// Pairs of sequences (DNABERT's dnapair, DNABERT-2's 3-column CSV) through every layer, against
// Hugging Face (tests/reference/make_pair_goldens.py): BertTokenizer's [CLS] a [SEP] b [SEP] with
// token types 0/1 and its longest_first truncation, BertForSequenceClassification's logits, and
// the two table formats holding the same pairs.
#include "dnabert/cpu.hpp"
#include "dnabert/io/sequence_input.hpp"
#include "dnabert/model/classifier.hpp"
#include "dnabert/train/dataset.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>
#include <nlohmann/json.hpp>

#include "test_paths.hpp"

namespace model_pairs_test {

namespace {

struct golden_pair {
  std::string a, b;
  std::vector<std::int32_t> input_ids, token_type_ids;
  std::vector<float> logits;
};

std::vector<golden_pair> golden_pairs() {
  std::ifstream in(dnabert::test::data_path("pairs/golden.json"));
  REQUIRE(in.good());
  const auto golden = nlohmann::json::parse(in);
  std::vector<golden_pair> out;
  for (const auto& item : golden["pairs"])
    out.push_back({item["a"], item["b"], item["input_ids"], item["token_type_ids"], item["logits"]});
  return out;
}

std::span<const std::byte> bytes_of(std::string_view text) { return std::as_bytes(std::span(text.data(), text.size())); }

}  // namespace

TEST_CASE("pairs: the tokenizer gives BertTokenizer's ids and token types, longest_first cuts included") {
  const dnabert::kmer_tokenizer tokenizer(6);
  const auto pairs = golden_pairs();
  REQUIRE(pairs.size() == 7);
  std::size_t cut = 0;
  std::vector<dnabert::token_piece> pieces;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    CAPTURE(i);
    bool truncated = false;
    pieces.push_back(tokenizer.encode_pair(pairs[i].a, pairs[i].b, "pair", i, 64, &truncated));
    CHECK(pieces.back().ids == pairs[i].input_ids);
    cut += truncated ? 1 : 0;
  }
  std::size_t golden_cut = 0;  // pairs whose golden holds fewer tokens than their k-mers and 3 special tokens
  for (const auto& pair : pairs) golden_cut += pair.input_ids.size() < pair.a.size() + pair.b.size() - 10 + 3 ? 1 : 0;
  CHECK(cut == golden_cut);
  CHECK(cut == 5);  // all but (20, 15) and (6, 6) nt need cutting at 64 tokens
  const auto batch = dnabert::make_batch(pieces);
  for (std::size_t r = 0; r < pairs.size(); ++r) {
    CAPTURE(r);
    const auto* types = batch.token_type_ids.data() + r * batch.length;
    CHECK(std::vector<std::int32_t>(types, types + pairs[r].token_type_ids.size()) == pairs[r].token_type_ids);
    for (std::size_t t = pairs[r].token_type_ids.size(); t < batch.length; ++t) CHECK(types[t] == 0);  // padding
  }
  CHECK(dnabert::make_batch(tokenizer.encode("ACGTACGTAC")).token_type_ids.empty());  // single sequences: none
}

TEST_CASE("pairs: too short a sequence or too little room is refused, naming the pair") {
  const dnabert::kmer_tokenizer tokenizer(6);
  CHECK_THROWS_WITH_AS((void)tokenizer.encode_pair("ACGTAC", "ACG", "p7"),
                       "sequence 'p7': the second sequence of the pair is 3 nt long, shorter than k = 6", dnabert::input_error);
  CHECK_THROWS_WITH_AS((void)tokenizer.encode_pair("ACGTA", "ACGTACG", "p8"),
                       "sequence 'p8': the first sequence of the pair is 5 nt long, shorter than k = 6", dnabert::input_error);
  CHECK_THROWS_AS((void)tokenizer.encode_pair("ACGTACG", "ACGTACG", "p9", 0, 4), dnabert::input_error);
}

TEST_CASE("pairs: the classifier gives BertForSequenceClassification's logits, batched and alone") {
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  const auto pairs = golden_pairs();
  std::vector<std::string> first, second;
  for (const auto& pair : pairs) {
    first.push_back(pair.a);
    second.push_back(pair.b);
  }
  for (const std::size_t batch_size : {std::size_t{1}, std::size_t{3}, std::size_t{16}}) {  // padding removal with token types
    CAPTURE(batch_size);
    dnabert::inference_options options;
    options.batch_size = batch_size;
    const auto result = model.predict(first, options, {}, second);
    for (std::size_t i = 0; i < pairs.size(); ++i)
      for (std::size_t c = 0; c < 2; ++c) CHECK(result.logits(i, c) == doctest::Approx(pairs[i].logits[c]).epsilon(1e-5));
  }
  // Token types matter: the same tokens as one sequence (all type 0) give other logits.
  const auto single = model.predict(std::vector<std::string>{pairs[0].a});
  const auto paired = model.predict(std::vector<std::string>{pairs[0].a}, {}, {}, std::vector<std::string>{pairs[0].b});
  CHECK(single.logits(0, 0) != doctest::Approx(paired.logits(0, 0)).epsilon(1e-3));
  CHECK_THROWS_WITH_AS((void)model.predict(first, {}, {}, std::vector<std::string>{pairs[0].b}),
                       "1 second sequences for 7 pairs", dnabert::input_error);
}

TEST_CASE("pairs: a token type outside type_vocab_size is refused") {
  dnabert::backend::cpu cpu(1);
  const auto model = dnabert::Bert<dnabert::dynamic_bert, dnabert::backend::cpu>::load(
      cpu, dnabert::test::data_path("parity/cls_k6"), dnabert::bert_head::sequence_classification);
  const dnabert::kmer_tokenizer tokenizer(6);
  auto batch = dnabert::make_batch(std::vector<dnabert::token_piece>{tokenizer.encode_pair("ACGTACGT", "TTGACCAG")});
  batch.token_type_ids[3] = 2;
  dnabert::autograd::tape<dnabert::backend::cpu> tape(cpu);
  dnabert::nn::forward_context<dnabert::backend::cpu> ctx{tape};
  CHECK_THROWS_WITH_AS((void)model.forward(ctx, batch), "token type 2 is outside the model's type_vocab_size 2",
                       dnabert::input_error);
}

TEST_CASE("pairs: DNABERT's pair TSV and DNABERT-2's pair CSV read as the same pairs, and train as pairs") {
  const auto pairs = golden_pairs();
  for (const char* file : {"pairs/pairs.tsv", "pairs/pairs.csv"}) {
    CAPTURE(file);
    const auto entries = dnabert::io::read_sequences(dnabert::test::data_path(file));
    REQUIRE(entries.size() == pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      CHECK(entries[i].sequence == pairs[i].a);
      CHECK(entries[i].second == pairs[i].b);
      CHECK(entries[i].label == static_cast<double>(i % 2));
    }
    const dnabert::train::labelled_dataset set(entries, dnabert::kmer_tokenizer(6), 62);
    CHECK(set.truncated() == 5);
    for (std::size_t i = 0; i < pairs.size(); ++i) CHECK(set[i].pieces.front().ids == pairs[i].input_ids);
  }
}

TEST_CASE("pairs: tables tell pairs from single sequences, and refuse rows that break the layout") {
  using dnabert::io::read_labelled_table;
  const auto single = read_labelled_table(bytes_of("sequence\tlabel\tnote\nACGTAC\t1\tx\n"), "s.tsv");
  CHECK_FALSE(single.pairs);  // a number in column 2: extra columns are ignored, as DNABERT does
  CHECK(single.rows[0].second.empty());
  const auto pair = read_labelled_table(bytes_of("a\tb\tlabel\nACGTAC\tTTGACC\t1\n"), "p.tsv");
  CHECK(pair.pairs);
  CHECK(pair.rows[0].second == "TTGACC");
  CHECK_THROWS_WITH_AS(read_labelled_table(bytes_of("a\tb\tlabel\nACGTAC\tTTGACC\t1\nACGTAC\t0\n"), "p.tsv"),
                       "p.tsv:3: expected 'sequence1<TAB>sequence2<TAB>label' as in the first row, found 2 columns",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(read_labelled_table(bytes_of("sequence1,sequence2,label\nACGTAC,1\n"), "p.csv"),
                       "p.csv:2: expected 3 comma-separated columns (sequence1,sequence2,label) as in the header, found 2",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(read_labelled_table(bytes_of("a,b,c,d\nACGTAC,A,C,1\n"), "q.csv"),
                       doctest::Contains("q.csv:1: expected a CSV header with 2 columns"), dnabert::format_error);
}

}  // namespace model_pairs_test
