// Model folders written by transformers (tests/reference/make_model_folders.py): both weight
// formats against reference.json and against each other, head switching, the write round trip,
// and hostile folders with their messages.
#include "dnabert/io/model_folder.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dnabert/io/safetensors.hpp"
#include "test_paths.hpp"

namespace io_model_folder_test {

namespace {

namespace fs = std::filesystem;
using dnabert::bert_head;
using dnabert::io::model_folder;
using dnabert::io::read_model_folder;
using dnabert::io::tensor_map;

std::string fixture(const std::string& name) { return dnabert::test::data_path("models/" + name); }

nlohmann::json reference_of(const std::string& name) {
  std::ifstream in(fixture(name) + "/reference.json");
  return nlohmann::json::parse(in);
}

// A scratch copy of a fixture folder that a test may spoil.
fs::path copy_of(const std::string& name, const std::string& scratch) {
  const auto dir = dnabert::test::scratch_dir(scratch);
  fs::copy(fixture(name), dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  return dir;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool bit_identical(const dnabert::io::loaded_tensor& a, const dnabert::io::loaded_tensor& b) {
  return a.shape == b.shape && a.values.size() == b.values.size() &&
         std::memcmp(a.values.data(), b.values.data(), a.values.size_bytes()) == 0;
}

// Tensors of a fixture's model.safetensors, for tests that write a modified copy.
tensor_map tensors_of(const std::string& name) {
  return dnabert::io::read_safetensors(fixture(name) + "/model.safetensors").tensors;
}

void check_against_reference(const model_folder& folder, const std::string& name) {
  const auto reference = reference_of(name);
  CHECK(folder.weights_path == fixture(name) + "/" + reference["weight_file"].get<std::string>());
  CHECK(folder.config.vocab_size == reference["vocab_size"].get<std::int64_t>());
  CHECK(folder.config.num_labels == reference["num_labels"].get<std::int64_t>());
  for (const auto& item : reference["tensors"].items()) {
    const std::string tensor_name = item.key();
    const auto& expected = item.value();
    CAPTURE(tensor_name);
    REQUIRE(folder.tensors.contains(tensor_name));
    const auto& tensor = folder.tensors.at(tensor_name);
    CHECK(tensor.shape == expected["shape"].get<std::vector<std::int64_t>>());
    double sum = 0;
    for (const float value : tensor.values) sum += value;
    CHECK(sum == doctest::Approx(expected["sum"].get<double>()).epsilon(1e-12));
    const auto first = expected["first"].get<std::vector<double>>();
    for (std::size_t i = 0; i < first.size(); ++i) CHECK(tensor.values[i] == static_cast<float>(first[i]));
  }
}

}  // namespace

TEST_CASE("model_folder reads transformers' BertForMaskedLM folders in both weight formats") {
  const auto safetensors = read_model_folder(fixture("mlm-k3"), bert_head::masked_lm);
  const auto legacy_bin = read_model_folder(fixture("mlm-k3-bin"), bert_head::masked_lm);
  check_against_reference(safetensors, "mlm-k3");
  check_against_reference(legacy_bin, "mlm-k3-bin");
  for (const auto* folder : {&safetensors, &legacy_bin}) {
    CHECK(folder->k == 3);
    CHECK(folder->warnings.empty());
    // transformers >= 4 gives BertForMaskedLM no pooler; the model initialises one.
    CHECK(folder->initialised == std::vector<std::string>{"bert.pooler.dense.weight", "bert.pooler.dense.bias"});
    CHECK(folder->tensors.size() == 5 + 2 * 16 + 7);  // embeddings, 2 layers, MLM head with tied decoder
  }
  // Every tensor bit-identical between the two files; the safetensors file lacks the tied decoder
  // (filled from the embeddings), the legacy .bin holds it sharing the embeddings' storage.
  for (const auto& entry : safetensors.tensors) {
    const std::string& name = entry.first;
    CAPTURE(name);
    REQUIRE(legacy_bin.tensors.contains(name));
    CHECK(bit_identical(entry.second, legacy_bin.tensors.at(name)));
  }
  CHECK(bit_identical(safetensors.tensors.at("cls.predictions.decoder.weight"),
                      safetensors.tensors.at("bert.embeddings.word_embeddings.weight")));
  CHECK(bit_identical(safetensors.tensors.at("cls.predictions.decoder.bias"),
                      safetensors.tensors.at("cls.predictions.bias")));
}

TEST_CASE("model_folder reads BertForSequenceClassification folders in both weight formats") {
  const auto safetensors = read_model_folder(fixture("cls-k6"), bert_head::sequence_classification);
  const auto zip_bin = read_model_folder(fixture("cls-k6-bin"), bert_head::sequence_classification);
  check_against_reference(safetensors, "cls-k6");
  check_against_reference(zip_bin, "cls-k6-bin");
  for (const auto* folder : {&safetensors, &zip_bin}) {
    CHECK(folder->k == 6);
    CHECK(folder->initialised.empty());
    // The .bin carries transformers 4.x's position_ids buffer: recognised, not a warning.
    CHECK(folder->warnings.empty());
    CHECK(folder->tensors.size() == 25);
  }
  CHECK(safetensors.config.label_names == std::vector<std::string>{"promoter", "enhancer", "other"});
  for (const auto& entry : safetensors.tensors) {
    const std::string& name = entry.first;
    CAPTURE(name);
    REQUIRE(zip_bin.tensors.contains(name));
    CHECK(bit_identical(entry.second, zip_bin.tensors.at(name)));
  }
}

TEST_CASE("model_folder puts a classifier on a pre-trained MLM checkpoint") {
  const auto folder = read_model_folder(fixture("mlm-k3"), bert_head::sequence_classification);
  CHECK(folder.initialised == std::vector<std::string>{"bert.pooler.dense.weight", "bert.pooler.dense.bias",
                                                       "classifier.weight", "classifier.bias"});
  REQUIRE(folder.warnings.size() == 1);  // the other head's tensors in one line
  CHECK(folder.warnings[0] == fixture("mlm-k3") +
                                  "/model.safetensors: unused masked-LM head cls.predictions.* (5 tensors, "
                                  "not part of BertForSequenceClassification)");
  CHECK(folder.unused.size() == 5);
  CHECK(folder.tensors.size() == 5 + 2 * 16);
  CHECK_FALSE(folder.tensors.contains("cls.predictions.bias"));
}

TEST_CASE("model_folder reads a classifier checkpoint as a bare encoder") {
  const auto folder = read_model_folder(fixture("cls-k6"), bert_head::none);
  CHECK(folder.initialised.empty());
  REQUIRE(folder.warnings.size() == 1);
  CHECK(folder.warnings[0].ends_with("unused classifier head classifier.* (2 tensors, not part of BertModel)"));
  CHECK(folder.unused == std::vector<std::string>{"classifier.bias", "classifier.weight"});
  CHECK(folder.tensors.contains("bert.pooler.dense.weight"));
}

TEST_CASE("model_folder: holds_head tells the heads the weights hold, whatever head they are read for") {
  using dnabert::io::holds_head;
  // cls-k6 holds a classifier only, mlm-k3 a masked-LM head only; a copy of mlm-k3 given a classifier both.
  const auto both = copy_of("mlm-k3", "model-folder-both-heads");
  auto tensors = tensors_of("mlm-k3");
  tensors.emplace("classifier.weight", dnabert::io::make_owned_tensor({2, 32}, std::vector<float>(64, 0.25F)));
  tensors.emplace("classifier.bias", dnabert::io::make_owned_tensor({2}, std::vector<float>(2, 0.5F)));
  dnabert::io::write_safetensors((both / "model.safetensors").string(), tensors, {{"format", "pt"}});
  struct expectation {
    std::string dir;
    std::vector<bert_head> readable_as;
    bool masked_lm, classifier;
  };
  for (const auto& want : {expectation{fixture("cls-k6"), {bert_head::sequence_classification, bert_head::none}, false, true},
                           expectation{fixture("mlm-k3"), {bert_head::masked_lm, bert_head::sequence_classification, bert_head::none}, true, false},
                           expectation{both.string(), {bert_head::masked_lm, bert_head::sequence_classification, bert_head::none}, true, true}}) {
    for (const bert_head head : want.readable_as) {
      const std::string read_as(dnabert::architecture_name(head));
      CAPTURE(want.dir);
      CAPTURE(read_as);
      const auto folder = read_model_folder(want.dir, head);
      CHECK(holds_head(folder, bert_head::masked_lm) == want.masked_lm);
      CHECK(holds_head(folder, bert_head::sequence_classification) == want.classifier);
    }
  }
}

TEST_CASE("model_folder write then read is bit-identical and loadable") {
  const auto original = read_model_folder(fixture("mlm-k3"), bert_head::masked_lm);
  const auto dir = dnabert::test::scratch_dir("model-folder-write") / "saved";
  dnabert::io::write_model_folder(dir.string(), original.config, original.tensors);
  CHECK(fs::exists(dir / "config.json"));
  CHECK(read_text(dir / "vocab.txt") == read_text(fixture("mlm-k3") + "/vocab.txt"));
  // Tied tensors are left out of the file, as transformers does.
  const auto written = dnabert::io::read_safetensors((dir / "model.safetensors").string());
  CHECK_FALSE(written.tensors.contains("cls.predictions.decoder.weight"));
  CHECK(written.metadata.at("format") == "pt");
  const auto back = read_model_folder(dir.string(), bert_head::masked_lm);
  CHECK(back.tensors.size() == original.tensors.size());
  for (const auto& entry : original.tensors) {
    const std::string& name = entry.first;
    CAPTURE(name);
    REQUIRE(back.tensors.contains(name));
    CHECK(bit_identical(entry.second, back.tensors.at(name)));
  }
}

TEST_CASE("model_folder accepts a bare BertModel checkpoint without the 'bert.' prefix") {
  const auto dir = copy_of("cls-k6", "model-folder-bare");
  tensor_map bare;
  for (auto& [name, tensor] : tensors_of("cls-k6"))
    if (name.starts_with("bert.")) bare.emplace(name.substr(5), tensor);
  dnabert::io::write_safetensors((dir / "model.safetensors").string(), bare, {{"format", "pt"}});
  const auto folder = read_model_folder(dir.string(), bert_head::none);
  CHECK(folder.warnings.empty());
  CHECK(folder.tensors.contains("bert.embeddings.word_embeddings.weight"));
  CHECK(folder.tensors.size() == 23);
}

TEST_CASE("model_folder warns when a tied decoder differs from the embeddings and uses the embeddings") {
  const auto dir = copy_of("mlm-k3", "model-folder-untied");
  auto tensors = tensors_of("mlm-k3");
  const auto& embeddings = tensors.at("bert.embeddings.word_embeddings.weight");
  std::vector<float> changed(embeddings.values.begin(), embeddings.values.end());
  changed[0] += 1;
  tensors.emplace("cls.predictions.decoder.weight", dnabert::io::make_owned_tensor(embeddings.shape, changed));
  dnabert::io::write_safetensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});
  const auto folder = read_model_folder(dir.string(), bert_head::masked_lm);
  REQUIRE(folder.warnings.size() == 1);
  CHECK(folder.warnings[0].ends_with(
      "cls.predictions.decoder.weight differs from bert.embeddings.word_embeddings.weight, "
      "to which it is tied; using bert.embeddings.word_embeddings.weight"));
  CHECK(bit_identical(folder.tensors.at("cls.predictions.decoder.weight"),
                      folder.tensors.at("bert.embeddings.word_embeddings.weight")));
}

TEST_CASE("model_folder warns about a missing vocab.txt and an unknown tensor") {
  const auto dir = copy_of("mlm-k3", "model-folder-extra");
  fs::remove(dir / "vocab.txt");
  auto tensors = tensors_of("mlm-k3");
  tensors.emplace("cls.seq_relationship.weight", dnabert::io::make_owned_tensor({2, 32}, std::vector<float>(64, 0.5F)));
  dnabert::io::write_safetensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});
  const auto folder = read_model_folder(dir.string(), bert_head::masked_lm);
  REQUIRE(folder.warnings.size() == 2);
  CHECK(folder.warnings[0] == dir.string() + ": no vocab.txt; using DNABERT's k=3 vocabulary");
  CHECK(folder.warnings[1] == (dir / "model.safetensors").string() +
                                  ": unused tensor cls.seq_relationship.weight [2, 32] (not part of BertForMaskedLM)");
}

