// DNABERT's mask_tokens: span shapes, mask rate 1-(1-p)^k, 80/10/10, special tokens untouched,
// determinism from (seed, step), and the argument checks.

#include "dnabert/train/masking.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace train_masking_test {


namespace {

using dnabert::token_batch;
using dnabert::token_id;
namespace special = dnabert::special;
using dnabert::train::masked_batch;
using dnabert::train::masking_options;

// [CLS] k-mers [SEP] [PAD]...; row r has kmers_per_row - (r % shorten_every) k-mers.
token_batch make_kmer_batch(std::size_t rows, std::size_t kmers_per_row, int k, std::uint32_t seed,
                            std::size_t shorten_every = 1) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<token_id> kmer_id(special::count, dnabert::vocab_size_for_k(k) - 1);
  token_batch batch;
  batch.rows = rows;
  batch.length = kmers_per_row + 2;
  batch.input_ids.assign(rows * batch.length, special::pad);
  batch.attention_mask.assign(rows * batch.length, 0);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t kmers = kmers_per_row - r % shorten_every;
    const std::size_t base = r * batch.length;
    batch.input_ids[base] = special::cls;
    for (std::size_t t = 1; t <= kmers; ++t) batch.input_ids[base + t] = kmer_id(rng);
    batch.input_ids[base + kmers + 1] = special::sep;
    std::fill_n(batch.attention_mask.begin() + static_cast<std::ptrdiff_t>(base), kmers + 2, 1);
  }
  return batch;
}

bool is_special(token_id id) { return id == special::cls || id == special::sep || id == special::pad; }

// Counts and checks one batch: every masked position belongs to a clipped centre window lying
// wholly inside the masked set, masked runs are k long unless clipped at an edge, special and
// padding positions are untouched.
struct mask_tally {
  std::size_t interior = 0, interior_masked = 0, masked = 0, as_mask = 0, unchanged = 0, uncovered = 0,
              short_interior_runs = 0, special_touched = 0;
};

void tally_batch(const token_batch& batch, const masked_batch& out, int k, mask_tally& tally) {
  const auto span = dnabert::train::mask_span_for_k(k);
  for (std::size_t r = 0; r < batch.rows; ++r) {
    const std::size_t base = r * batch.length;
    std::size_t first = 1, last = 1;
    while (last + 1 < batch.length && !is_special(batch.input_ids[base + last + 1])) ++last;
    const auto masked = [&](std::size_t t) { return out.labels[base + t] != dnabert::train::ignored_label; };
    for (std::size_t t = 0; t < batch.length; ++t) {
      const bool outside = t < first || t > last;
      if (outside && (masked(t) || out.input_ids[base + t] != batch.input_ids[base + t])) ++tally.special_touched;
      if (outside || !masked(t)) continue;
      ++tally.masked;
      CHECK(out.labels[base + t] == batch.input_ids[base + t]);
      if (out.input_ids[base + t] == special::mask) ++tally.as_mask;
      if (out.input_ids[base + t] == batch.input_ids[base + t]) ++tally.unchanged;
    }
    std::vector<bool> covered(batch.length, false);
    for (std::size_t c = first; c <= last; ++c) {
      const std::size_t from = c >= first + static_cast<std::size_t>(span.before) ? c - static_cast<std::size_t>(span.before) : first;
      const std::size_t to = std::min(last, c + static_cast<std::size_t>(span.after));
      bool all = true;
      for (std::size_t t = from; t <= to; ++t) all = all && masked(t);
      if (all)
        for (std::size_t t = from; t <= to; ++t) covered[t] = true;
    }
    for (std::size_t t = first; t <= last; ++t) {
      if (masked(t) && !covered[t]) ++tally.uncovered;
      const bool interior = t >= first + static_cast<std::size_t>(span.after) && t + static_cast<std::size_t>(span.before) <= last;
      if (interior) {
        ++tally.interior;
        tally.interior_masked += masked(t) ? 1 : 0;
      }
      if (masked(t) && (t == first || !masked(t - 1))) {
        std::size_t end = t;
        while (end < last && masked(end + 1)) ++end;
        if (end - t + 1 < static_cast<std::size_t>(k) && t != first && end != last) ++tally.short_interior_runs;
      }
    }
  }
}

