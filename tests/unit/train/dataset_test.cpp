// Labelled datasets and the per-epoch order.
#include "dnabert/train/dataset.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <set>

#include "dnabert/io/tokenizer_json.hpp"
#include "test_paths.hpp"

namespace train_dataset_test {

namespace {

std::vector<dnabert::io::sequence_entry> entries() {
  return {{"a", "ACGTACGTAC", 1.0, {}}, {"b", "TTGCA", 0.0, {}}, {"c", std::string(40, 'G'), 2.0, {}}, {"d", "ACGTTT", 1.0, {}}};
}

}  // namespace

TEST_CASE("dataset: examples keep their labels, long ones are cut to the first piece") {
  const dnabert::train::labelled_dataset data(entries(), dnabert::kmer_tokenizer(3), 20);
  REQUIRE(data.size() == 4);
  CHECK(data.truncated() == 1);                   // 38 k-mers > 20
  CHECK(data[2].pieces.front().ids.size() == 22);          // [CLS] + 20 + [SEP]
  CHECK(data[1].pieces.front().ids.size() == 5);           // TTGCA: 3 k-mers
  CHECK(data.class_labels(3) == std::vector<std::int32_t>{1, 0, 2, 1});
  CHECK_THROWS_WITH_AS((void)data.class_labels(2), "sequence 'c' has label 2, not a class id in 0..1",
                       dnabert::input_error);
  const std::vector<std::size_t> pick = {3, 1};
  const auto batch = data.batch(pick);
  CHECK(batch.tokens.rows == 2);
  CHECK(batch.tokens.length == 6);
  CHECK(batch.labels == std::vector<double>{1.0, 0.0});
  CHECK(batch.tokens.attention_mask[6 + 5] == 0);  // TTGCA is padded
}

TEST_CASE("dataset: an entry without a label is refused by name") {
  std::vector<dnabert::io::sequence_entry> unlabelled = {{"x", "ACGTAC", std::nullopt, {}}};
  CHECK_THROWS_WITH_AS(dnabert::train::labelled_dataset(unlabelled, dnabert::kmer_tokenizer(3)),
                       doctest::Contains("sequence 'x' has no label"), dnabert::input_error);
}

TEST_CASE("dataset: epoch order is a permutation fixed by (seed, epoch)") {
  const auto first = dnabert::train::epoch_order(1000, 42, 0);
  CHECK(std::set<std::size_t>(first.begin(), first.end()).size() == 1000);
  CHECK(first == dnabert::train::epoch_order(1000, 42, 0));
  CHECK(first != dnabert::train::epoch_order(1000, 42, 1));
  CHECK(first != dnabert::train::epoch_order(1000, 43, 0));
  // Roughly uniform: the first slot takes each of 10 values about equally often over epochs.
  std::vector<int> counts(10, 0);
  for (std::uint64_t epoch = 0; epoch < 2000; ++epoch) ++counts[dnabert::train::epoch_order(10, 7, epoch)[0]];
  for (const int c : counts) CHECK(c == doctest::Approx(200).epsilon(0.3));
  CHECK(dnabert::train::epoch_order(0, 1, 1).empty());
}

TEST_CASE("dataset: an index permutation is a bijection fixed by (seed, epoch), uniform, in constant memory") {
  using dnabert::train::index_permutation;
  for (const std::uint64_t n : {1ULL, 2ULL, 3ULL, 5ULL, 17ULL, 1000ULL, 4097ULL, 65537ULL}) {
    CAPTURE(n);
    const index_permutation order(n, 42, 3);
    CHECK(order.size() == n);
    std::vector<bool> seen(n, false);
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t j = order(i);
      REQUIRE(j < n);
      CHECK_FALSE(seen[j]);
      seen[j] = true;
    }
  }
  const auto listed = [](std::uint64_t seed, std::uint64_t epoch) {
    const index_permutation order(1000, seed, epoch);
    std::vector<std::uint64_t> out;
    for (std::uint64_t i = 0; i < 1000; ++i) out.push_back(order(i));
    return out;
  };
  CHECK(listed(42, 0) == listed(42, 0));
  CHECK(listed(42, 0) != listed(42, 1));
  CHECK(listed(42, 0) != listed(43, 0));
  // Roughly uniform: slot 0 takes each of 10 values about equally often, and two slots are not
  // tied together (slot 1 given slot 0 spreads over the other nine).
  std::vector<int> counts(10, 0), pairs(100, 0);
  for (std::uint64_t epoch = 0; epoch < 4000; ++epoch) {
    const index_permutation order(10, 7, epoch);
    ++counts[order(0)];
    ++pairs[order(0) * 10 + order(1)];
  }
  for (const int c : counts) CHECK(c == doctest::Approx(400).epsilon(0.25));
  for (int a = 0; a < 10; ++a)
    for (int b = 0; b < 10; ++b) CHECK(pairs[a * 10 + b] <= (a == b ? 0 : 100));
  CHECK_THROWS_AS((void)index_permutation(0, 1, 1)(0), dnabert::config_error);
}

TEST_CASE("dataset: a BPE tokenizer's batches are padded with its own [PAD], not DNABERT's id 0 ([UNK] there)") {
  const auto bpe = std::make_shared<const dnabert::bpe_tokenizer>(
      dnabert::io::read_tokenizer_json(dnabert::test::data_path("bpe/chr17_bpe200/tokenizer.json")));
  const dnabert::token_id pad = bpe->vocabulary().pad;
  REQUIRE(pad != dnabert::special::pad);
  const dnabert::train::labelled_dataset data({{"long", "ACGTACGTTTGACCAGGATTACAGATTACA", 1.0, {}}, {"short", "ACG", 0.0, {}}},
                                              dnabert::sequence_tokenizer(bpe));
  const std::size_t order[] = {0, 1};
  const auto batch = data.batch(order).tokens;
  REQUIRE(batch.rows == 2);
  std::size_t padded = 0;
  for (std::size_t t = 0; t < batch.length; ++t)
    if (batch.attention_mask[batch.length + t] == 0) {
      CHECK(batch.input_ids[batch.length + t] == pad);
      ++padded;
    }
  CHECK(padded > 0);
  CHECK(batch.input_ids[0] == bpe->vocabulary().cls);
}

}  // namespace train_dataset_test
