// DNABERT 2.5 compatibility (forward_options::dnabert_2_5_compat) against transformers made to
// compute as DNABERT's fork of transformers 2.5.0 does (tests/reference/make_compat_goldens.py):
// the raw 0/1 attention mask on inputs padded to max_seq_length, and the masked-LM bias added twice
// with no attention mask in pre-training. Off, the switch changes nothing.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/train/pretrain.hpp"
#include "golden_batch.hpp"
#include "tensor_compare.hpp"
#include "test_paths.hpp"

namespace model_dnabert_compat_test {

namespace {

using B = dnabert::backend::cpu;
using dnabert::test::max_abs;
using dnabert::test::max_abs_diff;

const std::vector<std::string> cls_sequences = {
    "TCGGTTNaagtTCGCCCCATCCTAACCG",
    "AATCATGCGTTCAGCATCAGTAGTTAGTactcgTGGATATGCAACTAGGACACNGCCACAGAACAAA",
    "GCAACAtcacgCAA",
};
constexpr std::size_t max_seq_length = 48;  // make_compat_goldens.py's MAX_SEQ_LENGTH

const dnabert::io::tensor_map& goldens() {
  static const auto tensors = dnabert::io::read_safetensors(dnabert::test::data_path("compat/golden.safetensors")).tensors;
  return tensors;
}

std::span<const float> golden(const std::string& name) {
  const auto found = goldens().find(name);
  REQUIRE_MESSAGE(found != goldens().end(), "compat/golden.safetensors lacks " << name);
  return found->second.values;
}

// Every parameter's gradient against the golden's `prefix`grad.<name>, relative to its largest.
template <class Model>
void check_gradients(const Model& model, const std::string& prefix) {
  int compared = 0;
  for (const auto& p : model.parameters().items()) {
    if (p.alias || !goldens().contains(prefix + "grad." + p.name)) continue;
    const auto expected = golden(prefix + "grad." + p.name);
    CHECK_MESSAGE(max_abs_diff(p.value.grad(model.backend()).span(), expected) <= 1e-4 * max_abs(expected) + 1e-6,
                  "gradient of " << p.name);
    ++compared;
  }
  CHECK(compared >= 20);
}

// cls_k6's sequences cut to max_seq_length - 2 k-mers and padded to max_seq_length, as DNABERT feeds them.
dnabert::token_batch padded_classifier_batch() {
  const dnabert::kmer_tokenizer tokenizer(6);
  std::vector<dnabert::token_piece> pieces;
  for (const auto& sequence : cls_sequences)
    pieces.push_back(tokenizer.encode(sequence, "golden", pieces.size(), max_seq_length - 2).front());
  return dnabert::make_batch(pieces, max_seq_length);
}

}  // namespace

TEST_CASE("dnabert 2.5 compat: a padded classifier batch matches transformers with DNABERT's raw attention mask") {
  B cpu(1);
  auto model = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, dnabert::test::data_path("parity/cls_k6"),
                                                            dnabert::bert_head::sequence_classification);
  const auto batch = padded_classifier_batch();
  const auto ids = golden("cls.input_ids");
  REQUIRE(batch.input_ids.size() == ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) REQUIRE_MESSAGE(batch.input_ids[i] == static_cast<int>(ids[i]), "token " << i);

  dnabert::autograd::tape<B> tape(cpu, true);
  dnabert::nn::forward_context<B> ctx{tape};
  ctx.dropout_enabled = false;  // model.eval() on the reference side
  dnabert::forward_options options;
  options.hidden_states = true;
  options.remove_padding = true;  // ignored: padding counts in compat mode
  options.dnabert_2_5_compat = true;
  const auto out = model.forward(ctx, batch, options);
  CHECK(max_abs_diff(out.logits.value().span(), golden("cls.logits")) <= 1e-4);
  CHECK(max_abs_diff(out.pooled.value().span(), golden("cls.pooled")) <= 1e-4);
  for (std::size_t i = 0; i < out.hidden_states.size(); ++i)  // padded rows included: they are computed
    CHECK_MESSAGE(max_abs_diff(out.hidden_states[i].span(), golden("cls.hidden_states." + std::to_string(i))) <= 1e-4,
                  "hidden state " << i);

  dnabert::autograd::id_tensor<B> labels(cpu, {3});
  const auto golden_labels = golden("cls.labels");
  std::transform(golden_labels.begin(), golden_labels.end(), labels.data(), [](float v) { return static_cast<std::int32_t>(v); });
  const auto loss = dnabert::autograd::cross_entropy(tape, out.logits, labels);
  CHECK(loss.value().data()[0] == doctest::Approx(golden("cls.loss")[0]).epsilon(1e-5));
  tape.backward(loss);
  check_gradients(model, "cls.");
}

