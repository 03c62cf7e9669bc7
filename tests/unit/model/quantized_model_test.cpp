// Loading a `dnabert quantize` folder (docs/precision.md) on the Hugging Face parity fixtures: on an
// int8 CPU backend its stored int8 weights are packed as they are (the logits of the float folder
// quantized at load, bit for bit; never quantized again), on fp32 it is the float model with the
// dequantized weights (computed here independently).
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/io/model_quantization.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/model/bert.hpp"
#include "golden_batch.hpp"
#include "int8_reference.hpp"
#include "test_paths.hpp"

namespace model_quantized_model_test {

namespace {

namespace fs = std::filesystem;
using B = dnabert::backend::cpu;
using dnabert::backend::cpu_math;

dnabert::bert_head head_of(const std::string& name) {
  return name.starts_with("mlm") ? dnabert::bert_head::masked_lm : dnabert::bert_head::sequence_classification;
}

std::string parity(const std::string& name) { return dnabert::test::data_path("parity/" + name); }

dnabert::token_batch golden_batch(const std::string& name) {
  const auto golden = dnabert::io::read_safetensors(parity(name) + "/golden.safetensors").tensors;
  return dnabert::test::batch_from_tensors(golden.at("input_ids"), golden.at("attention_mask"));
}

std::vector<std::uint32_t> logit_bits(const dnabert::cpu_bert<>& model, const dnabert::token_batch& batch) {
  dnabert::autograd::tape<B> tape(model.backend());
  dnabert::nn::forward_context<B> ctx{tape};
  const auto out = model.forward(ctx, batch);
  std::vector<std::uint32_t> bits;
  for (const float v : out.logits.value().span()) bits.push_back(std::bit_cast<std::uint32_t>(v));
  return bits;
}

// A quantized copy of a parity fixture, written by this test.
std::string quantized(const std::string& name) {
  const auto dir = dnabert::test::scratch_dir("quantized-model-" + name);
  dnabert::io::quantize_model_folder(parity(name), dir.string());
  return dir.string();
}

#ifdef DNABERT_USE_ONEDNN
// Where oneDNN's int8 kernels lack VNNI, ±127 weights are narrowed to ±63 from their float values
// at packing, so the stored and the float folder's packs differ there (pack_quantized_linear).
bool int8_bit_for_bit() { return dnabert::backend::detail::has_vnni(); }
#endif

}  // namespace

#ifdef DNABERT_USE_ONEDNN
TEST_CASE("quantized folder: on int8 its stored weights give the float folder's int8 logits bit for bit") {
  for (const std::string name : {"cls_k6", "mlm_k3"}) {
    CAPTURE(name);
    const auto batch = golden_batch(name);
    B cpu(2, cpu_math::int8);
    auto from_float = dnabert::cpu_bert<>::load(cpu, parity(name), head_of(name));
    from_float.pack_weights();
    auto from_int8 = dnabert::cpu_bert<>::load(cpu, quantized(name), head_of(name));
    CHECK(from_int8.quantized_weights().size() == (name == "cls_k6" ? 18 : 13));  // every per-token weight
    CHECK(from_int8.warnings().empty());
    from_int8.pack_weights();
    if (int8_bit_for_bit())
      CHECK(logit_bits(from_int8, batch) == logit_bits(from_float, batch));
    else
      MESSAGE("this CPU's oneDNN int8 kernels lack VNNI: weights are narrowed to ±63 at packing, not compared bit for bit");
  }
}

TEST_CASE("quantized folder: stored int8 weights are packed as they are, never quantized again") {
  // Weights stored at ±60 (not what quantizing their values gives: ±127, or ±63 without VNNI):
  // packing them as they are differs from packing their float values, and a layer's forward is
  // exactly pack_quantized_linear's.
  const std::string name = "cls_k6";
  const auto batch = golden_batch(name);
  const auto float_folder = dnabert::io::read_model_folder(parity(name), head_of(name));
  dnabert::int8_weight_map narrow;
  dnabert::io::tensor_map dequantized = float_folder.tensors;
  for (const auto& spec : dnabert::bert_parameters(float_folder.config, head_of(name))) {
    if (!spec.per_token_linear) continue;
    auto q = dnabert::quantize_rows(float_folder.tensors.at(spec.name).values, spec.shape[0], spec.shape[1], 60);
    dequantized.insert_or_assign(spec.name, dnabert::io::make_owned_tensor(spec.shape, dnabert::dequantize_rows(q)));
    narrow.emplace(spec.name, std::move(q));
  }
  const auto scratch = dnabert::test::scratch_dir("quantized-at-60");
  const auto stored_dir = scratch / "int8";
  const auto float_dir = scratch / "float";
  dnabert::io::write_model_folder(stored_dir.string(), float_folder.config, float_folder.tensors, narrow);
  dnabert::io::write_model_folder(float_dir.string(), float_folder.config, dequantized);

  B cpu(2, cpu_math::int8);
  auto stored = dnabert::cpu_bert<>::load(cpu, stored_dir.string(), head_of(name));
  stored.pack_weights();
  auto requantized = dnabert::cpu_bert<>::load(cpu, float_dir.string(), head_of(name));
  requantized.pack_weights();
  const auto stored_logits = logit_bits(stored, batch);
  CHECK(stored_logits != logit_bits(requantized, batch));

  // Weights changed since loading (as training does) are packed from their float values instead.
  stored.assign(float_folder.tensors);
  stored.pack_weights();
  auto original = dnabert::cpu_bert<>::load(cpu, parity(name), head_of(name));
  original.pack_weights();
  CHECK(logit_bits(stored, batch) == logit_bits(original, batch));
  stored.assign(dequantized);  // the stored values again: the int8 weights apply again
  stored.pack_weights();
  CHECK(logit_bits(stored, batch) == stored_logits);

  // One layer: its forward is exactly that of pack_quantized_linear on the stored weights.
  const auto& stored_rows = narrow.at("bert.encoder.layer.0.attention.output.dense.weight");
  dnabert::nn::parameter_list<B> params;
  dnabert::nn::linear<B> layer(cpu, params, "bert.encoder.layer.0.attention.output.dense", stored_rows.cols, stored_rows.rows);
  const auto values = dnabert::dequantize_rows(stored_rows);
  std::copy(values.begin(), values.end(), layer.weight.value().data());
  const auto bias = float_folder.tensors.at("bert.encoder.layer.0.attention.output.dense.bias").values;
  std::copy(bias.begin(), bias.end(), layer.bias.value().data());
  layer.pack(cpu, narrow);
  dnabert::autograd::tape<B> tape(cpu);
  dnabert::tensor<B> x(cpu, {2, stored_rows.cols});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>((i * 37) % 23) / 11.0F - 1.0F;
  const auto y = layer(tape, tape.make(x, false)).value();
  std::vector<float> want(static_cast<std::size_t>(2 * stored_rows.rows));
  linear_forward(cpu, x.data(), stored_rows.cols, pack_quantized_linear(cpu, stored_rows, bias), 2, want.data(),
                 dnabert::ops::activation::none);
  CHECK(std::equal(want.begin(), want.end(), y.span().begin(), y.span().end()));
  std::vector<float> from_floats(want.size());
  linear_forward(cpu, x.data(), stored_rows.cols, pack_linear(cpu, values.data(), bias.data(), stored_rows.cols, stored_rows.rows), 2,
                 from_floats.data(), dnabert::ops::activation::none);
  CHECK(from_floats != want);
}
#endif

TEST_CASE("quantized folder: on fp32 it is the float model with its weights dequantized") {
  for (const std::string name : {"cls_k6", "mlm_k3"}) {
    CAPTURE(name);
    const auto batch = golden_batch(name);
    // The float folder's linear weights replaced by q · scale of their rows, computed here.
    auto tensors = dnabert::io::read_model_folder(parity(name), head_of(name)).tensors;
    for (auto& [tensor_name, tensor] : tensors) {
      const bool linear = tensor.shape.size() == 2 && (tensor_name.starts_with("bert.encoder.") ||
                                                       tensor_name == "cls.predictions.transform.dense.weight");
      if (!linear) continue;
      const auto cols = static_cast<std::size_t>(tensor.shape[1]);
      std::vector<float> values;
      for (std::size_t r = 0; r < static_cast<std::size_t>(tensor.shape[0]); ++r) {
        const auto row = dnabert::test::dequantized_row(tensor.values.subspan(r * cols, cols));
        values.insert(values.end(), row.begin(), row.end());
      }
      tensor = dnabert::io::make_owned_tensor(tensor.shape, std::move(values));
    }
    B cpu(2);
    auto reference = dnabert::cpu_bert<>::load(cpu, parity(name), head_of(name));
    reference.assign(tensors);
    auto loaded = dnabert::cpu_bert<>::load(cpu, quantized(name), head_of(name));
    CHECK(logit_bits(loaded, batch) == logit_bits(reference, batch));
    loaded.pack_weights();
    reference.pack_weights();
    CHECK(logit_bits(loaded, batch) == logit_bits(reference, batch));
  }
}

}  // namespace model_quantized_model_test
