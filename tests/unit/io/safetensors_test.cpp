// Tests of io::read_safetensors / parse_safetensors / write_safetensors against files written by
// Hugging Face's own safetensors writer (tests/reference/make_safetensors_fixtures.py) and hostile bytes.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnabert/io/safetensors.hpp"
#include "test_paths.hpp"

namespace io_safetensors_test {

namespace {

namespace io = dnabert::io;
using byte_vector = std::vector<std::byte>;

byte_vector read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto* first = reinterpret_cast<const std::byte*>(text.data());
  return {first, first + text.size()};
}

void append_u64_le(byte_vector& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

void append_text(byte_vector& out, std::string_view text) {
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
}

/// A safetensors file: length field `declared_length`, then `header`, then `data_size` zero bytes.
byte_vector file_with_length(std::uint64_t declared_length, std::string_view header, std::size_t data_size = 0) {
  byte_vector out;
  append_u64_le(out, declared_length);
  append_text(out, header);
  out.resize(out.size() + data_size);
  return out;
}

/// A safetensors file whose length field is right.
byte_vector file_with(std::string_view header, std::size_t data_size = 0) {
  return file_with_length(header.size(), header, data_size);
}

io::safetensors_contents parse(const byte_vector& file) { return io::parse_safetensors(file, "hostile.safetensors"); }

std::vector<std::uint32_t> bits_of(std::span<const float> values) {
  std::vector<std::uint32_t> bits;
  for (const float value : values) bits.push_back(std::bit_cast<std::uint32_t>(value));
  return bits;
}

nlohmann::json expected_for(const std::string& file) {
  std::ifstream in(dnabert::test::data_path("safetensors/expected.json"));
  return nlohmann::json::parse(in).at(file);
}

/// Checks a read file against the values torch produced for it, bit for bit.
void check_against_torch(const io::safetensors_contents& contents, const std::string& file) {
  const auto expected = expected_for(file);
  CHECK(contents.metadata == expected.at("metadata").get<std::map<std::string, std::string>>());
  CHECK(contents.skipped == expected.at("skipped").get<std::vector<std::string>>());
  REQUIRE(contents.tensors.size() == expected.at("tensors").size());
  for (const auto& item : expected.at("tensors").items()) {
    INFO("tensor ", item.key());
    const auto found = contents.tensors.find(item.key());
    REQUIRE(found != contents.tensors.end());
    CHECK(found->second.shape == item.value().at("shape").get<std::vector<std::int64_t>>());
    CHECK(bits_of(found->second.values) == item.value().at("bits").get<std::vector<std::uint32_t>>());
  }
}

/// Independent binary16 decoding by the textbook formula, for the exhaustive check.
float half_by_formula(std::uint16_t half) {
  const float sign = (half & 0x8000) ? -1.0f : 1.0f;
  const int exponent = (half >> 10) & 0x1f;
  const int mantissa = half & 0x3ff;
  if (exponent == 0x1f) return mantissa == 0 ? sign * std::numeric_limits<float>::infinity() : std::nanf("");
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -24);
  return sign * std::ldexp(static_cast<float>(mantissa + 1024), exponent - 25);
}

}  // namespace

TEST_CASE("safetensors: a Python-written file with every dtype reads exactly as torch converts it") {
  const auto contents = io::read_safetensors(dnabert::test::data_path("safetensors/mixed.safetensors"));
  check_against_torch(contents, "mixed.safetensors");
  CHECK(contents.skipped == std::vector<std::string>{"bert.embeddings.position_ids", "flags"});
  CHECK(contents.tensors.at("scalar").shape.empty());
  CHECK(contents.tensors.at("scalar").values.size() == 1);
  CHECK(contents.tensors.at("empty").shape == std::vector<std::int64_t>{0, 4});
  CHECK(contents.tensors.at("empty").values.empty());
}

TEST_CASE("safetensors: F32-only and tensor-less files read as torch wrote them") {
  check_against_torch(io::read_safetensors(dnabert::test::data_path("safetensors/f32_only.safetensors")),
                      "f32_only.safetensors");
  check_against_torch(io::read_safetensors(dnabert::test::data_path("safetensors/no_tensors.safetensors")),
                      "no_tensors.safetensors");
}

