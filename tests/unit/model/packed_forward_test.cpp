// Padding removal against the padded forward pass (and against each sequence run alone) on small
// random models: outputs at real positions, gradients of a training step, the unpacked path for
// a batch without padding, and the inputs packing refuses.
#include "dnabert/cpu.hpp"
#include "dnabert/model/bert.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tiny_config.hpp"

namespace model_packed_forward_test {

namespace {

using B = dnabert::backend::cpu;
using output = dnabert::bert_output<B>;

dnabert::bert_config small_config(dnabert::bert_head head) {
  auto config = dnabert::test::tiny_config(head, 8, 2, 2, 12, 32, 3);
  config.initializer_range = 0.5;  // large weights, so wiring mistakes show in the outputs
  return config;
}

// Random DNA of the given lengths, tokenized into one padded batch (right padding, as make_batch).
dnabert::token_batch mixed_batch(const std::vector<std::size_t>& lengths, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const dnabert::KmerTokenizer<3> tokenizer;
  std::vector<dnabert::token_piece> pieces;
  for (const std::size_t n : lengths) {
    std::string dna(n, 'A');
    for (char& c : dna) c = "ACGT"[rng() % 4];
    pieces.push_back(tokenizer.encode(dna, dna, pieces.size()).front());
  }
  return dnabert::make_batch(pieces);
}

// Row b of a batch on its own: its real tokens only, no padding at all.
dnabert::token_batch alone(const dnabert::token_batch& batch, std::size_t b) {
  dnabert::token_batch out;
  out.rows = 1;
  for (std::size_t t = 0; t < batch.length; ++t)
    if (batch.attention_mask[b * batch.length + t] != 0) out.input_ids.push_back(batch.input_ids[b * batch.length + t]);
  out.length = out.input_ids.size();
  out.attention_mask.assign(out.length, 1);
  out.origins.resize(1);
  return out;
}

dnabert::forward_options everything(bool remove_padding) {
  dnabert::forward_options options;
  options.hidden_states = true;
  options.attentions = true;
  options.remove_padding = remove_padding;
  return options;
}

output run(const dnabert::cpu_bert<>& model, const dnabert::token_batch& batch, const dnabert::forward_options& options) {
  dnabert::autograd::tape<B> tape(model.backend());
  dnabert::nn::forward_context<B> ctx{tape};
  return model.forward(ctx, batch, options);
}

float max_abs(std::span<const float> values) {
  float m = 0;
  for (const float v : values) m = std::max(m, std::abs(v));
  return m;
}

// got and want agree to `tolerance` relative to want's largest magnitude (at least `floor`).
void check_close(std::span<const float> got, std::span<const float> want, const std::string& what,
                 double tolerance = 1e-5, float floor = 1e-30f) {
  REQUIRE_MESSAGE(got.size() == want.size(), what);
  const double scale = std::max(floor, max_abs(want));
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - double(want[i])));
  CHECK_MESSAGE(worst <= tolerance * scale, what << ": max difference " << worst << " at scale " << scale);
}

// Rows [batch*seq, width] of `got` and `want` agree at real positions; `got`'s padded rows are 0.
void check_real_rows(const dnabert::tensor<B>& got, const dnabert::tensor<B>& want, const dnabert::token_batch& batch,
                     const std::string& what) {
  REQUIRE(got.shape() == want.shape());
  const auto width = static_cast<std::size_t>(got.dim(-1));
  std::vector<float> real_got, real_want;
  for (std::size_t p = 0; p < batch.attention_mask.size(); ++p) {
    const auto g = got.span().subspan(p * width, width), w = want.span().subspan(p * width, width);
    if (batch.attention_mask[p] != 0) {
      real_got.insert(real_got.end(), g.begin(), g.end());
      real_want.insert(real_want.end(), w.begin(), w.end());
    } else {
      CHECK_MESSAGE(max_abs(g) == 0.0f, what << ": padded row " << p << " is not zero");
    }
  }
  check_close(real_got, real_want, what);
}

// Attention maps [batch, heads, seq, seq] agree for every query at a real position (a padding
// query's row is not an output of the model: its result is never used).
void check_attention(const dnabert::tensor<B>& got, const dnabert::tensor<B>& want, const dnabert::token_batch& batch,
                     const std::string& what) {
  REQUIRE(got.shape() == want.shape());
  const auto heads = static_cast<std::size_t>(got.dim(1)), seq = batch.length;
  std::vector<float> real_got, real_want;
  for (std::size_t b = 0; b < batch.rows; ++b)
    for (std::size_t h = 0; h < heads; ++h)
      for (std::size_t q = 0; q < seq; ++q) {
        if (batch.attention_mask[b * seq + q] == 0) continue;
        const std::size_t start = ((b * heads + h) * seq + q) * seq;
        real_got.insert(real_got.end(), got.span().begin() + start, got.span().begin() + start + seq);
        real_want.insert(real_want.end(), want.span().begin() + start, want.span().begin() + start + seq);
      }
  check_close(real_got, real_want, what);
}