TEST_CASE("dnabert 2.5 compat: classifier::predict cuts and pads to max_seq_length as DNABERT does") {
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  dnabert::inference_options options;
  options.dnabert_2_5_compat = true;
  options.max_seq_length = max_seq_length;
  for (const std::size_t batch_size : {std::size_t{1}, std::size_t{3}}) {  // every batch has the same padding
    CAPTURE(batch_size);
    options.batch_size = batch_size;
    const auto result = model.predict(cls_sequences, options);
    CHECK(max_abs_diff(std::span<const float>(result.logits.data(), result.logits.size()), golden("cls.logits")) <= 1e-4);
  }

  // Off, the compat fields change nothing, bit for bit; on, the results differ from off.
  dnabert::inference_options off;
  off.max_seq_length = max_seq_length;
  const auto plain = model.predict(cls_sequences);
  const auto with_off = model.predict(cls_sequences, off);
  CHECK(std::equal(plain.logits.begin(), plain.logits.end(), with_off.logits.begin(), with_off.logits.end()));
  const auto compat = model.predict(cls_sequences, options);
  CHECK(max_abs_diff(std::span<const float>(plain.logits.data(), plain.logits.size()),
                     std::span<const float>(compat.logits.data(), compat.logits.size())) > 1e-3);

  // embed and embed_tokens read the same padded pass: [CLS] and every real token's last hidden state.
  const auto last = golden("cls.hidden_states.3");  // [3, 48, 32]
  const std::size_t hidden = 32;
  const auto cls = model.embed(cls_sequences, dnabert::pooling::cls, options);
  const auto tokens = model.embed_tokens(cls_sequences, options);
  REQUIRE(tokens.size() == 3);
  CHECK(tokens[1].states.shape()[0] == max_seq_length);  // the 62 k-mers cut to 46, with [CLS] and [SEP]
  for (std::size_t s = 0; s < 3; ++s) {
    CAPTURE(s);
    const auto row = last.subspan(s * max_seq_length * hidden);
    CHECK(max_abs_diff(std::span<const float>(&cls(s, 0), hidden), row.first(hidden)) <= 1e-4);
    CHECK(max_abs_diff(std::span<const float>(tokens[s].states.data(), tokens[s].states.size()),
                       row.first(tokens[s].states.size())) <= 1e-4);
  }

  options.max_seq_length = 65;  // cls_k6 has 64 positions
  CHECK_THROWS_AS(model.predict(cls_sequences, options), dnabert::input_error);
}

TEST_CASE("dnabert 2.5 compat: masked-LM logits add the bias twice, pre-training attends padding") {
  B cpu(1);
  auto model = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, dnabert::test::data_path("parity/mlm_k3"),
                                                            dnabert::bert_head::masked_lm);
  const auto& all = goldens();
  const auto masked = dnabert::test::batch_from_tensors(all.at("mlm.input_ids"), all.at("mlm.attention_mask"));
  REQUIRE(std::count(masked.attention_mask.begin(), masked.attention_mask.end(), 0) > 0);  // the batch has padding

  SUBCASE("every position's logits, no attention mask") {
    auto unmasked = masked;
    std::fill(unmasked.attention_mask.begin(), unmasked.attention_mask.end(), 1);
    dnabert::autograd::tape<B> tape(cpu);
    dnabert::nn::forward_context<B> ctx{tape};
    dnabert::forward_options options;
    options.pooled = false;
    options.dnabert_2_5_compat = true;
    CHECK(max_abs_diff(model.forward(ctx, unmasked, options).logits.value().span(), golden("mlm.logits")) <= 1e-4);
  }

  SUBCASE("the pre-training loss and every gradient") {
    dnabert::train::mlm_batch batch;
    batch.inputs = masked;
    const auto labels = golden("mlm.labels");
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] != -100) {
        batch.rows.push_back(static_cast<std::int32_t>(i));
        batch.labels.push_back(static_cast<std::int32_t>(labels[i]));
      }
    dnabert::autograd::tape<B> tape(cpu, true);
    dnabert::nn::forward_context<B> ctx{tape};
    ctx.dropout_enabled = false;
    const auto loss = dnabert::train::detail::mlm_loss(model, ctx, batch, true);
    CHECK(loss.value().data()[0] == doctest::Approx(golden("mlm.loss")[0]).epsilon(1e-5));
    tape.backward(loss);
    check_gradients(model, "mlm.");
  }
}

TEST_CASE("make_batch pads to a fixed length and refuses a longer piece") {
  const dnabert::kmer_tokenizer tokenizer(3);
  const auto pieces = tokenizer.encode("ACGTACGTAC");  // 8 k-mers: 10 tokens
  const auto batch = dnabert::make_batch(pieces, 16);
  CHECK(batch.length == 16);
  CHECK(std::count(batch.attention_mask.begin(), batch.attention_mask.end(), 1) == 10);
  CHECK(batch.input_ids[15] == dnabert::special::pad);
  CHECK(dnabert::make_batch(pieces).length == 10);
  CHECK_THROWS_WITH_AS(dnabert::make_batch(pieces, 9), "a piece of 10 tokens does not fit the padded length of 9 tokens",
                       dnabert::input_error);
}

}  // namespace model_dnabert_compat_test