TEST_CASE("safetensors: I8 tensors read as the Python writer wrote them, and the writer reproduces its file") {
  const std::string original = dnabert::test::data_path("safetensors/int8.safetensors");
  const auto contents = io::read_safetensors(original);
  check_against_torch(contents, "int8.safetensors");
  const auto expected = expected_for("int8.safetensors").at("int8");
  REQUIRE(contents.int8_tensors.size() == expected.size());
  for (const auto& item : expected.items()) {
    INFO("tensor ", item.key());
    const auto& tensor = contents.int8_tensors.at(item.key());
    CHECK(tensor.shape == item.value().at("shape").get<std::vector<std::int64_t>>());
    CHECK(std::vector<int>(tensor.values.begin(), tensor.values.end()) == item.value().at("values").get<std::vector<int>>());
  }
  const auto rewritten = (dnabert::test::scratch_dir("safetensors-int8-rewrite") / "model.safetensors").string();
  io::write_safetensors(rewritten, contents.tensors, contents.metadata, contents.int8_tensors);
  CHECK(read_bytes(rewritten) == read_bytes(original));
  // Without an owner to view, the int8 values are copied.
  const auto copied = io::parse_safetensors(read_bytes(original), "int8.safetensors");
  CHECK(copied.int8_tensors.at("layer.weight").storage != nullptr);
  CHECK(copied.int8_tensors.at("layer.weight").values[3] == -128);
}

TEST_CASE("safetensors: aligned F32 tensors view the caller's bytes and keep them alive") {
  auto owner = std::make_shared<byte_vector>(read_bytes(dnabert::test::data_path("safetensors/mixed.safetensors")));
  io::loaded_tensor weight;
  io::loaded_tensor half;
  {
    const auto contents = io::parse_safetensors(*owner, "mixed.safetensors", owner);
    weight = contents.tensors.at("bert.embeddings.word_embeddings.weight");
    half = contents.tensors.at("half");
  }
  const auto* first = reinterpret_cast<const std::byte*>(weight.values.data());
  CHECK(first >= owner->data());
  CHECK(first + weight.values.size_bytes() <= owner->data() + owner->size());
  CHECK(weight.storage.get() == owner.get());
  CHECK(half.storage.get() != owner.get());  // converted, so it owns its values
  std::weak_ptr<byte_vector> watch = owner;
  owner.reset();
  REQUIRE_FALSE(watch.expired());  // the tensor holds the bytes
  CHECK(weight.values[1] == -0.75f);
  weight = {};
  CHECK(watch.expired());
}

TEST_CASE("safetensors: a memory-mapped F32 tensor outlives the reader's result") {
  io::loaded_tensor bias;
  {
    const auto contents = io::read_safetensors(dnabert::test::data_path("safetensors/mixed.safetensors"));
    bias = contents.tensors.at("bert.pooler.dense.bias");
    CHECK(bias.storage == contents.tensors.at("scalar").storage);  // one shared map
  }
  CHECK(bias.values[0] == 1.5f);
  CHECK(bias.values[3] == std::numeric_limits<float>::max());
}

TEST_CASE("safetensors: unaligned F32 data and data without an owner are copied") {
  // Trailing spaces make the header 1 (mod 4) bytes long, so no float can start where the data start.
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  while (header.size() % 4 != 1) header += ' ';
  byte_vector file = file_with(header);
  const float values[2] = {1.25f, -2.0f};
  const auto* raw = reinterpret_cast<const std::byte*>(values);
  file.insert(file.end(), raw, raw + sizeof values);
  auto owner = std::make_shared<byte_vector>(file);
  const auto data_start = owner->size() - sizeof values;
  REQUIRE(reinterpret_cast<std::uintptr_t>(owner->data() + data_start) % alignof(float) != 0);

  const auto unaligned = io::parse_safetensors(*owner, "unaligned.safetensors", owner);
  CHECK(unaligned.tensors.at("a").storage.get() != owner.get());
  CHECK(unaligned.tensors.at("a").values[0] == 1.25f);
  CHECK(unaligned.tensors.at("a").values[1] == -2.0f);

  const auto owned = io::parse_safetensors(read_bytes(dnabert::test::data_path("safetensors/mixed.safetensors")),
                                           "mixed.safetensors");
  CHECK(owned.tensors.at("bert.pooler.dense.bias").values[0] == 1.5f);
}

TEST_CASE("safetensors: every one of the 65536 F16 values converts to f32 exactly") {
  for (std::uint32_t half = 0; half <= 0xffff; ++half) {
    const float converted = dnabert::half_to_float(static_cast<std::uint16_t>(half));
    const float expected = half_by_formula(static_cast<std::uint16_t>(half));
    if (std::isnan(expected)) {
      REQUIRE(std::isnan(converted));
      // The payload moves up unchanged and the sign stays.
      REQUIRE(std::bit_cast<std::uint32_t>(converted) == (((half & 0x8000u) << 16) | 0x7f800000u | ((half & 0x3ffu) << 13)));
    } else {
      REQUIRE(std::bit_cast<std::uint32_t>(converted) == std::bit_cast<std::uint32_t>(expected));
    }
  }
}

