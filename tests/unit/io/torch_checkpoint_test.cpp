// Tests of the pytorch_model.bin reader on files torch.save wrote in both formats (values
// recomputed here from the arange formulas in tests/reference/make_torch_fixtures.py), and on
// hostile files, each refused with its message.
#include "dnabert/io/torch_checkpoint.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "dnabert/io/mapped_file.hpp"
#include "test_paths.hpp"

namespace io_torch_checkpoint_test {

namespace {

using dnabert::format_error;
using dnabert::io::read_torch_checkpoint;
using dnabert::io::tensor_map;

std::string torch_path(const std::string& name) { return dnabert::test::data_path("torch/" + name); }

std::vector<std::byte> fixture(const std::string& name) {
  const auto file = dnabert::io::map_file(torch_path(name));
  return {file->bytes().begin(), file->bytes().end()};
}

tensor_map read_bytes(const std::vector<std::byte>& bytes, const std::string& name = "test.bin") {
  return read_torch_checkpoint(bytes, name);
}

std::size_t find(const std::vector<std::byte>& bytes, std::string_view needle, std::size_t from = 0) {
  const std::string haystack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const auto found = haystack.find(needle, from);
  REQUIRE(found != std::string::npos);
  return found;
}

void check_values(const tensor_map& tensors, const std::string& name, const std::vector<std::int64_t>& shape,
                  const std::vector<float>& expected) {
  CAPTURE(name);
  const auto found = tensors.find(name);
  REQUIRE(found != tensors.end());
  CHECK(found->second.shape == shape);
  REQUIRE(found->second.values.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(found->second.values[i] == expected[i]);
    CHECK(std::signbit(found->second.values[i]) == std::signbit(expected[i]));
  }
}

// The fixture's state dict, recomputed from the formulas the Python script used.
void check_fixture_state(const tensor_map& tensors, const std::vector<std::string>& skipped) {
  std::vector<float> embeddings, transposed;
  for (int i = 0; i < 12; ++i) embeddings.push_back(static_cast<float>(i) * 0.25F - 1.0F);
  for (int row = 0; row < 4; ++row)
    for (int column = 0; column < 3; ++column) transposed.push_back(static_cast<float>(column * 4 + row));
  check_values(tensors, "bert.embeddings.word_embeddings.weight", {4, 3}, embeddings);
  check_values(tensors, "cls.predictions.decoder.weight", {4, 3}, embeddings);
  check_values(tensors, "transposed", {4, 3}, transposed);
  check_values(tensors, "slice", {2, 3}, {105, 106, 107, 108, 109, 110});
  check_values(tensors, "column", {3}, {1, 5, 9});
  check_values(tensors, "half", {8},
               {1.0F, -2.5F, 65504.0F, std::ldexp(1.0F, -14), std::ldexp(1.0F, -24), 0.0F, -0.0F, INFINITY});
  check_values(tensors, "bfloat", {4}, {1.0F, -3.140625F, std::ldexp(1.0F, 100), -std::ldexp(1.0F, -130)});
  check_values(tensors, "scalar", {}, {3.5F});
  check_values(tensors, "empty", {0, 3}, {});
  CHECK(tensors.size() == 9);
  CHECK(skipped == std::vector<std::string>{"bert.embeddings.position_ids"});
}

}  // namespace

TEST_CASE("torch_checkpoint: both formats, ZIP64 and pickle protocol 4 give the fixture's values") {
  for (const std::string name : {"state_zip.bin", "state_legacy.bin", "state_zip64.bin", "state_zip_protocol4.bin",
                                 "state_legacy_protocol4.bin"}) {
    CAPTURE(name);
    std::vector<std::string> skipped;
    const tensor_map from_file = read_torch_checkpoint(torch_path(name), &skipped);
    check_fixture_state(from_file, skipped);
    skipped.clear();
    check_fixture_state(read_torch_checkpoint(fixture(name), name, &skipped), skipped);
  }
}

TEST_CASE("torch_checkpoint: tied weights share one copy, aligned f32 in a zip is viewed in place") {
  const auto file = dnabert::io::map_file(torch_path("state_zip.bin"));
  const tensor_map tensors = read_torch_checkpoint(file->bytes(), "state_zip.bin", nullptr, file);
  const auto& embeddings = tensors.at("bert.embeddings.word_embeddings.weight");
  const auto& decoder = tensors.at("cls.predictions.decoder.weight");
  CHECK(embeddings.values.data() == decoder.values.data());
  const auto* begin = reinterpret_cast<const std::byte*>(embeddings.values.data());
  CHECK((begin >= file->bytes().data() && begin < file->bytes().data() + file->bytes().size()));
  CHECK(embeddings.storage == std::shared_ptr<const void>(file));
}

TEST_CASE("torch_checkpoint: a hand-made archive with one tensor") {
  check_values(read_torch_checkpoint(torch_path("good_handmade.bin")), "w", {2, 3}, {0, 1, 2, 3, 4, 5});
}

TEST_CASE("torch_checkpoint: hostile files made by the reference script") {
  const auto refuses = [](const std::string& name, const std::string& message) {
    CAPTURE(name);
    CHECK_THROWS_WITH_AS(static_cast<void>(read_torch_checkpoint(torch_path(name))),
                         doctest::Contains((torch_path(name) + ": " + message).c_str()), format_error);
  };
  refuses("hostile_os_system.bin", "byte 48: refusing pickle global 'os.system'");
  refuses("hostile_deflated.bin", "byte 268: entry 'archive/data/0' is compressed (method 8); only stored (method 0) entries");
  refuses("hostile_big_endian.bin", "entry 'archive/byteorder' says 'big'; only little-endian checkpoints can be read");
  refuses("hostile_missing_storage.bin", "byte 210: tensor 'w' uses storage '0', which the file does not contain");
  refuses("hostile_short_storage.bin", "byte 268: entry 'archive/data/0' holds 20 bytes, but 6 elements of torch.FloatStorage need 24");
  refuses("hostile_size_past_storage.bin",
          "byte 210: tensor 'w' with offset 0, size [3, 3] and stride [3, 1] reaches past its storage of 6 elements");
  refuses("hostile_stride_past_storage.bin",
          "byte 210: tensor 'w' with offset 0, size [2, 3] and stride [4, 1] reaches past its storage of 6 elements");
  refuses("hostile_offset_past_storage.bin",
          "byte 210: tensor 'w' with offset 1, size [2, 3] and stride [3, 1] reaches past its storage of 6 elements");
  refuses("hostile_expanded_view.bin",
          "byte 224: tensor 'w' needs 9223372036854775808 elements copied, more than the 1048588 left of twice what the file's "
          "storages hold (overlapping or expanded views)");
  refuses("hostile_two_data_pkl.bin", "archive holds both 'archive/data.pkl' and 'other/data.pkl'; expected one data.pkl");
}

TEST_CASE("torch_checkpoint: hostile bytes are refused with a message") {
  SUBCASE("unknown first bytes") {
    CHECK_THROWS_WITH_AS(read_bytes({std::byte{'G'}, std::byte{'I'}, std::byte{'F'}}, "x.gif"),
                         doctest::Contains("x.gif: byte 0: not a PyTorch checkpoint: expected 'PK\\3\\4'"), format_error);
  }
  SUBCASE("empty file") {
    CHECK_THROWS_WITH_AS(read_bytes({}), doctest::Contains("not a PyTorch checkpoint"), format_error);
  }
  SUBCASE("missing file") {
    CHECK_THROWS_WITH_AS(static_cast<void>(read_torch_checkpoint(torch_path("no_such.bin"))),
                         doctest::Contains("no_such.bin: cannot open"), format_error);
  }
  SUBCASE("truncated zip") {
    auto bytes = fixture("state_zip.bin");
    bytes.resize(bytes.size() - 30);
    CHECK_THROWS_WITH_AS(read_bytes(bytes), doctest::Contains("no end of central directory record"), format_error);
  }
  SUBCASE("truncated legacy file, inside the storages") {
    auto bytes = fixture("state_legacy.bin");
    bytes.resize(bytes.size() - 3);
    CHECK_THROWS_WITH_AS(read_bytes(bytes), doctest::Contains("truncated: storage '"), format_error);
  }
  SUBCASE("truncated legacy file, inside the state dict pickle") {
    auto bytes = fixture("state_legacy.bin");
    bytes.resize(find(bytes, "transposed"));
    CHECK_THROWS_WITH_AS(read_bytes(bytes), doctest::Contains("truncated pickle: BINUNICODE needs 10 bytes but 0 remain"),
                         format_error);
  }
  SUBCASE("legacy bad magic number") {
    auto bytes = fixture("state_legacy.bin");
    bytes[4] = std::byte{0};
    CHECK_THROWS_WITH_AS(read_bytes(bytes), doctest::Contains("byte 0: expected the legacy torch.save magic number"),
                         format_error);
  }
  SUBCASE("legacy wrong protocol version") {
    auto bytes = fixture("state_legacy.bin");
    bytes[18] = std::byte{0};  // BININT2 1001 at bytes 17-19 of the second pickle
    CHECK_THROWS_WITH_AS(read_bytes(bytes), doctest::Contains("byte 15: expected legacy protocol version 1001"),
                         format_error);
  }
  SUBCASE("legacy written big-endian") {
    auto bytes = fixture("state_legacy.bin");
    const std::size_t flag = find(bytes, "little_endian") + 15;  // past BINPUT
    REQUIRE(bytes[flag] == std::byte{0x88});
    bytes[flag] = std::byte{0x89};
    CHECK_THROWS_WITH_AS(read_bytes(bytes), doctest::Contains("written on a big-endian machine"), format_error);
  }
  SUBCASE("legacy element count disagreeing with the pickle") {
    auto bytes = fixture("state_legacy.bin");
    const std::size_t last_pickle_stop = find(bytes, "e.", find(bytes, "\x80\x02]")) + 2;
    bytes[last_pickle_stop] = std::byte{0x7f};
    CHECK_THROWS_WITH_AS(read_bytes(bytes), doctest::Contains("elements, but its tensors say"), format_error);
  }
  SUBCASE("legacy trailing bytes") {
    auto bytes = fixture("state_legacy.bin");
    bytes.push_back(std::byte{0});
    CHECK_THROWS_WITH_AS(read_bytes(bytes), doctest::Contains("1 unexpected bytes after the last storage"), format_error);
  }
  SUBCASE("a lone pickle") {
    const std::vector<std::byte> bytes = {std::byte{0x80}, std::byte{2}, std::byte{'N'}, std::byte{'.'}};
    CHECK_THROWS_WITH_AS(read_bytes(bytes), doctest::Contains("expected the legacy torch.save magic number"), format_error);
  }
}

}  // namespace io_torch_checkpoint_test
