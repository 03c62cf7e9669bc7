// DNABERT-6 base encoder forward (12 layers, hidden 768, 12 heads, FFN 3072; random weights)
// at batch × tokens 1×128, 8×128, 8×512: tokens/s, and GFLOP/s of the matmuls to compare with
// the machine's sgemm peak (bench_gemm). `encoder_forward` is inference as `dnabert predict` runs
// it: the static spec (DNABERT6, sizes fixed at compile time) with weights packed for inference
// (Bert::pack_weights: oneDNN's layout, fused Q/K/V, GELU in the GEMM); `encoder_forward_bf16`
// and `encoder_forward_int8` the same on a cpu_math::bf16 / int8 backend; `encoder_forward_unpacked`
// without packing (the path training forwards take); `encoder_forward_dynamic` unpacked with every
// size read from the configuration at run time (docs/architecture.md, "What a static spec buys");
// `encoder_forward_dnabert2` DNABERT-2-117M's architecture (ALiBi, GEGLU; DNABERT2_117M) packed.
// Threads: DNABERT_THREADS or OMP_NUM_THREADS (default all).
#include <benchmark/benchmark.h>

#include "bench_support.hpp"
#include "dnabert/cpu.hpp"
#include "dnabert/model/bert.hpp"

namespace {

using dnabert::backend::cpu_math;
using dnabert::bench::precision_backend;

/// Hugging Face's default BertConfig: DNABERT-6 base (g++ 12 fails on `bert_config{}` in the template below);
/// for a spec whose policies are ALiBi and GEGLU, DNABERT-2-117M's (its 4,101 ids cover random_batch's).
template <class Spec>
dnabert::bert_config base_config() {
  dnabert::bert_config config;
  if (Spec::position_policy::fixed == dnabert::position_encoding::alibi) {
    config.position = dnabert::position_encoding::alibi;
    config.feed_forward = dnabert::feed_forward_kind::geglu;
    config.tokens = dnabert::token_kind::bpe;
  }
  return config;
}

/// DNABERT-6 base encoder without a head, random weights (the same for every Spec and
/// precision), built once per program; `packed`: with pack_weights().
template <class Spec, cpu_math Math, bool packed>
const dnabert::cpu_bert<Spec>& base_model() {
  static const dnabert::cpu_bert<Spec> model = [] {
    dnabert::cpu_bert<Spec> made(precision_backend<Math>(), base_config<Spec>(), dnabert::bert_head::none, 1);
    if (packed) made.pack_weights();
    return made;
  }();
  return model;
}

/// Matmul FLOPs of one forward: projections and FFN per token (a GEGLU's first dense is twice as
/// wide), plus QK^T and PV per sequence.
double forward_flops(double batch, double tokens, bool gated) {
  const double hidden = 768, intermediate = 3072, layers = 12;
  return layers * (batch * tokens * 2 * (4 * hidden * hidden + (gated ? 3 : 2) * hidden * intermediate) +
                   batch * 4 * tokens * tokens * hidden);
}

/// One inference forward of the encoder and pooler per iteration.
template <class Spec, cpu_math Math, bool packed>
void encoder_forward(benchmark::State& state) {
  const auto rows = static_cast<std::size_t>(state.range(0));
  const auto length = static_cast<std::size_t>(state.range(1));
  const dnabert::cpu_bert<Spec>* made = nullptr;
  try {
    made = &base_model<Spec, Math, packed>();
  } catch (const dnabert::config_error& unsupported) {  // bf16 / int8 in a build without oneDNN
    state.SkipWithError(unsupported.what());
    return;
  }
  const auto& model = *made;
  const auto batch = dnabert::bench::random_batch(rows, length);
  dnabert::autograd::tape<dnabert::backend::cpu> tape(precision_backend<Math>());
  for (auto _ : state) {
    dnabert::nn::forward_context<dnabert::backend::cpu> ctx{tape};
    auto out = model.forward(ctx, batch);
    benchmark::DoNotOptimize(out.pooled.value().data());
  }
  dnabert::bench::report_tokens_per_second(state, rows * length);
  const bool gated = model.config().feed_forward == dnabert::feed_forward_kind::geglu;
  state.counters["GFLOP/s"] = benchmark::Counter(forward_flops(double(rows), double(length), gated) / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

/// batch × tokens of the encoder benchmarks.
void encoder_shapes(benchmark::internal::Benchmark* b) {
  b->Args({1, 128})->Args({8, 128})->Args({8, 512})->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(encoder_forward<dnabert::DNABERT6, cpu_math::fp32, true>)->Name("encoder_forward")->Apply(encoder_shapes);
BENCHMARK(encoder_forward<dnabert::DNABERT6, cpu_math::bf16, true>)->Name("encoder_forward_bf16")->Apply(encoder_shapes);
BENCHMARK(encoder_forward<dnabert::DNABERT6, cpu_math::int8, true>)->Name("encoder_forward_int8")->Apply(encoder_shapes);
BENCHMARK(encoder_forward<dnabert::DNABERT6, cpu_math::fp32, false>)->Name("encoder_forward_unpacked")->Apply(encoder_shapes);
BENCHMARK(encoder_forward<dnabert::dynamic_bert, cpu_math::fp32, false>)->Name("encoder_forward_dynamic")->Apply(encoder_shapes);
BENCHMARK(encoder_forward<dnabert::DNABERT2_117M, cpu_math::fp32, true>)->Name("encoder_forward_dnabert2")->Apply(encoder_shapes);
BENCHMARK_MAIN();
