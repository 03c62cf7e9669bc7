// Padding removal's index maths against a brute-force rule on random masks: a real token's
// packed row is the number of real tokens before it in row-major order.
#include "dnabert/model/packed_rows.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace model_packed_rows_test {

namespace {

// A random [batch, seq] mask of one of four layouts: right padding, left padding, holes
// anywhere (values other than 1 count as tokens too), or whole rows of padding.
std::vector<std::int32_t> random_mask(std::size_t batch, std::size_t seq, int layout, std::mt19937& rng) {
  std::vector<std::int32_t> mask(batch * seq, 0);
  std::uniform_int_distribution<std::size_t> length(0, seq);
  std::bernoulli_distribution coin(0.5);
  for (std::size_t b = 0; b < batch; ++b) {
    const std::size_t n = length(rng);
    for (std::size_t t = 0; t < seq; ++t) {
      std::int32_t& m = mask[b * seq + t];
      switch (layout) {
        case 0: m = t < n ? 1 : 0; break;
        case 1: m = t >= seq - n ? 1 : 0; break;
        case 2: m = coin(rng) ? 1 + static_cast<std::int32_t>(t % 3) : 0; break;
        default: m = b % 2 == 0 ? 0 : (t < n ? 1 : 0); break;
      }
    }
  }
  return mask;
}

std::int32_t real_tokens_before(const std::vector<std::int32_t>& mask, std::size_t end) {
  return static_cast<std::int32_t>(std::count_if(mask.begin(), mask.begin() + static_cast<std::ptrdiff_t>(end),
                                                 [](std::int32_t m) { return m != 0; }));
}

}  // namespace

TEST_CASE("packed rows: every index list matches the brute-force rule on random masks") {
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 400; ++trial) {
    const std::size_t batch = std::uniform_int_distribution<std::size_t>(1, 6)(rng);
    const std::size_t seq = std::uniform_int_distribution<std::size_t>(1, 9)(rng);
    const auto mask = random_mask(batch, seq, trial % 4, rng);
    const auto packed = dnabert::pack_rows(mask, batch, seq);
    CAPTURE(trial);

    CHECK(packed.batch == static_cast<std::int64_t>(batch));
    CHECK(packed.seq == static_cast<std::int64_t>(seq));
    CHECK(packed.has_padding == std::any_of(mask.begin(), mask.end(), [](std::int32_t m) { return m == 0; }));
    CHECK(packed.tokens() == real_tokens_before(mask, mask.size()));
    REQUIRE(packed.packed_of.size() == mask.size());
    REQUIRE(packed.rows.size() == static_cast<std::size_t>(packed.tokens()));
    for (std::size_t p = 0; p < mask.size(); ++p) {
      const std::int32_t expected = mask[p] != 0 ? real_tokens_before(mask, p) : -1;
      CHECK(packed.packed_of[p] == expected);
      if (expected >= 0) CHECK(packed.rows[static_cast<std::size_t>(expected)] == static_cast<std::int32_t>(p));
    }
    REQUIRE(packed.offsets.size() == batch + 1);
    REQUIRE(packed.first_rows.size() == batch);
    for (std::size_t b = 0; b <= batch; ++b) CHECK(packed.offsets[b] == real_tokens_before(mask, b * seq));
    for (std::size_t b = 0; b < batch; ++b) {
      std::int32_t first = -1;
      for (std::size_t t = seq; t-- > 0;)
        if (mask[b * seq + t] != 0) first = real_tokens_before(mask, b * seq + t);
      CHECK(packed.first_rows[b] == first);
    }
  }
}

TEST_CASE("packed rows: a batch without padding packs to the identity") {
  const dnabert::KmerTokenizer<3> tokenizer;
  std::vector<dnabert::token_piece> pieces;
  for (const char* s : {"ACGTAC", "TTGCAA"}) pieces.push_back(tokenizer.encode(s, s, pieces.size()).front());
  const auto packed = dnabert::pack_rows(dnabert::make_batch(pieces));
  CHECK_FALSE(packed.has_padding);
  REQUIRE(packed.tokens() == 12);  // 4 k-mers + [CLS] + [SEP], twice
  for (std::int32_t r = 0; r < 12; ++r) {
    CHECK(packed.rows[static_cast<std::size_t>(r)] == r);
    CHECK(packed.packed_of[static_cast<std::size_t>(r)] == r);
  }
  CHECK(packed.first_rows == std::vector<std::int32_t>{0, 6});
}

TEST_CASE("packed rows: remapping refuses padding and rows outside the batch, naming them") {
  const std::vector<std::int32_t> mask{1, 1, 0, 0, 1, 1};  // 2 x 3: (0,2) and (1,0) are padding
  const auto packed = dnabert::pack_rows(mask, 2, 3);
  const std::vector<std::int32_t> good{5, 0, 4};
  CHECK(packed.packed_indices(good, "MLM row") == std::vector<std::int32_t>{3, 0, 2});
  const std::vector<std::int32_t> on_padding{1, 3};
  CHECK_THROWS_WITH_AS((void)packed.packed_indices(on_padding, "MLM row"),
                       "MLM row 3 (sequence 1, position 0) is padding, which padding removal does not compute",
                       dnabert::input_error);
  const std::vector<std::int32_t> outside{6};
  CHECK_THROWS_WITH_AS((void)packed.packed_indices(outside, "MLM row"), "MLM row 6 is outside the batch of 6 token rows",
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS((void)dnabert::pack_rows(mask, 2, 2), "attention mask of 6 entries for a batch of 2 x 2",
                       dnabert::input_error);
}

}  // namespace model_packed_rows_test
