// The .npy reader: files numpy wrote (tests/reference/make_npy_fixtures.py) read back exactly,
// float64 ones (DNABERT's atten.npy) rounded to float32, round trips through write_npy and the
// streamed writers, and hostile headers rejected with what is wrong.
#include "dnabert/io/npy.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "dnabert/core/error.hpp"
#include "test_paths.hpp"

namespace io_npy_test {

namespace {

namespace io = dnabert::io;

// .npy bytes with the given header dict and `data_bytes` zero bytes of data.
std::string npy_bytes(const std::string& dict, std::size_t data_bytes) {
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict + std::string(data_bytes, '\0');
}

io::npy_matrix parse(const std::string& bytes) {
  return io::read_npy_matrix(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())), "mem.npy");
}

}  // namespace

TEST_CASE("npy: reads what numpy wrote, format versions 1 and 2") {
  for (const char* name : {"npy/matrix_2x3.npy", "npy/matrix_2x3_v2.npy"}) {
    const auto matrix = io::read_npy_matrix(dnabert::test::data_path(name));
    CHECK(matrix.rows == 2);
    CHECK(matrix.columns == 3);
    REQUIRE(matrix.values.size() == 6);
    CHECK(matrix.values[0] == 0.5f);
    CHECK(matrix.values[1] == -1.25f);
    CHECK(std::isnan(matrix.values[2]));
    CHECK(matrix.values[3] == 3.0f);
    CHECK(matrix.values[4] == 1e-7f);
    CHECK(matrix.values[5] == 65504.0f);
  }
  const auto empty = io::read_npy_matrix(dnabert::test::data_path("npy/empty_0x5.npy"));
  CHECK(empty.rows == 0);
  CHECK(empty.columns == 5);
  CHECK(empty.values.empty());
}

TEST_CASE("npy: write_npy round trip") {
  const auto path = (dnabert::test::scratch_dir("npy_round_trip") / "m.npy").string();
  const std::vector<float> values{1, 2, 3, 4, 5, 6, 7, 8};
  io::write_npy(path, {4, 2}, values);
  const auto matrix = io::read_npy_matrix(path);
  CHECK(matrix.rows == 4);
  CHECK(matrix.columns == 2);
  CHECK(matrix.values == values);
}

TEST_CASE("npy: float64, as numpy saves by default (DNABERT's atten.npy), reads as float32") {
  const auto matrix = io::read_npy_matrix(dnabert::test::data_path("npy/float64_2x3.npy"));
  CHECK(matrix.rows == 2);
  CHECK(matrix.columns == 3);
  REQUIRE(matrix.values.size() == 6);
  CHECK(matrix.values[0] == 0.5f);
  CHECK(matrix.values[1] == -1.25f);
  CHECK(std::isnan(matrix.values[2]));
  CHECK(matrix.values[4] == 1e-7f);
  CHECK(matrix.values[5] == 65504.0f);
  // Built from the format's documented bytes: doubles rounded to nearest, infinities kept.
  std::string bytes = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }\n", 0);
  for (const double value : {0.1, -double(INFINITY), 3.0}) bytes.append(reinterpret_cast<const char*>(&value), sizeof value);
  const auto built = parse(bytes);
  REQUIRE(built.values.size() == 3);
  CHECK(built.values[0] == 0.1f);
  CHECK(built.values[1] == -INFINITY);
  CHECK(built.values[2] == 3.0f);
}

TEST_CASE("npy: other types, orders and ranks are rejected naming the file") {
  const std::string f8 = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }\n";
  CHECK_THROWS_WITH_AS((void)parse(npy_bytes(f8, 24)), "mem.npy: the .npy shape (2, 3) needs more than the 24 data bytes",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse(npy_bytes(f8, 52)), "mem.npy: the .npy shape (2, 3) needs 48 data bytes but 52 follow the header",
                       dnabert::format_error);
  std::string huge = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }\n", 0);
  for (const double value : {1.0, -1e300}) huge.append(reinterpret_cast<const char*>(&value), sizeof value);
  CHECK_THROWS_WITH_AS((void)parse(huge), "mem.npy: float64 value -1e+300 at row 0, column 1 is beyond the float32 range",
                       dnabert::format_error);
  for (const char* descr : {"'>f8'", "'<i4'", "'<f2'", "'|u1'"}) {
    CAPTURE(descr);
    const std::string dict = std::string("{'descr': ") + descr + ", 'fortran_order': False, 'shape': (2, 3), }\n";
    CHECK_THROWS_WITH_AS((void)parse(npy_bytes(dict, 48)),
                         doctest::Contains("mem.npy: expected float32 or float64 ('descr': '<f4' or '<f8')"), dnabert::format_error);
  }
  CHECK_THROWS_WITH_AS((void)io::read_npy_matrix(dnabert::test::data_path("npy/fortran_2x3.npy")),
                       doctest::Contains("expected C order ('fortran_order': False)"), dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)io::read_npy_matrix(dnabert::test::data_path("npy/vector_3.npy")),
                       doctest::Contains("expected a 2-D .npy array (rows, columns)"), dnabert::format_error);
}

