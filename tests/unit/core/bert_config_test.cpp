// bert_config: DNABERT-6 defaults, validation wording, and the parameter schema checked against
// the state_dict keys transformers prints and against DNABERT's published parameter counts.
#include "dnabert/core/bert_config.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace core_bert_config_test {

namespace {

using dnabert::bert_config;
using dnabert::bert_head;
using dnabert::parameter_presence;

bert_config tiny_config() {
  bert_config config;
  config.vocab_size = 69;
  config.hidden_size = 32;
  config.num_hidden_layers = 1;
  config.num_attention_heads = 4;
  config.intermediate_size = 64;
  config.max_position_embeddings = 64;
  config.num_labels = 3;
  return config;
}

std::vector<std::string> rendered(const std::vector<dnabert::parameter_spec>& specs) {
  std::vector<std::string> lines;
  for (const auto& spec : specs) lines.push_back(spec.name + " " + dnabert::shape_to_string(spec.shape));
  return lines;
}

std::int64_t element_count(const std::vector<dnabert::parameter_spec>& specs) {
  std::int64_t total = 0;
  for (const auto& spec : specs) {
    if (spec.presence == parameter_presence::tied) continue;
    std::int64_t count = 1;
    for (auto extent : spec.shape) count *= extent;
    total += count;
  }
  return total;
}

}  // namespace

TEST_CASE("bert_config defaults are DNABERT-6 base") {
  const bert_config config;
  CHECK(config.k() == 6);
  CHECK(config.vocab_size == 4101);
  CHECK(config.hidden_size == 768);
  CHECK(config.num_hidden_layers == 12);
  CHECK(config.num_attention_heads == 12);
  CHECK(config.head_size() == 64);
  CHECK(config.intermediate_size == 3072);
  CHECK(config.hidden_act == "gelu");
  CHECK(config.max_position_embeddings == 512);
  CHECK(config.type_vocab_size == 2);
  CHECK(config.layer_norm_eps == 1e-12);
  CHECK(config.num_labels == 2);
  CHECK_NOTHROW(config.validate());
}

TEST_CASE("bert_config validate names what is wrong") {
  bert_config config;
  SUBCASE("hidden size not a multiple of heads") {
    config.hidden_size = 770;
    CHECK_THROWS_WITH_AS(config.validate(), "hidden size 770 is not a multiple of the 12 attention heads",
                         dnabert::config_error);
  }
  SUBCASE("non-positive size") {
    config.num_hidden_layers = 0;
    CHECK_THROWS_WITH_AS(config.validate(), "num_hidden_layers must be positive, found 0", dnabert::config_error);
  }
  SUBCASE("absurd size") {
    config.intermediate_size = std::int64_t{1} << 40;
    CHECK_THROWS_WITH_AS(config.validate(), doctest::Contains("intermediate_size 1099511627776 exceeds the limit"),
                         dnabert::config_error);
  }
  SUBCASE("vocab size not 4^k+5") {
    config.vocab_size = 4100;
    CHECK_THROWS_WITH_AS(config.validate(), doctest::Contains("vocab_size 4100 is not a DNABERT vocabulary size 4^k+5"),
                         dnabert::config_error);
    CHECK_THROWS_AS((void)config.k(), dnabert::config_error);
  }
  SUBCASE("dropout outside [0, 1)") {
    config.attention_probs_dropout_prob = 1.0;
    CHECK_THROWS_WITH_AS(config.validate(), "attention_probs_dropout_prob must be in [0, 1), found 1",
                         dnabert::config_error);
  }
  SUBCASE("layer_norm_eps not positive") {
    config.layer_norm_eps = 0;
    CHECK_THROWS_WITH_AS(config.validate(), "layer_norm_eps must be a finite number > 0, found 0",
                         dnabert::config_error);
  }
  SUBCASE("unsupported activation") {
    config.hidden_act = "relu";
    CHECK_THROWS_WITH_AS(config.validate(), doctest::Contains("hidden_act 'relu' is not supported; supported: 'gelu'"),
                         dnabert::config_error);
  }
  SUBCASE("pad token outside the vocabulary") {
    config.pad_token_id = 4101;
    CHECK_THROWS_WITH_AS(config.validate(), doctest::Contains("pad_token_id 4101 is outside the vocabulary"),
                         dnabert::config_error);
  }
  SUBCASE("label names do not match the label count") {
    config.label_names = {"a", "b", "c"};
    CHECK_THROWS_WITH_AS(config.validate(), "3 label names given for 2 labels", dnabert::config_error);
  }
}

