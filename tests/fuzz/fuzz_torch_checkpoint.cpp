// libFuzzer harness for the pytorch_model.bin reader (zip and legacy): any bytes must either
// parse or throw dnabert::error; a crash, a sanitizer report or any other exception is a bug.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dnabert/io/torch_checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An owned copy lets aligned F32 tensors take the in-place path, as they do from a memory map.
  const auto* first = reinterpret_cast<const std::byte*>(data);
  auto owner = std::make_shared<const std::vector<std::byte>>(first, first + size);
  try {
    std::vector<std::string> skipped;
    const auto tensors = dnabert::io::read_torch_checkpoint(*owner, "fuzz.bin", &skipped, owner);
    float sum = 0.0F;
    for (const auto& [name, tensor] : tensors)
      for (const float value : tensor.values) sum += value;  // touches every element the views claim
    volatile float sink = sum;
    static_cast<void>(sink);
  } catch (const dnabert::error&) {
  }
  return 0;
}