TEST_CASE("npy: hostile bytes throw, never read past the end") {
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
  CHECK(parse(npy_bytes(good, 24)).values.size() == 6);
  CHECK_THROWS_WITH_AS((void)parse("PK\x03\x04 not numpy"), "mem.npy: not a .npy file (no \\x93NUMPY magic)",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse(npy_bytes(good, 23)),
                       "mem.npy: the .npy shape (2, 3) needs more than the 23 data bytes", dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse(npy_bytes(good, 28)),
                       "mem.npy: the .npy shape (2, 3) needs 24 data bytes but 28 follow the header", dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)parse(npy_bytes(good, 0).substr(0, 40)),
                       doctest::Contains("mem.npy: the .npy header says"), dnabert::format_error);
  const std::string huge = "{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999999, 999999999999999), }\n";
  CHECK_THROWS_AS((void)parse(npy_bytes(huge, 8)), dnabert::format_error);
  const std::string absurd = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 1), }\n";
  CHECK_THROWS_WITH_AS((void)parse(npy_bytes(absurd, 8)), "mem.npy: npy shape dimension too large", dnabert::format_error);
  const std::string no_columns = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 0), }\n";
  CHECK_THROWS_WITH_AS((void)parse(npy_bytes(no_columns, 0)), "mem.npy: the .npy matrix has rows but no columns",
                       dnabert::format_error);
  CHECK_THROWS_AS((void)parse(npy_bytes("{'descr': '<f4', 'fortran_order': False}\n", 0)), dnabert::format_error);
  CHECK_THROWS_AS((void)parse(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (a, 2), }\n", 0)),
                  dnabert::format_error);
  std::string version9 = npy_bytes(good, 24);
  version9[6] = '\x09';
  CHECK_THROWS_WITH_AS((void)parse(version9), "mem.npy: unsupported .npy version 9", dnabert::format_error);
}

TEST_CASE("npy: a matrix written a few rows at a time is the file write_npy writes") {
  const auto dir = dnabert::test::scratch_dir("npy_rows");
  const std::vector<float> values{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  io::write_npy((dir / "whole.npy").string(), {6, 2}, values);
  {
    io::npy_matrix_writer rows((dir / "rows.npy").string(), 2);
    rows.add_rows(std::span<const float>(values).first(2));
    rows.add_rows(std::span<const float>(values).subspan(2, 6));
    CHECK_FALSE(std::filesystem::exists(dir / "rows.npy"));  // nothing in place before commit
    rows.add_rows(std::span<const float>(values).subspan(8));
    CHECK(rows.rows() == 6);
    CHECK_THROWS_WITH_AS(rows.add_rows(std::span<const float>(values).first(3)),
                         doctest::Contains("3 values are not whole rows of 2"), dnabert::error);
    rows.commit();
  }
  std::ifstream whole(dir / "whole.npy", std::ios::binary), streamed(dir / "rows.npy", std::ios::binary);
  const std::string a{std::istreambuf_iterator<char>(whole), {}}, b{std::istreambuf_iterator<char>(streamed), {}};
  CHECK(a.size() == 128 + values.size() * sizeof(float));
  CHECK(a == b);
  // Uncommitted: no file, no temporary left beside it.
  { io::npy_matrix_writer abandoned((dir / "abandoned.npy").string(), 2); }
  CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 2);
}

TEST_CASE("npy: rows of different lengths padded with NaN to the longest, in 2-D and 3-D") {
  const auto dir = dnabert::test::scratch_dir("npy_ragged");
  const std::string scores = (dir / "scores.npy").string();
  {
    io::npy_ragged_writer rows(scores, dir.string());
    rows.add(std::vector<float>{1, 2});
    rows.add(std::vector<float>{3, 4, 5});
    rows.add(std::vector<float>{});
    CHECK_FALSE(std::filesystem::exists(scores));
    rows.commit();
  }
  const auto matrix = io::read_npy_matrix(scores);
  CHECK(matrix.rows == 3);
  CHECK(matrix.columns == 3);
  REQUIRE(matrix.values.size() == 9);
  CHECK(matrix.values[1] == 2);
  CHECK(std::isnan(matrix.values[2]));
  CHECK(matrix.values[5] == 5);
  CHECK(std::isnan(matrix.values[6]));
  // [N, L_max, 2]: two rows of 2 and 1 items of 2 floats.
  const std::string tokens = (dir / "tokens.npy").string();
  {
    io::npy_ragged_writer rows(tokens, dir.string(), {2});
    rows.add(std::vector<float>{1, 2, 3, 4});
    CHECK_THROWS_WITH_AS(rows.add(std::vector<float>{1, 2, 3}), doctest::Contains("3 values are not whole items of 2"), dnabert::error);
    rows.add(std::vector<float>{5, 6});
    rows.commit();
  }
  std::ifstream in(tokens, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), {}};
  const std::string header = io::npy_header({2, 2, 2});
  REQUIRE(bytes.size() == header.size() + 8 * sizeof(float));
  CHECK(bytes.substr(0, header.size()) == header);
  CHECK(header.find("'shape': (2, 2, 2)") != std::string::npos);
  std::vector<float> values(8);
  std::memcpy(values.data(), bytes.data() + header.size(), bytes.size() - header.size());
  CHECK(values[4] == 5);
  CHECK(values[5] == 6);
  CHECK(std::isnan(values[6]));
  CHECK(std::isnan(values[7]));
  CHECK(io::npy_side_path(tokens, ".tokens.tsv") == (dir / "tokens.tokens.tsv").string());
}

}  // namespace io_npy_test
