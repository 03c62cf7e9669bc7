// The optimizer's element-wise CPU ops over a BERT-base-sized parameter set (86M floats):
// `adamw_update/<elements>/<threads>` and `sum_of_squares/<elements>/<threads>` (global-norm
// clipping), wall-clock ms per call and the memory traffic each call implies, in GB/s.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "dnabert/backend/cpu/optimizer_ops.hpp"

namespace {

using cpu = dnabert::backend::cpu;

constexpr std::int64_t bert_base_parameters = 86'000'000;

/// Parameters, gradients and both moments, filled once with small deterministic values.
struct optimizer_state {
  std::vector<float> param, grad, exp_avg, exp_avg_sq;

  explicit optimizer_state(std::int64_t n)
      : param(static_cast<std::size_t>(n)), grad(param.size()), exp_avg(param.size()), exp_avg_sq(param.size()) {
    std::uint32_t state = 12345;
    const auto next = [&state] {
      state = state * 1664525U + 1013904223U;  // LCG: fast enough for 86M values per array
      return static_cast<float>(state >> 8) / 16777216.0F - 0.5F;
    };
    for (std::size_t i = 0; i < param.size(); ++i) {
      param[i] = 0.1F * next();
      grad[i] = 1e-3F * next();
      exp_avg[i] = 1e-4F * next();
      exp_avg_sq[i] = 1e-7F * (next() + 0.5F);
    }
  }
};

/// One state of the largest size any benchmark asks for, shared by all of them (1.4 GB).
optimizer_state& shared_state(std::int64_t n) {
  static optimizer_state state(n);
  return state;
}

/// Reports the memory traffic of `bytes_per_element` per element and call as GB/s: both ops are
/// memory-bound once vectorised, so this is the number to hold against the machine's bandwidth.
void report(benchmark::State& state, double bytes_per_element) {
  state.counters["threads"] = static_cast<double>(state.range(1));
  state.counters["GB/s"] = benchmark::Counter(bytes_per_element * static_cast<double>(state.range(0)) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void adamw_update(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  cpu backend(static_cast<int>(state.range(1)));
  auto& s = shared_state(bert_base_parameters);
  // DNABERT's fine-tuning settings at step 10.
  const double lr = 2e-5, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, decay = 0.01;
  for (auto _ : state) {
    dnabert::backend::adamw_update(backend, s.param.data(), s.grad.data(), s.exp_avg.data(), s.exp_avg_sq.data(), n, lr,
                                   beta1, beta2, eps, decay, 1 - std::pow(beta1, 10), 1 - std::pow(beta2, 10));
    benchmark::ClobberMemory();
  }
  report(state, 4.0 * 7);  // reads param, grad, m, v; writes param, m, v
}

void sum_of_squares(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  cpu backend(static_cast<int>(state.range(1)));
  auto& s = shared_state(bert_base_parameters);
  for (auto _ : state) {
    double total = dnabert::backend::sum_of_squares(backend, s.grad.data(), n);
    benchmark::DoNotOptimize(total);
  }
  report(state, 4.0);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"elements", "threads"});
  for (const std::int64_t threads : {1, 2}) b->Args({bert_base_parameters, threads});
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(adamw_update)->Apply(shapes);
BENCHMARK(sum_of_squares)->Apply(shapes);

BENCHMARK_MAIN();