TEST_CASE("safetensors: the writer reproduces the Python writer's file byte for byte") {
  const std::string original = dnabert::test::data_path("safetensors/f32_only.safetensors");
  const auto contents = io::read_safetensors(original);
  const auto rewritten = (dnabert::test::scratch_dir("safetensors-rewrite") / "model.safetensors").string();
  io::write_safetensors(rewritten, contents.tensors, contents.metadata);
  CHECK(read_bytes(rewritten) == read_bytes(original));
}

TEST_CASE("safetensors: write then read is bit-exact and the header follows the format") {
  io::tensor_map tensors;
  tensors.emplace("b.weight", io::make_owned_tensor({2, 3}, {1.0f, -0.0f, std::numeric_limits<float>::denorm_min(),
                                                            std::numeric_limits<float>::infinity(), std::nanf("7"),
                                                            -3.0e38f}));
  tensors.emplace("a.scalar", io::make_owned_tensor({}, {42.0f}));
  tensors.emplace("c.empty", io::make_owned_tensor({0, 5}, {}));
  const auto path = (dnabert::test::scratch_dir("safetensors-roundtrip") / "model.safetensors").string();
  io::write_safetensors(path, tensors, {{"format", "pt"}, {"note", "tab\there \"quoted\""}});

  const std::string expected_header =
      R"({"__metadata__":{"format":"pt","note":"tab\there \"quoted\""},)"
      R"("a.scalar":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
      R"("b.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[4,28]},)"
      R"("c.empty":{"dtype":"F32","shape":[0,5],"data_offsets":[28,28]}})";
  const auto file = read_bytes(path);
  REQUIRE(file.size() >= 8);
  const std::uint64_t header_size = io::detail::load_u64_le(file.data());
  CHECK(header_size % 8 == 0);
  CHECK(header_size == (expected_header.size() + 7) / 8 * 8);
  CHECK(file.size() == 8 + header_size + 28);
  const std::string header(reinterpret_cast<const char*>(file.data()) + 8, header_size);
  CHECK(header == expected_header + std::string(header_size - expected_header.size(), ' '));

  const auto read = io::read_safetensors(path);
  CHECK(read.metadata.at("note") == "tab\there \"quoted\"");
  REQUIRE(read.tensors.size() == 3);
  for (const auto& written : tensors) {
    INFO("tensor ", written.first);
    CHECK(read.tensors.at(written.first).shape == written.second.shape);
    CHECK(bits_of(read.tensors.at(written.first).values) == bits_of(written.second.values));
  }
}

TEST_CASE("safetensors: the writer refuses tensors it cannot describe and leaves no file") {
  const auto dir = dnabert::test::scratch_dir("safetensors-bad-write");
  const auto path = (dir / "model.safetensors").string();
  io::tensor_map mismatched;
  mismatched.emplace("w", io::make_owned_tensor({2, 2}, {1.0f, 2.0f, 3.0f}));
  CHECK_THROWS_WITH_AS(io::write_safetensors(path, mismatched),
                       doctest::Contains("tensor \"w\" has shape [2, 2] but 3 values"), dnabert::error);
  io::tensor_map reserved;
  reserved.emplace("__metadata__", io::make_owned_tensor({1}, {1.0f}));
  CHECK_THROWS_WITH_AS(io::write_safetensors(path, reserved), doctest::Contains("may not be named __metadata__"),
                       dnabert::error);
  io::tensor_map negative;
  negative.emplace("n", io::make_owned_tensor({-1}, {}));
  CHECK_THROWS_WITH_AS(io::write_safetensors(path, negative), doctest::Contains("negative shape [-1]"), dnabert::error);
  io::int8_tensor_map short_int8;
  short_int8.emplace("q", io::make_owned_tensor({2, 2}, std::vector<std::int8_t>{1, 2, 3}));
  CHECK_THROWS_WITH_AS(io::write_safetensors(path, {}, {}, short_int8),
                       doctest::Contains("tensor \"q\" has shape [2, 2] but 3 values"), dnabert::error);
  io::tensor_map float_q;
  float_q.emplace("q", io::make_owned_tensor({3}, {1.0f, 2.0f, 3.0f}));
  short_int8.insert_or_assign("q", io::make_owned_tensor({3}, std::vector<std::int8_t>{1, 2, 3}));
  CHECK_THROWS_WITH_AS(io::write_safetensors(path, float_q, {}, short_int8), doctest::Contains("tensor \"q\" is given twice"),
                       dnabert::error);
  CHECK(std::filesystem::is_empty(dir));
}

