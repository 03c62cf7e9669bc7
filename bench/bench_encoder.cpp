// DNABERT-6 base encoder forward (12 layers, hidden 768, 12 heads, FFN 3072; random weights)
// at batch × tokens 1×128, 8×128, 8×512: tokens/s, and GFLOP/s of the matmuls to compare with
// the machine's sgemm peak (bench_gemm). Threads: DNABERT_THREADS or OMP_NUM_THREADS (default all).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>

#include "dnabert/model/bert.hpp"

namespace {

int threads_from_environment() {
  for (const char* name : {"DNABERT_THREADS", "OMP_NUM_THREADS"})
    if (const char* value = std::getenv(name)) return std::atoi(value);
  return 0;
}

dnabert::backend::cpu& bench_backend() {
  static dnabert::backend::cpu backend(threads_from_environment());
  return backend;
}

const dnabert::Bert<dnabert::DNABERT6>& base_model() {
  static const dnabert::Bert<dnabert::DNABERT6> model(bench_backend(), dnabert::bert_config{}, dnabert::bert_head::none, 1);
  return model;
}

dnabert::token_batch random_batch(std::size_t rows, std::size_t length) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<dnabert::token_id> kmer(5, 4100);
  dnabert::token_batch batch;
  batch.rows = rows;
  batch.length = length;
  batch.input_ids.resize(rows * length);
  batch.attention_mask.assign(rows * length, 1);
  batch.origins.resize(rows);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t t = 0; t < length; ++t)
      batch.input_ids[r * length + t] = t == 0 ? dnabert::special::cls : t + 1 == length ? dnabert::special::sep : kmer(rng);
  return batch;
}

// Matmul FLOPs of one forward: projections and FFN per token, plus QK^T and PV per sequence.
double forward_flops(double batch, double tokens) {
  const double hidden = 768, intermediate = 3072, layers = 12;
  return layers * (batch * tokens * 2 * (4 * hidden * hidden + 2 * hidden * intermediate) +
                   batch * 4 * tokens * tokens * hidden);
}

void encoder_forward(benchmark::State& state) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const auto length = static_cast<std::size_t>(state.range(1));
  const auto& model = base_model();
  const auto batch = random_batch(rows, length);
  dnabert::autograd::tape<dnabert::backend::cpu> tape(bench_backend());
  for (auto _ : state) {
    dnabert::nn::forward_context<dnabert::backend::cpu> ctx{tape};
    auto out = model.forward(ctx, batch);
    benchmark::DoNotOptimize(out.pooled.value().data());
  }
  const double tokens = static_cast<double>(rows * length);
  state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(forward_flops(double(rows), double(length)) / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = bench_backend().threads();
}

}  // namespace

BENCHMARK(encoder_forward)->Args({1, 128})->Args({8, 128})->Args({8, 512})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
