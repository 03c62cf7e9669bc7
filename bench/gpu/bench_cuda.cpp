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
#include "dnabert/backend/cuda/ops.hpp"
#include "dnabert/core/rng.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/train/optimizer.hpp"

namespace {

using dnabert::backend::cuda;
using dnabert::backend::cuda_bf16;
using dnabert::backend::cuda_math;

/// H100 SXM dense peaks (NVIDIA's datasheet): float32 on the CUDA cores, TF32 and BF16 on the tensor cores.
constexpr double peak_fp32_flops = 67e12;
constexpr double peak_tf32_flops = 494.7e12;
/// H100 SXM dense BF16 tensor-core peak.
constexpr double peak_bf16_flops = 989.4e12;

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

// One optimizer step (dropout, cross-entropy, backward, clipping, AdamW) per iteration; `peak`
// is the card's dense rate for the precision, so "MFU" is the model FLOP utilisation.
template <class B>
void train_step(benchmark::State& state, B& be, dnabert::Bert<dnabert::DNABERT6, B>& m, double peak) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const auto length = static_cast<std::size_t>(state.range(1));
  dnabert::train::adamw<B> optimizer(be, m.parameters(), dnabert::train::adamw_options::finetuning());
  const auto batch = dnabert::bench::random_batch(rows, length);
  dnabert::autograd::id_tensor<B> labels(be, {static_cast<std::int64_t>(rows)});
  std::vector<std::int32_t> host(rows);
  for (std::size_t r = 0; r < rows; ++r) host[r] = static_cast<std::int32_t>(r % 2);
  upload(be, host.data(), labels.data(), labels.numel());
  std::uint64_t steps = 0;
  const auto step = [&] {
    dnabert::train::zero_grad(m.parameters());
    dnabert::autograd::tape<B> tape(be, true);
    dnabert::nn::forward_context<B> ctx{tape, dnabert::mix64(++steps)};
    const auto out = m.forward(ctx, batch);
    const auto loss = dnabert::autograd::cross_entropy(tape, out.logits, labels);
    const float value = static_cast<float>(dnabert::host_values(be, loss.value())[0]);
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
  state.counters["MFU"] = benchmark::Counter(flops / peak, benchmark::Counter::kIsIterationInvariantRate);
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

// attention_forward alone at DNABERT-6 base (12 heads of 64): the fused kernel against the
// batched-GEMM path it replaces in inference (both without probabilities or dropout); one
// iteration is 10 calls.
template <class B>
void attention_kernel(benchmark::State& state, B& be, bool fused) {
  using T = typename B::value_type;
  const std::int64_t batch = state.range(0), seq = state.range(1), heads = 12, head_dim = 64, width = heads * head_dim;
  const dnabert::ops::attention_shape s{batch, seq, heads, head_dim, width};
  dnabert::tensor<B> q(be, {batch * seq, width}), k(be, {batch * seq, width}), v(be, {batch * seq, width}),
      context(be, {batch * seq, width}), key_bias(be, {batch, seq});
  fill(be, q.data(), T(0.02f), q.numel());
  fill(be, k.data(), T(-0.01f), k.numel());
  fill(be, v.data(), T(0.5f), v.numel());
  fill(be, key_bias.data(), T(0.0f), key_bias.numel());
  const T scale(0.125f);
  const auto run = [&] {
    if (fused)
      attention_forward_fused(be, s, q.data(), k.data(), v.data(), key_bias.data(), scale, context.data());
    else
      attention_forward_gemm(be, s, q.data(), k.data(), v.data(), key_bias.data(), scale, static_cast<T*>(nullptr),
                             context.data(), 0.0,
                             nullptr, 0, 0);
  };
  run();
  be.synchronize();
  for (auto _ : state) {
    for (int i = 0; i < 10; ++i) run();
    be.synchronize();
  }
  const double flops = 10 * 4.0 * static_cast<double>(batch * heads * seq * seq * head_dim);  // QK^T and PV
  state.counters["TFLOP/s"] = benchmark::Counter(flops / 1e12, benchmark::Counter::kIsIterationInvariantRate);
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
    benchmark::RegisterBenchmark(("cuda_train_step/" + tag).c_str(),
                                 [math](benchmark::State& state) {
                                   train_step(state, backend_for(math), model_for(math), peak_for(math));
                                 })
        ->Args({32, 512})->Args({32, 128})->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
    benchmark::RegisterBenchmark(("cuda_gemm/" + tag).c_str(), gemm_rate, math)
        ->Args({4096, 4096, 4096})->Args({8192, 3072, 768})->Args({8192, 768, 3072})
        ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
  }
  add_shapes(benchmark::RegisterBenchmark(
      "cuda_inference/bf16", [](benchmark::State& state) { inference(state, bf16_backend(), bf16_model_instance()); }));
  benchmark::RegisterBenchmark("cuda_train_step/bf16",
                               [](benchmark::State& state) {
                                 // A model of its own: training changes the weights the inference runs use.
                                 static bf16_model trained(bf16_backend(), dnabert::bench::config_of<dnabert::DNABERT6>(),
                                                           dnabert::bert_head::sequence_classification, 2);
                                 train_step(state, bf16_backend(), trained, peak_bf16_flops);
                               })
      ->Args({32, 512})->Args({32, 128})->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
  for (const bool fused : {true, false}) {
    const std::string path = fused ? "fused" : "gemm";
    benchmark::RegisterBenchmark(("cuda_attention/" + path + "/fp32").c_str(),
                                 [fused](benchmark::State& state) { attention_kernel(state, backend_for(cuda_math::fp32), fused); })
        ->Args({64, 128})->Args({64, 512})->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
    benchmark::RegisterBenchmark(("cuda_attention/" + path + "/bf16").c_str(),
                                 [fused](benchmark::State& state) { attention_kernel(state, bf16_backend(), fused); })
        ->Args({64, 128})->Args({64, 512})->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
  }
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
