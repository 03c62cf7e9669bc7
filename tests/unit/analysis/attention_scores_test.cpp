// DNABERT-viz attention scores against tests/reference/make_attention_goldens.py: attention
// probabilities from transformers and nucleotide scores by DNABERT's formula, computed in Python.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/analysis/attention_scores.hpp"
#include "dnabert/io/safetensors.hpp"
#include "tensor_compare.hpp"
#include "batch_invariance.hpp"
#include "test_paths.hpp"

namespace analysis_attention_scores_test {

namespace {

using B = dnabert::backend::cpu;
using model_type = dnabert::Bert<dnabert::dynamic_bert, B>;
namespace analysis = dnabert::analysis;

// The committed goldens and the sequences they were made from.
struct attention_goldens {
  dnabert::io::safetensors_contents file = dnabert::io::read_safetensors(dnabert::test::data_path("attention/golden.safetensors"));
  std::vector<std::string> sequences;

  attention_goldens() {
    std::ifstream in(dnabert::test::data_path("attention/inputs.json"));
    REQUIRE(in.good());
    sequences = nlohmann::json::parse(in)["sequences"].get<std::vector<std::string>>();
    REQUIRE(sequences.size() == 3);
  }

  [[nodiscard]] std::span<const float> tensor(const std::string& name) const {
    const auto found = file.tensors.find(name);
    REQUIRE_MESSAGE(found != file.tensors.end(), "golden.safetensors lacks " << name);
    return found->second.values;
  }

