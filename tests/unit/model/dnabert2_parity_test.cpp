// DNABERT-2 (MosaicBERT: ALiBi, GEGLU, fused Wqkv) against the PyTorch reference of
// tests/reference/make_dnabert2_goldens.py: tiny random models saved in DNABERT-2's layout, their
// logits, hidden states, pooled outputs, a loss and every parameter's gradient.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/io/model_quantization.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/model/bert.hpp"
#include "golden_batch.hpp"
#include "tensor_compare.hpp"
#include "test_paths.hpp"

namespace model_dnabert2_parity_test {

namespace {

using B = dnabert::backend::cpu;
using dnabert::test::max_abs;
using dnabert::test::max_abs_diff;

const dnabert::io::tensor_map& goldens() {
  static const auto tensors = dnabert::io::read_safetensors(dnabert::test::data_path("dnabert2/golden.safetensors")).tensors;
  return tensors;
}

const dnabert::io::loaded_tensor& golden(const std::string& name) {
  const auto found = goldens().find(name);
  REQUIRE_MESSAGE(found != goldens().end(), "golden.safetensors lacks " << name);
  return found->second;
}

dnabert::bert_head head_of(const std::string& model) {
  return model == "mlm" ? dnabert::bert_head::masked_lm : dnabert::bert_head::sequence_classification;
}

std::string folder(const std::string& model) { return dnabert::test::data_path("dnabert2/" + model); }

dnabert::token_batch golden_batch(const std::string& prefix) {
  auto batch = dnabert::test::batch_from_tensors(golden(prefix + ".input_ids"), golden(prefix + ".attention_mask"));
  for (const float v : golden(prefix + ".token_type_ids").values) batch.token_type_ids.push_back(static_cast<std::int32_t>(v));
  return batch;
}

// The largest difference over the real tokens' rows of [rows * length, width] tensors.
double real_rows_diff(std::span<const float> ours, std::span<const float> expected, const dnabert::token_batch& batch,
                      std::size_t width) {
  double worst = 0;
  for (std::size_t row = 0; row < batch.attention_mask.size(); ++row)
    if (batch.attention_mask[row] != 0)
      worst = std::max(worst, max_abs_diff(ours.subspan(row * width, width), expected.subspan(row * width, width)));
  return worst;
}

template <class Spec>
void check_forward(const dnabert::Bert<Spec, B>& model, const std::string& name, const std::string& which,
                   bool remove_padding) {
  CAPTURE(which);
  CAPTURE(remove_padding);
  const std::string prefix = name + "." + which;
  dnabert::autograd::tape<B> tape(model.backend());
  dnabert::nn::forward_context<B> ctx{tape};
  const auto batch = golden_batch(prefix);
  dnabert::forward_options options;
  options.hidden_states = true;
  options.remove_padding = remove_padding;
  const auto out = model.forward(ctx, batch, options);
  const auto hidden = static_cast<std::size_t>(model.config().hidden_size);
  const auto& states = golden(prefix + ".hidden_states").values;
  const std::size_t state_size = batch.rows * batch.length * hidden;
  REQUIRE(out.hidden_states.size() * state_size == states.size());
  for (std::size_t i = 0; i < out.hidden_states.size(); ++i)
    CHECK_MESSAGE(real_rows_diff(out.hidden_states[i].span(), states.subspan(i * state_size, state_size), batch, hidden) <= 1e-4,
                  "hidden state " << i);
  if (model.head() == dnabert::bert_head::masked_lm) {
    const auto vocab = static_cast<std::size_t>(model.config().vocab_size);
    CHECK(real_rows_diff(out.logits.value().span(), golden(prefix + ".logits").values, batch, vocab) <= 1e-4);
  } else {
    CHECK(max_abs_diff(out.logits.value().span(), golden(prefix + ".logits").values) <= 1e-4);
    CHECK(max_abs_diff(out.pooled.value().span(), golden(prefix + ".pooled").values) <= 1e-4);
  }
}

template <class Spec>
void check_outputs(const dnabert::Bert<Spec, B>& model, const std::string& name) {
  for (const char* which : {"short", "past_alibi_start"})
    for (const bool remove_padding : {false, true}) check_forward(model, name, which, remove_padding);
}

// The gradient dnabert holds for DNABERT-2's parameter `name` (its fused Wqkv: query, key and
// value stacked; its decoder bias: cls.predictions.bias).
std::vector<float> gradient_of(const dnabert::nn::parameter_list<B>& params, B& cpu, const std::string& name) {
  const auto take = [&](const std::string& ours) {
    const auto* found = params.find(ours);
    REQUIRE_MESSAGE(found != nullptr, "no parameter " << ours);
    const auto span = found->value.grad(cpu).span();
    return std::vector<float>(span.begin(), span.end());
  };
  const auto fused = name.find("Wqkv");
  if (fused != std::string::npos) {
    std::vector<float> stacked;
    for (const char* part : {"query", "key", "value"}) {
      const auto piece = take(name.substr(0, fused) + part + name.substr(fused + 4));
      stacked.insert(stacked.end(), piece.begin(), piece.end());
    }
    return stacked;
  }
  return take(name == "cls.predictions.decoder.bias" ? "cls.predictions.bias" : name);
}

template <class Spec>
void check_gradients(const dnabert::Bert<Spec, B>& model, const std::string& name) {
  B& cpu = model.backend();
  const std::string prefix = name + ".short";
  for (const auto& p : model.parameters().items()) p.value.clear_grad();
  dnabert::autograd::tape<B> tape(cpu, true);
  dnabert::nn::forward_context<B> ctx{tape};
  ctx.dropout_enabled = false;
  const auto batch = golden_batch(prefix);
  const auto out = model.forward(ctx, batch);
  const auto& labels = golden(prefix + ".labels").values;
  dnabert::autograd::id_tensor<B> ids(cpu, {static_cast<std::int64_t>(labels.size())});
  std::transform(labels.begin(), labels.end(), ids.data(), [](float v) { return static_cast<std::int32_t>(v); });
  const auto loss = dnabert::autograd::cross_entropy(tape, out.logits, ids);
  CHECK(loss.value().data()[0] == doctest::Approx(golden(prefix + ".loss").values[0]).epsilon(1e-5));
  tape.backward(loss);
  int compared = 0;
  const std::string grad_prefix = prefix + ".grad.";
  for (const auto& entry : goldens()) {
    if (!entry.first.starts_with(grad_prefix)) continue;
    const std::string parameter = entry.first.substr(grad_prefix.size());
    const auto& expected = entry.second.values;
    CHECK_MESSAGE(max_abs_diff(gradient_of(model.parameters(), cpu, parameter), expected) <= 1e-4 * max_abs(expected) + 1e-6,
                  "gradient of " << parameter);
    ++compared;
  }
  CHECK(compared >= 20);
}

}  // namespace

TEST_CASE("DNABERT-2 parity: classifier and masked LM match the PyTorch reference, past alibi_starting_size too") {
  for (const std::string name : {"cls_k", "mlm"}) {
    CAPTURE(name);
    B cpu(1);
    const auto model = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, folder(name), head_of(name));
    CHECK(model.config().position == dnabert::position_encoding::alibi);
    CHECK(model.config().feed_forward == dnabert::feed_forward_kind::geglu);
    CHECK(model.config().tokens == dnabert::token_kind::bpe);
    REQUIRE(model.bpe() != nullptr);
    CHECK(model.bpe()->vocab_size() == 200);
    CHECK(model.warnings().empty());
    // DNABERT-2's BertForMaskedLM has no pooler; dnabert's has one, initialised, as for transformers >= 4's BERT.
    CHECK(model.new_parameters().size() == (name == "mlm" ? 2U : 0U));
    CHECK(model.parameters().find("bert.embeddings.position_embeddings.weight") == nullptr);
    check_outputs(model, name);
    check_gradients(model, name);
  }
}

