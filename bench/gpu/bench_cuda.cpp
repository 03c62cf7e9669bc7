// The CUDA backend on DNABERT-6 base (12 layers, hidden 768, 12 heads, 4,101 tokens): inference
// tokens/s at the shapes (float32, TF32 and bf16), one fine-tuning step's tokens/s and
// model FLOP utilisation, and the cuBLAS GEMM rate. Run by bench/gpu/run.sh on a GPU machine.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../bench_support.hpp"
#include "dnabert/backend/cuda_ops.hpp"
#include "dnabert/backend/random.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/train/optimizer.hpp"

namespace {

using dnabert::backend::cuda;
using dnabert::backend::cuda_bf16;
using dnabert::backend::cuda_math;

/// H100 SXM dense peaks (NVIDIA's datasheet): float32 on the CUDA cores, TF32 on the tensor cores.
constexpr double peak_fp32_flops = 67e12;
constexpr double peak_tf32_flops = 494.7e12;

cuda& backend_for(cuda_math math) {
  static cuda fp32(0, cuda_math::fp32);
  static cuda tf32(0, cuda_math::tf32);
  return math == cuda_math::tf32 ? tf32 : fp32;
}

double peak_for(cuda_math math) { return math == cuda_math::tf32 ? peak_tf32_flops : peak_fp32_flops; }

using model = dnabert::Bert<dnabert::DNABERT6, cuda>;
using bf16_model = dnabert::Bert<dnabert::DNABERT6, cuda_bf16>;

cuda_bf16& bf16_backend() {
  static cuda_bf16 backend(0);
  return backend;
}

const bf16_model& bf16_model_instance() {
  static const bf16_model m(bf16_backend(), dnabert::bench::config_of<dnabert::DNABERT6>(), dnabert::bert_head::sequence_classification, 1);
  return m;
}

model& model_for(cuda_math math) {
  static std::map<cuda_math, std::unique_ptr<model>> models;
  auto& m = models[math];
  if (!m) m = std::make_unique<model>(backend_for(math), dnabert::bench::config_of<dnabert::DNABERT6>(), dnabert::bert_head::sequence_classification, 1);
  return *m;
}

// Matrix-multiply FLOPs of one forward pass per token (weights) plus attention's two products.
double forward_flops(const dnabert::bert_config& c, double rows, double length) {
  const double h = static_cast<double>(c.hidden_size);
  const double weights = static_cast<double>(c.num_hidden_layers) * (4 * h * h + 2 * h * static_cast<double>(c.intermediate_size));
  const double attention = static_cast<double>(c.num_hidden_layers) * 2 * length * h;
  return 2 * rows * length * (weights + attention);
}

template <class B>
void inference(benchmark::State& state, B& be, const dnabert::Bert<dnabert::DNABERT6, B>& m) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const auto length = static_cast<std::size_t>(state.range(1));
  const auto batch = dnabert::bench::random_batch(rows, length);
  const auto run = [&] {
    dnabert::autograd::tape<B> tape(be);
    dnabert::nn::forward_context<B> ctx{tape};
    const auto out = m.forward(ctx, batch);
    be.synchronize();
    benchmark::DoNotOptimize(out.logits.value().data());
  };
  run();  // activations cached, cuBLAS heuristics warmed
  for (auto _ : state) run();
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(rows * length), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["TFLOP/s"] = benchmark::Counter(forward_flops(m.config(), static_cast<double>(rows), static_cast<double>(length)) / 1e12,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void train_step(benchmark::State& state, cuda_math math) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const auto length = static_cast<std::size_t>(state.range(1));
  cuda& be = backend_for(math);
  auto& m = model_for(math);
  dnabert::train::adamw<cuda> optimizer(be, m.parameters(), dnabert::train::adamw_options::finetuning());
  const auto batch = dnabert::bench::random_batch(rows, length);
  dnabert::autograd::id_tensor<cuda> labels(be, {static_cast<std::int64_t>(rows)});
  std::vector<std::int32_t> host(rows);
  for (std::size_t r = 0; r < rows; ++r) host[r] = static_cast<std::int32_t>(r % 2);
  upload(be, host.data(), labels.data(), labels.numel());
  std::uint64_t steps = 0;
  const auto step = [&] {
    dnabert::train::zero_grad(m.parameters());
    dnabert::autograd::tape<cuda> tape(be, true);
    dnabert::nn::forward_context<cuda> ctx{tape, dnabert::backend::mix64(++steps)};
    const auto out = m.forward(ctx, batch);
    const auto loss = dnabert::autograd::cross_entropy(tape, out.logits, labels);
    float value = 0;
    download(be, loss.value().data(), &value, 1);
    tape.backward(loss);
    dnabert::train::clip_grad_norm(be, m.parameters(), 1.0);
    optimizer.step();
    be.synchronize();
    return value;
  };
  step();
  for (auto _ : state)
    if (!std::isfinite(step())) {
      state.SkipWithError("non-finite loss");
      break;
    }
  const double flops = 3 * forward_flops(m.config(), static_cast<double>(rows), static_cast<double>(length));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(rows * length), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["TFLOP/s"] = benchmark::Counter(flops / 1e12, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak TFLOP/s"] = peak_for(math) / 1e12;
}

void gemm_rate(benchmark::State& state, cuda_math math) {
  const auto m = state.range(0), n = state.range(1), k = state.range(2);
  cuda& be = backend_for(math);
  dnabert::tensor<cuda> a(be, {m, k}), b(be, {k, n}), c(be, {m, n});
  fill(be, a.data(), 0.01f, a.numel());
  fill(be, b.data(), 0.02f, b.numel());
  gemm(be, false, false, m, n, k, 1.0f, a.data(), b.data(), 0.0f, c.data());
  be.synchronize();
  for (auto _ : state) {
    for (int i = 0; i < 10; ++i) gemm(be, false, false, m, n, k, 1.0f, a.data(), b.data(), 0.0f, c.data());
    be.synchronize();
  }
  state.counters["TFLOP/s"] = benchmark::Counter(10 * 2.0 * static_cast<double>(m * n * k) / 1e12, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak TFLOP/s"] = peak_for(math) / 1e12;
}

void register_all() {
  const std::vector<std::pair<int, int>> shapes{{8, 128}, {64, 128}, {64, 512}, {256, 128}};
  const auto add_shapes = [&](benchmark::internal::Benchmark* b) {
    for (const auto& [rows, length] : shapes) b->Args({rows, length});
    b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
  };
  for (const auto math : {cuda_math::fp32, cuda_math::tf32}) {
    const std::string tag = math == cuda_math::tf32 ? "tf32" : "fp32";
    add_shapes(benchmark::RegisterBenchmark(("cuda_inference/" + tag).c_str(),
                                            [math](benchmark::State& state) { inference(state, backend_for(math), model_for(math)); }));
    benchmark::RegisterBenchmark(("cuda_train_step/" + tag).c_str(), train_step, math)
        ->Args({32, 512})->Args({32, 128})->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
    benchmark::RegisterBenchmark(("cuda_gemm/" + tag).c_str(), gemm_rate, math)
        ->Args({4096, 4096, 4096})->Args({8192, 3072, 768})->Args({8192, 768, 3072})
        ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
  }
  add_shapes(benchmark::RegisterBenchmark(
      "cuda_inference/bf16", [](benchmark::State& state) { inference(state, bf16_backend(), bf16_model_instance()); }));
}

}  // namespace

int main(int argc, char** argv) {
  if (dnabert::backend::cuda_device_count() == 0) {
    std::puts("no CUDA device visible: skipped");
    return 77;
  }
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::AddCustomContext("device", backend_for(cuda_math::fp32).device_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
