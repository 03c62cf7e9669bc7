// Long-sequence classifiers (DNABERT-XL) against PyTorch (tests/reference/make_long_sequence_goldens.py):
// DNABERT-XL's dnalongcat folder and dnabert's mean and max pooling give the same logits, loss and
// gradients of every parameter, by the dataset's batches and by classifier::predict; folders of
// DNABERT-XL's dnalong head are refused by name; the pieces and the batch layout.
#include "dnabert/cpu.hpp"
#include "dnabert/io/config_json.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/model/classifier.hpp"
#include "dnabert/model/long_sequences.hpp"
#include "dnabert/train/dataset.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "tensor_compare.hpp"
#include "test_paths.hpp"

namespace model_long_sequences_test {

namespace {

using dnabert::test::max_abs;
using dnabert::test::max_abs_diff;

std::vector<dnabert::io::sequence_entry> golden_entries(const std::string& name) {
  std::ifstream in(dnabert::test::data_path("long/" + name + "/inputs.json"));
  REQUIRE(in.good());
  const auto inputs = nlohmann::json::parse(in);
  std::vector<dnabert::io::sequence_entry> entries;
  for (std::size_t i = 0; i < inputs["sequences"].size(); ++i)
    entries.push_back({"s" + std::to_string(i), inputs["sequences"][i], inputs["labels"][i].get<double>(), {}});
  return entries;
}

void check_against_pytorch(const std::string& name, dnabert::piece_pooling pooling) {
  CAPTURE(name);
  const std::string dir = dnabert::test::data_path("long/" + name);
  const auto golden = dnabert::io::read_safetensors(dir + "/golden.safetensors").tensors;
  dnabert::backend::cpu cpu(1);
  auto model = dnabert::cpu_bert<>::load(cpu, dir, dnabert::bert_head::sequence_classification);
  REQUIRE(model.config().long_pooling == pooling);
  REQUIRE(model.config().split == 3);
  CHECK(model.new_parameters().empty());
  const auto entries = golden_entries(name);
  const dnabert::train::labelled_dataset data(entries, dnabert::kmer_tokenizer(3), model.max_kmers(), pooling, 3);
  CHECK(data.truncated() == 1);  // the 1700-k-mer sequence: 3 of its 4 pieces
  std::vector<std::size_t> all(data.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  const auto batch = data.batch(all);

  dnabert::autograd::tape<dnabert::backend::cpu> tape(cpu, true);
  dnabert::nn::forward_context<dnabert::backend::cpu> ctx{tape};
  dnabert::forward_options outputs;
  outputs.remove_padding = true;
  const auto out = model.forward(ctx, batch.tokens, outputs);
  REQUIRE(out.logits.shape() == dnabert::shape_type{6, 3});
  CHECK(max_abs_diff(out.logits.value().span(), golden.at("logits").values) <= 1e-4);
  dnabert::autograd::id_tensor<dnabert::backend::cpu> labels(cpu, {6});
  for (std::size_t i = 0; i < 6; ++i) labels.data()[i] = static_cast<std::int32_t>(batch.labels[i]);
  const auto loss = dnabert::autograd::cross_entropy(tape, out.logits, labels);
  CHECK(loss.value().data()[0] == doctest::Approx(golden.at("loss").values[0]).epsilon(1e-5));
  tape.backward(loss);
  std::size_t compared = 0;
  for (const auto& p : model.parameters().items()) {
    if (p.alias) continue;
    CAPTURE(p.name);
    const auto found = golden.find("grad." + p.name);
    REQUIRE(found != golden.end());
    const auto& expected = found->second.values;
    CHECK(max_abs_diff(p.value.grad(cpu).span(), expected) <= 1e-4 * max_abs(expected) + 1e-6);
    ++compared;
  }
  CHECK(compared == golden.size() - 2);  // every PyTorch gradient, logits and loss aside

  // classifier::predict: whole sequences in batches of at most 4 pieces (one sequence alone when
  // it has more), in length order, the all-[PAD] row added per batch where needed.
  const auto classifier = dnabert::load_classifier(dir, 1);
  std::vector<std::string> sequences;
  for (const auto& entry : entries) sequences.push_back(entry.sequence);
  dnabert::inference_options options;
  options.batch_size = 4;
  const auto predicted = classifier.predict(sequences, options);
  CHECK(predicted.cut == 1);
  CHECK(max_abs_diff(std::span<const float>(predicted.logits.data(), predicted.logits.size()), golden.at("logits").values) <=
        1e-4);
}

}  // namespace

TEST_CASE("long sequences: DNABERT-XL's concat, mean and max pooling give PyTorch's logits, loss and gradients") {
  check_against_pytorch("concat", dnabert::piece_pooling::concat);
  check_against_pytorch("mean", dnabert::piece_pooling::mean);
  check_against_pytorch("max", dnabert::piece_pooling::max);
}

TEST_CASE("long sequences: pieces as DNABERT-XL's tokenizer makes them, cut to split") {
  const dnabert::kmer_tokenizer tokenizer(3);
  const std::string exact(510 + 2, 'A');  // 510 k-mers: one full piece
  bool cut = true;
  auto pieces = dnabert::long_sequence_pieces(tokenizer, dnabert::piece_pooling::concat, 3, exact, "x", 0, 510, &cut);
  CHECK_FALSE(cut);
  REQUIRE(pieces.size() == 2);  // and DNABERT's trailing [CLS][SEP]
  CHECK(pieces[1].ids == std::vector<dnabert::token_id>{dnabert::special::cls, dnabert::special::sep});
  CHECK(pieces[1].origin.piece == 1);
  CHECK(dnabert::long_sequence_pieces(tokenizer, dnabert::piece_pooling::mean, 3, exact, "x", 0, 510).size() == 1);
  CHECK(dnabert::long_sequence_pieces(tokenizer, dnabert::piece_pooling::concat, 1, exact, "x", 0, 510).size() == 1);
  const std::string longer(4 * 510 + 2, 'C');
  pieces = dnabert::long_sequence_pieces(tokenizer, dnabert::piece_pooling::max, 3, longer, "x", 7, 510, &cut);
  CHECK(cut);
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[2].origin.sequence == 7);
  CHECK(pieces[2].origin.first_kmer == 1020);
}

TEST_CASE("long sequences: the batch layout refuses scattered pieces and a missing all-[PAD] row") {
  dnabert::bert_config config;
  config.long_pooling = dnabert::piece_pooling::concat;
  config.split = 2;
  const dnabert::kmer_tokenizer tokenizer(6);
  const auto a = dnabert::long_sequence_pieces(tokenizer, config.long_pooling, 2, std::string(600, 'A'), "a", 0, 510);
  const auto b = dnabert::long_sequence_pieces(tokenizer, config.long_pooling, 2, std::string(100, 'G'), "b", 1, 510);
  std::vector<dnabert::token_piece> rows(a.begin(), a.end());
  rows.insert(rows.end(), b.begin(), b.end());
  const auto batch = dnabert::make_sequence_batch(rows, config.long_pooling, 2, 512);
  REQUIRE(batch.rows == 4);  // b has 1 of 2 pieces: the all-[PAD] row, attended
  CHECK(std::all_of(batch.attention_mask.begin() + 3 * 512, batch.attention_mask.end(), [](int m) { return m == 1; }));
  CHECK(dnabert::make_sequence_batch(a, config.long_pooling, 2, 512).rows == 2);  // a has both: no such row
  CHECK(dnabert::make_sequence_batch(rows, dnabert::piece_pooling::mean, 2, 512).rows == 3);  // mean reads real pieces
  const auto layout = dnabert::layout_pieces(batch, config);
  CHECK(layout.starts == std::vector<std::int32_t>{0, 2, 3});
  CHECK(layout.slots == std::vector<std::int32_t>{0, 1, 2, 3});  // b's second slot: the all-[PAD] row 3
  CHECK_THROWS_WITH_AS(dnabert::layout_pieces(dnabert::make_batch(rows), config),
                       doctest::Contains("sequence 1 has 1 of the 2 pieces a concat classifier reads"), dnabert::input_error);
  std::swap(rows[1], rows[2]);
  CHECK_THROWS_WITH_AS(dnabert::layout_pieces(dnabert::make_sequence_batch(rows, config.long_pooling, 2, 512), config),
                       doctest::Contains("each sequence's pieces together and in order"), dnabert::input_error);
  config.split = 1;
  CHECK_THROWS_WITH_AS(dnabert::layout_pieces(dnabert::make_batch(a), config),
                       doctest::Contains("more than the 1 pieces the classifier reads"), dnabert::input_error);
}

TEST_CASE("long sequences: DNABERT-XL folders load or are refused by name, and round-trip") {
  const auto scratch = dnabert::test::scratch_dir("long-folders");
  const std::string concat = dnabert::test::data_path("long/concat");
  dnabert::backend::cpu cpu(1);
  // dnalong (a BiLSTM over the pieces): its architecture, or its rnn.* tensors, name what it is.
  const auto copy = [&](const std::string& name) {
    const auto dir = scratch / name;
    std::filesystem::create_directories(dir);
    for (const char* file : {"config.json", "vocab.txt", "model.safetensors"})
      std::filesystem::copy_file(concat + "/" + file, dir / file);
    return dir;
  };
  const auto rnn_config = copy("rnn-config");
  auto config = dnabert::io::read_config_json((rnn_config / "config.json").string());
  CHECK_THROWS_WITH_AS(dnabert::head_for_architectures({"BertForLongSequenceClassification"}),
                       doctest::Contains("DNABERT-XL's dnalong head"), dnabert::config_error);
  auto tensors = dnabert::io::read_safetensors(concat + "/model.safetensors").tensors;
  tensors.emplace("rnn.weight_ih_l0", dnabert::io::make_owned_tensor({4, 4}, std::vector<float>(16, 0.5f)));
  dnabert::io::write_safetensors((rnn_config / "model.safetensors").string(), tensors);
  CHECK_THROWS_WITH_AS(dnabert::cpu_bert<>::load(cpu, rnn_config.string(), dnabert::bert_head::sequence_classification),
                       doctest::Contains("rnn.* tensors) is not supported"), dnabert::config_error);

  // A concat config needs its split; an unknown pooling is refused.
  std::string text = dnabert::io::config_json_text(config);
  const auto no_split = nlohmann::json::parse(text);
  auto edited = no_split;
  edited.erase("split");
  const auto parse = [](const nlohmann::json& json) {
    const std::string dumped = json.dump();
    return dnabert::io::parse_config_json(std::as_bytes(std::span(dumped.data(), dumped.size())), "c.json");
  };
  CHECK_THROWS_WITH_AS(parse(edited), doctest::Contains("c.json: a long-sequence classifier (concat pooling) needs \"split\""),
                       dnabert::format_error);
  edited = no_split;
  edited["long_sequence_pooling"] = "sum";
  CHECK_THROWS_WITH_AS(parse(edited), doctest::Contains("long-sequence pooling 'sum' is not one of none, mean, max, concat"),
                       dnabert::format_error);
  edited["long_sequence_pooling"] = "mean";
  CHECK_THROWS_WITH_AS(parse(edited), doctest::Contains("contradicts the architecture BertForLongSequenceClassificationCat"),
                       dnabert::format_error);

  // Saved and read again: DNABERT-XL's class, split and tensors, the same numbers.
  const auto model = dnabert::cpu_bert<>::load(cpu, concat, dnabert::bert_head::sequence_classification);
  model.save((scratch / "saved").string());
  const auto saved = nlohmann::json::parse(std::ifstream(scratch / "saved" / "config.json"));
  CHECK(saved["architectures"] == nlohmann::json::array({"BertForLongSequenceClassificationCat"}));
  CHECK(saved["split"] == 3);
  const auto reloaded = dnabert::cpu_bert<>::load(cpu, (scratch / "saved").string(), dnabert::bert_head::sequence_classification);
  CHECK(reloaded.new_parameters().empty());
  const auto before = model.state_dict(), after = reloaded.state_dict();
  CHECK(max_abs_diff(after.at("classifier1.weight").values, before.at("classifier1.weight").values) == 0);

  // A classifier trained on concatenated pieces is not a mean classifier; an encoder becomes either.
  CHECK_THROWS_WITH_AS(dnabert::cpu_bert<>::load(cpu, concat, dnabert::bert_head::sequence_classification, 1,
                                                 dnabert::classifier_request{0, dnabert::piece_pooling::mean, 0}),
                       doctest::Contains("holds a classifier trained on the concat of up to 3 pieces, not on the mean of up to 3 pieces"),
                       dnabert::config_error);
  const auto fresh = dnabert::cpu_bert<>::load(cpu, dnabert::test::data_path("parity/mlm_k3"), dnabert::bert_head::sequence_classification,
                                               1, dnabert::classifier_request{3, dnabert::piece_pooling::concat, 2});
  CHECK(fresh.config().split == 2);
  CHECK(fresh.new_parameters() == std::vector<std::string>{"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier1.weight",
                                                           "classifier1.bias", "classifier2.weight", "classifier2.bias"});
  std::filesystem::remove_all(scratch);
}

}  // namespace model_long_sequences_test
