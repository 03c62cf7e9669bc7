// The architecture policies: ALiBi's slopes, config.json's description of the architecture, the
// parameter schema each composition has, and specs that fix a policy at compile time.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dnabert/core/alibi.hpp"
#include "dnabert/cpu.hpp"
#include "dnabert/io/config_json.hpp"
#include "dnabert/io/model_folder.hpp"
#include "dnabert/io/tokenizer_json.hpp"
#include "dnabert/model/bert_spec.hpp"
#include "test_paths.hpp"
#include "test_skip.hpp"

namespace model_policies_test {

namespace {

std::span<const std::byte> bytes_of(const std::string& text) { return std::as_bytes(std::span(text.data(), text.size())); }

bool has_parameter(const std::vector<dnabert::parameter_spec>& specs, const std::string& name) {
  return std::any_of(specs.begin(), specs.end(), [&](const dnabert::parameter_spec& spec) { return spec.name == name; });
}

}  // namespace

TEST_CASE("policies: ALiBi's head slopes are MosaicBERT's, for head counts that are powers of two and not") {
  // Python's _get_alibi_head_slopes (tests/reference/make_dnabert2_goldens.py's alibi_slopes) for these counts.
  const std::vector<std::pair<int, std::vector<double>>> expected = {
      {1, {0.00390625}},
      {3, {0.0625, 0.00390625, 0.25}},
      {6, {0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125}},
      {12, {0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625, 0.7071067811865476, 0.35355339059327384,
            0.17677669529663695, 0.08838834764831849}}};
  for (const auto& entry : expected) {  // no structured binding: clang 14 cannot capture one in CAPTURE
    const int heads = entry.first;
    CAPTURE(heads);
    for (std::size_t h = 0; h < entry.second.size(); ++h)
      CHECK(dnabert::alibi_slope(static_cast<std::int64_t>(h), heads) == doctest::Approx(entry.second[h]).epsilon(1e-7));
  }
  CHECK(dnabert::alibi_bias(1, 6, 2, 7) == doctest::Approx(-0.0625 * 5));
  CHECK(dnabert::alibi_bias(1, 6, 7, 2) == dnabert::alibi_bias(1, 6, 2, 7));
}

TEST_CASE("policies: config.json says MosaicBERT by its alibi_starting_size, and is written back the same way") {
  const std::string text = R"({"vocab_size": 4096, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
    "intermediate_size": 3072, "alibi_starting_size": 512, "position_embedding_type": "absolute",
    "auto_map": {"AutoModel": "bert_layers.BertModel"}})";
  const auto config = dnabert::io::parse_config_json(bytes_of(text), "config.json", dnabert::token_kind::bpe);
  CHECK(config.position == dnabert::position_encoding::alibi);
  CHECK(config.feed_forward == dnabert::feed_forward_kind::geglu);
  CHECK(config.alibi_starting_size == 512);
  CHECK(config.auto_map == R"({"AutoModel":"bert_layers.BertModel"})");
  const auto again = dnabert::io::parse_config_json(bytes_of(dnabert::io::config_json_text(config)), "again", dnabert::token_kind::bpe);
  CHECK(again.position == dnabert::position_encoding::alibi);
  CHECK(again.auto_map == config.auto_map);
  CHECK(dnabert::io::config_json_text(config).find("dnabert_position_encoding") == std::string::npos);

  // Without a tokenizer.json, a vocabulary of 4096 is no DNABERT vocabulary, and the error says what would make it one.
  CHECK_THROWS_WITH_AS(dnabert::io::parse_config_json(bytes_of(text), "config.json"), doctest::Contains("tokenizer.json"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)config.k(), doctest::Contains("has no k-mer size"), dnabert::config_error);
}

TEST_CASE("policies: DNABERT-2-117M's published config.json and tokenizer.json make DNABERT2_117M's architecture") {
  const std::string folder = dnabert::test::shared_path("data/dnabert2-117m");
  if (!dnabert::test::input_present(folder + "/config.json")) return;
  const auto config = dnabert::io::read_config_json(folder + "/config.json", dnabert::token_kind::bpe);
  CHECK(config.position == dnabert::position_encoding::alibi);
  CHECK(config.feed_forward == dnabert::feed_forward_kind::geglu);
  CHECK(config.vocab_size == 4096);
  CHECK(config.alibi_starting_size == 512);
  CHECK(config.auto_map.find("bert_layers.BertForMaskedLM") != std::string::npos);
  CHECK_NOTHROW(dnabert::DNABERT2_117M::check(config));
  CHECK_THROWS_AS(dnabert::DNABERT6::check(config), dnabert::config_error);
  CHECK(dnabert::io::is_bpe_tokenizer_file(folder + "/tokenizer.json"));
  CHECK(dnabert::io::read_tokenizer_json(folder + "/tokenizer.json").tokens.size() == 4096);
}

