// libFuzzer harness for the safetensors reader: any bytes must either parse or throw
// dnabert::error; a crash, a sanitizer report or any other exception is a bug.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dnabert/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An owned copy lets aligned F32 tensors take the zero-copy path, as they do from a memory map.
  const auto* first = reinterpret_cast<const std::byte*>(data);
  auto owner = std::make_shared<const std::vector<std::byte>>(first, first + size);
  try {
    const auto contents = dnabert::io::parse_safetensors(*owner, "fuzz.safetensors", owner);
    float sum = 0.0f;
    for (const auto& [name, tensor] : contents.tensors) {
      for (const float value : tensor.values) sum += value;  // touches every byte the views claim
    }
    volatile float sink = sum;
    (void)sink;
  } catch (const dnabert::error&) {
  }
  return 0;
}