TEST_CASE("safetensors hostile: length field") {
  CHECK_THROWS_WITH_AS(parse(byte_vector(5)),
                       "hostile.safetensors: file is 5 bytes, too short for the 8-byte header length",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with_length(200, "{}")),
                       "hostile.safetensors: byte 0: header length 200 exceeds the 2 bytes that follow it",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with_length(100'000'001, "{}")),
                       doctest::Contains("header length 100000001 exceeds the limit of 100000000 bytes"),
                       dnabert::format_error);
  // 8 + N would wrap around in 64 bits.
  CHECK_THROWS_WITH_AS(parse(file_with_length(std::numeric_limits<std::uint64_t>::max() - 3, "{}")),
                       doctest::Contains("exceeds the limit"), dnabert::format_error);
}

TEST_CASE("safetensors hostile: header is not a JSON object") {
  CHECK_THROWS_WITH_AS(parse(file_with("")), "hostile.safetensors: byte 8: header is empty, expected a JSON object",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with("[1, 2]")),
                       "hostile.safetensors: byte 8: header must start with '{', found '['", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(" {}")), doctest::Contains("must start with '{', found ' '"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with("{\"a\": nope}")),
                       doctest::Contains("hostile.safetensors: byte 15: header is not valid JSON"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with("{} trailing")), doctest::Contains("header is not valid JSON"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with("{\"\xff\": 1}")), doctest::Contains("header is not valid JSON"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})" + std::string(3, '\0'), 4)),
                       doctest::Contains("byte 61: header contains a NUL byte"), dnabert::format_error);
}

TEST_CASE("safetensors hostile: header grammar") {
  CHECK_THROWS_WITH_AS(
      parse(file_with(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}})", 8)),
      "hostile.safetensors: header: duplicate key \"a\"", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","dtype":"F16","shape":[],"data_offsets":[0,4]}})", 4)),
                       doctest::Contains("tensor \"a\": duplicate key \"dtype\""), dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"shape":[],"data_offsets":[0,4]}})", 4)),
                       doctest::Contains("tensor \"a\": missing \"dtype\""), dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4)),
                       doctest::Contains("tensor \"a\": missing \"shape\""), dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[]}})", 4)),
                       doctest::Contains("tensor \"a\": missing \"data_offsets\""), dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,4],"offsets":[0,4]}})", 4)),
                       doctest::Contains("tensor \"a\": unexpected key \"offsets\""), dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":[1,2]})")),
                       doctest::Contains("tensor \"a\": expected an object with dtype, shape and data_offsets, found an array"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":32,"shape":[],"data_offsets":[0,4]}})", 4)),
                       doctest::Contains("tensor \"a\": \"dtype\" must be a string, found 32"), dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":"2x2","data_offsets":[0,16]}})", 16)),
                       doctest::Contains("tensor \"a\": \"shape\" must be an array, found a string"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", 8)),
                       doctest::Contains("\"shape\" must hold non-negative integers, found an array"),
                       dnabert::format_error);
}

TEST_CASE("safetensors hostile: shape and offset values") {
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)),
                       "hostile.safetensors: header: tensor \"a\": \"shape\" must hold non-negative integers, found -1",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4)),
                       doctest::Contains("\"shape\" must hold non-negative integers, found 1.5"), dnabert::format_error);
  CHECK_THROWS_WITH_AS(
      parse(file_with(R"({"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,4]}})", 4)),
      doctest::Contains("\"shape\" must hold non-negative integers, found 18446744073709551616"),
      dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 8)),
                       doctest::Contains("\"data_offsets\" must hold exactly two offsets, found more"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}})", 4)),
                       doctest::Contains("\"data_offsets\" must hold exactly two offsets, found 1"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})")),
                       doctest::Contains("\"data_offsets\" must hold non-negative integers, found -4"),
                       dnabert::format_error);
}

