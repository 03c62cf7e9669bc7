// Tests of the stored-ZIP reader against archives written by torch.save and Python's zipfile,
// and against hostile archives patched byte by byte.
#include "dnabert/io/zip_archive.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "dnabert/io/mapped_file.hpp"
#include "test_paths.hpp"

namespace io_zip_archive_test {

namespace {

using dnabert::format_error;
using dnabert::io::zip_archive;

std::vector<std::byte> fixture(const std::string& name) {
  const auto file = dnabert::io::map_file(dnabert::test::data_path("torch/" + name));
  return {file->bytes().begin(), file->bytes().end()};
}

std::string as_string(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void patch_le(std::vector<std::byte>& bytes, std::size_t offset, std::uint64_t value, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) bytes[offset + i] = static_cast<std::byte>(value >> (8 * i));
}

// Offset of the last "PK\5\6" (the fixtures have no archive comment).
std::size_t end_record(const std::vector<std::byte>& bytes) { return bytes.size() - 22; }

std::size_t find(const std::vector<std::byte>& bytes, std::string_view needle) {
  const std::string haystack = as_string(bytes);
  const auto found = haystack.find(needle);
  REQUIRE(found != std::string::npos);
  return found;
}

}  // namespace

TEST_CASE("zip_archive: lists and reads the entries torch.save writes") {
  const auto bytes = fixture("state_zip.bin");
  const zip_archive archive(bytes, "state_zip.bin");
  std::vector<std::string> names;
  for (const auto& entry : archive.entries()) names.push_back(entry.name);
  CHECK(names.front() == "state_zip/data.pkl");
  CHECK(std::find(names.begin(), names.end(), "state_zip/data/8") != names.end());
  CHECK(as_string(archive.read(*archive.find("state_zip/byteorder"))) == "little");
  CHECK(as_string(archive.read(*archive.find("state_zip/data.pkl"))).starts_with("\x80\x02"));
  CHECK(archive.find("state_zip/nothing") == nullptr);

  // data/0 holds the tied embedding, i * 0.25 - 1 as little-endian f32; torch aligns it to 64.
  const auto storage = archive.read(*archive.find("state_zip/data/0"));
  REQUIRE(storage.size() == 12 * sizeof(float));
  CHECK((storage.data() - bytes.data()) % 64 == 0);
  for (std::size_t i = 0; i < 12; ++i) {
    float value = 0;
    std::memcpy(&value, storage.data() + 4 * i, 4);
    CHECK(value == static_cast<float>(i) * 0.25F - 1.0F);
  }
}

TEST_CASE("zip_archive: ZIP64 records and extra fields give the same entries") {
  const auto plain_bytes = fixture("state_zip.bin");
  const auto zip64_bytes = fixture("state_zip64.bin");
  const zip_archive plain(plain_bytes, "state_zip.bin");
  const zip_archive zip64(zip64_bytes, "state_zip64.bin");
  const std::size_t central = find(zip64_bytes, "PK\x01\x02");
  CHECK(std::to_integer<int>(zip64_bytes[central + 20]) == 0xff);  // sizes escaped to the ZIP64 extra field
  REQUIRE(plain.entries().size() == zip64.entries().size());
  for (const auto& entry : plain.entries()) {
    const auto* twin = zip64.find(entry.name);
    REQUIRE(twin != nullptr);
    CHECK(as_string(zip64.read(*twin)) == as_string(plain.read(entry)));
  }
}

TEST_CASE("zip_archive: hostile archives are refused with a message") {
  SUBCASE("too short for an end record") {
    const std::vector<std::byte> bytes(10, std::byte{0});
    CHECK_THROWS_WITH_AS(zip_archive(bytes, "tiny.zip"), doctest::Contains("tiny.zip: truncated archive: 10 bytes"),
                         format_error);
  }
  SUBCASE("truncated: the end record is cut off") {
    auto bytes = fixture("state_zip.bin");
    bytes.resize(bytes.size() / 2);
    CHECK_THROWS_WITH_AS(zip_archive(bytes, "half.zip"), doctest::Contains("no end of central directory record"),
                         format_error);
  }
  SUBCASE("central directory past the end") {
    auto bytes = fixture("state_zip.bin");
    patch_le(bytes, find(bytes, "PK\x06\x06") + 48, bytes.size(), 8);  // torch always writes ZIP64 end records
    CHECK_THROWS_WITH_AS(zip_archive(bytes, "cd.zip"), doctest::Contains("truncated archive: central directory needs"),
                         format_error);
  }
  SUBCASE("no ZIP64 record: the classic end record is used") {
    auto bytes = fixture("hostile_deflated.bin");  // written by Python's zipfile
    patch_le(bytes, end_record(bytes) + 10, 0xffff, 2);
    CHECK_THROWS_WITH_AS(zip_archive(bytes, "classic.zip"), doctest::Contains("cannot hold 65535 entries"), format_error);
  }
  SUBCASE("more entries than the central directory can hold") {
    auto bytes = fixture("state_zip.bin");
    patch_le(bytes, find(bytes, "PK\x06\x06") + 32, 0xffff, 8);
    CHECK_THROWS_WITH_AS(zip_archive(bytes, "count.zip"), doctest::Contains("cannot hold 65535 entries"), format_error);
  }
  SUBCASE("ZIP64 entry count above the cap") {
    auto bytes = fixture("state_zip64.bin");
    patch_le(bytes, find(bytes, "PK\x06\x06") + 32, 2'000'000, 8);
    CHECK_THROWS_WITH_AS(zip_archive(bytes, "many.zip"), doctest::Contains("2000000 entries, more than the cap of 1000000"),
                         format_error);
  }
  SUBCASE("ZIP64 locator pointing past itself") {
    auto bytes = fixture("state_zip64.bin");
    patch_le(bytes, find(bytes, "PK\x06\x07") + 8, bytes.size() - 60, 8);
    CHECK_THROWS_WITH_AS(zip_archive(bytes, "loc.zip"), doctest::Contains("ZIP64 locator points past itself"),
                         format_error);
  }
  SUBCASE("ZIP64 extra field missing a value the entry escapes") {
    auto bytes = fixture("state_zip64.bin");
    const std::size_t central = find(bytes, "PK\x01\x02");
    patch_le(bytes, central + 42, 0xffffffff, 4);  // data.pkl's offset now "in the extra field", which lacks it
    CHECK_THROWS_WITH_AS(zip_archive(bytes, "extra.zip"), doctest::Contains("needs 3 ZIP64 extra values but its extra field gives 2"),
                         format_error);
  }
  SUBCASE("bad central directory signature") {
    auto bytes = fixture("state_zip.bin");
    bytes[find(bytes, "PK\x01\x02") + 2] = std::byte{9};
    CHECK_THROWS_WITH_AS(zip_archive(bytes, "sig.zip"), doctest::Contains("expected the central directory signature"),
                         format_error);
  }
  SUBCASE("name running past the central directory") {
    auto bytes = fixture("state_zip.bin");
    patch_le(bytes, find(bytes, "PK\x01\x02") + 28, 0xffff, 2);
    CHECK_THROWS_WITH_AS(zip_archive(bytes, "name.zip"), doctest::Contains("run past its end"), format_error);
  }
  SUBCASE("local header offset past the end") {
    auto bytes = fixture("state_zip.bin");
    patch_le(bytes, find(bytes, "PK\x01\x02") + 42, bytes.size() - 10, 4);
    const zip_archive archive(bytes, "local.zip");
    CHECK_THROWS_WITH_AS(static_cast<void>(archive.read(archive.entries().front())),
                         doctest::Contains("truncated archive: local header of entry 'state_zip/data.pkl' needs 30 bytes"),
                         format_error);
  }
  SUBCASE("local header naming another file") {
    auto bytes = fixture("state_zip.bin");
    bytes[30] = std::byte{'X'};  // first local header's name starts at byte 30
    const zip_archive archive(bytes, "renamed.zip");
    CHECK_THROWS_WITH_AS(static_cast<void>(archive.read(archive.entries().front())),
                         doctest::Contains("local header names a different file"), format_error);
  }
  SUBCASE("entry data past the end") {
    auto bytes = fixture("state_zip.bin");
    const std::size_t central = find(bytes, "PK\x01\x02");
    patch_le(bytes, central + 20, 0x7fffffff, 4);
    patch_le(bytes, central + 24, 0x7fffffff, 4);
    const zip_archive archive(bytes, "long.zip");
    CHECK_THROWS_WITH_AS(static_cast<void>(archive.read(archive.entries().front())),
                         doctest::Contains("truncated archive: data of entry 'state_zip/data.pkl' needs 2147483647 bytes"),
                         format_error);
  }
  SUBCASE("duplicate entry names") {
    auto bytes = fixture("state_zip.bin");
    const std::size_t second = find(bytes, "state_zip/.format_version");
    const std::size_t second_central = as_string(bytes).find("state_zip/.format_version", second + 1);
    std::memcpy(bytes.data() + second_central, "state_zip/data.pkl\0\0\0\0\0\0\0", 25);
    patch_le(bytes, second_central - 46 + 28, 18, 2);
    // The renamed entry's name is now 18 bytes; the freed 7 bytes become its (empty-id) extra field.
    patch_le(bytes, second_central - 46 + 30, 7, 2);
    CHECK_THROWS_WITH_AS(zip_archive(bytes, "dup.zip"), doctest::Contains("duplicate entry name 'state_zip/data.pkl'"),
                         format_error);
  }
  SUBCASE("deflated entry") {
    const auto bytes = fixture("hostile_deflated.bin");
    const zip_archive archive(bytes, "hostile_deflated.bin");
    CHECK_THROWS_WITH_AS(static_cast<void>(archive.read(*archive.find("archive/data/0"))),
                         doctest::Contains("entry 'archive/data/0' is compressed (method 8)"), format_error);
  }
}

}  // namespace io_zip_archive_test