// Draws many batches for k and checks rate, span shapes and 80/10/10 against the spec's formulas.
void check_statistics(int k) {
  const auto options = dnabert::train::default_masking_options(k, 1234);
  mask_tally tally;
  for (std::uint64_t step = 0; step < 4; ++step) {
    const token_batch batch = make_kmer_batch(500, 200, k, static_cast<std::uint32_t>(step + 7));
    tally_batch(batch, dnabert::train::mask_tokens(batch, options, step), k, tally);
  }
  const double p = options.centre_probability;
  const double expected_rate = 1.0 - std::pow(1.0 - p, k);
  // Neighbouring tokens share centres, so count only every k-th token as independent: a
  // conservative effective sample size for the binomial standard error.
  const double n_effective = static_cast<double>(tally.interior) / k;
  const double rate = static_cast<double>(tally.interior_masked) / static_cast<double>(tally.interior);
  CHECK(std::abs(rate - expected_rate) < 5 * std::sqrt(expected_rate * (1 - expected_rate) / n_effective));
  CHECK(expected_rate > 0.14);
  CHECK(expected_rate < 0.16);
  CHECK(tally.uncovered == 0);
  CHECK(tally.short_interior_runs == 0);
  CHECK(tally.special_touched == 0);
  const double masked = static_cast<double>(tally.masked);
  const double vocab = options.vocab_size;
  const double expect_mask = 0.8 + 0.1 / vocab;  // a random replacement may draw [MASK] itself
  const double expect_unchanged = 0.1 + 0.1 / vocab;
  CHECK(std::abs(tally.as_mask / masked - expect_mask) < 5 * std::sqrt(expect_mask * (1 - expect_mask) / masked));
  CHECK(std::abs(tally.unchanged / masked - expect_unchanged) <
        5 * std::sqrt(expect_unchanged * (1 - expect_unchanged) / masked));
}

}  // namespace

TEST_CASE("masking: k=6 masks 14.1 % of interior tokens in k-long spans, 80/10/10") { check_statistics(6); }
TEST_CASE("masking: k=3 statistics and span shapes") { check_statistics(3); }
TEST_CASE("masking: k=4 statistics and span shapes") { check_statistics(4); }
TEST_CASE("masking: k=5 statistics and span shapes") { check_statistics(5); }
TEST_CASE("masking: k outside 3..6 uses the symmetric k-wide span") {
  check_statistics(1);
  check_statistics(8);
}

TEST_CASE("masking: spans and default probabilities per k") {
  using dnabert::train::mask_span_for_k;
  // DNABERT's MASK_LIST: k=3 [-1,1], k=4 [-1,1,2], k=5 [-2,-1,1,2], k=6 [-2,-1,1,2,3].
  CHECK(mask_span_for_k(3).before == 1);
  CHECK(mask_span_for_k(3).after == 1);
  CHECK(mask_span_for_k(4).before == 1);
  CHECK(mask_span_for_k(4).after == 2);
  CHECK(mask_span_for_k(5).before == 2);
  CHECK(mask_span_for_k(5).after == 2);
  CHECK(mask_span_for_k(6).before == 2);
  CHECK(mask_span_for_k(6).after == 3);
  CHECK(mask_span_for_k(1).before == 0);
  CHECK(mask_span_for_k(1).after == 0);
  CHECK(mask_span_for_k(15).before + mask_span_for_k(15).after + 1 == 15);
  CHECK(dnabert::train::default_mask_probability(6) == 0.025);
  CHECK(dnabert::train::default_mask_probability(3) == 0.053);
  CHECK(dnabert::train::default_mask_probability(4) == 0.040);
  CHECK(dnabert::train::default_mask_probability(5) == 0.032);
  CHECK(dnabert::train::default_mask_probability(1) == doctest::Approx(0.15));
  CHECK(1 - std::pow(1 - dnabert::train::default_mask_probability(9), 9) == doctest::Approx(0.15));
}

