#pragma once
// NumPy .npy v1.0 writer for float32 matrices (embeddings, attention scores), written
// atomically; numpy.load reads the result.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"

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

}  // namespace dnabert::io
