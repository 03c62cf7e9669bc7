// config.json: the forms transformers 2.5 (DNABERT), 4.x and 5.x wrote, the round trip through
// write_config_json, and hostile files with their messages.
#include "dnabert/io/config_json.hpp"

#include <doctest/doctest.h>

#include <span>
#include <string>

#include "test_paths.hpp"
#include "test_skip.hpp"

namespace io_config_json_test {

namespace {

dnabert::bert_config parse(const std::string& text) {
  return dnabert::io::parse_config_json(std::as_bytes(std::span<const char>(text.data(), text.size())), "config.json");
}

// The required keys of a tiny valid config, to which tests append or in which they replace keys.
const std::string tiny_sizes =
    R"("vocab_size": 69, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64)";

std::string with_sizes(const std::string& extra) {
  return "{" + tiny_sizes + (extra.empty() ? "" : ", " + extra) + "}";
}

}  // namespace

TEST_CASE("config_json reads DNABERT's 2020 config.json form (no layer_norm_eps, no model_type)") {
  const auto config = dnabert::io::read_config_json(dnabert::test::data_path("models/mlm-k3-bin/config.json"));
  CHECK(config.vocab_size == 69);
  CHECK(config.k() == 3);
  CHECK(config.hidden_size == 32);
  CHECK(config.num_hidden_layers == 2);
  CHECK(config.num_attention_heads == 4);
  CHECK(config.intermediate_size == 64);
  CHECK(config.max_position_embeddings == 64);
  CHECK(config.layer_norm_eps == 1e-12);
  CHECK(config.pad_token_id == 0);
  CHECK(config.num_labels == 2);
  CHECK(config.model_type.empty());
  CHECK(config.architectures == std::vector<std::string>{"BertForMaskedLM"});
}

TEST_CASE("config_json reads DNABERT's shipped bert-config-6 when the shared sample is present") {
  const std::string path =
      dnabert::test::shared_path("data/dnabert-sample/src/transformers/dnabert-config/bert-config-6/config.json");
  if (!dnabert::test::input_present(path)) return;
  const auto config = dnabert::io::read_config_json(path);
  CHECK(config.vocab_size == 4101);
  CHECK(config.hidden_size == 768);
  CHECK(config.num_hidden_layers == 12);
  CHECK(config.layer_norm_eps == 1e-12);
}

TEST_CASE("config_json takes the label count from id2label when num_labels is absent (transformers 4/5)") {
  const auto config = dnabert::io::read_config_json(dnabert::test::data_path("models/cls-k6/config.json"));
  CHECK(config.k() == 6);
  CHECK(config.num_labels == 3);
  CHECK(config.label_names == std::vector<std::string>{"promoter", "enhancer", "other"});
  CHECK(config.model_type == "bert");
  CHECK(config.architectures == std::vector<std::string>{"BertForSequenceClassification"});
}

TEST_CASE("config_json lets num_labels win over a stale id2label (transformers 2.5 fine-tuning)") {
  const auto config = dnabert::io::read_config_json(dnabert::test::data_path("models/cls-k6-bin/config.json"));
  CHECK(config.num_labels == 3);
  CHECK(config.label_names.empty());
}

TEST_CASE("config_json defaults: 2 labels, null counts as absent, extra keys ignored") {
  const auto config = parse(with_sizes(R"("layer_norm_eps": null, "pad_token_id": null, "split": 10, "rnn": "lstm",
                                          "hidden_dropout_prob": 0, "auto_map": {"x": [1, 2]})"));
  CHECK(config.num_labels == 2);
  CHECK(config.layer_norm_eps == 1e-12);
  CHECK(config.pad_token_id == 0);
  CHECK(config.hidden_dropout_prob == 0.0);
  CHECK(config.hidden_act == "gelu");
  // transformers' placeholder names stand for "no names".
  CHECK(parse(with_sizes(R"("id2label": {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"})")).label_names.empty());
  CHECK(parse(with_sizes(R"("id2label": {"0": "LABEL_0", "1": "yes"})")).label_names ==
        std::vector<std::string>{"LABEL_0", "yes"});
}

TEST_CASE("config_json write then read gives the same config") {
  dnabert::bert_config config;
  config.vocab_size = 1029;
  config.hidden_size = 48;
  config.num_attention_heads = 3;
  config.num_hidden_layers = 2;
  config.intermediate_size = 37;
  config.layer_norm_eps = 1e-5;
  config.hidden_dropout_prob = 0.25;
  config.num_labels = 3;
  config.label_names = {"a", "b", "c"};
  config.architectures = {"BertForSequenceClassification"};
  const auto path = (dnabert::test::scratch_dir("config-json") / "config.json").string();
  dnabert::io::write_config_json(path, config);
  const auto back = dnabert::io::read_config_json(path);
  CHECK(back.vocab_size == 1029);
  CHECK(back.hidden_size == 48);
  CHECK(back.num_attention_heads == 3);
  CHECK(back.num_hidden_layers == 2);
  CHECK(back.intermediate_size == 37);
  CHECK(back.layer_norm_eps == 1e-5);
  CHECK(back.hidden_dropout_prob == 0.25);
  CHECK(back.num_labels == 3);
  CHECK(back.label_names == config.label_names);
  CHECK(back.architectures == config.architectures);
  CHECK(back.model_type == "bert");
  // The keys transformers 2.5 needs to see the label count, and 4.x/5.x to see the names.
  const std::string text = dnabert::io::config_json_text(config);
  CHECK(text.find(R"("num_labels": 3)") != std::string::npos);
  CHECK(text.find(R"("0": "a")") != std::string::npos);
  CHECK(text.find(R"("c": 2)") != std::string::npos);
}

TEST_CASE("config_json hostile: missing required keys") {
  CHECK_THROWS_WITH_AS(parse(R"({"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
                                 "intermediate_size": 64})"),
                       "config.json: missing required key 'vocab_size'", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(R"({"vocab_size": 69, "num_hidden_layers": 2, "num_attention_heads": 4,
                                 "intermediate_size": 64})"),
                       "config.json: missing required key 'hidden_size'", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(R"({"vocab_size": null, "hidden_size": 32})"),
                       "config.json: missing required key 'vocab_size'", dnabert::format_error);
}

TEST_CASE("config_json hostile: hidden size not a multiple of the heads") {
  CHECK_THROWS_WITH_AS(parse(R"({"vocab_size": 4101, "hidden_size": 770, "num_hidden_layers": 12,
                                 "num_attention_heads": 12, "intermediate_size": 3072})"),
                       "config.json: hidden size 770 is not a multiple of the 12 attention heads",
                       dnabert::format_error);
}

