// libFuzzer harness for MEME motif files: any bytes must either be refused with dnabert::error or
// give motifs the writer accepts, and writing them and reading them back must give the same motifs.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dnabert/io/meme.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dnabert::io::meme_file file;
  try {
    file = dnabert::io::parse_meme(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.meme");
  } catch (const dnabert::error&) {
    return 0;
  }
  for (const auto& motif : file.motifs)
    if (motif.probabilities.empty() || motif.probabilities.size() > dnabert::io::max_meme_width) std::abort();
  // Whatever was read can be written (names, rows summing to 1, no negative or non-finite value) ...
  const auto text = dnabert::io::meme_text(file.motifs, file.background);
  // ... and reads back as the same motifs, up to the 6 decimals the writer prints.
  const auto again = dnabert::io::parse_meme(text, "fuzz-again.meme");
  if (again.motifs.size() != file.motifs.size()) std::abort();
  for (std::size_t m = 0; m < file.motifs.size(); ++m) {
    const auto& a = file.motifs[m];
    const auto& b = again.motifs[m];
    if (a.name != b.name || a.alternate_name != b.alternate_name || a.sites != b.sites ||
        a.probabilities.size() != b.probabilities.size())
      std::abort();
    for (std::size_t row = 0; row < a.probabilities.size(); ++row)
      for (std::size_t base = 0; base < 4; ++base)
        if (std::abs(a.probabilities[row][base] - b.probabilities[row][base]) > 1e-5) std::abort();
  }
  return 0;
}