TEST_CASE("DNABERT-2 parity: packed inference weights give the same outputs") {
  for (const std::string name : {"cls_k", "mlm"}) {
    CAPTURE(name);
    B cpu(1);
    auto model = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, folder(name), head_of(name));
    model.pack_weights();
    check_outputs(model, name);
  }
}

TEST_CASE("DNABERT-2 parity: a spec with the policies fixed at compile time runs the same") {
  using cls_spec = dnabert::dnabert2_spec<2, 48, 6, 40, 512, 3>;
  using mlm_spec = dnabert::dnabert2_spec<2, 32, 4, 40>;
  B cpu(1);
  const auto cls = dnabert::Bert<cls_spec, B>::load(cpu, folder("cls_k"), head_of("cls_k"));
  check_outputs(cls, "cls_k");
  check_gradients(cls, "cls_k");
  const auto mlm = dnabert::Bert<mlm_spec, B>::load(cpu, folder("mlm"), head_of("mlm"));
  check_outputs(mlm, "mlm");
}

namespace {

template <class Spec>
void load_as(const std::string& dir, dnabert::bert_head head) {
  B cpu(1);
  (void)dnabert::Bert<Spec, B>::load(cpu, dir, head);
}

}  // namespace

TEST_CASE("DNABERT-2 parity: a spec compiled for another architecture refuses the folder by name") {
  using bert_positions = dnabert::bert_spec<dnabert::dynamic, dnabert::dynamic, dnabert::dynamic, dnabert::dynamic,
                                            dnabert::dynamic, dnabert::dynamic, dnabert::dynamic, dnabert::policy::absolute_positions>;
  const auto cls = dnabert::bert_head::sequence_classification;
  CHECK_THROWS_WITH_AS(load_as<bert_positions>(folder("cls_k"), cls),
                       doctest::Contains("position encoding is alibi but the model is compiled for absolute"),
                       dnabert::config_error);
  CHECK_THROWS_WITH_AS(load_as<dnabert::DNABERT6>(folder("cls_k"), cls), doctest::Contains("compiled for"), dnabert::config_error);
  // And the other way: a DNABERT folder under DNABERT-2's spec.
  CHECK_THROWS_WITH_AS(load_as<dnabert::dnabert2_spec<>>(dnabert::test::data_path("parity/cls_k6"), cls),
                       doctest::Contains("is absolute but the model is compiled for alibi"), dnabert::config_error);
}

