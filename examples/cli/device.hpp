#pragma once
// `--device cpu|cuda[:N]`: which backend a command's model runs on. CUDA is there when the
// program was built with the dnabert::cuda component (DNABERT_CLI_WITH_CUDA).

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/cpu.hpp"
#include "job.hpp"
#ifdef DNABERT_CLI_WITH_CUDA
#include "dnabert/cuda.hpp"
#endif

namespace dnabert::cli {

/// Prints "note: TEXT" on stderr (what a run should know but that is not an error); in an MPI
/// job rank 0 speaks for all.
inline void print_notice(const std::string& text) {
  if (leads_job()) std::cerr << "note: " << text << '\n';
}

/// Prints each of a model folder's loading warnings (unused tensors, no vocab.txt, ...) as
/// "warning: TEXT" on stderr: every command that loads a model shows them.
inline void print_warnings(const std::vector<std::string>& warnings) {
  if (!leads_job()) return;  // rank 0 speaks for all
  for (const auto& warning : warnings) std::cerr << "warning: " << warning << '\n';
}

/// A parsed --device value.
struct device_choice {
  bool cuda = false;
  int index = 0;
};

/// Parses "cpu", "cuda" (device 0, or the rank's local rank in an MPI job) or "cuda:N"; throws
/// input_error naming the value otherwise.
inline device_choice parse_device(const std::string& text) {
  if (text == "cpu") return {};
  if (text == "cuda") return {true, local_rank()};  // in an MPI job: one GPU per rank of a node
  if (text.starts_with("cuda:") && text.size() > 5 && text.size() <= 8 &&
      text.find_first_not_of("0123456789", 5) == std::string::npos)
    return {true, std::stoi(text.substr(5))};
  throw input_error("--device " + text + ": expected cpu, cuda or cuda:N");
}

/// What --device and --precision ask for.
struct device_options {
  std::string device = "cpu";
  std::string precision = "fp32";
  std::string cuda_kernels;  ///< standard, fused, or empty: DNABERT_CUDA_KERNELS, else standard
};

/// Adds -d,--device (cpu, cuda or cuda:N) and --precision (fp32, tf32, bf16, int8) to `cmd`,
/// writing `options`; returns the --device option.
inline CLI::Option* add_device_option(CLI::App* cmd, device_options& options) {
  cmd->add_option("--precision", options.precision,
                  "fp32 (IEEE float32, the default); bf16 (CPU: GEMMs in bfloat16 with float32 sums, LayerNorm and "
                  "softmax in float32; CUDA: bfloat16 weights and activations; training keeps float32 master "
                  "weights); int8 (CPU inference: weights per output channel, activations quantized per call, as "
                  "ONNX Runtime's quantize_dynamic); tf32 (CUDA: float32 GEMMs on the tensor cores). What each costs "
                  "in accuracy: README, Precisions")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16", "int8"}));
  cmd->add_option("--cuda-kernels", options.cuda_kernels,
                  "CUDA only: standard (the kernels that have passed on a GPU; the default) or fused (cuBLASLt "
                  "epilogues, fused add + LayerNorm, flash-style attention, multi-tensor AdamW: not yet run on a "
                  "GPU). Default: the DNABERT_CUDA_KERNELS environment variable, else standard")
      ->check(CLI::IsMember({"standard", "fused"}));
  return cmd->add_option("-d,--device", options.device,
                         "cpu, cuda or cuda:N (needs a build with CUDA; under mpirun, cuda is the rank's local rank)");
}

/// Calls use(make), where make() returns a fresh backend of the chosen device
/// (std::unique_ptr<B>): backend::cpu with `threads` computing in fp32, bf16 or int8, or for
/// device N backend::cuda (fp32 or tf32 GEMMs) or backend::cuda_bf16. A command that loads several
/// models gives each a backend of its own. `training`: int8 is refused (it is for inference).
template <class Use>
void with_backend_maker(const device_options& options, int threads, Use&& use, bool training = false) {
  const device_choice choice = parse_device(options.device);
  if (training && options.precision == "int8")
    throw input_error("--precision int8 is for inference (predict, embed, scan, variants, mutate, attention, "
                      "evaluate); train in fp32 or bf16, then run the model in int8");
  if (!choice.cuda) {
    if (!options.cuda_kernels.empty()) throw input_error("--cuda-kernels " + options.cuda_kernels + " needs --device cuda");
    if (options.precision == "tf32")
      throw input_error("--precision tf32 needs --device cuda (the CPU computes in fp32, bf16 or int8)");
    const auto math = options.precision == "bf16"   ? backend::cpu_math::bf16
                      : options.precision == "int8" ? backend::cpu_math::int8
                                                    : backend::cpu_math::fp32;
    auto first = std::make_unique<backend::cpu>(threads, math);  // refuses bf16/int8 without oneDNN before the notice
    if (math != backend::cpu_math::fp32) print_notice(backend::describe_cpu_math(math));
    use([&] { return first ? std::move(first) : std::make_unique<backend::cpu>(threads, math); });
    return;
  }
  if (options.precision == "int8")
    throw input_error("--precision int8 runs on the CPU only (--device cpu)");
#ifdef DNABERT_CLI_WITH_CUDA
  const auto kernels = options.cuda_kernels.empty()        ? backend::default_cuda_kernels()
                       : options.cuda_kernels == "fused" ? backend::cuda_kernels::fused
                                                         : backend::cuda_kernels::standard;
  if (kernels == backend::cuda_kernels::fused)
    print_notice("--cuda-kernels fused: kernels not yet run on a GPU (docs/architecture.md, What has run on a GPU)");
  if (options.precision == "bf16")
    use([&] { return std::make_unique<backend::cuda_bf16>(choice.index, backend::cuda_math::tf32, kernels); });
  else
    use([&] {
      return std::make_unique<backend::cuda>(
          choice.index, options.precision == "tf32" ? backend::cuda_math::tf32 : backend::cuda_math::fp32, kernels);
    });
#else
  throw input_error("--device " + options.device + ": this dnabert was built without CUDA (configure with nvcc present and -DDNABERT_ENABLE_CUDA=ON)");
#endif
}

/// Calls use(std::unique_ptr<B>) with a fresh backend of the chosen device, as with_backend_maker
/// makes it.
template <class Use>
void with_backend(const device_options& options, int threads, Use&& use, bool training = false) {
  with_backend_maker(options, threads, [&](auto make) { use(make()); }, training);
}

/// Prints the loading warnings of a classifier just loaded from a folder and refuses it
/// (untrained_model_error) when what the command `reads` was initialised at load rather than read
/// from the folder (nothing to check: std::nullopt).
template <class B>
void check_loaded(const classifier<dynamic_bert, B>& model, std::optional<inference_use> reads) {
  print_warnings(model.model().warnings());
  if (reads) require_trained(model.model(), *reads);
}

/// Loads the classifier in `dir` on the chosen device, checks it (check_loaded) and calls
/// use(model) with it.
template <class Use>
void with_classifier(const std::string& dir, const device_options& device, int threads, Use&& use,
                     std::optional<inference_use> reads = inference_use::classification) {
  with_backend(device, threads, [&](auto backend) {
    using B = typename decltype(backend)::element_type;
    const classifier<dynamic_bert, B> model(dir, std::move(backend));
    check_loaded(model, reads);
    use(model);
  });
}

/// Loads the classifiers in `dirs` (an ensemble) on the chosen device, each on a backend of its
/// own, checks each for classification (check_loaded) and calls use(models), a vector of
/// std::unique_ptr to them in the order of `dirs`.
template <class Use>
void with_classifiers(const std::vector<std::string>& dirs, const device_options& device, int threads, Use&& use) {
  with_backend_maker(device, threads, [&](auto make) {
    using B = typename decltype(make())::element_type;
    std::vector<std::unique_ptr<const classifier<dynamic_bert, B>>> models;
    for (const auto& dir : dirs) {
      models.push_back(std::make_unique<const classifier<dynamic_bert, B>>(dir, make()));
      check_loaded(*models.back(), inference_use::classification);
    }
    use(models);
  });
}

}  // namespace dnabert::cli
