// One fine-tuning step of a 2-label sequence classifier (forward with dropout, cross-entropy, backward,
// global-norm clipping, AdamW), DNABERT-6 base and a small shape, `train_step/<shape>/<batch>/<tokens>`.
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
#include "dnabert/core/rng.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/train/optimizer.hpp"

namespace {

using cpu = dnabert::backend::cpu;
using dnabert::bench::bench_backend;

/// The small shape: 4 layers, hidden 256, 4 heads, FFN 1024, 6-mers, 512 positions.
using small_shape = dnabert::bert_spec<6, 4, 256, 4, 1024, 512>;

constexpr std::int64_t label_count = 2;
constexpr double max_grad_norm = 1.0;   // DNABERT's clipping
constexpr int untimed_warmup_steps = 2;  // first gradients, moments and activations allocated

/// A classifier with random weights, its AdamW state and one fixed batch with labels 0, 1, 0, ...
template <class Spec>
class classifier_training {
 public:
  /// Builds the model for `rows` × `length` batches and runs the untimed warm-up steps.
  classifier_training(std::size_t rows, std::size_t length)
      : model_(bench_backend(), dnabert::bench::config_of<Spec>(label_count), dnabert::bert_head::sequence_classification, 1),
        optimizer_(bench_backend(), model_.parameters(), dnabert::train::adamw_options::finetuning()),
        batch_(dnabert::bench::random_batch(rows, length)),
        labels_(bench_backend(), {static_cast<std::int64_t>(rows)}) {
    std::vector<std::int32_t> host(rows);
    for (std::size_t r = 0; r < rows; ++r) host[r] = static_cast<std::int32_t>(r % label_count);
    upload(bench_backend(), host.data(), labels_.data(), labels_.numel());
    for (int i = 0; i < untimed_warmup_steps; ++i) step();
  }

  /// One training step as train::finetune takes it, with a fresh dropout seed; returns the loss.
  float step() {
    cpu& backend = bench_backend();
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

/// The warmed-up training state of Spec at rows × length, built on first use and kept across
/// Google Benchmark's repetitions so that each repetition times steady-state steps.
template <class Spec>
classifier_training<Spec>& training_for(std::size_t rows, std::size_t length) {
  static std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<classifier_training<Spec>>> trainings;
  auto& training = trainings[{rows, length}];
  if (!training) training = std::make_unique<classifier_training<Spec>>(rows, length);
  return *training;
}

/// One training step per iteration; args are batch rows and tokens per row.
template <class Spec>
void train_step(benchmark::State& state) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const auto length = static_cast<std::size_t>(state.range(1));
  auto& training = training_for<Spec>(rows, length);
  for (auto _ : state) {
    const float loss = training.step();
    benchmark::DoNotOptimize(loss);
    if (!std::isfinite(loss)) {
      state.SkipWithError("non-finite training loss");
      break;
    }
  }
  dnabert::bench::report_tokens_per_second(state, rows * length);
}

}  // namespace

BENCHMARK(train_step<dnabert::DNABERT6>)->Name("train_step/base")->Args({8, 128})->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(train_step<small_shape>)->Name("train_step/small")->Args({8, 128})->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_MAIN();