TEST_CASE("masking: p=1 masks every real k-mer and nothing else, p=0 masks nothing") {
  const token_batch batch = make_kmer_batch(20, 30, 6, 3, 7);
  auto options = dnabert::train::default_masking_options(6, 5);
  options.centre_probability = 1.0;
  const masked_batch all = dnabert::train::mask_tokens(batch, options, 0);
  for (std::size_t i = 0; i < batch.input_ids.size(); ++i) {
    const bool real = !is_special(batch.input_ids[i]);
    CHECK(all.labels[i] == (real ? batch.input_ids[i] : dnabert::train::ignored_label));
    if (!real) CHECK(all.input_ids[i] == batch.input_ids[i]);
  }
  options.centre_probability = 0.0;
  const masked_batch none = dnabert::train::mask_tokens(batch, options, 0);
  CHECK(none.input_ids == batch.input_ids);
  CHECK(none.labels == std::vector<std::int32_t>(batch.input_ids.size(), dnabert::train::ignored_label));
}

TEST_CASE("masking: a BPE tokenizer's special ids are the ones never masked, and its [MASK] is written") {
  // DNABERT-2's ids: [UNK] 0, [CLS] 1, [SEP] 2, [PAD] 3, [MASK] 4; DNABERT's [PAD] 0 and [CLS] 2 are real tokens there.
  token_batch batch;
  batch.rows = 1;
  batch.length = 8;
  batch.input_ids = {1, 0, 7, 2, 9, 11, 2, 3};
  batch.attention_mask = {1, 1, 1, 1, 1, 1, 1, 0};
  batch.origins.resize(1);
  auto options = dnabert::train::default_masking_options(1, 5);
  options.centre_probability = 1.0;
  options.specials = {3, 1, 2, 4};
  const masked_batch all = dnabert::train::mask_tokens(batch, options, 0);
  const std::vector<std::int32_t> expected = {-100, 0, 7, -100, 9, 11, -100, -100};
  CHECK(all.labels == expected);
  bool wrote_mask = false;
  for (const dnabert::token_id id : all.input_ids) wrote_mask = wrote_mask || id == 4;
  CHECK(wrote_mask);
}

TEST_CASE("masking: random replacements cover the whole vocabulary, special ids included") {
  const token_batch batch = make_kmer_batch(200, 100, 3, 11);
  auto options = dnabert::train::default_masking_options(3, 9);
  options.centre_probability = 1.0;
  const masked_batch out = dnabert::train::mask_tokens(batch, options, 0);
  std::vector<std::size_t> seen(static_cast<std::size_t>(options.vocab_size), 0);
  for (std::size_t i = 0; i < out.input_ids.size(); ++i) {
    if (out.labels[i] == dnabert::train::ignored_label) continue;
    REQUIRE(out.input_ids[i] >= 0);
    REQUIRE(out.input_ids[i] < options.vocab_size);
    ++seen[static_cast<std::size_t>(out.input_ids[i])];
  }
  CHECK(seen[special::pad] > 0);
  CHECK(seen[special::cls] > 0);
  CHECK(seen[static_cast<std::size_t>(options.vocab_size - 1)] > 0);
}

