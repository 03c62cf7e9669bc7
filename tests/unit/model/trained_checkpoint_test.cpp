// Checkpoints that dnabert itself trained (tests/data/trained, written by the CLI) against Hugging Face
// transformers' outputs on them (tests/reference/make_trained_checkpoint_goldens.py); plus format stability.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/tokenizer/kmer_tokenizer.hpp"
#include "dnabert/train/checkpoint.hpp"
#include "dnabert/train/optimizer.hpp"
#include "tensor_compare.hpp"
#include "test_paths.hpp"

namespace model_trained_checkpoint_test {

namespace {

using B = dnabert::backend::cpu;
using Model = dnabert::Bert<dnabert::dynamic_bert, B>;

const std::string mlm_dir = dnabert::test::data_path("trained/mlm_checkpoint");
const std::string classifier_dir = dnabert::test::data_path("trained/classifier");

const dnabert::io::tensor_map& hf_goldens() {
  static const auto goldens = dnabert::io::read_safetensors(dnabert::test::data_path("trained/goldens.safetensors")).tensors;
  return goldens;
}

std::span<const float> golden(const std::string& name) {
  const auto found = hf_goldens().find(name);
  REQUIRE_MESSAGE(found != hf_goldens().end(), "goldens.safetensors lacks " << name);
  return found->second.values;
}

using dnabert::test::max_abs_diff;

// The sequences of inputs.json tokenized by dnabert, checked against the ids Python built.
dnabert::token_batch tokenized_inputs(const Model& model) {
  std::ifstream in(dnabert::test::data_path("trained/inputs.json"));
  REQUIRE(in.good());
  const auto inputs = nlohmann::json::parse(in);
  REQUIRE(inputs["k"].get<int>() == model.k());
  const dnabert::kmer_tokenizer tokenizer(model.k());
  std::vector<dnabert::token_piece> pieces;
  for (const auto& sequence : inputs["sequences"]) {
    auto encoded = tokenizer.encode(sequence.get<std::string>(), "trained", pieces.size(), model.max_kmers());
    REQUIRE(encoded.size() == 1);
    pieces.push_back(std::move(encoded.front()));
  }
  auto batch = dnabert::make_batch(pieces);
  const auto expected_ids = golden("input_ids");
  const auto expected_mask = golden("attention_mask");
  REQUIRE(batch.input_ids.size() == expected_ids.size());
  for (std::size_t i = 0; i < expected_ids.size(); ++i) {
    REQUIRE_MESSAGE(batch.input_ids[i] == static_cast<dnabert::token_id>(expected_ids[i]), "token " << i);
    REQUIRE_MESSAGE(batch.attention_mask[i] == static_cast<std::int32_t>(expected_mask[i]), "mask " << i);
  }
  return batch;
}

// Loads `dir` as `head` (every parameter must come from the folder) and compares its logits, last
// hidden state and (classifier) pooler output with transformers' on the same inputs.
void check_against_hf(const std::string& dir, dnabert::bert_head head, const std::string& prefix) {
  B cpu(1);
  const auto model = Model::load(cpu, dir, head);
  CHECK_MESSAGE(model.new_parameters().empty(), "the folder lacks parameters; they were initialised");
  dnabert::autograd::tape<B> tape(cpu);
  dnabert::nn::forward_context<B> ctx{tape};
  dnabert::forward_options options;
  options.hidden_states = true;
  const auto out = model.forward(ctx, tokenized_inputs(model), options);
  const double logits_diff = max_abs_diff(out.logits.value().span(), golden(prefix + ".logits"));
  const double hidden_diff = max_abs_diff(out.hidden_states.back().span(), golden(prefix + ".last_hidden_state"));
  MESSAGE(prefix << ": max |logits - HF| " << logits_diff << ", max |last hidden state - HF| " << hidden_diff);
  CHECK(logits_diff <= 1e-4);
  CHECK(hidden_diff <= 1e-4);
  if (hf_goldens().contains(prefix + ".pooled"))  // transformers' BertForMaskedLM has no pooler
    CHECK(max_abs_diff(out.pooled.value().span(), golden(prefix + ".pooled")) <= 1e-4);
}

// Saving the loaded model again must write the very tensors of the committed model.safetensors.
void check_resave_is_bit_identical(const std::string& dir, dnabert::bert_head head, const std::string& name) {
  B cpu(1);
  const auto model = Model::load(cpu, dir, head);
  const auto resaved_dir = dnabert::test::scratch_dir("trained-resave-" + name);
  model.save(resaved_dir.string());
  const auto committed = dnabert::io::read_safetensors(dir + "/model.safetensors").tensors;
  const auto resaved = dnabert::io::read_safetensors((resaved_dir / "model.safetensors").string()).tensors;
  CHECK(committed.size() == resaved.size());
  for (const auto& entry : committed) {  // no structured binding: clang 14 cannot capture one in CHECK_MESSAGE
    const auto found = resaved.find(entry.first);
    REQUIRE_MESSAGE(found != resaved.end(), "re-saved file lacks " << entry.first);
    CHECK_MESSAGE(entry.second.shape == found->second.shape, entry.first);
    CHECK_MESSAGE(std::memcmp(entry.second.values.data(), found->second.values.data(),
                              entry.second.values.size_bytes()) == 0,
                  entry.first);
  }
}

}  // namespace

TEST_CASE("trained checkpoint: the pre-trained MLM checkpoint gives transformers' logits") {
  check_against_hf(mlm_dir, dnabert::bert_head::masked_lm, "mlm");
}

TEST_CASE("trained checkpoint: the fine-tuned classifier gives transformers' logits") {
  check_against_hf(classifier_dir, dnabert::bert_head::sequence_classification, "classifier");
}

TEST_CASE("trained checkpoint: re-saving a loaded model writes bit-identical tensors") {
  check_resave_is_bit_identical(mlm_dir, dnabert::bert_head::masked_lm, "mlm");
  check_resave_is_bit_identical(classifier_dir, dnabert::bert_head::sequence_classification, "classifier");
}

TEST_CASE("trained checkpoint: trainer_state.json and optimizer.safetensors read back") {
  const auto state = dnabert::train::read_trainer_state(mlm_dir);
  CHECK(state.kind == "pretrain");
  CHECK(state.step == 30);
  CHECK(state.total_steps == 30);
  CHECK(state.seed == 3);
  CHECK(state.batch_size == 8);

  // The moments restore into an optimizer over the checkpoint's own parameters, and come back out
  // bit for bit.
  B cpu(1);
  const auto model = Model::load(cpu, mlm_dir, dnabert::bert_head::masked_lm);
  dnabert::train::adamw<B> optimizer(cpu, model.parameters());
  CHECK(dnabert::train::load_optimizer_checkpoint(mlm_dir, optimizer).step == 30);
  CHECK(optimizer.steps_taken() == 30);
  const auto committed = dnabert::train::read_optimizer_state(mlm_dir);
  const auto restored = optimizer.state();
  CHECK(committed.size() == restored.size());
  for (const auto& entry : committed) {
    const auto found = restored.find(entry.first);
    REQUIRE_MESSAGE(found != restored.end(), "restored state lacks " << entry.first);
    CHECK_MESSAGE(max_abs_diff(entry.second.values, found->second.values) == 0.0, entry.first);
  }
}

}  // namespace model_trained_checkpoint_test
