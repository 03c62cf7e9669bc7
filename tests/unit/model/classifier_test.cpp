// The user-facing inference API on a classifier folder written by PyTorch (tests/data/parity), and
// its refusal of heads that a folder lacks.
#include "dnabert/cpu.hpp"
#include "dnabert/model/classifier.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>
#include <nlohmann/json.hpp>
#include <xtensor/xview.hpp>

#include "dnabert/io/safetensors.hpp"
#include "batch_invariance.hpp"
#include "test_paths.hpp"

namespace model_classifier_test {

namespace {

std::vector<std::string> golden_sequences(const std::string& name) {
  std::ifstream in(dnabert::test::data_path("parity/" + name + "/inputs.json"));
  return nlohmann::json::parse(in)["sequences"].get<std::vector<std::string>>();
}

}  // namespace

TEST_CASE("classifier: predict gives Hugging Face's logits and softmax, whatever the batch size") {
  for (const auto& model_classes : {std::pair<const char*, std::size_t>{"cls_k6", 2}, {"cls3_k3", 3}}) {
    const char* name = model_classes.first;  // not a structured binding: clang 14 cannot capture those
    const std::size_t classes = model_classes.second;
    CAPTURE(name);
    const auto dir = dnabert::test::data_path(std::string("parity/") + name);
    const auto model = dnabert::load_classifier(dir, 1);
    const auto sequences = golden_sequences(name);
    const auto golden = dnabert::io::read_safetensors(dir + "/golden.safetensors").tensors.at("logits");
    REQUIRE(golden.values.size() == sequences.size() * classes);
    for (const std::size_t batch_size : {1U, 2U, 32U}) {
      dnabert::inference_options options;
      options.batch_size = batch_size;
      std::size_t progress_calls = 0;
      options.progress = [&](std::size_t done, std::size_t total) {
        ++progress_calls;
        CHECK(done <= total);
      };
      const auto result = model.predict(sequences, options);
      REQUIRE(result.logits.shape()[0] == sequences.size());
      REQUIRE(result.logits.shape()[1] == classes);
      for (std::size_t s = 0; s < sequences.size(); ++s) {
        // The reference probabilities: softmax of Hugging Face's logits, in double.
        const float* want = &golden.values[s * classes];
        double normaliser = 0;
        for (std::size_t c = 0; c < classes; ++c) normaliser += std::exp(want[c]);
        std::size_t best = 0;
        for (std::size_t c = 0; c < classes; ++c) {
          CHECK(result.logits(s, c) == doctest::Approx(want[c]).epsilon(1e-4));
          CHECK(result.probabilities(s, c) == doctest::Approx(std::exp(want[c]) / normaliser).epsilon(1e-4));
          if (want[c] > want[best]) best = c;
        }
        CHECK(result.predicted[s] == static_cast<std::int64_t>(best));
      }
      CHECK(progress_calls == (sequences.size() + batch_size - 1) / batch_size);
    }
  }
}

TEST_CASE("classifier: a sequence longer than one piece averages (or maxes) its pieces' logits") {
  const auto dir = dnabert::test::data_path("parity/cls_k6");
  const auto model = dnabert::load_classifier(dir, 1);  // 64 positions: 62 k-mers per piece
  std::string long_sequence;
  for (int i = 0; long_sequence.size() < 62 + 62 + 10 + 5; ++i) long_sequence += "ACGTTGCAAGGCTTA"[i % 15];
  // Pieces: k-mers [0, 62), [62, 124), [124, 134) → nucleotide windows of 62 + 5 nt each.
  const std::vector<std::string> parts = {long_sequence.substr(0, 67), long_sequence.substr(62, 67),
                                          long_sequence.substr(124)};
  const auto whole = model.predict(std::vector<std::string>{long_sequence});
  const auto each = model.predict(parts);
  for (std::size_t c = 0; c < 2; ++c) {
    const double mean = (each.logits(0, c) + each.logits(1, c) + each.logits(2, c)) / 3.0;
    CHECK(whole.logits(0, c) == doctest::Approx(mean).epsilon(1e-5));
  }
  dnabert::inference_options max_rule;
  max_rule.long_sequences = dnabert::piece_rule::max;
  const auto maxed = model.predict(std::vector<std::string>{long_sequence}, max_rule);
  for (std::size_t c = 0; c < 2; ++c)
    CHECK(maxed.logits(0, c) == std::max({each.logits(0, c), each.logits(1, c), each.logits(2, c)}));
}

TEST_CASE("classifier: embeddings by [CLS], mean over tokens, and pooler") {
  const auto dir = dnabert::test::data_path("parity/cls_k6");
  const auto model = dnabert::load_classifier(dir, 1);
  const auto sequences = golden_sequences("cls_k6");
  const auto golden = dnabert::io::read_safetensors(dir + "/golden.safetensors").tensors;
  const auto& last = golden.at("hidden_states.3");  // [B, S, H]
  const auto& mask = golden.at("attention_mask");
  const auto& pooled = golden.at("pooled");
  const auto seq = static_cast<std::size_t>(last.shape[1]);
  const auto hidden = static_cast<std::size_t>(last.shape[2]);
  const auto cls = model.embed(sequences, dnabert::pooling::cls);
  const auto mean = model.embed(sequences, dnabert::pooling::mean);
  const auto pool = model.embed(sequences, dnabert::pooling::pooler);
  REQUIRE(cls.shape()[1] == hidden);
  for (std::size_t s = 0; s < 3; ++s) {
    for (std::size_t j = 0; j < hidden; ++j) {
      double sum = 0, count = 0;
      for (std::size_t t = 0; t < seq; ++t)
        if (mask.values[s * seq + t] > 0) {
          sum += last.values[(s * seq + t) * hidden + j];
          count += 1;
        }
      CHECK(cls(s, j) == doctest::Approx(last.values[s * seq * hidden + j]).epsilon(1e-4));
      CHECK(mean(s, j) == doctest::Approx(sum / count).epsilon(1e-4));
      CHECK(pool(s, j) == doctest::Approx(pooled.values[s * hidden + j]).epsilon(1e-4));
    }
  }
}

TEST_CASE("classifier: a sequence shorter than k is named in the error") {
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  const std::vector<std::string> sequences = {"ACGTACGT", "ACG"};
  const std::vector<std::string> ids = {"fine", "too_short"};
  CHECK_THROWS_WITH_AS((void)model.predict(sequences, {}, ids), "sequence 'too_short' is 3 nt long, shorter than k = 6",
                       dnabert::input_error);
}

// A pre-trained masked-LM folder (no pooler, no classifier: transformers >= 4 saves none) loads as a
// classifier for its embeddings, but anything that would read its random head refuses.
TEST_CASE("classifier: a pre-trained MLM folder embeds by [CLS], but refuses predict and pooler embeddings") {
  using dnabert::inference_use;
  const auto dir = dnabert::test::data_path("parity/mlm_k3");
  const auto model = dnabert::load_classifier(dir, 1);
  const std::vector<std::string> pooler = {"bert.pooler.dense.weight", "bert.pooler.dense.bias"};
  const std::vector<std::string> head = {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight",
                                         "classifier.bias"};
  CHECK(dnabert::untrained_parameters(model.model(), inference_use::classification) == head);
  CHECK(dnabert::untrained_parameters(model.model(), inference_use::fine_tuned_attention) == head);
  CHECK(dnabert::untrained_parameters(model.model(), inference_use::pooled_embedding) == pooler);

  const auto sequences = golden_sequences("mlm_k3");
  const std::string finetune = "fine-tune it first: dnabert finetune --model " + dir +
                               " --train TRAIN --dev DEV --output OUT (library: dnabert::train::finetune), then use OUT";
  CHECK_THROWS_WITH_AS((void)model.predict(sequences),
                       (dir + " has no trained classifier head: bert.pooler.dense.weight, bert.pooler.dense.bias, "
                              "classifier.weight, classifier.bias are not in its weights, so they were initialised at "
                              "random when it was loaded, and its predictions would be noise (a pre-trained masked-LM "
                              "folder holds none); " + finetune).c_str(),
                       dnabert::untrained_model_error);
  CHECK_THROWS_WITH_AS((void)model.embed(sequences, dnabert::pooling::pooler),
                       (dir + " has no trained pooler: bert.pooler.dense.weight, bert.pooler.dense.bias are not in its "
                              "weights, so they were initialised at random when it was loaded, and pooler embeddings "
                              "would be noise; embed with cls or mean pooling (the encoder's own outputs), or " +
                        finetune).c_str(),
                       dnabert::untrained_model_error);
  CHECK_THROWS_WITH_AS(dnabert::require_trained(model.model(), inference_use::fine_tuned_attention),
                       (dir + " was not fine-tuned: bert.pooler.dense.weight, bert.pooler.dense.bias, classifier.weight, "
                              "classifier.bias are not in its weights, so they were initialised at random when it was "
                              "loaded; motif discovery reads the attention of a model fine-tuned to tell positives from "
                              "negatives, so " + finetune +
                        " (or give attention scores computed beforehand, `dnabert motifs --scores`)").c_str(),
                       dnabert::untrained_model_error);
  try {
    (void)model.predict(sequences);
    FAIL("predict accepted a random classifier");
  } catch (const dnabert::error& e) {  // a dnabert::error, as every refusal, carrying the names
    const auto* untrained = dynamic_cast<const dnabert::untrained_model_error*>(&e);
    REQUIRE(untrained != nullptr);
    CHECK(untrained->parameters() == head);
  }

  // [CLS] reads the encoder only: Hugging Face's last hidden state of the masked-LM model.
  const auto golden = dnabert::io::read_safetensors(dir + "/golden.safetensors").tensors;
  const auto& last = golden.at("hidden_states.2");  // [B, S, H]
  const auto seq = static_cast<std::size_t>(last.shape[1]);
  const auto hidden = static_cast<std::size_t>(last.shape[2]);
  const auto cls = model.embed(sequences, dnabert::pooling::cls);
  REQUIRE(cls.shape()[0] == sequences.size());
  for (std::size_t s = 0; s < sequences.size(); ++s)
    for (std::size_t j = 0; j < hidden; ++j)
      CHECK(cls(s, j) == doctest::Approx(last.values[s * seq * hidden + j]).epsilon(1e-4));
}

TEST_CASE("classifier: a checkpoint with a pooler but no classifier serves pooled embeddings only") {
  using dnabert::inference_use;
  const auto dir = dnabert::test::data_path("trained/mlm_checkpoint");  // dnabert pretrain saves the pooler
  const auto model = dnabert::load_classifier(dir, 1);
  const std::vector<std::string> head = {"classifier.weight", "classifier.bias"};
  CHECK(dnabert::untrained_parameters(model.model(), inference_use::classification) == head);
  CHECK(dnabert::untrained_parameters(model.model(), inference_use::pooled_embedding).empty());
  const std::vector<std::string> sequences = {"ACGTACGTTGCA", "TTGCAACGTAGGCT"};
  CHECK(model.embed(sequences, dnabert::pooling::pooler).shape()[0] == 2);
  CHECK_THROWS_AS((void)model.predict(sequences), dnabert::untrained_model_error);
}

TEST_CASE("classifier: a fine-tuned folder passes every check") {
  using dnabert::inference_use;
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  for (const auto use : {inference_use::classification, inference_use::pooled_embedding, inference_use::fine_tuned_attention}) {
    CHECK(dnabert::untrained_parameters(model.model(), use).empty());
    CHECK_NOTHROW(dnabert::require_trained(model.model(), use));
  }
}

TEST_CASE("classifier: a sequence gets the same bits whatever it is batched with") {
  // Padding of a batch's shorter pieces takes no part in their sums, so results do not depend on
  // the batch size or on the neighbours: predicting a stream chunk by chunk equals predicting it
  // whole (bit for bit with oneDNN's GEMM; see same_across_batches).
  using dnabert::test::same_across_batches;
  std::mt19937 rng(17);
  std::vector<std::string> sequences(60);
  for (auto& sequence : sequences) {
    sequence.resize(6 + rng() % 150);
    for (char& c : sequence) c = "ACGT"[rng() % 4];
  }
  for (const char* name : {"trained/classifier", "parity/cls3_k3"}) {
    CAPTURE(name);
    const auto model = dnabert::load_classifier(dnabert::test::data_path(name), 1);
    dnabert::inference_options one;
    one.batch_size = 1;  // no padding at all
    const auto alone = model.predict(sequences, one);
    const auto alone_mean = model.embed(sequences, dnabert::pooling::mean, one);
    for (const std::size_t batch_size : {5U, 32U}) {
      CAPTURE(batch_size);
      dnabert::inference_options options;
      options.batch_size = batch_size;
      CHECK(same_across_batches(model.predict(sequences, options).logits, alone.logits));
      CHECK(same_across_batches(model.embed(sequences, dnabert::pooling::mean, options), alone_mean));
      const std::span<const std::string> all(sequences);
      const auto first = model.predict(all.first(25), options);
      const auto rest = model.predict(all.subspan(25), options);
      CHECK(same_across_batches(first.logits, xt::view(alone.logits, xt::range(0, 25), xt::all())));
      CHECK(same_across_batches(rest.logits, xt::view(alone.logits, xt::range(25, 60), xt::all())));
    }
  }
}

}  // namespace model_classifier_test
