// Replays a committed fuzz corpus through a libFuzzer harness without libFuzzer, so every build
// (and CI's ASan/UBSan one) re-runs the inputs fuzzing found interesting. Usage: replay DIR...
// Fails when a folder holds no input: a replay of nothing would pass without checking anything.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " CORPUS_DIR...\n";
    return 2;
  }
  for (int a = 1; a < argc; ++a) {
    std::vector<std::filesystem::path> inputs;
    for (const auto& entry : std::filesystem::directory_iterator(argv[a]))
      if (entry.is_regular_file()) inputs.push_back(entry.path());
    std::sort(inputs.begin(), inputs.end());
    if (inputs.empty()) {
      std::cerr << argv[a] << ": no corpus inputs\n";
      return 1;
    }
    for (const auto& path : inputs) {
      std::ifstream in(path, std::ios::binary);
      const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.eof() && in.fail()) {
        std::cerr << path << ": cannot read\n";
        return 1;
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    std::cout << argv[a] << ": " << inputs.size() << " inputs replayed\n";
  }
  return 0;
}
