#pragma once
// `--device cpu|cuda[:N]`: which backend a command's model runs on. CUDA is there when the
// program was built with the dnabert::cuda component (DNABERT_CLI_WITH_CUDA).

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "dnabert/core/error.hpp"
#include "dnabert/cpu.hpp"
#ifdef DNABERT_CLI_WITH_CUDA
#include "dnabert/cuda.hpp"
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

/// What --device and --precision ask for.
struct device_options {
  std::string device = "cpu";
  std::string precision = "fp32";
};

/// Adds -d,--device (cpu, cuda or cuda:N) and --precision (fp32, tf32, bf16) to `cmd`, writing
/// `options`; returns the --device option.
inline CLI::Option* add_device_option(CLI::App* cmd, device_options& options) {
  cmd->add_option("--precision", options.precision,
                  "with --device cuda: fp32 (IEEE float32, the default), tf32 (float32 GEMMs on the tensor cores) or "
                  "bf16 (bfloat16 weights and activations; training keeps float32 master weights)")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}));
  return cmd->add_option("-d,--device", options.device, "cpu, cuda or cuda:N (needs a build with CUDA)");
}

/// Calls use(std::unique_ptr<B>) with a fresh backend of the chosen device: backend::cpu with
/// `threads`, or for device N backend::cuda (fp32 or tf32 GEMMs) or backend::cuda_bf16.
template <class Use>
void with_backend(const device_options& options, int threads, Use&& use) {
  const device_choice choice = parse_device(options.device);
  if (!choice.cuda) {
    if (options.precision != "fp32")
      throw input_error("--precision " + options.precision + " needs --device cuda (the CPU computes in float32)");
    use(std::make_unique<backend::cpu>(threads));
    return;
  }
#ifdef DNABERT_CLI_WITH_CUDA
  if (options.precision == "bf16")
    use(std::make_unique<backend::cuda_bf16>(choice.index));
  else
    use(std::make_unique<backend::cuda>(choice.index,
                                        options.precision == "tf32" ? backend::cuda_math::tf32 : backend::cuda_math::fp32));
#else
  throw input_error("--device " + options.device + ": this dnabert was built without CUDA (configure with nvcc present and -DDNABERT_ENABLE_CUDA=ON)");
#endif
}

/// Loads the classifier in `dir` on the chosen device and calls use(model) with it.
template <class Use>
void with_classifier(const std::string& dir, const device_options& device, int threads, Use&& use) {
  with_backend(device, threads, [&](auto backend) {
    using B = typename decltype(backend)::element_type;
    use(classifier<dynamic_bert, B>(dir, std::move(backend)));
  });
}

}  // namespace dnabert::cli
