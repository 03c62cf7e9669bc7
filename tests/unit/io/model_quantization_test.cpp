// `dnabert quantize` folders (io::quantize_model_folder, docs/precision.md) on the Hugging Face
// parity fixtures: the int8 values and scales written against a computation written out here,
// what stays float32, config.json's entry, and hostile quantized folders with their messages.
#include "dnabert/io/model_quantization.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dnabert/io/safetensors.hpp"
#include "int8_reference.hpp"
#include "test_paths.hpp"

namespace io_model_quantization_test {

namespace {

namespace fs = std::filesystem;
namespace io = dnabert::io;

std::string parity(const std::string& name) { return dnabert::test::data_path("parity/" + name); }

// Whether `name` is the weight of a linear layer that runs on every token: an encoder layer's
// projections and the MLM transform (not embeddings, LayerNorms, biases, the decoder, and not the
// pooler or the classifier, which run once per sequence and stay float32 in int8 inference).
bool is_per_token_weight(const std::string& name) {
  for (const char* end : {".attention.self.query.weight", ".attention.self.key.weight", ".attention.self.value.weight",
                          ".attention.output.dense.weight", ".intermediate.dense.weight", ".output.dense.weight"})
    if (name.starts_with("bert.encoder.layer.") && name.ends_with(end)) return true;
  return name == "cls.predictions.transform.dense.weight";
}

std::vector<std::uint32_t> bits_of(std::span<const float> values) {
  std::vector<std::uint32_t> bits;
  for (const float v : values) bits.push_back(std::bit_cast<std::uint32_t>(v));
  return bits;
}

// A quantized copy of a parity fixture.
std::string quantized(const std::string& name) {
  const auto dir = dnabert::test::scratch_dir("quantized-" + name);
  io::quantize_model_folder(parity(name), dir.string());
  return dir.string();
}

// A scratch copy of the quantized cls_k6 whose model.safetensors `spoil` rewrites.
template <class Spoil>
std::string spoiled(const std::string& scratch, Spoil&& spoil) {
  const auto dir = dnabert::test::scratch_dir(scratch);
  fs::copy(quantized("cls_k6"), dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  const std::string weights = (dir / "model.safetensors").string();
  auto contents = io::read_safetensors(weights);
  io::tensor_map tensors(contents.tensors.begin(), contents.tensors.end());
  io::int8_tensor_map int8(contents.int8_tensors.begin(), contents.int8_tensors.end());
  spoil(tensors, int8);
  io::write_safetensors(weights + ".new", tensors, {}, int8);
  fs::rename(weights + ".new", weights);
  return dir.string();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const std::string victim = "bert.encoder.layer.1.attention.output.dense.weight";  // [32, 32]

// doctest's matcher for a message built at run time.
doctest::Contains contains(const std::string& text) { return doctest::Contains(text.c_str()); }

}  // namespace

TEST_CASE("quantize: per-token linear weights become int8 per output channel as computed here, the rest stays float32") {
  for (const std::string name : {"cls_k6", "mlm_k3"}) {
    CAPTURE(name);
    const auto original = io::read_safetensors(parity(name) + "/model.safetensors").tensors;
    const auto report = io::quantize_model_folder(parity(name), dnabert::test::scratch_dir("quantize-" + name).string());
    const auto written = io::read_safetensors(report.written_weights);
    std::size_t linear = 0;
    for (const auto& entry : original) {
      const auto& [tensor_name, tensor] = entry;
      CAPTURE(entry.first);
      if (tensor_name == "cls.predictions.decoder.weight" || tensor_name == "cls.predictions.decoder.bias") {
        CHECK_FALSE(written.tensors.contains(tensor_name));  // tied, left out as transformers does
        continue;
      }
      if (!is_per_token_weight(tensor_name)) {
        REQUIRE(written.tensors.contains(tensor_name));
        CHECK(bits_of(written.tensors.at(tensor_name).values) == bits_of(tensor.values));
        continue;
      }
      ++linear;
      REQUIRE(written.int8_tensors.contains(tensor_name));
      REQUIRE(written.tensors.contains(tensor_name + "_scale"));
      const auto& q = written.int8_tensors.at(tensor_name);
      const auto& scales = written.tensors.at(tensor_name + "_scale");
      REQUIRE(q.shape == tensor.shape);
      REQUIRE(scales.shape == std::vector<std::int64_t>{tensor.shape[0]});
      const auto cols = static_cast<std::size_t>(tensor.shape[1]);
      for (std::size_t r = 0; r < static_cast<std::size_t>(tensor.shape[0]); ++r) {
        const auto want = dnabert::test::quantize_row(tensor.values.subspan(r * cols, cols));
        REQUIRE(scales.values[r] == want.scale);
        const std::vector<int> got(q.values.begin() + static_cast<std::ptrdiff_t>(r * cols),
                                   q.values.begin() + static_cast<std::ptrdiff_t>((r + 1) * cols));
        REQUIRE(got == want.values);
      }
    }
    // 6 projections per layer (cls_k6: 3 layers, mlm_k3: 2), and the MLM transform.
    CHECK(linear == (name == "cls_k6" ? 3 * 6 : 2 * 6 + 1));
    CHECK(report.weights.size() == linear);
    CHECK(written.int8_tensors.size() == linear);
    CHECK(written.tensors.size() == original.size());  // each int8 weight's float32 gave way to its scale
    const auto config = nlohmann::json::parse(read_text(fs::path(report.written_weights).replace_filename("config.json").string()));
    CHECK(config.at("dnabert_quantization").at("weights").get<std::string>().starts_with("int8, symmetric, per output channel"));
    CHECK(config.at("dnabert_quantization").at("activations").get<std::string>().starts_with("uint8 per call (dynamic)"));
    CHECK(config.at("architectures") == nlohmann::json::parse(read_text(parity(name) + "/config.json")).at("architectures"));
  }
}

TEST_CASE("quantize: reading a quantized folder gives the dequantized floats and the int8 weights") {
  const auto folder = io::read_model_folder(quantized("cls_k6"), dnabert::bert_head::sequence_classification);
  const auto original = io::read_safetensors(parity("cls_k6") + "/model.safetensors").tensors;
  CHECK(folder.warnings.empty());
  CHECK(folder.quantized.size() == 18);
  CHECK_FALSE(folder.tensors.contains(victim + "_scale"));
  for (const auto& entry : folder.quantized) {
    const auto& [name, rows] = entry;
    CAPTURE(entry.first);
    const auto& values = folder.tensors.at(name).values;
    const auto& source = original.at(name).values;
    for (std::int64_t r = 0; r < rows.rows; ++r)
      for (std::int64_t c = 0; c < rows.cols; ++c) {
        const auto i = static_cast<std::size_t>(r * rows.cols + c);
        REQUIRE(values[i] == static_cast<float>(rows.values[i]) * rows.scales[static_cast<std::size_t>(r)]);
        REQUIRE(std::abs(values[i] - source[i]) <= rows.scales[static_cast<std::size_t>(r)] / 2 * 1.0001F);
      }
  }
}

TEST_CASE("quantize: an already quantized folder is refused") {
  CHECK_THROWS_WITH_AS(io::quantize_model_folder(quantized("cls_k6"), dnabert::test::scratch_dir("quantize-twice").string()),
                       doctest::Contains("is already quantized (18 int8 weights, e.g. bert.encoder.layer.0.attention.output.dense.weight); "
                                         "quantize the float32 folder it was made from"),
                       dnabert::input_error);
}

TEST_CASE("quantize hostile: int8 weights without usable scales are refused, naming the file and the tensor") {
  const auto read = [](const std::string& dir) { return io::read_model_folder(dir, dnabert::bert_head::sequence_classification); };
  const auto missing = spoiled("quantized-no-scale", [](io::tensor_map& t, io::int8_tensor_map&) { t.erase(victim + "_scale"); });
  CHECK_THROWS_WITH_AS(read(missing),
                       (missing + "/model.safetensors: tensor " + victim + " is int8 but has no " + victim +
                        "_scale (a quantized weight needs its float32 scales, one per output channel)")
                           .c_str(),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(read(spoiled("quantized-scale-shape", [](io::tensor_map& t, io::int8_tensor_map&) {
                         t[victim + "_scale"] = io::make_owned_tensor({1, 32}, std::vector<float>(32, 0.01F));
                       })),
                       contains("tensor " + victim + "_scale has shape [1, 32], but " + victim +
                                         " [32, 32] needs one scale per output channel: [32]"),
                       dnabert::format_error);
  for (const float bad : {-0.01F, 0.0F, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    CAPTURE(bad);
    const auto dir = spoiled("quantized-bad-scale", [&](io::tensor_map& t, io::int8_tensor_map&) {
      std::vector<float> scales(32, 0.01F);
      scales[7] = bad;
      t[victim + "_scale"] = io::make_owned_tensor({32}, scales);
    });
    CHECK_THROWS_WITH_AS(read(dir), contains("tensor " + victim + "_scale: element 7 is "), dnabert::format_error);
    CHECK_THROWS_WITH_AS(read(dir), doctest::Contains("a scale must be finite and positive"), dnabert::format_error);
  }
  CHECK_THROWS_WITH_AS(read(spoiled("quantized-1d", [](io::tensor_map& t, io::int8_tensor_map& q) {
                         q["bert.pooler.dense.bias"] = io::make_owned_tensor({32}, std::vector<std::int8_t>(32, 1));
                         t.erase("bert.pooler.dense.bias");
                         t["bert.pooler.dense.bias_scale"] = io::make_owned_tensor({32}, std::vector<float>(32, 0.5F));
                       })),
                       doctest::Contains("int8 tensor bert.pooler.dense.bias has shape [32]; a quantized weight is 2-D [out, in]"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(read(spoiled("quantized-orphan-scale", [](io::tensor_map& t, io::int8_tensor_map& q) {
                         t[victim] = io::make_owned_tensor({32, 32}, std::vector<float>(32 * 32, 0.5F));
                         q.erase(victim);
                       })),
                       contains("tensor " + victim + "_scale scales an int8 weight, but " + victim + " is not int8"),
                       dnabert::format_error);
  // An int8 tensor whose bytes do not match its shape: the header of a written file altered in place.
  const auto dir = dnabert::test::scratch_dir("quantized-short-int8");
  fs::copy(quantized("cls_k6"), dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  std::string bytes = read_text((dir / "model.safetensors").string());
  const std::string declared = "\"" + victim + "\":{\"dtype\":\"I8\",\"shape\":[32,32]";
  const auto at = bytes.find(declared);
  REQUIRE(at != std::string::npos);
  bytes.replace(at + declared.size() - 3, 2, "31");
  std::ofstream((dir / "model.safetensors").string(), std::ios::binary | std::ios::trunc) << bytes;
  CHECK_THROWS_WITH_AS(read(dir.string()),
                       contains("tensor \"" + victim + "\": shape [32, 31] of I8 needs 992 bytes but data_offsets"),
                       dnabert::format_error);
}

TEST_CASE("quantize hostile: an int8 tensor that is not a parameter and has no scale is an ignored buffer") {
  const auto dir = spoiled("quantized-int8-buffer", [](io::tensor_map&, io::int8_tensor_map& q) {
    q["bert.embeddings.flags"] = io::make_owned_tensor({3}, std::vector<std::int8_t>{1, 0, 1});
  });
  const auto folder = io::read_model_folder(dir, dnabert::bert_head::sequence_classification);
  REQUIRE(folder.warnings.size() == 1);
  CHECK(folder.warnings[0] == dir + "/model.safetensors: integer tensor bert.embeddings.flags ignored");
  CHECK(folder.quantized.size() == 18);
}

}  // namespace io_model_quantization_test
