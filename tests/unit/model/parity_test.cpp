// dnabert against Hugging Face transformers: tiny random models made by
// tests/reference/make_parity_goldens.py, with logits, hidden states, attention probabilities and
// parameter gradients stored by PyTorch in golden.safetensors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/model/bert.hpp"
#include "golden_batch.hpp"
#include "tensor_compare.hpp"
#include "test_paths.hpp"

namespace model_parity_test {

namespace {

using B = dnabert::backend::cpu;

struct golden_case {
  std::string dir;
  nlohmann::json inputs;
  dnabert::io::tensor_map golden;
  dnabert::bert_head head;
};

golden_case load_case(const std::string& name) {
  golden_case c;
  c.dir = dnabert::test::data_path("parity/" + name);
  std::ifstream in(c.dir + "/inputs.json");
  REQUIRE(in.good());
  c.inputs = nlohmann::json::parse(in);
  c.golden = dnabert::io::read_safetensors(c.dir + "/golden.safetensors").tensors;
  c.head = c.inputs["architecture"] == "BertForMaskedLM" ? dnabert::bert_head::masked_lm
                                                          : dnabert::bert_head::sequence_classification;
  return c;
}

const dnabert::io::loaded_tensor& golden(const golden_case& c, const std::string& name) {
  const auto found = c.golden.find(name);
  REQUIRE_MESSAGE(found != c.golden.end(), "golden.safetensors lacks " << name);
  return found->second;
}

using dnabert::test::max_abs;
using dnabert::test::max_abs_diff;

dnabert::token_batch batch_from_golden(const golden_case& c, const std::string& ids_name) {
  return dnabert::test::batch_from_tensors(golden(c, ids_name), golden(c, "attention_mask"));
}

dnabert::token_batch batch_from_tokenizer(const golden_case& c) {
  const dnabert::kmer_tokenizer tokenizer(c.inputs["k"].get<int>());
  std::vector<dnabert::token_piece> pieces;
  for (const auto& sequence : c.inputs["sequences"]) {
    auto encoded = tokenizer.encode(sequence.get<std::string>(), "golden", pieces.size());
    pieces.insert(pieces.end(), encoded.begin(), encoded.end());
  }
  return dnabert::make_batch(pieces);
}

template <class Spec>
void check_forward(const golden_case& c, const dnabert::Bert<Spec, B>& model) {
  B& cpu = model.backend();
  dnabert::autograd::tape<B> tape(cpu);
  dnabert::nn::forward_context<B> ctx{tape};
  const auto batch = batch_from_tokenizer(c);
  REQUIRE(batch.input_ids.size() == golden(c, "input_ids").values.size());
  const auto expected_ids = golden(c, "input_ids").values;
  for (std::size_t i = 0; i < batch.input_ids.size(); ++i)
    REQUIRE_MESSAGE(batch.input_ids[i] == static_cast<int>(expected_ids[i]), "token " << i);

  const auto out = model.forward(ctx, batch, {true, true, true, {}});
  CHECK(max_abs_diff(out.logits.value().span(), golden(c, "logits").values) <= 1e-4);
  const auto layers = static_cast<std::size_t>(model.config().num_hidden_layers);
  REQUIRE(out.hidden_states.size() == layers + 1);
  for (std::size_t i = 0; i <= layers; ++i)
    CHECK_MESSAGE(max_abs_diff(out.hidden_states[i].span(), golden(c, "hidden_states." + std::to_string(i)).values) <= 1e-4,
                  "hidden state " << i);
  for (std::size_t i = 0; i < layers; ++i)
    CHECK_MESSAGE(max_abs_diff(out.attentions[i].span(), golden(c, "attentions." + std::to_string(i)).values) <= 1e-5,
                  "attention " << i);
  if (c.golden.contains("pooled")) CHECK(max_abs_diff(out.pooled.value().span(), golden(c, "pooled").values) <= 1e-4);
}

template <class Spec>
void check_gradients(const golden_case& c, const dnabert::Bert<Spec, B>& model) {
  B& cpu = model.backend();
  for (const auto& p : model.parameters().items()) p.value.clear_grad();
  dnabert::autograd::tape<B> tape(cpu, true);
  dnabert::nn::forward_context<B> ctx{tape};
  ctx.dropout_enabled = false;  // model.eval() on the reference side
  const bool mlm = c.head == dnabert::bert_head::masked_lm;
  const auto batch = batch_from_golden(c, mlm ? "mlm_input_ids" : "input_ids");
  const auto out = model.forward(ctx, batch);
  const auto& labels = golden(c, mlm ? "mlm_labels" : "labels");
  dnabert::autograd::var<B> loss;
  if (model.config().problem() == dnabert::classifier_problem::multi_label && !mlm) {
    dnabert::tensor<B> targets(cpu, {static_cast<std::int64_t>(labels.values.size()) / model.config().num_labels,
                                     model.config().num_labels});
    std::copy(labels.values.begin(), labels.values.end(), targets.data());
    loss = dnabert::autograd::bce_with_logits(tape, out.logits, targets);
  } else if (model.config().num_labels == 1 && !mlm) {
    dnabert::tensor<B> targets(cpu, {static_cast<std::int64_t>(labels.values.size()), 1});
    std::copy(labels.values.begin(), labels.values.end(), targets.data());
    loss = dnabert::autograd::mse(tape, out.logits, targets);
  } else {
    dnabert::autograd::id_tensor<B> ids(cpu, {static_cast<std::int64_t>(labels.values.size())});
    std::transform(labels.values.begin(), labels.values.end(), ids.data(), [](float v) { return static_cast<std::int32_t>(v); });
    loss = dnabert::autograd::cross_entropy(tape, out.logits, ids);
  }
  CHECK(loss.value().data()[0] == doctest::Approx(golden(c, "loss").values[0]).epsilon(1e-5));
  tape.backward(loss);
  int compared = 0;
  for (const auto& p : model.parameters().items()) {
    if (p.alias) continue;
    if (!c.golden.contains("grad." + p.name)) {
      // transformers' BertForMaskedLM has no pooler; DNABERT's has one, which MLM never reaches.
      CHECK_MESSAGE(max_abs(p.value.grad(cpu).span()) == 0, "unexpected gradient for " << p.name);
      continue;
    }
    const auto& expected = golden(c, "grad." + p.name).values;
    // Relative to the tensor's largest gradient, plus an absolute 1e-6: some gradients (the key
    // biases) are 0 in exact arithmetic, so both sides hold only float32 rounding noise there.
    CHECK_MESSAGE(max_abs_diff(p.value.grad(cpu).span(), expected) <= 1e-4 * max_abs(expected) + 1e-6,
                  "gradient of " << p.name);
    ++compared;
  }
  CHECK(compared >= 20);
}

}  // namespace

TEST_CASE("parity with Hugging Face: logits, hidden states, attentions, gradients") {
  for (const char* name : {"mlm_k3", "cls_k6", "cls3_k3", "reg_k6", "mlc_k3"}) {
    CAPTURE(name);
    const auto c = load_case(name);
    B cpu(1);
    const auto model = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, c.dir, c.head);
    check_forward(c, model);
    check_gradients(c, model);
  }
}