TEST_CASE("masking: same (seed, step) gives the same masks, other seeds or steps others, extra padding the same") {
  const token_batch batch = make_kmer_batch(50, 120, 6, 21, 13);
  const auto options = dnabert::train::default_masking_options(6, 77);
  const masked_batch a = dnabert::train::mask_tokens(batch, options, 3);
  const masked_batch b = dnabert::train::mask_tokens(batch, options, 3);
  CHECK(a.input_ids == b.input_ids);
  CHECK(a.labels == b.labels);
  CHECK(dnabert::train::mask_tokens(batch, options, 4).labels != a.labels);
  CHECK(dnabert::train::mask_tokens(batch, dnabert::train::default_masking_options(6, 78), 3).labels != a.labels);
  // The same rows padded further draw the same masks.
  token_batch wider = batch;
  wider.length = batch.length + 9;
  wider.input_ids.assign(wider.rows * wider.length, special::pad);
  wider.attention_mask.assign(wider.rows * wider.length, 0);
  for (std::size_t r = 0; r < batch.rows; ++r)
    for (std::size_t t = 0; t < batch.length; ++t) {
      wider.input_ids[r * wider.length + t] = batch.input_ids[r * batch.length + t];
      wider.attention_mask[r * wider.length + t] = batch.attention_mask[r * batch.length + t];
    }
  const masked_batch c = dnabert::train::mask_tokens(wider, options, 3);
  for (std::size_t r = 0; r < batch.rows; ++r)
    for (std::size_t t = 0; t < batch.length; ++t) {
      CHECK(c.labels[r * wider.length + t] == a.labels[r * batch.length + t]);
      CHECK(c.input_ids[r * wider.length + t] == a.input_ids[r * batch.length + t]);
    }
}

TEST_CASE("masking: short rows are clipped to their k-mers, empty rows untouched") {
  token_batch batch;
  batch.rows = 2;
  batch.length = 4;
  batch.input_ids = {special::cls, 100, 200, special::sep, special::cls, special::sep, special::pad, special::pad};
  batch.attention_mask = {1, 1, 1, 1, 1, 1, 0, 0};
  auto options = dnabert::train::default_masking_options(6, 1);
  options.centre_probability = 1.0;
  const masked_batch out = dnabert::train::mask_tokens(batch, options, 0);
  const std::int32_t none = dnabert::train::ignored_label;
  CHECK(out.labels == std::vector<std::int32_t>{none, 100, 200, none, none, none, none, none});
}

TEST_CASE("masking: bad options and inconsistent batches are refused") {
  const token_batch batch = make_kmer_batch(2, 5, 6, 1);
  auto options = dnabert::train::default_masking_options(6);
  options.k = 0;
  CHECK_THROWS_WITH_AS((void)dnabert::train::mask_tokens(batch, options, 0),
                       doctest::Contains("k-mer size must be between 1 and 15, got 0"), dnabert::config_error);
  CHECK_THROWS_AS((void)dnabert::train::default_mask_probability(16), dnabert::config_error);
  options = dnabert::train::default_masking_options(6);
  options.centre_probability = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS((void)dnabert::train::mask_tokens(batch, options, 0),
                       doctest::Contains("probability must be between 0 and 1"), dnabert::config_error);
  options.centre_probability = 1.5;
  CHECK_THROWS_AS((void)dnabert::train::mask_tokens(batch, options, 0), dnabert::config_error);
  options = dnabert::train::default_masking_options(6);
  options.vocab_size = 4;
  CHECK_THROWS_WITH_AS((void)dnabert::train::mask_tokens(batch, options, 0),
                       doctest::Contains("vocabulary size for masking must be at least 5, got 4"),
                       dnabert::config_error);
  token_batch broken = batch;
  broken.input_ids.pop_back();
  CHECK_THROWS_WITH_AS((void)dnabert::train::mask_tokens(broken, dnabert::train::default_masking_options(6), 0),
                       doctest::Contains("token batch of 2 x 7 holds 13 ids and 14 mask entries"),
                       dnabert::input_error);
  broken = batch;
  broken.rows = std::numeric_limits<std::size_t>::max() / 2;
  CHECK_THROWS_AS((void)dnabert::train::mask_tokens(broken, dnabert::train::default_masking_options(6), 0),
                  dnabert::input_error);
}

}  // namespace train_masking_test
