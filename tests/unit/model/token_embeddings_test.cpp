// Per-token and per-layer embeddings (classifier::embed_tokens, embed with inference_options::layer)
// against tests/reference/make_token_embedding_goldens.py: transformers' hidden_states of every
// token of the parity model cls_k6, a long sequence's pieces run one by one and stitched.
#include "dnabert/cpu.hpp"
#include "dnabert/model/classifier.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <span>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "dnabert/io/safetensors.hpp"
#include "tensor_compare.hpp"
#include "test_paths.hpp"

namespace model_token_embeddings_test {

namespace {

// The committed goldens and the sequences they were made from.
struct token_goldens {
  dnabert::io::safetensors_contents file =
      dnabert::io::read_safetensors(dnabert::test::data_path("embeddings/golden.safetensors"));
  std::vector<std::string> sequences, ids;

  token_goldens() {
    std::ifstream in(dnabert::test::data_path("embeddings/inputs.json"));
    REQUIRE(in.good());
    const auto inputs = nlohmann::json::parse(in);
    sequences = inputs["sequences"].get<std::vector<std::string>>();
    ids = inputs["ids"].get<std::vector<std::string>>();
    REQUIRE(sequences.size() == 3);
  }

  [[nodiscard]] std::span<const float> tensor(const std::string& name) const {
    const auto found = file.tensors.find(name);
    REQUIRE_MESSAGE(found != file.tensors.end(), "golden.safetensors lacks " << name);
    return found->second.values;
  }
};

dnabert::inference_options at_layer(std::int64_t layer, std::size_t batch_size = 2) {
  dnabert::inference_options options;
  options.layer = layer;
  options.batch_size = batch_size;
  return options;
}

// Worst |dnabert - golden| over every token of every sequence at hidden state `layer`, with the
// token ids, starts and pieces checked exactly.
double worst_token_difference(const token_goldens& goldens, const std::vector<dnabert::token_states>& states, int layer) {
  REQUIRE(states.size() == goldens.sequences.size());
  double worst = 0;
  for (std::size_t i = 0; i < states.size(); ++i) {
    const std::string n = std::to_string(i);
    const auto tokens = goldens.tensor("tokens." + n);
    REQUIRE(states[i].tokens.size() == tokens.size());
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      CHECK(states[i].tokens[t] == static_cast<dnabert::token_id>(tokens[t]));
      CHECK(states[i].starts[t] == static_cast<std::int64_t>(goldens.tensor("starts." + n)[t]));
      CHECK(states[i].pieces[t] == static_cast<std::uint32_t>(goldens.tensor("pieces." + n)[t]));
    }
    const auto& values = states[i].states;
    worst = std::max(worst, dnabert::test::max_abs_diff(std::span<const float>(values.data(), values.size()),
                                                        goldens.tensor("states." + std::to_string(layer) + "." + n)));
  }
  return worst;
}

}  // namespace

TEST_CASE("token embeddings: every layer's hidden state of every token matches transformers, long sequences stitched") {
  const token_goldens goldens;
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  for (int layer = 0; layer <= 3; ++layer) {
    CAPTURE(layer);
    CHECK(worst_token_difference(goldens, model.embed_tokens(goldens.sequences, at_layer(layer), goldens.ids), layer) <= 1e-5);
  }
  // 28 nt: 23 6-mers + [CLS] [SEP]; 152 nt: 147 6-mers in pieces of 62, 62, 23, each with its own two.
  const auto last = model.embed_tokens(goldens.sequences, at_layer(-1, 32));
  CHECK(last[0].states.shape(0) == 25);
  CHECK(last[1].states.shape(0) == 153);
  CHECK(last[1].starts[63] == -1);   // piece 0's [SEP]
  CHECK(last[1].starts[65] == 62);   // piece 1's first k-mer
  CHECK(worst_token_difference(goldens, last, 3) <= 1e-5);
}

TEST_CASE("token embeddings: cls and mean pooling of an inner layer match transformers") {
  const token_goldens goldens;
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  for (int layer = 0; layer <= 3; ++layer) {
    CAPTURE(layer);
    const auto cls = model.embed(goldens.sequences, dnabert::pooling::cls, at_layer(layer));
    const auto mean = model.embed(goldens.sequences, dnabert::pooling::mean, at_layer(layer));
    CHECK(dnabert::test::max_abs_diff(std::span<const float>(cls.data(), cls.size()), goldens.tensor("cls." + std::to_string(layer))) <= 1e-5);
    CHECK(dnabert::test::max_abs_diff(std::span<const float>(mean.data(), mean.size()),
                                      goldens.tensor("mean." + std::to_string(layer))) <= 1e-5);
  }
  // Negative layers count from the end, as Python indexes hidden_states: -4 is the embeddings output.
  const auto from_end = model.embed(goldens.sequences, dnabert::pooling::mean, at_layer(-4));
  CHECK(dnabert::test::max_abs_diff(std::span<const float>(from_end.data(), from_end.size()), goldens.tensor("mean.0")) <= 1e-5);
}

TEST_CASE("token embeddings: layers that do not exist, and the pooler on another layer, are refused") {
  const token_goldens goldens;
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  const std::string dir = dnabert::test::data_path("parity/cls_k6");
  const std::string range = "layer 4 does not exist: " + dir +
                            " has 3 layers, so hidden states 0 (the embeddings output) to 3, or -4 to -1 from the end";
  CHECK_THROWS_WITH_AS((void)model.embed_tokens(goldens.sequences, at_layer(4)), range.c_str(), dnabert::input_error);
  CHECK_THROWS_WITH_AS((void)model.embed(goldens.sequences, dnabert::pooling::cls, at_layer(-5)),
                       doctest::Contains("layer -5 does not exist"), dnabert::input_error);
  CHECK_THROWS_WITH_AS((void)model.embed(goldens.sequences, dnabert::pooling::pooler, at_layer(2)),
                       "pooler pooling reads the last layer (3), the one the pooler was trained on, not layer 2; use cls "
                       "or mean pooling for another layer",
                       dnabert::input_error);
  CHECK(model.hidden_state(-1, dnabert::pooling::pooler) == 3);
  CHECK(model.hidden_state(3, dnabert::pooling::pooler) == 3);
  CHECK(model.hidden_state(-4) == 0);
}

TEST_CASE("token embeddings: a sequence shorter than k is named in the error") {
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  const std::vector<std::string> sequences = {"ACGTACGT", "ACG"};
  const std::vector<std::string> ids = {"fine", "too_short"};
  CHECK_THROWS_WITH_AS((void)model.embed_tokens(sequences, {}, ids), "sequence 'too_short' is 3 nt long, shorter than k = 6",
                       dnabert::input_error);
}

}  // namespace model_token_embeddings_test