TEST_CASE("parity with Hugging Face: pytorch_model.bin gives the same model as model.safetensors") {
  for (const char* name : {"mlm_k3", "cls_k6"}) {
    CAPTURE(name);
    const auto c = load_case(name);
    const auto dir = dnabert::test::scratch_dir(std::string("bin-only-") + name);
    for (const char* file : {"config.json", "vocab.txt", "pytorch_model.bin"})
      std::filesystem::copy_file(c.dir + "/" + file, dir / file);
    B cpu(1);
    const auto from_bin = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, dir.string(), c.head);
    check_forward(c, from_bin);
  }
}

TEST_CASE("parity with Hugging Face: save then load round-trips bit-exact") {
  const auto c = load_case("mlm_k3");
  B cpu(1);
  const auto model = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, c.dir, c.head);
  const auto dir = dnabert::test::scratch_dir("roundtrip");
  model.save(dir.string());
  const auto again = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, dir.string(), c.head);
  const auto before = model.state_dict();
  const auto after = again.state_dict();
  REQUIRE(before.size() == after.size());
  for (const auto& entry : before) {  // no structured binding: clang 14 cannot capture one in CHECK_MESSAGE
    const auto& tensor = entry.second;
    const auto& other = after.at(entry.first);
    CHECK(tensor.shape == other.shape);
    CHECK_MESSAGE(std::memcmp(tensor.values.data(), other.values.data(), tensor.values.size_bytes()) == 0, entry.first);
  }
  check_forward(c, again);
}

namespace {

// The fixtures' shapes fixed at compile time (the encoder then holds its layers in a std::array).
using mlm_k3_spec = dnabert::bert_spec<3, 2, 32, 4, 64, 64>;
using cls_k6_spec = dnabert::bert_spec<6, 3, 32, 2, 48, 64, 2>;

// A static-spec model of fixture `name` against the goldens and against the dynamic model, which
// runs the same kernels and so must give the same bits.
template <class Spec>
void check_static_spec(const char* name) {
  CAPTURE(name);
  const auto c = load_case(name);
  B cpu(1);
  const auto fixed = dnabert::Bert<Spec, B>::load(cpu, c.dir, c.head);
  check_forward(c, fixed);
  check_gradients(c, fixed);

  const auto dynamic = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, c.dir, c.head);
  dnabert::autograd::tape<B> tape(cpu);
  dnabert::nn::forward_context<B> ctx{tape};
  const auto batch = batch_from_tokenizer(c);
  const auto want = dynamic.forward(ctx, batch, {true, true, true, {}});
  const auto got = fixed.forward(ctx, batch, {true, true, true, {}});
  CHECK(max_abs_diff(got.logits.value().span(), want.logits.value().span()) == 0);
  REQUIRE(got.hidden_states.size() == static_cast<std::size_t>(Spec::layers) + 1);
  for (std::size_t i = 0; i < want.hidden_states.size(); ++i)
    CHECK_MESSAGE(max_abs_diff(got.hidden_states[i].span(), want.hidden_states[i].span()) == 0, "hidden state " << i);
  REQUIRE(got.attentions.size() == want.attentions.size());
  for (std::size_t i = 0; i < want.attentions.size(); ++i)
    CHECK_MESSAGE(max_abs_diff(got.attentions[i].span(), want.attentions[i].span()) == 0, "attention " << i);
}

}  // namespace

TEST_CASE("parity with Hugging Face: a static spec gives the goldens and the dynamic model's outputs") {
  check_static_spec<mlm_k3_spec>("mlm_k3");
  check_static_spec<cls_k6_spec>("cls_k6");
}

}  // namespace model_parity_test
