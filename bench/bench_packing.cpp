// Padding removal on the CPU: DNABERT-6 base classifier forward (random weights) on 8 sequences
// of 32 to 512 tokens (uniform, fixed seed), with remove_padding off (every layer on 8 x longest
// rows) and on (dense layers on the real tokens only). tokens/s counts real tokens.
// Threads: DNABERT_THREADS or OMP_NUM_THREADS (default all).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>

#include "bench_support.hpp"
#include "dnabert/cpu.hpp"
#include "dnabert/model/bert.hpp"

namespace {

using dnabert::bench::bench_backend;

/// DNABERT-6 base with a 2-class classifier, random weights, built once per program.
const dnabert::cpu_bert<dnabert::DNABERT6>& base_classifier() {
  static const dnabert::cpu_bert<dnabert::DNABERT6> model(bench_backend(), dnabert::bench::config_of<dnabert::DNABERT6>(),
                                                      dnabert::bert_head::sequence_classification, 1);
  return model;
}

/// `rows` sequences of `shortest` to `longest` tokens ([CLS] ... [SEP], uniform, seeded), padded
/// with [PAD] to the longest drawn: the bench batch cut short row by row.
dnabert::token_batch mixed_length_batch(std::size_t rows, std::size_t shortest, std::size_t longest) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> draw(shortest, longest);
  std::vector<std::size_t> lengths(rows);
  for (auto& n : lengths) n = draw(rng);
  const std::size_t padded = *std::max_element(lengths.begin(), lengths.end());
  auto batch = dnabert::bench::random_batch(rows, padded);
  for (std::size_t r = 0; r < rows; ++r) {
    batch.input_ids[r * padded + lengths[r] - 1] = dnabert::special::sep;
    for (std::size_t t = lengths[r]; t < padded; ++t) {
      batch.input_ids[r * padded + t] = dnabert::special::pad;
      batch.attention_mask[r * padded + t] = 0;
    }
  }
  return batch;
}

/// One inference forward of the classifier per iteration; range(0) = remove_padding.
void classifier_forward_mixed_lengths(benchmark::State& state) {
  const auto& model = base_classifier();
  const auto batch = mixed_length_batch(8, 32, 512);
  dnabert::forward_options options;
  options.remove_padding = state.range(0) != 0;
  dnabert::autograd::tape<dnabert::backend::cpu> tape(bench_backend());
  for (auto _ : state) {
    dnabert::nn::forward_context<dnabert::backend::cpu> ctx{tape};
    auto out = model.forward(ctx, batch, options);
    benchmark::DoNotOptimize(out.logits.value().data());
  }
  const auto real = static_cast<std::size_t>(std::count(batch.attention_mask.begin(), batch.attention_mask.end(), 1));
  dnabert::bench::report_tokens_per_second(state, real);
  state.counters["padded_length"] = static_cast<double>(batch.length);
  state.counters["real_fraction"] = static_cast<double>(real) / static_cast<double>(batch.attention_mask.size());
}

}  // namespace

BENCHMARK(classifier_forward_mixed_lengths)->ArgName("remove_padding")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
