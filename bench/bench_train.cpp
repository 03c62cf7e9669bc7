// One fine-tuning step of a 2-label sequence classifier (forward with dropout, cross-entropy, backward,
// global-norm clipping, AdamW), DNABERT-6 base and a small shape, `train_step/<shape>/<batch>/<tokens>`;
// `train_step_bf16/...` the same on a cpu_math::bf16 backend (every GEMM of forward and backward in
// bfloat16 with float32 accumulation; parameters, gradients and AdamW's state stay float32).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "dnabert/cpu.hpp"
#include "dnabert/autograd/functions.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/rng.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/train/optimizer.hpp"

namespace {

using cpu = dnabert::backend::cpu;
using dnabert::backend::cpu_math;
using dnabert::bench::precision_backend;

/// The small shape: 4 layers, hidden 256, 4 heads, FFN 1024, 6-mers, 512 positions.
using small_shape = dnabert::bert_spec<6, 4, 256, 4, 1024, 512>;

constexpr std::int64_t label_count = 2;
constexpr double max_grad_norm = 1.0;   // DNABERT's clipping
constexpr int untimed_warmup_steps = 2;  // first gradients, moments and activations allocated

/// A classifier with random weights, its AdamW state and one fixed batch with labels 0, 1, 0, ...,
/// on the backend whose GEMMs compute in Math.
template <class Spec, cpu_math Math>
class classifier_training {
 public:
  /// Builds the model for `rows` × `length` batches and runs the untimed warm-up steps.
  classifier_training(std::size_t rows, std::size_t length)
      : model_(precision_backend<Math>(), dnabert::bench::config_of<Spec>(label_count),
               dnabert::bert_head::sequence_classification, 1),
        optimizer_(precision_backend<Math>(), model_.parameters(), dnabert::train::adamw_options::finetuning()),
        batch_(dnabert::bench::random_batch(rows, length)),
        labels_(precision_backend<Math>(), {static_cast<std::int64_t>(rows)}) {
    std::vector<std::int32_t> host(rows);
    for (std::size_t r = 0; r < rows; ++r) host[r] = static_cast<std::int32_t>(r % label_count);
    upload(precision_backend<Math>(), host.data(), labels_.data(), labels_.numel());
    for (int i = 0; i < untimed_warmup_steps; ++i) step();
  }

  /// One training step as train::finetune takes it, with a fresh dropout seed; returns the loss.
  float step() {
    cpu& backend = precision_backend<Math>();
    dnabert::train::zero_grad(model_.parameters());
    dnabert::autograd::tape<cpu> tape(backend, true);
    dnabert::nn::forward_context<cpu> ctx{tape, dnabert::mix64(++steps_)};
    const auto out = model_.forward(ctx, batch_);
    const auto loss = dnabert::autograd::cross_entropy(tape, out.logits, labels_);
    float loss_value = 0;
    download(backend, loss.value().data(), &loss_value, 1);
    tape.backward(loss);
    dnabert::train::clip_grad_norm(backend, model_.parameters(), max_grad_norm);
    optimizer_.step();
    return loss_value;
  }

 private:
  dnabert::cpu_bert<Spec> model_;
  dnabert::train::adamw<cpu> optimizer_;
  dnabert::token_batch batch_;
  dnabert::autograd::id_tensor<cpu> labels_;
  std::uint64_t steps_ = 0;
};

/// The warmed-up training state of Spec in Math at rows × length, built on first use and kept
/// across Google Benchmark's repetitions so that each repetition times steady-state steps.
template <class Spec, cpu_math Math>
classifier_training<Spec, Math>& training_for(std::size_t rows, std::size_t length) {
  static std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<classifier_training<Spec, Math>>> trainings;
  auto& training = trainings[{rows, length}];
  if (!training) training = std::make_unique<classifier_training<Spec, Math>>(rows, length);
  return *training;
}

/// One training step per iteration; args are batch rows and tokens per row. A precision this build
/// cannot compute in (bf16 without oneDNN) skips with the backend's message.
template <class Spec, cpu_math Math>
void train_step(benchmark::State& state) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const auto length = static_cast<std::size_t>(state.range(1));
  classifier_training<Spec, Math>* training = nullptr;
  try {
    training = &training_for<Spec, Math>(rows, length);
  } catch (const dnabert::config_error& unsupported) {
    state.SkipWithError(unsupported.what());
    return;
  }
  for (auto _ : state) {
    const float loss = training->step();
    benchmark::DoNotOptimize(loss);
    if (!std::isfinite(loss)) {
      state.SkipWithError("non-finite training loss");
      break;
    }
  }
  dnabert::bench::report_tokens_per_second(state, rows * length);
}

/// batch × tokens of the training benchmarks.
void train_shapes(benchmark::internal::Benchmark* b) {
  b->Args({8, 128})->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(train_step<dnabert::DNABERT6, cpu_math::fp32>)->Name("train_step/base")->Apply(train_shapes);
BENCHMARK(train_step<small_shape, cpu_math::fp32>)->Name("train_step/small")->Apply(train_shapes);
BENCHMARK(train_step<dnabert::DNABERT6, cpu_math::bf16>)->Name("train_step_bf16/base")->Apply(train_shapes);
BENCHMARK(train_step<small_shape, cpu_math::bf16>)->Name("train_step_bf16/small")->Apply(train_shapes);
BENCHMARK_MAIN();
