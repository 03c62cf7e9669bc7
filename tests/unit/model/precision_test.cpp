// The CPU's precisions (backend::cpu_math) and packed inference weights, on the Hugging Face
// parity fixtures: packed float32 is the unpacked forward (fused Q/K/V, GELU in the GEMM,
// padding removal, attention maps); bf16 and int8 stay within the error PyTorch's bf16 autocast
// and ONNX Runtime's quantize_dynamic show on the same models and inputs (64 random sequences per
// model: tests/reference/make_cpu_precision_error.py → tests/data/precision/).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/model/bert.hpp"
#include "golden_batch.hpp"
#include "tensor_compare.hpp"
#include "test_paths.hpp"

namespace model_precision_test {

namespace {

using B = dnabert::backend::cpu;
using dnabert::backend::cpu_math;
using dnabert::test::max_abs_diff;

const char* const fixtures[] = {"mlm_k3", "cls_k6", "cls3_k3", "reg_k6"};

dnabert::bert_head head_of(const std::string& name) {
  return name.starts_with("mlm") ? dnabert::bert_head::masked_lm : dnabert::bert_head::sequence_classification;
}

// A batch and the float32 logits PyTorch computed for it: the fixture's golden batch, or the 64
// random sequences the reference errors were measured on (`precision_batch`).
struct fixture {
  std::string dir;
  dnabert::token_batch batch;
  std::vector<float> logits;
};

fixture load_fixture(const std::string& name, bool precision_batch = false) {
  fixture f;
  f.dir = dnabert::test::data_path("parity/" + name);
  const auto golden = dnabert::io::read_safetensors(
                          precision_batch ? dnabert::test::data_path("precision/batches.safetensors") : f.dir + "/golden.safetensors")
                          .tensors;
  const std::string prefix = precision_batch ? name + "." : "";
  f.batch = dnabert::test::batch_from_tensors(golden.at(prefix + "input_ids"), golden.at(prefix + "attention_mask"));
  const auto logits = golden.at(prefix + "logits").values;
  f.logits.assign(logits.begin(), logits.end());
  return f;
}

// Logits (and, when asked, attention maps) of one forward that records nothing.
struct result {
  std::vector<float> logits;
  std::vector<std::vector<float>> attentions;
};

result infer(const dnabert::cpu_bert<>& model, const dnabert::token_batch& batch, bool remove_padding = false) {
  dnabert::autograd::tape<B> tape(model.backend());
  dnabert::nn::forward_context<B> ctx{tape};
  dnabert::forward_options options;
  options.attentions = true;
  options.remove_padding = remove_padding;
  const auto out = model.forward(ctx, batch, options);
  result r{std::vector<float>(out.logits.value().span().begin(), out.logits.value().span().end()), {}};
  for (const auto& a : out.attentions) r.attentions.emplace_back(a.span().begin(), a.span().end());
  return r;
}

}  // namespace

TEST_CASE("precision: packed float32 weights give the unpacked forward (fused Q/K/V, GELU epilogue)") {
  for (const std::string name : fixtures) {
    CAPTURE(name);
    const auto f = load_fixture(name);
    B cpu(2);
    auto model = dnabert::cpu_bert<>::load(cpu, f.dir, head_of(name));
    const auto plain = infer(model, f.batch);
    const auto plain_packed_rows = infer(model, f.batch, true);
    model.pack_weights();
    for (const bool remove_padding : {false, true}) {
      CAPTURE(remove_padding);
      const auto packed = infer(model, f.batch, remove_padding);
      const auto& want = remove_padding ? plain_packed_rows : plain;
      CHECK(max_abs_diff(packed.logits, want.logits) <= 2e-5);
      REQUIRE(packed.attentions.size() == want.attentions.size());
      for (std::size_t layer = 0; layer < want.attentions.size(); ++layer)
        CHECK(max_abs_diff(packed.attentions[layer], want.attentions[layer]) <= 1e-5);
    }
    CHECK(max_abs_diff(infer(model, f.batch).logits, f.logits) <= 1e-4);  // and still Hugging Face's numbers
    model.unpack_weights();
    CHECK(max_abs_diff(infer(model, f.batch).logits, plain.logits) == 0);
  }
}

#ifdef DNABERT_USE_ONEDNN

namespace {

// The reference error of `engine` ("torch_bf16_autocast" or "onnxruntime_int8") on a fixture's
// precision batch.
double reference_error(const std::string& name, const std::string& engine) {
  std::ifstream in(dnabert::test::data_path("precision/cpu_precision_error.json"));
  REQUIRE_MESSAGE(in.good(), "tests/data/precision/cpu_precision_error.json is missing");
  const auto json = nlohmann::json::parse(in);
  return json.at(name).at(engine).at("max_abs_logit_error").get<double>();
}

}  // namespace

TEST_CASE("precision: a recording (training) forward ignores packed weights") {
  const auto f = load_fixture("cls_k6");
  B cpu(2, cpu_math::int8);
  auto model = dnabert::cpu_bert<>::load(cpu, f.dir, dnabert::bert_head::sequence_classification);
  model.pack_weights();
  dnabert::autograd::tape<B> tape(cpu, true);
  dnabert::nn::forward_context<B> ctx{tape};
  ctx.dropout_enabled = false;
  const auto out = model.forward(ctx, f.batch);
  CHECK(max_abs_diff(out.logits.value().span(), f.logits) <= 1e-4);  // float32, not int8
  CHECK(out.logits.requires_grad());
}

namespace {

// On every fixture's 64 random sequences, `math`'s packed logits (and, with `unpacked_limit`,
// the unpacked ones) are within `factor` times the peer `engine`'s error of PyTorch's float32.
// Unpacked, bf16 runs training's GEMMs; int8 runs float32 (it only packs).
void check_against_peer(cpu_math math, const std::string& engine, double factor, double unpacked_limit) {
  for (const std::string name : fixtures) {
    CAPTURE(name);
    const auto f = load_fixture(name, true);
    const double bound = factor * reference_error(name, engine);
    B cpu(2, math);
    auto model = dnabert::cpu_bert<>::load(cpu, f.dir, head_of(name));
    const double unpacked = max_abs_diff(infer(model, f.batch).logits, f.logits);
    model.pack_weights();
    const double packed = max_abs_diff(infer(model, f.batch).logits, f.logits);
    MESSAGE(name << ": " << to_string(math) << " max |dlogit| packed " << packed << ", unpacked " << unpacked
                 << "; bound " << bound << " (" << factor << "x " << engine << ")");
    CHECK(packed <= bound);
    CHECK(unpacked <= (unpacked_limit > 0 ? unpacked_limit : bound));
    CHECK(packed > 1e-5);  // it did compute in low precision
  }
}

}  // namespace

TEST_CASE("precision: bf16 logits within twice PyTorch's bf16 autocast error") {
  check_against_peer(cpu_math::bf16, "torch_bf16_autocast", 2.0, 0);
}

TEST_CASE("precision: int8 logits within 1.5x ONNX Runtime's quantize_dynamic error") {
  check_against_peer(cpu_math::int8, "onnxruntime_int8", 1.5, 1e-4);
}

TEST_CASE("precision: an int8 layer refuses a NaN input instead of quantizing it") {
  B cpu(1, cpu_math::int8);
  const std::vector<float> weight = {1, 2, 3, 4, 5, 6}, bias = {0, 0};
  const auto packed = pack_linear(cpu, weight.data(), bias.data(), 3, 2);
  std::vector<float> x = {1, std::numeric_limits<float>::quiet_NaN(), 0}, y(2);
  CHECK_THROWS_WITH_AS(linear_forward(cpu, x.data(), 3, packed, 1, y.data(), dnabert::ops::activation::none),
                       doctest::Contains("NaN"), dnabert::error);
}

TEST_CASE("precision: int8 weights per output channel, activations with a zero point") {
  // y = x Wᵀ + b against the exact product, for x with a one-sided range (zero point at 0 and at
  // 255) and rows whose weights differ by 1000x (one scale per channel keeps the small row exact).
  B cpu(1, cpu_math::int8);
  const std::vector<float> weight = {0.001F, -0.002F, 0.003F, 1.0F, 2.0F, -3.0F};
  const std::vector<float> bias = {0.5F, -1.0F};
  const auto packed = pack_linear(cpu, weight.data(), bias.data(), 3, 2);
  for (const std::vector<float>& x : {std::vector<float>{0.1F, 0.5F, 1.0F}, std::vector<float>{-0.1F, -0.5F, -1.0F}}) {
    std::vector<float> y(2);
    linear_forward(cpu, x.data(), 3, packed, 1, y.data(), dnabert::ops::activation::none);
    for (int o = 0; o < 2; ++o) {
      double exact = bias[static_cast<std::size_t>(o)];
      for (int i = 0; i < 3; ++i) exact += double(x[static_cast<std::size_t>(i)]) * weight[static_cast<std::size_t>(o * 3 + i)];
      const double row_scale = std::abs(weight[static_cast<std::size_t>(o * 3 + 2)]);  // largest |w| of the row
      CHECK(std::abs(y[static_cast<std::size_t>(o)] - exact) <= 3 * (row_scale / 127 + 1.0 / 255) + 1e-6);
    }
  }
}

#else  // a build without oneDNN computes in float32 only, and says so

TEST_CASE("precision: without oneDNN, bf16 and int8 backends are refused with the reason") {
  for (const auto math : {cpu_math::bf16, cpu_math::int8})
    CHECK_THROWS_WITH_AS(B(1, math), doctest::Contains("needs oneDNN"), dnabert::config_error);
}

#endif

}  // namespace model_precision_test