void check_same_outputs(const output& packed, const output& padded, const dnabert::token_batch& batch) {
  check_real_rows(packed.sequence_output.value(), padded.sequence_output.value(), batch, "sequence output");
  REQUIRE(packed.hidden_states.size() == padded.hidden_states.size());
  for (std::size_t i = 0; i < packed.hidden_states.size(); ++i)
    check_real_rows(packed.hidden_states[i], padded.hidden_states[i], batch, "hidden state " + std::to_string(i));
  REQUIRE(packed.attentions.size() == padded.attentions.size());
  for (std::size_t i = 0; i < packed.attentions.size(); ++i)
    check_attention(packed.attentions[i], padded.attentions[i], batch, "attention " + std::to_string(i));
}

bool bit_identical(const dnabert::tensor<B>& a, const dnabert::tensor<B>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.numel()) * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("packed forward: classification matches the padded pass and each sequence alone") {
  B cpu(1);
  const auto head = dnabert::bert_head::sequence_classification;
  const dnabert::cpu_bert<> model(cpu, small_config(head), head, 11);
  const auto batch = mixed_batch({5, 27, 3, 14, 9}, 1);
  REQUIRE(dnabert::pack_rows(batch).has_padding);

  const auto padded = run(model, batch, everything(false));
  const auto packed = run(model, batch, everything(true));
  check_close(packed.logits.value().span(), padded.logits.value().span(), "logits");
  check_close(packed.pooled.value().span(), padded.pooled.value().span(), "pooled");
  check_same_outputs(packed, padded, batch);

  const auto labels = static_cast<std::size_t>(model.config().num_labels);
  for (std::size_t b = 0; b < batch.rows; ++b) {
    const auto single = run(model, alone(batch, b), {});
    check_close(packed.logits.value().span().subspan(b * labels, labels), single.logits.value().span(),
                "logits of sequence " + std::to_string(b) + " alone");
  }
}

TEST_CASE("packed forward: MLM logits match, also with padding on the left and between tokens") {
  B cpu(1);
  const auto head = dnabert::bert_head::masked_lm;
  const dnabert::cpu_bert<> model(cpu, small_config(head), head, 12);
  auto batch = mixed_batch({21, 4, 12}, 2);
  SUBCASE("right padding") {}
  SUBCASE("padding anywhere") {  // shift row 1 right by 3 and punch holes: positions stay the columns
    std::mt19937 rng(4);
    for (std::size_t p = 0; p < batch.attention_mask.size(); ++p)
      if (rng() % 4 == 0 || (p / batch.length == 1 && p % batch.length < 3)) {
        batch.attention_mask[p] = 0;
        batch.input_ids[p] = dnabert::special::pad;
      }
    for (std::size_t t = 0; t < 8; ++t) batch.attention_mask[batch.length + 3 + t] = 1;
  }
  auto options = everything(false);
  options.pooled = false;
  const auto padded = run(model, batch, options);
  options.remove_padding = true;
  const auto packed = run(model, batch, options);
  check_real_rows(packed.logits.value(), padded.logits.value(), batch, "MLM logits over every row");
  check_same_outputs(packed, padded, batch);

  std::vector<std::int32_t> rows;  // every third real position, in reverse order
  for (std::size_t p = batch.attention_mask.size(); p-- > 0;)
    if (batch.attention_mask[p] != 0 && p % 3 == 0) rows.push_back(static_cast<std::int32_t>(p));
  options.mlm_rows = rows;
  const auto packed_rows = run(model, batch, options);
  options.remove_padding = false;
  const auto padded_rows = run(model, batch, options);
  check_close(packed_rows.logits.value().span(), padded_rows.logits.value().span(), "logits at mlm_rows");
}