TEST_CASE("safetensors hostile: dtypes") {
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4)),
                       "hostile.safetensors: header: tensor \"a\": unknown dtype \"F33\"", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8)),
                       "hostile.safetensors: tensor \"a\": dtype F64 is not supported (dnabert reads F32, F16, BF16 and I8 weights)",
                       dnabert::format_error);
  // An I8 tensor is one byte per element, like every other dtype's size check.
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"w":{"dtype":"I8","shape":[2,3],"data_offsets":[0,5]}})", 5)),
                       "hostile.safetensors: tensor \"w\": shape [2, 3] of I8 needs 6 bytes but data_offsets [0, 5] span 5",
                       dnabert::format_error);
  // Three 4-bit values are not a whole number of bytes.
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", 2)),
                       doctest::Contains("tensor \"a\": shape [3] of F4 overflows or is not a whole number of bytes"),
                       dnabert::format_error);
}

TEST_CASE("safetensors hostile: offsets must tile the data area exactly") {
  const std::string a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  CHECK_THROWS_WITH_AS(parse(file_with("{" + a + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
                       "hostile.safetensors: tensor \"b\" starts at data offset 4 but the previous tensor \"a\" ends at 8 (overlap)",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with("{" + a + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})", 16)),
                       doctest::Contains("tensor \"b\" starts at data offset 12 but the previous tensor \"a\" ends at 8 (gap)"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
                       doctest::Contains("tensor \"a\" starts at data offset 4 but the data area starts at offset 0 (gap)"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})")),
                       doctest::Contains("tensor \"a\": data_offsets [8, 0] end before they begin"),
                       dnabert::format_error);
  const std::string header = "{" + a + "}";
  CHECK_THROWS_WITH_AS(parse(file_with(header, 6)),
                       ("hostile.safetensors: byte " + std::to_string(8 + header.size() + 6) +
                        ": file is truncated: tensors need 8 data bytes but only 6 follow the header")
                           .c_str(),
                       dnabert::format_error);
  // A polyglot: a valid safetensors file with something else appended.
  CHECK_THROWS_WITH_AS(parse(file_with(header, 8 + 100)),
                       ("hostile.safetensors: byte " + std::to_string(8 + header.size() + 8) +
                        ": tensors end at data offset 8 but 100 more bytes follow (trailing data)")
                           .c_str(),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with("{}", 1)), doctest::Contains("0 but 1 more bytes follow (trailing data)"),
                       dnabert::format_error);
}

TEST_CASE("safetensors hostile: sizes must match shapes") {
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 20)),
                       "hostile.safetensors: tensor \"a\": shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] span 20",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(
      parse(file_with(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,0]}})")),
      doctest::Contains("tensor \"a\": shape [4294967296, 4294967296, 4] of F32 overflows"), dnabert::format_error);
  // As in the reference, the element count overflows first; the bytes of a non-empty count next.
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})")),
                       doctest::Contains("overflows"), dnabert::format_error);
  CHECK(parse(file_with(R"({"a":{"dtype":"F32","shape":[4611686018427387904,0],"data_offsets":[0,0]}})"))
            .tensors.at("a")
            .values.empty());
  // Empty: legal whatever the other dimensions, but only while they fit dnabert's signed sizes.
  CHECK(parse(file_with(R"({"a":{"dtype":"F32","shape":[0,4294967296],"data_offsets":[0,0]}})")).tensors.at("a").shape ==
        std::vector<std::int64_t>{0, 4294967296});
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"a":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}})")),
                       doctest::Contains("dimension 18446744073709551615 does not fit in a signed 64-bit size"),
                       dnabert::format_error);
}

TEST_CASE("safetensors hostile: metadata must map strings to strings") {
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"__metadata__":{"epochs":3}})")),
                       "hostile.safetensors: header: __metadata__ value of \"epochs\" must be a string, found 3",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"__metadata__":{"a":{"b":"c"}}})")),
                       doctest::Contains("__metadata__ value of \"a\" must be a string, found an object"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"__metadata__":["format","pt"]})")),
                       doctest::Contains("__metadata__ must be an object, found an array"), dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(file_with(R"({"__metadata__":{"a":"1","a":"2"}})")),
                       doctest::Contains("__metadata__: duplicate key \"a\""), dnabert::format_error);
  CHECK(parse(file_with(R"({"__metadata__":{}})")).metadata.empty());
}

TEST_CASE("safetensors hostile: a truncated real file is rejected, at every length") {
  const auto file = read_bytes(dnabert::test::data_path("safetensors/mixed.safetensors"));
  for (std::size_t length = 0; length < file.size(); ++length) {
    const byte_vector prefix(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(length));
    CHECK_THROWS_AS(parse(prefix), dnabert::format_error);
  }
}

}  // namespace io_safetensors_test
