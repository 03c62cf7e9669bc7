// DNABERT-6 base encoder forward (12 layers, hidden 768, 12 heads, FFN 3072; random weights)
// at batch × tokens 1×128, 8×128, 8×512: tokens/s, and GFLOP/s of the matmuls to compare with
// the machine's sgemm peak (bench_gemm). `encoder_forward` is the static spec (DNABERT6: sizes
// fixed at compile time reach the layers), `encoder_forward_dynamic` the same model with every
// size read at run time; `kernel/...` times the kernels a static spec specialises, fixed width
// against run-time width, at the encoder's widths. Threads: DNABERT_THREADS or OMP_NUM_THREADS
// (default all).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "bench_support.hpp"
#include "dnabert/model/bert.hpp"

namespace {

using dnabert::bench::bench_backend;

/// Hugging Face's default BertConfig: DNABERT-6 base (g++ 12 fails on `bert_config{}` in the template below).
dnabert::bert_config base_config() { return {}; }

/// DNABERT-6 base encoder without a head, random weights (the same for every Spec), built once per program.
template <class Spec>
const dnabert::Bert<Spec>& base_model() {
  static const dnabert::Bert<Spec> model(bench_backend(), base_config(), dnabert::bert_head::none, 1);
  return model;
}

/// Matmul FLOPs of one forward: projections and FFN per token, plus QK^T and PV per sequence.
double forward_flops(double batch, double tokens) {
  const double hidden = 768, intermediate = 3072, layers = 12;
  return layers * (batch * tokens * 2 * (4 * hidden * hidden + 2 * hidden * intermediate) +
                   batch * 4 * tokens * tokens * hidden);
}

/// One inference forward of the encoder and pooler per iteration.
template <class Spec>
void encoder_forward(benchmark::State& state) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const auto length = static_cast<std::size_t>(state.range(1));
  const auto& model = base_model<Spec>();
  const auto batch = dnabert::bench::random_batch(rows, length);
  dnabert::autograd::tape<dnabert::backend::cpu> tape(bench_backend());
  for (auto _ : state) {
    dnabert::nn::forward_context<dnabert::backend::cpu> ctx{tape};
    auto out = model.forward(ctx, batch);
    benchmark::DoNotOptimize(out.pooled.value().data());
  }
  dnabert::bench::report_tokens_per_second(state, rows * length);
  state.counters["GFLOP/s"] = benchmark::Counter(forward_flops(double(rows), double(length)) / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

/// `count` normal floats, the same on every call.
std::vector<float> random_floats(std::size_t count) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(count);
  for (float& x : values) x = normal(rng);
  return values;
}

/// The encoder's residual add + LayerNorm forward over batch × tokens rows of 768, the width
/// fixed_width<768> when Fixed, else a run-time std::int64_t.
template <bool Fixed>
void kernel_add_layer_norm(benchmark::State& state) {
  const std::int64_t rows = state.range(0) * state.range(1);
  constexpr std::int64_t width = 768;
  const auto n = [] {
    if constexpr (Fixed) return dnabert::fixed_width<width>{};
    else return width;
  }();
  const auto a = random_floats(static_cast<std::size_t>(rows * width));
  const auto b = random_floats(static_cast<std::size_t>(rows * width));
  const auto gamma = random_floats(width);
  const auto beta = random_floats(width);
  std::vector<float> y(a.size()), mean(static_cast<std::size_t>(rows)), rstd(mean.size());
  for (auto _ : state) {
    add_layer_norm_forward(bench_backend(), a.data(), b.data(), gamma.data(), beta.data(), rows, n, 1e-12,
                           y.data(), mean.data(), rstd.data());
    benchmark::DoNotOptimize(y.data());
  }
  dnabert::bench::report_tokens_per_second(state, static_cast<std::size_t>(rows));
}

/// The encoder's attention forward (12 heads of 64, no padding, inference: no probabilities kept)
/// over batch × tokens, with Shape attention_shape or fixed_head_shape<64>.
template <class Shape>
void kernel_attention(benchmark::State& state) {
  Shape s{};
  s.batch = state.range(0);
  s.seq = state.range(1);
  s.heads = 12;
  s.head_dim = 64;
  s.row_stride = 768;
  const auto qkv = random_floats(static_cast<std::size_t>(3 * s.batch * s.seq * s.row_stride));
  const std::vector<float> key_bias(static_cast<std::size_t>(s.batch * s.seq), 0.0f);
  std::vector<float> context(static_cast<std::size_t>(s.batch * s.seq * s.row_stride));
  const std::size_t n = context.size();
  for (auto _ : state) {
    attention_forward(bench_backend(), s, qkv.data(), qkv.data() + n, qkv.data() + 2 * n, key_bias.data(), 0.125f,
                      static_cast<float*>(nullptr), context.data(), 0.0, nullptr, 0, 0);
    benchmark::DoNotOptimize(context.data());
  }
  dnabert::bench::report_tokens_per_second(state, static_cast<std::size_t>(s.batch * s.seq));
}

/// batch × tokens of the encoder benchmarks.
void encoder_shapes(benchmark::internal::Benchmark* b) {
  b->Args({1, 128})->Args({8, 128})->Args({8, 512})->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(encoder_forward<dnabert::DNABERT6>)->Name("encoder_forward")->Apply(encoder_shapes);
BENCHMARK(encoder_forward<dnabert::dynamic_bert>)->Name("encoder_forward_dynamic")->Apply(encoder_shapes);
BENCHMARK(kernel_add_layer_norm<true>)->Name("kernel/add_layer_norm/static")->Apply(encoder_shapes);
BENCHMARK(kernel_add_layer_norm<false>)->Name("kernel/add_layer_norm/dynamic")->Apply(encoder_shapes);
BENCHMARK(kernel_attention<dnabert::backend::fixed_head_shape<64>>)->Name("kernel/attention/static")->Apply(encoder_shapes);
BENCHMARK(kernel_attention<dnabert::backend::attention_shape>)->Name("kernel/attention/dynamic")->Apply(encoder_shapes);
BENCHMARK_MAIN();