TEST_CASE("config_json hostile: wrong JSON types") {
  CHECK_THROWS_WITH_AS(parse(R"({"vocab_size": 69, "hidden_size": "32"})"),
                       "config.json: hidden_size must be an integer, found string", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(R"({"vocab_size": 69.5})"),
                       "config.json: vocab_size must be an integer, found number 69.5", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(R"({"vocab_size": true})"), "config.json: vocab_size must be an integer, found boolean",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(with_sizes(R"("hidden_dropout_prob": "0.1")")),
                       "config.json: hidden_dropout_prob must be a number, found string", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(with_sizes(R"("architectures": "BertForMaskedLM")")),
                       "config.json: architectures must be an array of strings, found string", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(with_sizes(R"("hidden_act": 1)")),
                       "config.json: hidden_act must be a string, found number 1", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(R"({"vocab_size": 18446744073709551615})"),
                       "config.json: vocab_size 18446744073709551615 is too large", dnabert::format_error);
}

TEST_CASE("config_json hostile: unsupported hidden_act") {
  CHECK_THROWS_WITH_AS(parse(with_sizes(R"("hidden_act": "gelu_new")")),
                       "config.json: hidden_act 'gelu_new' is not supported; supported: 'gelu' (the exact erf GELU "
                       "that DNABERT uses)",
                       dnabert::format_error);
}

TEST_CASE("config_json hostile: invalid values caught by validate") {
  CHECK_THROWS_WITH_AS(parse(with_sizes(R"("hidden_dropout_prob": 1.5)")),
                       "config.json: hidden_dropout_prob must be in [0, 1), found 1.5", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(with_sizes(R"("layer_norm_eps": -1e-12)")),
                       "config.json: layer_norm_eps must be a finite number > 0, found -1e-12", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(R"({"vocab_size": 4096, "hidden_size": 768, "num_hidden_layers": 12,
                                 "num_attention_heads": 12, "intermediate_size": 3072})"),
                       doctest::Contains("vocab_size 4096 is not a DNABERT vocabulary size 4^k+5"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(with_sizes(R"("num_labels": 0)")), "config.json: num_labels must be positive, found 0",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(with_sizes(R"("model_type": "roberta")")),
                       "config.json: model_type 'roberta' is not supported; expected 'bert'", dnabert::format_error);
}

TEST_CASE("config_json hostile: malformed id2label") {
  CHECK_THROWS_WITH_AS(parse(with_sizes(R"("id2label": {"0": "a", "5": "b"})")),
                       "config.json: id2label keys must be the numbers 0..1, found '5'", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(with_sizes(R"("id2label": {"0": "a", "1": 7})")),
                       "config.json: id2label[1] must be a string, found number 7", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(with_sizes(R"("id2label": ["a", "b"])")),
                       "config.json: id2label must be an object, found array", dnabert::format_error);
}

TEST_CASE("config_json hostile: syntax errors give line and column") {
  CHECK_THROWS_WITH_AS(parse("{\n  \"vocab_size\": 69,\n  \"hidden_size\": ,\n}"),
                       doctest::Contains("config.json:3: column 18: invalid JSON: syntax error while parsing value"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(""), doctest::Contains("config.json:1: column 1: invalid JSON"), dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse("{\"vocab_size\": 69,"), doctest::Contains("config.json:1: column 18: invalid JSON"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse("{\"hidden_act\": \"g\xff\"}"), doctest::Contains("invalid JSON"), dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(R"({"vocab_size": 4e0555})"),
                       "config.json: invalid JSON: number overflow parsing '4e0555'", dnabert::format_error);
}

TEST_CASE("config_json hostile: not an object, too deep, too large") {
  CHECK_THROWS_WITH_AS(parse("[1, 2]"), "config.json: expected a JSON object at the top level, found array",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse("{\"a\": " + std::string(100, '[') + std::string(100, ']') + "}"),
                       "config.json: JSON nested deeper than 32 levels", dnabert::format_error);
  const std::string huge = with_sizes("\"pad\": \"" + std::string(dnabert::io::max_config_json_bytes, ' ') + "\"");
  CHECK_THROWS_WITH_AS(parse(huge), doctest::Contains("more than the 4194304 accepted for a config.json"),
                       dnabert::format_error);
}

TEST_CASE("config_json hostile: a missing file is named") {
  CHECK_THROWS_WITH_AS(dnabert::io::read_config_json("/nonexistent/config.json"),
                       doctest::Contains("/nonexistent/config.json: cannot open"), dnabert::format_error);
}

}  // namespace io_config_json_test
