#pragma once
// `--device cpu|cuda[:N]`: which backend a command's model runs on. CUDA is there when the
// program was built with the dnabert::cuda component (DNABERT_CLI_WITH_CUDA).

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "dnabert/core/error.hpp"
#include "dnabert/model/classifier.hpp"
#ifdef DNABERT_CLI_WITH_CUDA
#include "dnabert/backend/cuda_ops.hpp"
#endif

namespace dnabert::cli {

/// A parsed --device value.
struct device_choice {
  bool cuda = false;
  int index = 0;
};

/// Parses "cpu", "cuda" or "cuda:N"; throws input_error naming the value otherwise.
inline device_choice parse_device(const std::string& text) {
  if (text == "cpu") return {};
  if (text == "cuda") return {true, 0};
  if (text.starts_with("cuda:") && text.size() > 5 && text.size() <= 8 &&
      text.find_first_not_of("0123456789", 5) == std::string::npos)
    return {true, std::stoi(text.substr(5))};
  throw input_error("--device " + text + ": expected cpu, cuda or cuda:N");
}

/// Adds -d,--device (cpu, cuda or cuda:N) to `cmd`, writing `device`.
inline CLI::Option* add_device_option(CLI::App* cmd, std::string& device) {
  return cmd->add_option("-d,--device", device, "cpu, cuda or cuda:N (needs a build with CUDA)");
}

/// Calls use(std::unique_ptr<B>) with a fresh backend of the chosen device: backend::cpu with
/// `threads`, or backend::cuda for device N.
template <class Use>
void with_backend(const std::string& device, int threads, Use&& use) {
  const device_choice choice = parse_device(device);
  if (!choice.cuda) {
    use(std::make_unique<backend::cpu>(threads));
    return;
  }
#ifdef DNABERT_CLI_WITH_CUDA
  use(std::make_unique<backend::cuda>(choice.index));
#else
  throw input_error("--device " + device + ": this dnabert was built without CUDA (configure with nvcc present and -DDNABERT_ENABLE_CUDA=ON)");
#endif
}

/// Loads the classifier in `dir` on the chosen device and calls use(model) with it.
template <class Use>
void with_classifier(const std::string& dir, const std::string& device, int threads, Use&& use) {
  with_backend(device, threads, [&](auto backend) {
    using B = typename decltype(backend)::element_type;
    use(classifier<dynamic_bert, B>(dir, std::move(backend)));
  });
}

}  // namespace dnabert::cli