TEST_CASE("model_folder hostile: no weight file, sharded weights, not a folder") {
  const auto dir = copy_of("mlm-k3", "model-folder-no-weights");
  fs::remove(dir / "model.safetensors");
  CHECK_THROWS_WITH_AS(read_model_folder(dir.string(), bert_head::masked_lm),
                       (dir.string() + ": no weight file: looked for model.safetensors and pytorch_model.bin").c_str(),
                       dnabert::format_error);
  write_text(dir / "model.safetensors.index.json", R"({"weight_map": {}})");
  CHECK_THROWS_WITH_AS(read_model_folder(dir.string(), bert_head::masked_lm),
                       doctest::Contains("model.safetensors.index.json: sharded checkpoints are not supported yet"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(read_model_folder((dir / "vocab.txt").string(), bert_head::masked_lm),
                       doctest::Contains("vocab.txt: is not a directory (expected a model folder)"),
                       dnabert::file_error);
}

TEST_CASE("model_folder hostile: config says k=6, weights hold k=3") {
  const auto dir = copy_of("mlm-k3", "model-folder-wrong-k");
  auto config = dnabert::io::read_config_json((dir / "config.json").string());
  config.vocab_size = 4101;
  dnabert::io::write_config_json((dir / "config.json").string(), config);
  dnabert::io::write_vocab_file((dir / "vocab.txt").string(), 6);
  CHECK_THROWS_WITH_AS(read_model_folder(dir.string(), bert_head::masked_lm),
                       ("tensor bert.embeddings.word_embeddings.weight in " + (dir / "model.safetensors").string() +
                        ": expected shape [4101, 32] but found [69, 32]")
                           .c_str(),
                       dnabert::shape_error);
}

TEST_CASE("model_folder hostile: a layer tensor of the wrong shape") {
  const auto dir = copy_of("mlm-k3", "model-folder-wrong-shape");
  auto tensors = tensors_of("mlm-k3");
  tensors.insert_or_assign("bert.encoder.layer.1.intermediate.dense.weight",
                           dnabert::io::make_owned_tensor({32, 64}, std::vector<float>(32 * 64, 0.0F)));
  dnabert::io::write_safetensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});
  CHECK_THROWS_WITH_AS(read_model_folder(dir.string(), bert_head::masked_lm),
                       ("tensor bert.encoder.layer.1.intermediate.dense.weight in " +
                        (dir / "model.safetensors").string() + ": expected shape [64, 32] but found [32, 64]")
                           .c_str(),
                       dnabert::shape_error);
}