TEST_CASE("DNABERT-2 parity: save writes DNABERT-2's layout and loads back bit-exact") {
  for (const std::string name : {"cls_k", "mlm"}) {
    CAPTURE(name);
    B cpu(1);
    const auto model = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, folder(name), head_of(name));
    const auto dir = dnabert::test::scratch_dir("dnabert2-save-" + name);
    model.save(dir.string());
    CHECK(std::filesystem::exists(dir / "tokenizer.json"));
    CHECK_FALSE(std::filesystem::exists(dir / "vocab.txt"));
    const auto written = dnabert::io::read_safetensors((dir / "model.safetensors").string()).tensors;
    const auto original = dnabert::io::read_safetensors(folder(name) + "/model.safetensors").tensors;
    CHECK(written.size() == original.size() + (name == "mlm" ? 2U : 0U));  // + the MLM model's pooler
    for (const auto& entry : original) {
      const auto found = written.find(entry.first);
      REQUIRE_MESSAGE(found != written.end(), "saved folder lacks " << entry.first);
      CHECK_MESSAGE(max_abs_diff(found->second.values, entry.second.values) == 0, entry.first);
    }
    const auto config = dnabert::io::read_config_json((dir / "config.json").string(), dnabert::token_kind::bpe);
    CHECK(config.position == dnabert::position_encoding::alibi);
    CHECK(config.alibi_starting_size == 16);
    CHECK_FALSE(config.auto_map.empty());
    const auto again = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, dir.string(), head_of(name));
    check_outputs(again, name);
  }
}

TEST_CASE("DNABERT-2 parity: saving copies the remote code auto_map needs, and drops the other kind's tokenizer file") {
  const auto source = dnabert::test::scratch_dir("dnabert2-remote-code");
  for (const char* file : {"config.json", "tokenizer.json", "model.safetensors"})
    std::filesystem::copy_file(folder("cls_k") + "/" + file, source / file);
  const std::string code = "class BertModel:  # stands in for DNABERT-2's bert_layers.py\n    pass\n";
  std::ofstream(source / "bert_layers.py") << code;
  B cpu(1);
  const auto model = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, source.string(), head_of("cls_k"));
  const auto target = dnabert::test::scratch_dir("dnabert2-remote-code-saved");
  std::ofstream(target / "vocab.txt") << "[PAD]\n";  // left by a k-mer model saved here before
  model.save(target.string());
  std::ifstream copied(target / "bert_layers.py");
  CHECK(std::string(std::istreambuf_iterator<char>(copied), {}) == code);
  CHECK_FALSE(std::filesystem::exists(target / "vocab.txt"));
  // And the other way: a DNABERT model saved over that folder loads as a k-mer model.
  const auto kmer = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, dnabert::test::data_path("parity/cls_k6"),
                                                                  dnabert::bert_head::sequence_classification);
  kmer.save(target.string());
  CHECK_FALSE(std::filesystem::exists(target / "tokenizer.json"));
  CHECK(dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, target.string(), dnabert::bert_head::sequence_classification).k() == 6);
}

TEST_CASE("DNABERT-2 parity: a folder with both a k-mer vocab.txt and a BPE tokenizer.json is refused") {
  const auto dir = dnabert::test::scratch_dir("dnabert2-both-tokenizers");
  for (const char* file : {"config.json", "vocab.txt", "model.safetensors"})
    std::filesystem::copy_file(dnabert::test::data_path(std::string("parity/cls_k6/") + file), dir / file);
  std::filesystem::copy_file(folder("cls_k") + "/tokenizer.json", dir / "tokenizer.json");
  CHECK_THROWS_WITH_AS(load_as<dnabert::dynamic_bert>(dir.string(), dnabert::bert_head::sequence_classification),
                       doctest::Contains("holds both a k-mer vocab.txt and a BPE tokenizer.json"), dnabert::config_error);
}

