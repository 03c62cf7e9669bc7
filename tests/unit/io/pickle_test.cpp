// Tests of the restricted pickle VM: values from pickles Python wrote, and hostile pickles
// built byte by byte, each refused with its message.
#include "dnabert/io/pickle.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dnabert/io/mapped_file.hpp"
#include "test_paths.hpp"

namespace io_pickle_test {

namespace {

using dnabert::format_error;
namespace pickle = dnabert::io::pickle;
using namespace std::string_view_literals;

std::vector<std::byte> fixture(const std::string& name) {
  const auto file = dnabert::io::map_file(dnabert::test::data_path("torch/" + name));
  return {file->bytes().begin(), file->bytes().end()};
}

std::vector<std::byte> bytes_of(std::string_view text) {
  std::vector<std::byte> bytes(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) bytes[i] = static_cast<std::byte>(text[i]);
  return bytes;
}

pickle::document parse_text(std::string_view text, pickle::limits caps = {}) {
  return pickle::parse(bytes_of(text), "test.pkl", 0, caps);
}

const pickle::value& lookup(const pickle::document& document, std::string_view key) {
  const pickle::value* found = nullptr;
  for (const auto& [name, item] : document.entries(document.root))
    if (document.text(name) == key) found = &item;
  REQUIRE_MESSAGE(found != nullptr, "no key " << key);
  return *found;
}

}  // namespace

TEST_CASE("pickle: plain values written by Python's pickle, protocols 2 and 4") {
  for (const std::string name : {"values_protocol2.pkl", "values_protocol4.pkl"}) {
    CAPTURE(name);
    const auto bytes = fixture(name);
    const pickle::document document = pickle::parse(bytes, name);
    CHECK(document.end_offset == bytes.size());
    REQUIRE(document.root.type == pickle::kind::dict);
    CHECK(lookup(document, "negative").integer == -5);
    CHECK(lookup(document, "small").integer == 200);
    CHECK(lookup(document, "mid").integer == 1000);
    CHECK(lookup(document, "int32").integer == -100000);
    CHECK(lookup(document, "big").integer == -(std::int64_t{1} << 40));
    const auto& magic = lookup(document, "magic");
    REQUIRE(magic.type == pickle::kind::big_integer);
    CHECK(document.text(magic) == std::string("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10));
    CHECK(lookup(document, "real").real == 1.5);
    const auto flags = document.items(lookup(document, "flags"));
    REQUIRE(flags.size() == 3);
    CHECK((flags[0].type == pickle::kind::boolean && flags[0].integer == 1));
    CHECK((flags[1].type == pickle::kind::boolean && flags[1].integer == 0));
    CHECK(flags[2].type == pickle::kind::none);
    CHECK(document.text(lookup(document, "text")) == "ACGT\xc3\xa9");
    const auto tuple = document.items(lookup(document, "tuple"));
    REQUIRE(tuple.size() == 4);
    CHECK(tuple[3].integer == 4);
    // [shared, shared]: BINGET yields the same list, which APPEND filled after it was memoized.
    const auto shared = document.items(lookup(document, "shared"));
    REQUIRE(shared.size() == 2);
    CHECK(shared[0].index == shared[1].index);
    REQUIRE(document.items(shared[1]).size() == 1);
    CHECK(document.items(shared[1])[0].integer == 7);
  }
  const auto with_bytes = fixture("values_protocol4.pkl");
  const pickle::document document = pickle::parse(with_bytes, "values_protocol4.pkl");
  CHECK(document.text(lookup(document, "bytes")) == std::string("\0\1", 2));
}

TEST_CASE("pickle: consecutive pickles, each ending at its STOP") {
  const std::string two = std::string("\x80\x02K\x07.") + "\x80\x02M\xe9\x03.";
  const auto bytes = bytes_of(two);
  const auto first = pickle::parse(bytes, "two.pkl");
  CHECK(first.end_offset == 5);
  CHECK(first.root.integer == 7);
  const auto second = pickle::parse(std::span(bytes).subspan(5), "two.pkl", 5);
  CHECK(second.root.integer == 1001);
}

TEST_CASE("pickle: refuses every global outside the allow-list, before running anything") {
  const auto os_system = fixture("hostile_os_system.pkl");
  CHECK_THROWS_WITH_AS(static_cast<void>(pickle::parse(os_system, "hostile_os_system.pkl")),
                       doctest::Contains("hostile_os_system.pkl: byte 2: refusing pickle global 'os.system'"), format_error);
  CHECK_THROWS_WITH_AS(parse_text("\x80\x02" "cbuiltins\neval\nX\x01\x00\x00\x00" "1\x85R."sv),
                       doctest::Contains("refusing pickle global 'builtins.eval'"), format_error);
  CHECK_THROWS_WITH_AS(parse_text("\x80\x04\x8c\x05posix\x8c\x06system\x93."),
                       doctest::Contains("byte 17: refusing pickle global 'posix.system'"), format_error);
  const auto codecs = fixture("hostile_codecs_bytes.pkl");
  CHECK_THROWS_WITH_AS(static_cast<void>(pickle::parse(codecs, "hostile_codecs_bytes.pkl")),
                       doctest::Contains("refusing pickle global '_codecs.encode'"), format_error);
  CHECK_THROWS_WITH_AS(parse_text("\x80\x02" "ctorch\nFloatStorage\n)R."),
                       doctest::Contains("cannot call torch.FloatStorage with 0 arguments"), format_error);
}

TEST_CASE("pickle: hostile streams are refused with a message") {
  using namespace std::string_literals;
  SUBCASE("unknown opcode") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02\xff"), doctest::Contains("byte 2: unknown or unsupported pickle opcode 0xff"),
                         format_error);
  }
  SUBCASE("unsupported protocol") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x06N."), doctest::Contains("unsupported pickle protocol 6"), format_error);
  }
  SUBCASE("memo index out of range") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02Nq\x00h\x05."sv),
                         doctest::Contains("byte 5: memo index 5 out of range: it was never stored (memo holds 1 entries)"),
                         format_error);
  }
  SUBCASE("stack underflow") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02NR."), doctest::Contains("stack underflow: REDUCE needs 1 values, 0 available"),
                         format_error);
  }
  SUBCASE("stack underflow below a mark") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02N(\x85."), doctest::Contains("stack underflow: TUPLEn needs 1 values, 0 available"),
                         format_error);
  }
  SUBCASE("LONG1 longer than 16 bytes") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02\x8a\x11" + std::string(17, '\1') + "."),
                         doctest::Contains("LONG1 of 17 bytes exceeds the 16-byte cap"), format_error);
  }
  SUBCASE("no STOP") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02N"), doctest::Contains("byte 3: truncated pickle: an opcode needs 1 bytes but 0 remain (no STOP)"),
                         format_error);
  }
  SUBCASE("string longer than the bytes left") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02X\x05\x00\x00\x00" "ab"sv),
                         doctest::Contains("truncated pickle: BINUNICODE needs 5 bytes but 2 remain"), format_error);
  }
  SUBCASE("GLOBAL without its newline") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02" "ccollections"), doctest::Contains("truncated pickle: GLOBAL module"),
                         format_error);
  }
  SUBCASE("STOP leaving more than one value") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02NN."), doctest::Contains("STOP with 2 values and 0 marks"), format_error);
  }
  SUBCASE("SETITEM on a list") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02]NNs."), doctest::Contains("SETITEM on a list, expected a dict"), format_error);
  }
  SUBCASE("APPENDS without MARK") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02]e."), doctest::Contains("APPENDS without a MARK"), format_error);
  }
  SUBCASE("BUILD on a tuple") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02)N" "b."), doctest::Contains("BUILD on a tuple; only dicts may be built"),
                         format_error);
  }
  SUBCASE("persistent id that is not a tuple") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02NQ."), doctest::Contains("persistent id must be a tuple, found None"),
                         format_error);
  }
  SUBCASE("_rebuild_tensor_v2 with a negative size") {
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n"
                                    "(X\x01\x00\x00\x00s\x85QK\x00J\xff\xff\xff\xff\x85K\x01\x85\x89Nt" "R."sv),
                         doctest::Contains("tensor size holds the negative value -1"), format_error);
  }
  SUBCASE("opcode count cap, default 1,000,000") {
    std::string many;
    for (int i = 0; i < 1'000'001; ++i) many += "\x80\x02";
    CHECK_THROWS_WITH_AS(parse_text(many + "N."), doctest::Contains("byte 2000000: pickle runs more than 1000000 opcodes"),
                         format_error);
  }
  SUBCASE("size cap") {
    pickle::limits caps;
    caps.max_bytes = 1024;
    const std::string big = "\x80\x02X"s + std::string("\x00\x08\x00\x00", 4) + std::string(2048, 'a') + ".";
    CHECK_THROWS_WITH_AS(parse_text(big, caps), doctest::Contains("pickle is larger than the"), format_error);
  }
  SUBCASE("stack depth cap") {
    pickle::limits caps;
    caps.max_stack = 3;
    CHECK_THROWS_WITH_AS(parse_text("\x80\x02NNNN.", caps), doctest::Contains("pickle stack deeper than 3"), format_error);
  }
}

}  // namespace io_pickle_test
