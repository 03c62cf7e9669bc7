// libFuzzer harness for the restricted pickle VM alone: any bytes must either parse or throw
// dnabert::error; a crash, a sanitizer report or any other exception is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "dnabert/io/pickle.hpp"

namespace pickle = dnabert::io::pickle;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const pickle::document document =
        pickle::parse(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz.pkl");
    // Walk one level down, as the checkpoint reader does, through the typed accessors.
    std::size_t touched = 0;
    if (document.root.type == pickle::kind::dict)
      for (const auto& [key, item] : document.entries(document.root)) {
        if (key.type == pickle::kind::text) touched += document.text(key).size();
        if (item.type == pickle::kind::tensor) touched += document.tensor(item).sizes.size();
      }
    volatile std::size_t sink = touched;
    static_cast<void>(sink);
  } catch (const dnabert::error&) {
  }
  return 0;
}