TEST_CASE("policies: a composition no published model has is written explicitly and read back") {
  dnabert::bert_config config;
  config.vocab_size = 69;
  config.position = dnabert::position_encoding::alibi;  // ALiBi with BERT's GELU MLP
  const auto text = dnabert::io::config_json_text(config);
  CHECK(text.find("\"dnabert_position_encoding\": \"alibi\"") != std::string::npos);
  CHECK(text.find("\"dnabert_feed_forward\": \"gelu\"") != std::string::npos);
  const auto again = dnabert::io::parse_config_json(bytes_of(text), "config.json");
  CHECK(again.position == dnabert::position_encoding::alibi);
  CHECK(again.feed_forward == dnabert::feed_forward_kind::gelu_mlp);
  const std::string bad = R"({"vocab_size": 69, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
    "intermediate_size": 8, "dnabert_feed_forward": "swiglu"})";
  CHECK_THROWS_WITH_AS(dnabert::io::parse_config_json(bytes_of(bad), "config.json"),
                       doctest::Contains("dnabert_feed_forward 'swiglu' is not one of gelu, geglu"), dnabert::format_error);
}

TEST_CASE("policies: each composition has its own parameters") {
  dnabert::bert_config bert;
  bert.vocab_size = 69;
  bert.hidden_size = 8;
  bert.num_attention_heads = 2;
  bert.intermediate_size = 12;
  bert.num_hidden_layers = 1;
  auto mosaic = bert;
  mosaic.position = dnabert::position_encoding::alibi;
  mosaic.feed_forward = dnabert::feed_forward_kind::geglu;
  const auto plain = dnabert::bert_parameters(bert, dnabert::bert_head::none);
  const auto gated = dnabert::bert_parameters(mosaic, dnabert::bert_head::none);
  CHECK(has_parameter(plain, "bert.embeddings.position_embeddings.weight"));
  CHECK_FALSE(has_parameter(gated, "bert.embeddings.position_embeddings.weight"));
  CHECK(has_parameter(plain, "bert.encoder.layer.0.intermediate.dense.weight"));
  CHECK_FALSE(has_parameter(gated, "bert.encoder.layer.0.intermediate.dense.weight"));
  const auto gate = std::find_if(gated.begin(), gated.end(),
                                 [](const auto& spec) { return spec.name == "bert.encoder.layer.0.mlp.gated_layers.weight"; });
  REQUIRE(gate != gated.end());
  CHECK(gate->shape == std::vector<std::int64_t>{24, 8});  // [gate | value]: 2 x intermediate rows
  CHECK(gate->per_token_linear);
  CHECK_FALSE(has_parameter(gated, "bert.encoder.layer.0.mlp.gated_layers.bias"));
  CHECK(has_parameter(gated, "bert.encoder.layer.0.attention.self.query.weight"));  // Wqkv is split at load
}

TEST_CASE("policies: specs fix what they name and leave the rest to config.json") {
  using dnabert2 = dnabert::DNABERT2_117M;
  static_assert(dnabert2::position_policy::fixed == dnabert::position_encoding::alibi);
  static_assert(dnabert2::feed_forward_policy::fixed == dnabert::feed_forward_kind::geglu);
  static_assert(dnabert2::token_policy::fixed == dnabert::token_kind::bpe);
  static_assert(std::is_same_v<dnabert2::feed_forward_block<dnabert::backend::cpu_t<float>>,
                               dnabert::nn::gated_feed_forward<dnabert::backend::cpu_t<float>>>);
  static_assert(std::is_same_v<dnabert::DNABERT6::feed_forward_block<dnabert::backend::cpu_t<float>>,
                               dnabert::nn::feed_forward<dnabert::backend::cpu_t<float>>>);
  static_assert(!dnabert::dynamic_bert::position_policy::fixed);
  dnabert::bert_config config;
  CHECK(dnabert::dynamic_bert::position(config) == dnabert::position_encoding::absolute);
  config.position = dnabert::position_encoding::alibi;
  CHECK(dnabert::dynamic_bert::position(config) == dnabert::position_encoding::alibi);
  CHECK(dnabert::DNABERT6::position(config) == dnabert::position_encoding::absolute);
  CHECK_THROWS_WITH_AS(dnabert::DNABERT6::check(config), doctest::Contains("position encoding is alibi"), dnabert::config_error);
}

}  // namespace model_policies_test