TEST_CASE("model_folder hostile: vocab.txt of the wrong k or with a wrong line") {
  const auto dir = copy_of("mlm-k3", "model-folder-wrong-vocab");
  dnabert::io::write_vocab_file((dir / "vocab.txt").string(), 6);
  CHECK_THROWS_WITH_AS(
      read_model_folder(dir.string(), bert_head::masked_lm),
      ((dir / "vocab.txt").string() + ": holds the k=6 vocabulary (4101 tokens) but the model is built for k=3 (69)")
          .c_str(),
      dnabert::format_error);
  write_text(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nAAA\nAAA\n");
  CHECK_THROWS_WITH_AS(
      read_model_folder(dir.string(), bert_head::masked_lm),
      ((dir / "vocab.txt").string() + ":7: duplicate token 'AAA' (already on line 6), expected 'AAT'").c_str(),
      dnabert::format_error);
}

TEST_CASE("model_folder hostile: missing tensors are all named in one error") {
  const auto dir = copy_of("mlm-k3", "model-folder-missing");
  auto tensors = tensors_of("mlm-k3");
  tensors.erase("bert.encoder.layer.1.output.LayerNorm.bias");
  tensors.erase("cls.predictions.transform.dense.weight");
  dnabert::io::write_safetensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});
  CHECK_THROWS_WITH_AS(read_model_folder(dir.string(), bert_head::masked_lm),
                       ((dir / "model.safetensors").string() +
                        ": missing 2 tensors that BertForMaskedLM needs: bert.encoder.layer.1.output.LayerNorm.bias, "
                        "cls.predictions.transform.dense.weight")
                           .c_str(),
                       dnabert::format_error);
  // Loading a classifier checkpoint for masked LM: the MLM head is missing, not initialisable.
  CHECK_THROWS_WITH_AS(read_model_folder(fixture("cls-k6"), bert_head::masked_lm),
                       doctest::Contains("missing 5 tensors that BertForMaskedLM needs: cls.predictions.bias, "
                                         "cls.predictions.transform.dense.weight"),
                       dnabert::format_error);
}