  // Worst |dnabert - golden| over every nucleotide of every sequence, for golden `prefix`.{i}.
  [[nodiscard]] double worst_difference(const analysis::nucleotide_scores& scores, const std::string& prefix) const {
    REQUIRE(scores.size() == sequences.size());
    double worst = 0;
    for (std::size_t i = 0; i < scores.size(); ++i) {
      REQUIRE(scores[i].size() == sequences[i].size());
      worst = std::max(worst, dnabert::test::max_abs_diff(scores[i], tensor(prefix + "." + std::to_string(i))));
    }
    return worst;
  }
};

model_type load_parity_model(B& cpu, const std::string& name) {
  return model_type::load(cpu, dnabert::test::data_path("parity/" + name), dnabert::bert_head::sequence_classification);
}

analysis::attention_options selection(int layer, int head, std::size_t batch_size = 2) {
  analysis::attention_options options;
  options.layer = layer;
  options.head = head;
  options.batch_size = batch_size;
  return options;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("attention scores: per-layer attention probabilities of one sequence match transformers") {
  const attention_goldens goldens;
  B cpu(1);
  const auto model = load_parity_model(cpu, "cls_k6");
  const auto pieces = dnabert::kmer_tokenizer(6).encode(goldens.sequences[0]);
  REQUIRE(pieces.size() == 1);
  dnabert::autograd::tape<B> tape(cpu);
  dnabert::nn::forward_context<B> ctx{tape};
  const auto out = model.forward(ctx, dnabert::make_batch(pieces), dnabert::forward_options{false, true, false, {}});
  REQUIRE(out.attentions.size() == 3);
  for (std::size_t layer = 0; layer < out.attentions.size(); ++layer)
    CHECK_MESSAGE(dnabert::test::max_abs_diff(out.attentions[layer].span(), goldens.tensor("attentions." + std::to_string(layer))) <= 1e-5,
                  "layer " << layer);
}

TEST_CASE("attention scores: DNABERT-viz formula, long sequences scored in pieces and stitched") {
  const attention_goldens goldens;
  B cpu(1);
  const auto model = load_parity_model(cpu, "cls_k6");
  REQUIRE(model.max_kmers() == 62);  // the 152-nt sequence's 147 6-mers make three pieces
  // Batches of 2 mix pieces of different sequences and lengths, so padding is exercised too.
  const auto scores = analysis::attention_scores(model, goldens.sequences, selection(analysis::last_layer, analysis::all_heads));
  CHECK(goldens.worst_difference(scores, "cls_k6.last.sum") <= 1e-5);
  for (const auto& row : scores) {
    double squares = 0;
    for (const float x : row) squares += static_cast<double>(x) * x;
    CHECK(std::sqrt(squares) == doctest::Approx(1.0).epsilon(1e-6));
  }

  const auto k3 = load_parity_model(cpu, "cls3_k3");
  CHECK(goldens.worst_difference(analysis::attention_scores(k3, goldens.sequences, selection(analysis::last_layer, analysis::all_heads)),
                                 "cls3_k3.last.sum") <= 1e-5);
}

TEST_CASE("attention scores: layer and head selection") {
  const attention_goldens goldens;
  B cpu(1);
  const auto model = load_parity_model(cpu, "cls_k6");
  CHECK(goldens.worst_difference(analysis::attention_scores(model, goldens.sequences, selection(analysis::all_layers, analysis::all_heads)),
                                 "cls_k6.all.sum") <= 1e-5);
  CHECK(goldens.worst_difference(analysis::attention_scores(model, goldens.sequences, selection(0, 1)), "cls_k6.0.1") <= 1e-5);
  CHECK(goldens.worst_difference(analysis::attention_scores(model, goldens.sequences, selection(1, analysis::all_heads)),
                                 "cls_k6.1.sum") <= 1e-5);
  // The last layer named by index is the default.
  CHECK(goldens.worst_difference(analysis::attention_scores(model, goldens.sequences, selection(2, analysis::all_heads)),
                                 "cls_k6.last.sum") <= 1e-5);
  CHECK_THROWS_WITH_AS(analysis::attention_scores(model, goldens.sequences, selection(3, analysis::all_heads)),
                       "layer 3 does not exist: the model has 3 layers (0..2)", dnabert::input_error);
  CHECK_THROWS_WITH_AS(analysis::attention_scores(model, goldens.sequences, selection(analysis::last_layer, 2)),
                       "head 2 does not exist: the model has 2 heads (0..1)", dnabert::input_error);
}

TEST_CASE("attention scores: batch size and the attention memory cap change no score") {
  const attention_goldens goldens;
  B cpu(1);
  const auto model = load_parity_model(cpu, "cls_k6");
  auto capped = selection(analysis::all_layers, analysis::all_heads, 32);
  capped.max_batch_attention_bytes = 1;  // forces one piece per batch
  std::size_t batches = 0;
  capped.progress = [&batches](std::size_t, std::size_t) { ++batches; };
  const auto one_by_one = analysis::attention_scores(model, goldens.sequences, capped);
  CHECK(batches == 5);  // 1 + 3 + 1 pieces
  CHECK(goldens.worst_difference(one_by_one, "cls_k6.all.sum") <= 1e-5);
  CHECK(goldens.worst_difference(analysis::attention_scores(model, goldens.sequences, selection(analysis::all_layers, analysis::all_heads, 32)),
                                 "cls_k6.all.sum") <= 1e-5);
  CHECK_THROWS_AS(analysis::attention_scores(model, goldens.sequences, selection(analysis::last_layer, analysis::all_heads, 0)),
                  dnabert::input_error);
}

TEST_CASE("attention scores: several models combined as DNABERT sums normalised vectors") {
  const attention_goldens goldens;
  B cpu(1);
  const auto k6 = load_parity_model(cpu, "cls_k6");
  const auto k3 = load_parity_model(cpu, "cls3_k3");
  const std::vector<analysis::nucleotide_scores> per_model{analysis::attention_scores(k6, goldens.sequences),
                                                           analysis::attention_scores(k3, goldens.sequences)};
  CHECK(goldens.worst_difference(analysis::combine(per_model), "combined") <= 1e-5);
  const std::vector<analysis::nucleotide_scores> mismatched{per_model[0], {per_model[1][0]}};
  CHECK_THROWS_WITH_AS(analysis::combine(mismatched), "cannot combine attention scores of 3 and 1 sequences", dnabert::input_error);
}

TEST_CASE("attention scores: npy output is N x L_max with NaN tails, ids beside it") {
  const analysis::nucleotide_scores scores{{0.6f, 0.8f}, {1.0f, 0.0f, 0.0f, 0.0f}, {1.0f}};
  const std::vector<std::string> ids{"a", "b", "c"};
  const auto dir = dnabert::test::scratch_dir("attention-npy");
  const std::string path = (dir / "scores.npy").string();
  analysis::write_scores_npy(path, scores, ids);

  const std::string bytes = read_bytes(path);
  const std::string header = dnabert::io::npy_header({3, 4});
  REQUIRE(bytes.size() == header.size() + 12 * sizeof(float));
  CHECK(bytes.substr(0, header.size()) == header);
  CHECK(header.find("'shape': (3, 4)") != std::string::npos);
  std::vector<float> values(12);
  std::memcpy(values.data(), bytes.data() + header.size(), values.size() * sizeof(float));
  const std::vector<int> is_nan{0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1};
  for (std::size_t i = 0; i < values.size(); ++i) CHECK_MESSAGE(std::isnan(values[i]) == (is_nan[i] == 1), "element " << i);
  CHECK(values[1] == 0.8f);
  CHECK(values[4] == 1.0f);
  CHECK(read_bytes((dir / "scores.ids.txt").string()) == "a\nb\nc\n");
  CHECK(analysis::ids_file_path("x/out") == "x/out.ids.txt");
  CHECK_THROWS_AS(analysis::write_scores_npy(path, scores, std::vector<std::string>{"a"}), dnabert::input_error);
}

TEST_CASE("attention scores: TSV and bedGraph lines") {
  const analysis::nucleotide_scores scores{{0.6f, 0.8f}, {1.0f}};
  const std::vector<std::string> ids{"chrA", "chrB"};
  CHECK(analysis::scores_tsv(scores, ids) == "id\tposition\tscore\nchrA\t0\t0.600000024\nchrA\t1\t0.800000012\nchrB\t0\t1\n");
  CHECK(analysis::scores_bedgraph(scores, ids) ==
        "track type=bedGraph name=\"dnabert attention\"\nchrA\t0\t1\t0.600000024\nchrA\t1\t2\t0.800000012\nchrB\t0\t1\t1\n");
}

TEST_CASE("attention scores: a stream scored and written chunk by chunk equals the whole input at once") {
  // Scores of a chunk do not depend on the other chunks (padding takes no part in any sum; bit for
  // bit with oneDNN's GEMM, see same_across_batches), and the .npy written chunk by chunk, whose
  // width is known only at the end, is the file written at once.
  const attention_goldens goldens;
  B cpu(2);
  const auto model = load_parity_model(cpu, "cls_k6");
  std::vector<std::string> sequences = goldens.sequences;
  for (int copy = 0; copy < 3; ++copy)
    for (std::size_t s = 0; s < 3; ++s)  // shorter copies, none under k = 6: batches that mix lengths
      sequences.push_back(goldens.sequences[s].substr(0, std::max<std::size_t>(6, goldens.sequences[s].size() / (copy + 2))));
  std::vector<std::string> ids;
  for (std::size_t s = 0; s < sequences.size(); ++s) ids.push_back(std::to_string(s));
  const auto whole = analysis::attention_scores(model, sequences, selection(analysis::last_layer, analysis::all_heads, 32));
  const auto dir = dnabert::test::scratch_dir("attention-stream");
  analysis::write_scores_npy((dir / "whole.npy").string(), whole, ids);
  analysis::scores_npy_writer streamed((dir / "streamed.npy").string(), dir.string());
  analysis::nucleotide_scores chunked;
  std::ostringstream tsv;
  tsv << analysis::scores_tsv_header;
  for (std::size_t first = 0; first < sequences.size(); first += 4) {
    const std::size_t count = std::min<std::size_t>(4, sequences.size() - first);
    const auto chunk_sequences = std::span<const std::string>(sequences).subspan(first, count);
    const auto chunk_ids = std::span<const std::string>(ids).subspan(first, count);
    const auto chunk = analysis::attention_scores(model, chunk_sequences, selection(analysis::last_layer, analysis::all_heads, 3));
    for (std::size_t s = 0; s < count; ++s) CHECK(dnabert::test::same_across_batches(chunk[s], whole[first + s]));
    chunked.insert(chunked.end(), chunk.begin(), chunk.end());
    streamed.add(chunk, chunk_ids);
    analysis::append_scores_tsv(tsv, chunk, chunk_ids);
  }
  CHECK_FALSE(std::filesystem::exists(dir / "streamed.npy"));
  streamed.commit();
  analysis::write_scores_npy((dir / "chunks.npy").string(), chunked, ids);
  CHECK(read_bytes((dir / "streamed.npy").string()) == read_bytes((dir / "chunks.npy").string()));
  CHECK(read_bytes((dir / "streamed.ids.txt").string()) == read_bytes((dir / "whole.ids.txt").string()));
  CHECK(tsv.str() == analysis::scores_tsv(chunked, ids));
  if constexpr (dnabert::test::gemm_is_batch_invariant)
    CHECK(read_bytes((dir / "streamed.npy").string()) == read_bytes((dir / "whole.npy").string()));
}

}  // namespace analysis_attention_scores_test