TEST_CASE("packed forward: a training step gives the padded pass's parameter gradients") {
  B cpu(1);
  const auto batch = mixed_batch({17, 4, 25, 9}, 3);
  for (const auto head : {dnabert::bert_head::sequence_classification, dnabert::bert_head::masked_lm}) {
    CAPTURE(static_cast<int>(head));
    const dnabert::cpu_bert<> model(cpu, small_config(head), head, 13);
    std::vector<std::int32_t> mlm_rows, labels;
    if (head == dnabert::bert_head::masked_lm) {
      for (std::size_t p = 0; p < batch.attention_mask.size(); p += 2)
        if (batch.attention_mask[p] != 0) {
          mlm_rows.push_back(static_cast<std::int32_t>(p));
          labels.push_back(static_cast<std::int32_t>(5 + p % 60));
        }
    } else {
      labels = {2, 0, 1, 2};
    }
    auto gradients = [&](bool remove_padding) {
      for (const auto& p : model.parameters().items()) p.value.clear_grad();
      dnabert::autograd::tape<B> tape(cpu, true);
      dnabert::nn::forward_context<B> ctx{tape, 7, 0};
      ctx.dropout_enabled = false;
      dnabert::forward_options options;
      options.mlm_rows = mlm_rows;
      options.remove_padding = remove_padding;
      const auto out = model.forward(ctx, batch, options);
      dnabert::autograd::id_tensor<B> targets(cpu, {static_cast<std::int64_t>(labels.size())});
      std::copy(labels.begin(), labels.end(), targets.data());
      tape.backward(dnabert::autograd::cross_entropy(tape, out.logits, targets));
      std::vector<std::vector<float>> grads;
      for (const auto& p : model.parameters().items()) {
        const auto g = p.value.grad(cpu).span();
        grads.emplace_back(g.begin(), g.end());
      }
      return grads;
    };
    const auto padded = gradients(false);
    const auto packed = gradients(true);
    // A gradient that is zero in exact arithmetic (the key bias: softmax ignores a shift) is
    // rounding noise, so each tensor is compared at no less than a hundredth of the largest.
    float largest = 0;
    for (const auto& g : padded) largest = std::max(largest, max_abs(g));
    std::size_t i = 0;
    for (const auto& p : model.parameters().items()) {
      if (p.name.find("pooler") == std::string::npos || head == dnabert::bert_head::sequence_classification)
        CHECK_MESSAGE(max_abs(padded[i]) > 0, p.name << " got no gradient");
      check_close(packed[i], padded[i], p.name, 1e-5, 1e-2f * largest);
      ++i;
    }
  }
}

TEST_CASE("packed forward: a batch without padding takes the unpacked path, bit for bit") {
  B cpu(1);
  for (const auto head : {dnabert::bert_head::sequence_classification, dnabert::bert_head::masked_lm}) {
    const dnabert::cpu_bert<> model(cpu, small_config(head), head, 14);
    const auto batch = mixed_batch({10, 10, 10}, 5);
    REQUIRE_FALSE(dnabert::pack_rows(batch).has_padding);
    auto options = everything(false);
    options.pooled = true;
    const auto plain = run(model, batch, options);
    options.remove_padding = true;
    const auto skipped = run(model, batch, options);
    CHECK(bit_identical(skipped.logits.value(), plain.logits.value()));
    CHECK(bit_identical(skipped.pooled.value(), plain.pooled.value()));
    CHECK(bit_identical(skipped.sequence_output.value(), plain.sequence_output.value()));
    for (std::size_t i = 0; i < plain.hidden_states.size(); ++i)
      CHECK(bit_identical(skipped.hidden_states[i], plain.hidden_states[i]));
    for (std::size_t i = 0; i < plain.attentions.size(); ++i)
      CHECK(bit_identical(skipped.attentions[i], plain.attentions[i]));
  }
}

TEST_CASE("packed forward: MLM rows on padding and sequences without tokens are refused") {
  B cpu(1);
  const auto head = dnabert::bert_head::masked_lm;
  const dnabert::cpu_bert<> model(cpu, small_config(head), head, 15);
  auto batch = mixed_batch({12, 3}, 6);  // row 1: 3 tokens, then padding
  const std::size_t seq = batch.length;
  const auto padding = static_cast<std::int32_t>(seq + 4);
  REQUIRE(batch.attention_mask[static_cast<std::size_t>(padding)] == 0);
  const std::vector<std::int32_t> rows{0, padding};
  dnabert::forward_options options;
  options.mlm_rows = rows;
  CHECK_NOTHROW(run(model, batch, options));  // the padded pass computes padding rows
  options.remove_padding = true;
  CHECK_THROWS_WITH_AS(run(model, batch, options),
                       ("MLM row " + std::to_string(padding) + " (sequence 1, position 4) is padding, which padding "
                        "removal does not compute").c_str(),
                       dnabert::input_error);

  std::fill_n(batch.attention_mask.begin() + static_cast<std::ptrdiff_t>(seq), seq, 0);
  options.mlm_rows = {};
  CHECK_THROWS_WITH_AS(run(model, batch, options),
                       "sequence 1 of the batch has no tokens (attention mask all 0), which padding removal cannot "
                       "pool or attend from",
                       dnabert::input_error);
}

}  // namespace model_packed_forward_test