TEST_CASE("DNABERT-2 parity: pytorch_model.bin (torch.save, the tied decoder sharing storage) gives the same model") {
  const auto dir = dnabert::test::scratch_dir("dnabert2-bin");
  for (const char* file : {"config.json", "tokenizer.json"}) std::filesystem::copy_file(folder("mlm") + "/" + file, dir / file);
  std::filesystem::copy_file(dnabert::test::data_path("dnabert2/mlm_pytorch_model.bin"), dir / "pytorch_model.bin");
  B cpu(1);
  const auto model = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, dir.string(), head_of("mlm"));
  CHECK(model.warnings().empty());
  check_outputs(model, "mlm");
}

TEST_CASE("DNABERT-2 parity: a quantized folder keeps the fused Wqkv, each row with its own int8 scale") {
  const auto dir = dnabert::test::scratch_dir("dnabert2-int8") / "int8";
  (void)dnabert::io::quantize_model_folder(folder("cls_k"), dir.string());
  const auto written = dnabert::io::read_safetensors((dir / "model.safetensors").string());
  const auto original = dnabert::io::read_safetensors(folder("cls_k") + "/model.safetensors").tensors;
  const std::string fused = "bert.encoder.layer.1.attention.self.Wqkv.weight";
  REQUIRE(written.int8_tensors.contains(fused));
  REQUIRE(written.tensors.contains(fused + "_scale"));
  CHECK_FALSE(written.int8_tensors.contains("bert.encoder.layer.1.attention.self.query.weight"));
  const auto& weights = original.at(fused);
  // Computed here from the definition: each of the 3 x 48 rows scaled by its own max |w| / 127.
  const auto& values = written.int8_tensors.at(fused).values;
  const auto& scales = written.tensors.at(fused + "_scale").values;
  REQUIRE(scales.size() == 144);
  for (std::size_t r = 0; r < 144; ++r) {
    float largest = 0;
    for (std::size_t c = 0; c < 48; ++c) largest = std::max(largest, std::abs(weights.values[r * 48 + c]));
    CHECK(scales[r] == doctest::Approx(largest / 127).epsilon(1e-6));
    for (std::size_t c = 0; c < 48; ++c)
      CHECK(std::abs(static_cast<float>(values[r * 48 + c]) * scales[r] - weights.values[r * 48 + c]) <= scales[r] / 2 * 1.0001f);
  }
  CHECK(written.int8_tensors.contains("bert.encoder.layer.0.mlp.gated_layers.weight"));
  B cpu(1);
  const auto model = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, dir.string(), head_of("cls_k"));
  CHECK(model.quantized_weights().contains("bert.encoder.layer.1.attention.self.key.weight"));
}

TEST_CASE("DNABERT-2 parity: malformed DNABERT-2 folders are refused by name") {
  const auto original = dnabert::io::read_safetensors(folder("cls_k") + "/model.safetensors").tensors;
  const auto broken = [&](const std::string& label, auto&& change) {
    auto tensors = original;
    change(tensors);
    const auto dir = dnabert::test::scratch_dir("dnabert2-broken-" + label);
    for (const char* file : {"config.json", "tokenizer.json"}) std::filesystem::copy_file(folder("cls_k") + "/" + file, dir / file);
    dnabert::io::write_safetensors((dir / "model.safetensors").string(), tensors);
    return dir.string();
  };
  B cpu(1);
  const auto load = [&](const std::string& dir) {
    return dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, dir, dnabert::bert_head::sequence_classification);
  };
  const auto fused = "bert.encoder.layer.1.attention.self.Wqkv.weight";
  const auto odd_rows = broken("odd", [&](dnabert::io::tensor_map& t) {
    const auto& w = t.at(fused);
    t.insert_or_assign(fused, dnabert::io::loaded_tensor{{w.shape[0] - 1, w.shape[1]}, w.values.first(w.values.size() - static_cast<std::size_t>(w.shape[1])), w.storage});
  });
  CHECK_THROWS_WITH_AS(load(odd_rows), doctest::Contains("Wqkv.weight has shape [143, 48]"), dnabert::format_error);
  const auto missing = broken("missing", [&](dnabert::io::tensor_map& t) { t.erase("bert.encoder.layer.0.mlp.gated_layers.weight"); });
  CHECK_THROWS_WITH_AS(load(missing), doctest::Contains("bert.encoder.layer.0.mlp.gated_layers.weight"), dnabert::format_error);
  const auto narrow = broken("narrow", [&](dnabert::io::tensor_map& t) {
    const auto& w = t.at("bert.encoder.layer.0.mlp.wo.weight");
    t.insert_or_assign("bert.encoder.layer.0.mlp.wo.weight", dnabert::io::loaded_tensor{{w.shape[0] / 2, w.shape[1]}, w.values.first(w.values.size() / 2), w.storage});
  });
  CHECK_THROWS_AS(load(narrow), dnabert::shape_error);
}

}  // namespace model_dnabert2_parity_test
