#pragma once
// NumPy .npy v1.0 writer for float32 matrices (embeddings, attention scores), written
// atomically; numpy.load reads the result. The reader takes float32 matrices back (plots).

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/mapped_file.hpp"

namespace dnabert::io {

/// The .npy v1.0 header for a little-endian float32 C-order array of `shape`, padded so
/// the data starts on a 64-byte boundary.
inline std::string npy_header(const std::vector<std::uint64_t>& shape) {
  std::string dims;
  for (std::size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ',';  // Python's one-element tuple
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t unpadded = 10 + dict.size() + 1;  // magic(6) + version(2) + length(2) + dict + '\n'
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  if (dict.size() > 65535) throw error("npy header too long");
  std::string header = "\x93NUMPY";
  header += '\x01';
  header += '\x00';
  header += static_cast<char>(dict.size() & 0xff);
  header += static_cast<char>((dict.size() >> 8) & 0xff);
  return header + dict;
}

/// Writes `values` (row-major, product(shape) floats) as a float32 .npy file, atomically.
inline void write_npy(const std::string& path, const std::vector<std::uint64_t>& shape, std::span<const float> values) {
  std::uint64_t count = 1;
  for (const auto d : shape) count *= d;
  if (count != values.size())
    throw error("cannot write " + path + ": shape holds " + std::to_string(count) + " values but " +
                std::to_string(values.size()) + " were given");
  write_file_atomically(path, [&](atomic_file_writer& out) {
    out.write(npy_header(shape));
    out.write(std::string_view(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  });
}

/// Writes a float32 .npy matrix [rows, columns] a row at a time, atomically: rows stream to the
/// temporary file and the row count goes into the header at commit(), so memory holds no more
/// than the rows handed over. The file is byte for byte what write_npy writes.
class npy_matrix_writer {
 public:
  /// Starts `path` (put in place by commit()) for rows of `columns` floats.
  npy_matrix_writer(const std::string& path, std::uint64_t columns)
      : file_(path), columns_(columns), header_size_(npy_header({max_rows, columns}).size()) {
    file_.write(std::string(header_size_, ' '));  // the header's place; its row count is written last
  }

  /// Appends rows: a multiple of `columns` floats.
  void add_rows(std::span<const float> values) {
    if (columns_ == 0 ? !values.empty() : values.size() % columns_ != 0)
      throw error("cannot write " + file_.path() + ": " + std::to_string(values.size()) +
                  " values are not whole rows of " + std::to_string(columns_));
    file_.write(std::as_bytes(values));
    if (columns_ != 0) rows_ += values.size() / columns_;
  }

  /// Writes the header with the row count and puts the file in place.
  void commit() {
    const std::string header = npy_header({rows_, columns_});
    // Every 2-D header is 128 bytes: 70 to 108 before padding to 64, whatever the counts.
    if (header.size() != header_size_) throw error("cannot write " + file_.path() + ": the .npy header changed size");
    file_.write_at(0, header);
    file_.commit();
  }

  /// Rows written so far.
  [[nodiscard]] std::uint64_t rows() const noexcept { return rows_; }

 private:
  static constexpr std::uint64_t max_rows = ~std::uint64_t{0};

  atomic_file_writer file_;
  std::uint64_t columns_;
  std::size_t header_size_;
  std::uint64_t rows_ = 0;
};

/// A float32 matrix read from .npy: [rows, columns], row-major.
struct npy_matrix {
  std::uint64_t rows = 0;
  std::uint64_t columns = 0;
  std::vector<float> values;
};

namespace detail {

// The text after `'key':` (spaces skipped) in a .npy header dict, or empty when the key is absent.
inline std::string_view npy_field(std::string_view dict, std::string_view key) {
  std::string quoted(1, '\'');  // piecewise: g++ 12 warns falsely (-Wrestrict) on "literal" + std::string&&
  quoted += key;
  quoted += "':";
  const auto at = dict.find(quoted);
  if (at == std::string_view::npos) return {};
  auto value = dict.substr(at + quoted.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value;
}

// A decimal dimension at the start of `text`, consumed; throws when there is none or it is absurd.
inline std::uint64_t npy_dimension(std::string_view& text, const std::string& name) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  std::uint64_t value = 0;
  std::size_t digits = 0;
  for (; digits < text.size() && text[digits] >= '0' && text[digits] <= '9'; ++digits) {
    if (digits >= 15) throw format_error(name, "npy shape dimension too large");
    value = value * 10 + static_cast<std::uint64_t>(text[digits] - '0');
  }
  if (digits == 0) throw format_error(name, "npy shape: expected a dimension in '" + std::string(text.substr(0, 20)) + "'");
  text.remove_prefix(digits);
  return value;
}

}  // namespace detail

/// Reads a little-endian float32 C-order 2-D .npy (v1-v3, as numpy.save and write_npy write it)
/// from bytes in memory; `name` names it in errors.
inline npy_matrix read_npy_matrix(std::span<const std::byte> bytes, const std::string& name) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0)
    throw format_error(name, "not a .npy file (no \\x93NUMPY magic)");
  const unsigned version = data[6];
  if (version < 1 || version > 3) throw format_error(name, "unsupported .npy version " + std::to_string(version));
  const std::size_t length_bytes = version == 1 ? 2 : 4;
  if (bytes.size() < 8 + length_bytes) throw format_error(name, "truncated .npy header");
  std::uint64_t dict_size = 0;
  for (std::size_t i = length_bytes; i-- > 0;) dict_size = dict_size << 8 | data[8 + i];
  const std::uint64_t data_start = 8 + length_bytes + dict_size;
  if (data_start > bytes.size())
    throw format_error(name, "the .npy header says " + std::to_string(dict_size) + " bytes but the file has " +
                                 std::to_string(bytes.size()));
  const std::string_view dict(reinterpret_cast<const char*>(data) + 8 + length_bytes, dict_size);
  if (!detail::npy_field(dict, "descr").starts_with("'<f4'"))
    throw format_error(name, "expected float32 ('descr': '<f4') in the .npy header: " + std::string(dict.substr(0, 80)));
  if (!detail::npy_field(dict, "fortran_order").starts_with("False"))
    throw format_error(name, "expected C order ('fortran_order': False) in the .npy header");
  auto shape = detail::npy_field(dict, "shape");
  if (!shape.starts_with("("))
    throw format_error(name, "no 'shape' tuple in the .npy header: " + std::string(dict.substr(0, 80)));
  shape.remove_prefix(1);
  npy_matrix out;
  const auto not_a_matrix = [&] { return format_error(name, "expected a 2-D .npy array (rows, columns)"); };
  out.rows = detail::npy_dimension(shape, name);
  if (!shape.starts_with(",")) throw not_a_matrix();
  shape.remove_prefix(1);
  while (shape.starts_with(" ")) shape.remove_prefix(1);
  if (shape.starts_with(")")) throw not_a_matrix();  // (n,): a vector
  out.columns = detail::npy_dimension(shape, name);
  while (shape.starts_with(" ")) shape.remove_prefix(1);
  if (!shape.starts_with(")")) throw not_a_matrix();
  if (out.columns == 0 && out.rows > 0) throw format_error(name, "the .npy matrix has rows but no columns");
  const std::uint64_t payload = bytes.size() - data_start;
  if (out.columns != 0 && out.rows > payload / sizeof(float) / out.columns)
    throw format_error(name, "the .npy shape (" + std::to_string(out.rows) + ", " + std::to_string(out.columns) +
                                 ") needs more than the " + std::to_string(payload) + " data bytes");
  if (out.rows * out.columns * sizeof(float) != payload)
    throw format_error(name, "the .npy shape (" + std::to_string(out.rows) + ", " + std::to_string(out.columns) + ") needs " +
                                 std::to_string(out.rows * out.columns * sizeof(float)) + " data bytes but " +
                                 std::to_string(payload) + " follow the header");
  out.values.resize(out.rows * out.columns);
  if (!out.values.empty()) std::memcpy(out.values.data(), data + data_start, payload);
  return out;
}

/// Reads the float32 2-D .npy file at `path`.
inline npy_matrix read_npy_matrix(const std::string& path) { return read_npy_matrix(map_file(path)->bytes(), path); }

}  // namespace dnabert::io
