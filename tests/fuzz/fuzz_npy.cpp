// libFuzzer harness for the .npy reader: any bytes must either give a float32 matrix whose values
// fill its shape exactly or throw dnabert::error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dnabert/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto matrix = dnabert::io::read_npy_matrix(std::as_bytes(std::span(data, size)), "fuzz.npy");
    if (matrix.values.size() != matrix.rows * matrix.columns || matrix.values.size() * sizeof(float) > size) std::abort();
  } catch (const dnabert::error&) {
  }
  return 0;
}