TEST_CASE("model_folder hostile: NaN weights") {
  const auto dir = copy_of("mlm-k3", "model-folder-nan");
  auto tensors = tensors_of("mlm-k3");
  const auto& bias = tensors.at("bert.embeddings.LayerNorm.bias");
  std::vector<float> values(bias.values.begin(), bias.values.end());
  values[5] = std::numeric_limits<float>::quiet_NaN();
  tensors.insert_or_assign("bert.embeddings.LayerNorm.bias", dnabert::io::make_owned_tensor(bias.shape, values));
  dnabert::io::write_safetensors((dir / "model.safetensors").string(), tensors, {{"format", "pt"}});
  CHECK_THROWS_WITH_AS(read_model_folder(dir.string(), bert_head::masked_lm),
                       ((dir / "model.safetensors").string() +
                        ": tensor bert.embeddings.LayerNorm.bias: element 5 is NaN; the checkpoint is corrupt")
                           .c_str(),
                       dnabert::format_error);
}

TEST_CASE("model_folder hostile: a bad config.json stops loading before the weights") {
  const auto dir = copy_of("mlm-k3", "model-folder-bad-config");
  write_text(dir / "config.json", R"({"vocab_size": 69, "hidden_size": 32, "num_hidden_layers": 2,
    "num_attention_heads": 5, "intermediate_size": 64})");
  CHECK_THROWS_WITH_AS(
      read_model_folder(dir.string(), bert_head::masked_lm),
      ((dir / "config.json").string() + ": hidden size 32 is not a multiple of the 5 attention heads").c_str(),
      dnabert::format_error);
  fs::remove(dir / "config.json");
  CHECK_THROWS_WITH_AS(read_model_folder(dir.string(), bert_head::masked_lm),
                       doctest::Contains("config.json: cannot open"), dnabert::format_error);
}

TEST_CASE("model_folder hostile: write refuses incomplete or foreign tensors") {
  const auto original = read_model_folder(fixture("mlm-k3"), bert_head::masked_lm);
  const auto dir = dnabert::test::scratch_dir("model-folder-write-bad");
  auto tensors = original.tensors;
  tensors.erase("cls.predictions.bias");
  CHECK_THROWS_WITH_AS(
      dnabert::io::write_model_folder(dir.string(), original.config, tensors),
      ("cannot save BertForMaskedLM to " + dir.string() + ": missing tensors cls.predictions.bias").c_str(),
      dnabert::input_error);
  tensors = original.tensors;
  tensors.emplace("classifier.weight", dnabert::io::make_owned_tensor({2, 32}, std::vector<float>(64, 0.0F)));
  CHECK_THROWS_WITH_AS(
      dnabert::io::write_model_folder(dir.string(), original.config, tensors),
      ("cannot save BertForMaskedLM to " + dir.string() + ": tensor classifier.weight is not one of its parameters")
          .c_str(),
      dnabert::input_error);
  CHECK(fs::is_empty(dir));
}

}  // namespace io_model_folder_test