TEST_CASE("bert_parameters matches the state_dict transformers writes for BertForSequenceClassification") {
  // Printed by transformers 5.24 for BertForSequenceClassification(BertConfig(vocab_size=69,
  // hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=64,
  // max_position_embeddings=64, num_labels=3)).state_dict(), in order.
  const std::vector<std::string> expected = {
      "bert.embeddings.word_embeddings.weight [69, 32]",
      "bert.embeddings.position_embeddings.weight [64, 32]",
      "bert.embeddings.token_type_embeddings.weight [2, 32]",
      "bert.embeddings.LayerNorm.weight [32]",
      "bert.embeddings.LayerNorm.bias [32]",
      "bert.encoder.layer.0.attention.self.query.weight [32, 32]",
      "bert.encoder.layer.0.attention.self.query.bias [32]",
      "bert.encoder.layer.0.attention.self.key.weight [32, 32]",
      "bert.encoder.layer.0.attention.self.key.bias [32]",
      "bert.encoder.layer.0.attention.self.value.weight [32, 32]",
      "bert.encoder.layer.0.attention.self.value.bias [32]",
      "bert.encoder.layer.0.attention.output.dense.weight [32, 32]",
      "bert.encoder.layer.0.attention.output.dense.bias [32]",
      "bert.encoder.layer.0.attention.output.LayerNorm.weight [32]",
      "bert.encoder.layer.0.attention.output.LayerNorm.bias [32]",
      "bert.encoder.layer.0.intermediate.dense.weight [64, 32]",
      "bert.encoder.layer.0.intermediate.dense.bias [64]",
      "bert.encoder.layer.0.output.dense.weight [32, 64]",
      "bert.encoder.layer.0.output.dense.bias [32]",
      "bert.encoder.layer.0.output.LayerNorm.weight [32]",
      "bert.encoder.layer.0.output.LayerNorm.bias [32]",
      "bert.pooler.dense.weight [32, 32]",
      "bert.pooler.dense.bias [32]",
      "classifier.weight [3, 32]",
      "classifier.bias [3]",
  };
  const auto specs = dnabert::bert_parameters(tiny_config(), bert_head::sequence_classification);
  CHECK(rendered(specs) == expected);
  for (const auto& spec : specs) {
    const bool head_or_pooler = spec.name.starts_with("classifier.") || spec.name.starts_with("bert.pooler.");
    CHECK(spec.presence == (head_or_pooler ? parameter_presence::initialised : parameter_presence::required));
  }
}

TEST_CASE("bert_parameters lists the MLM head with its tied decoder as transformers 2.5 saved it") {
  // transformers 5.24's BertForMaskedLM state_dict ends with these keys, in this order (it has no
  // pooler; DNABERT's 2.5.0 checkpoints do, right after the encoder).
  const std::vector<std::string> expected_tail = {
      "bert.pooler.dense.weight [32, 32]",
      "bert.pooler.dense.bias [32]",
      "cls.predictions.bias [69]",
      "cls.predictions.transform.dense.weight [32, 32]",
      "cls.predictions.transform.dense.bias [32]",
      "cls.predictions.transform.LayerNorm.weight [32]",
      "cls.predictions.transform.LayerNorm.bias [32]",
      "cls.predictions.decoder.weight [69, 32]",
      "cls.predictions.decoder.bias [69]",
  };
  const auto specs = dnabert::bert_parameters(tiny_config(), bert_head::masked_lm);
  REQUIRE(specs.size() == 21 + expected_tail.size());
  const auto lines = rendered(specs);
  CHECK(std::vector<std::string>(lines.end() - static_cast<std::ptrdiff_t>(expected_tail.size()), lines.end()) ==
        expected_tail);
  const auto& decoder_weight = specs[specs.size() - 2];
  const auto& decoder_bias = specs.back();
  CHECK(decoder_weight.presence == parameter_presence::tied);
  CHECK(decoder_weight.tied_to == "bert.embeddings.word_embeddings.weight");
  CHECK(decoder_bias.presence == parameter_presence::tied);
  CHECK(decoder_bias.tied_to == "cls.predictions.bias");
}

TEST_CASE("bert_parameters counts match DNABERT's published BertModel sizes") {
  // By hand from DNABERT's configs, src/transformers/dnabert-config/bert-config-{3,4,5,6}/config.json in
  // https://github.com/jerryji1993/DNABERT (hidden 768, 12 layers, FFN 3072, 512 positions, 2 token types):
  // embeddings V·768 + 514·768 + LayerNorm 2·768, each layer 4·768·769 + 768·3072 + 3072 + 3072·768 + 768
  // + 2·2·768 = 7,087,872, pooler 768·769: 86,094,336 (k=3, V=69) ... 89,190,912 (k=6, V=4101), the
  // 86M–89M that DNABERT-2's paper lists for DNABERT.
  bert_config config;
  const std::vector<std::pair<std::int64_t, std::int64_t>> vocab_and_count = {
      {69, 86'094'336}, {261, 86'241'792}, {1029, 86'831'616}, {4101, 89'190'912}};
  for (const auto& [vocab, count] : vocab_and_count) {
    config.vocab_size = vocab;
    CHECK(element_count(dnabert::bert_parameters(config, bert_head::none)) == count);
  }
  // Each encoder layer has 7,087,872 parameters (same section).
  config.num_hidden_layers = 13;
  CHECK(element_count(dnabert::bert_parameters(config, bert_head::none)) == 89'190'912 + 7'087'872);
}

TEST_CASE("head_for_architectures reads config.json's architectures") {
  CHECK(dnabert::head_for_architectures({"BertForMaskedLM"}) == bert_head::masked_lm);
  CHECK(dnabert::head_for_architectures({"BertForSequenceClassification"}) == bert_head::sequence_classification);
  CHECK(dnabert::head_for_architectures({}) == bert_head::none);
  CHECK_THROWS_WITH_AS(dnabert::head_for_architectures({"BertForTokenClassification"}),
                       doctest::Contains("architecture 'BertForTokenClassification' is not supported"),
                       dnabert::config_error);
}

}  // namespace core_bert_config_test
