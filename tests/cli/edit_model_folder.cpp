// Test helper: copies a model folder (config.json, vocab.txt, model.safetensors) and changes what it
// holds, as checkpoints dnabert meets would: tensors it does not use added (a DNABERT-XL's rnn.*, a
// classifier next to a masked-LM head; values 0.01 apart, nothing special), a head dropped (an
// encoder-only folder), no vocab.txt, or a config.json entry changed. The CLI tests make such
// folders at run time rather than committing them.
//   edit_model_folder FROM TO [--no-vocab] [--drop PREFIX]... [--set KEY=JSON]... [NAME:D0xD1...]...
// exit 0: written, 1: failed
#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnabert/io/safetensors.hpp"

namespace {

// "rnn.weight_ih_l0:128x32" -> name and shape.
std::pair<std::string, std::vector<std::int64_t>> parse_tensor(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) throw std::runtime_error("expected NAME:D0xD1..., found '" + text + "'");
  std::vector<std::int64_t> shape;
  for (std::size_t at = colon + 1; at <= text.size();) {
    const auto end = std::min(text.find('x', at), text.size());
    shape.push_back(std::stoll(text.substr(at, end - at)));
    at = end + 1;
  }
  return {text.substr(0, colon), shape};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 4)
      throw std::runtime_error("usage: edit_model_folder FROM TO [--no-vocab] [--drop PREFIX]... [--set KEY=JSON]... "
                               "[NAME:D0xD1...]...");
    namespace fs = std::filesystem;
    const fs::path from = argv[1], to = argv[2];
    fs::remove_all(to);
    fs::copy(from, to, fs::copy_options::recursive);
    const std::string weights = (to / "model.safetensors").string();
    // Views of the mapped file stay valid: the new one is written beside it and renamed over it.
    const auto contents = dnabert::io::read_safetensors(weights);
    auto tensors = contents.tensors;
    for (int i = 3; i < argc; ++i) {
      const std::string argument = argv[i];
      if (argument == "--no-vocab") {
        fs::remove(to / "vocab.txt");
        continue;
      }
      if (argument == "--drop" && i + 1 < argc) {
        const std::string prefix = argv[++i];
        std::erase_if(tensors, [&](const auto& entry) { return entry.first.starts_with(prefix); });
        continue;
      }
      if (argument == "--set" && i + 1 < argc) {
        const std::string assignment = argv[++i];
        const auto equals = assignment.find('=');
        if (equals == std::string::npos) throw std::runtime_error("expected KEY=JSON after --set, found '" + assignment + "'");
        const fs::path config = to / "config.json";
        std::ifstream in(config);
        auto document = nlohmann::json::parse(in);
        document[assignment.substr(0, equals)] = nlohmann::json::parse(assignment.substr(equals + 1));
        std::ofstream(config) << document.dump(2) << '\n';
        continue;
      }
      const auto [name, shape] = parse_tensor(argument);
      std::int64_t count = 1;
      for (const auto d : shape) count *= d;
      std::vector<float> values(static_cast<std::size_t>(count));
      for (std::size_t v = 0; v < values.size(); ++v) values[v] = 0.01F * static_cast<float>(v % 17) - 0.08F;
      tensors.insert_or_assign(name, dnabert::io::make_owned_tensor(shape, std::move(values)));
    }
    dnabert::io::write_safetensors(weights, tensors, contents.metadata);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "edit_model_folder: " << e.what() << '\n';
    return 1;
  }
}
