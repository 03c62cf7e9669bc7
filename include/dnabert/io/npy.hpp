#pragma once
// NumPy .npy v1.0 writer for float32 arrays (embeddings, attention scores), written atomically;
// numpy.load reads the result. The reader takes float32 or float64 matrices back (plots, motifs:
// DNABERT's own atten.npy is float64).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/mapped_file.hpp"
#include "dnabert/io/spill_file.hpp"

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

/// A file beside `npy_path` named by `suffix`: OUT.npy → OUT`suffix` (e.g. ".ids.txt").
inline std::string npy_side_path(const std::string& npy_path, std::string_view suffix) {
  std::string stem = npy_path;
  if (stem.size() > 4 && stem.ends_with(".npy")) stem.resize(stem.size() - 4);
  return stem.append(suffix);
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

/// Writes a float32 .npy array [rows, row_shape...] a row at a time, atomically: rows stream to
/// the temporary file and the row count goes into the header at commit(), so memory holds no more
/// than the rows handed over. The file is byte for byte what write_npy writes.
class npy_matrix_writer {
 public:
  /// Starts `path` (put in place by commit()) for a matrix: rows of `columns` floats.
  npy_matrix_writer(const std::string& path, std::uint64_t columns) : npy_matrix_writer(path, std::vector{columns}) {}

  /// Starts `path` for rows of shape `row_shape` (e.g. {tokens, hidden}: a 3-D file).
  npy_matrix_writer(const std::string& path, std::vector<std::uint64_t> row_shape)
      : file_(path), row_shape_(std::move(row_shape)), header_size_(header(max_rows).size()) {
    for (const auto d : row_shape_) row_size_ *= d;
    file_.write(std::string(header_size_, ' '));  // the header's place; its row count is written last
  }

  /// Appends rows: a multiple of the row size (product of row_shape) floats.
  void add_rows(std::span<const float> values) {
    if (row_size_ == 0 ? !values.empty() : values.size() % row_size_ != 0)
      throw error("cannot write " + file_.path() + ": " + std::to_string(values.size()) +
                  " values are not whole rows of " + std::to_string(row_size_));
    file_.write(std::as_bytes(values));
    if (row_size_ != 0) rows_ += values.size() / row_size_;
  }

  /// Writes the header with the row count and puts the file in place.
  void commit() {
    const std::string final_header = header(rows_);
    // Every 2-D or 3-D header is 128 bytes: 70 to 113 before padding to 64, whatever the counts.
    if (final_header.size() != header_size_) throw error("cannot write " + file_.path() + ": the .npy header changed size");
    file_.write_at(0, final_header);
    file_.commit();
  }

  /// Rows written so far.
  [[nodiscard]] std::uint64_t rows() const noexcept { return rows_; }

 private:
  static constexpr std::uint64_t max_rows = ~std::uint64_t{0};

  [[nodiscard]] std::string header(std::uint64_t rows) const {
    std::vector<std::uint64_t> shape{rows};
    shape.insert(shape.end(), row_shape_.begin(), row_shape_.end());
    return npy_header(shape);
  }

  atomic_file_writer file_;
  std::vector<std::uint64_t> row_shape_;
  std::uint64_t row_size_ = 1;
  std::size_t header_size_;
  std::uint64_t rows_ = 0;
};

/// Writes rows of different lengths as one float32 .npy [N, L_max, item_shape...], NaN past each
/// row's own length (L_max, the longest row's, is known only at the end): rows wait in a scratch
/// file until commit(). A row is a whole number of items (product of item_shape floats each).
class npy_ragged_writer {
 public:
  /// Starts `path` (put in place by commit()); the scratch file goes to `scratch_directory`.
  npy_ragged_writer(std::string path, const std::string& scratch_directory, std::vector<std::uint64_t> item_shape = {})
      : path_(std::move(path)), item_shape_(std::move(item_shape)), rows_(scratch_directory) {
    for (const auto d : item_shape_) item_size_ *= d;
    if (item_size_ == 0) throw error("cannot write " + path_ + ": items of no values");
  }

  /// Adds the next row: `values.size() / item size` items.
  void add(std::span<const float> values) {
    if (values.size() % item_size_ != 0)
      throw error("cannot write " + path_ + ": " + std::to_string(values.size()) + " values are not whole items of " +
                  std::to_string(item_size_));
    rows_.write(values);
    length_ = std::max<std::uint64_t>(length_, values.size() / item_size_);
  }

  /// Writes the array and puts it in place.
  void commit() {
    std::vector<std::uint64_t> row_shape{length_};
    row_shape.insert(row_shape.end(), item_shape_.begin(), item_shape_.end());
    npy_matrix_writer array(path_, row_shape);
    std::vector<float> row;
    while (rows_.read(row)) {
      row.resize(length_ * item_size_, std::numeric_limits<float>::quiet_NaN());
      array.add_rows(row);
    }
    array.commit();
  }

 private:
  std::string path_;
  std::vector<std::uint64_t> item_shape_;
  std::uint64_t item_size_ = 1;
  spill_file rows_;
  std::uint64_t length_ = 0;
};

/// A matrix read from .npy as float32: [rows, columns], row-major.
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

/// Reads a little-endian float32 or float64 C-order 2-D .npy (v1-v3, as numpy.save and write_npy
/// write it) from bytes in memory, float64 rounded to float32 (DNABERT saves its attention scores
/// as float64); `name` names it in errors.
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
  const auto descr = detail::npy_field(dict, "descr");
  const bool doubles = descr.starts_with("'<f8'");
  if (!doubles && !descr.starts_with("'<f4'"))
    throw format_error(name, "expected float32 or float64 ('descr': '<f4' or '<f8') in the .npy header: " +
                                 std::string(dict.substr(0, 80)));
  const std::uint64_t value_size = doubles ? sizeof(double) : sizeof(float);
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
  if (out.columns != 0 && out.rows > payload / value_size / out.columns)
    throw format_error(name, "the .npy shape (" + std::to_string(out.rows) + ", " + std::to_string(out.columns) +
                                 ") needs more than the " + std::to_string(payload) + " data bytes");
  if (out.rows * out.columns * value_size != payload)
    throw format_error(name, "the .npy shape (" + std::to_string(out.rows) + ", " + std::to_string(out.columns) + ") needs " +
                                 std::to_string(out.rows * out.columns * value_size) + " data bytes but " +
                                 std::to_string(payload) + " follow the header");
  out.values.resize(out.rows * out.columns);
  if (!doubles) {
    if (!out.values.empty()) std::memcpy(out.values.data(), data + data_start, payload);
    return out;
  }
  for (std::size_t i = 0; i < out.values.size(); ++i) {
    double value = 0;
    std::memcpy(&value, data + data_start + i * sizeof value, sizeof value);
    // NaN and infinities pass (NaN tails); a finite value float32 cannot hold would become one.
    if (std::isfinite(value) && std::abs(value) > std::numeric_limits<float>::max())
      throw format_error(name, "float64 value " + (std::ostringstream() << value).str() + " at row " + std::to_string(i / out.columns) +
                                   ", column " + std::to_string(i % out.columns) + " is beyond the float32 range");
    out.values[i] = static_cast<float>(value);
  }
  return out;
}

/// Reads the float32 2-D .npy file at `path`.
inline npy_matrix read_npy_matrix(const std::string& path) { return read_npy_matrix(map_file(path)->bytes(), path); }

}  // namespace dnabert::io
