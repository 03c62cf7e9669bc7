// Interpretation at DNABERT's sample size: attention scores (DNABERT-viz, last layer, heads summed)
// of 101-nt sequences through DNABERT-6 base and a small model, and attention-driven motif
// discovery on N = 1000 sequences (500 positives with a planted motif). Sequences per second.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "dnabert/cpu.hpp"
#include "dnabert/analysis/attention_scores.hpp"
#include "dnabert/analysis/motif_discovery.hpp"

namespace {

using cpu = dnabert::backend::cpu;
using dnabert::bench::bench_backend;

constexpr std::size_t sequence_length = 101;  // DNABERT's sample (examples/sample_data/ft/6)
constexpr std::size_t sample_size = 1000;
const std::string planted = "CCGCGTGGAGGCAG";  // a CTCF-like core

/// `n` random 101-nt sequences (seeded); even ones carry the planted motif at a random place.
std::vector<std::string> sample_sequences(std::size_t n) {
  std::mt19937 rng(17);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string s(sequence_length, 'A');
    for (char& c : s) c = "ACGT"[rng() % 4];
    if (i % 2 == 0) s.replace(rng() % (sequence_length - planted.size()), planted.size(), planted);
    out.push_back(std::move(s));
  }
  return out;
}

using small_shape = dnabert::bert_spec<6, 4, 256, 4, 1024, 512>;

/// Attention scores of `state.range(0)` sequences per iteration, batches of 32.
template <class Spec>
void attention_scores(benchmark::State& state) {
  static const dnabert::cpu_bert<Spec> model(bench_backend(), dnabert::bench::config_of<Spec>(), dnabert::bert_head::sequence_classification, 1);
  const auto sequences = sample_sequences(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    const auto scores = dnabert::analysis::attention_scores(model, sequences);
    benchmark::DoNotOptimize(scores.data());
  }
  state.counters["sequences/s"] = benchmark::Counter(static_cast<double>(sequences.size()), benchmark::Counter::kIsIterationInvariantRate);
}

/// Motif discovery on 1000 sequences; the positives' scores peak (with noise) over the planted site.
void motif_discovery(benchmark::State& state) {
  const auto sequences = sample_sequences(sample_size);
  std::vector<std::string> positives, negatives;
  std::vector<std::vector<double>> scores;
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 0.02);
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    if (i % 2 != 0) {
      negatives.push_back(sequences[i]);
      continue;
    }
    const auto at = sequences[i].find(planted);
    std::vector<double> s(sequence_length);
    for (std::size_t j = 0; j < s.size(); ++j)
      s[j] = 0.05 + std::abs(noise(rng)) + (j >= at && j < at + planted.size() ? 0.6 : 0.0);
    positives.push_back(sequences[i]);
    scores.push_back(std::move(s));
  }
  std::size_t found = 0;
  for (auto _ : state) {
    const auto motifs = dnabert::analysis::discover_motifs(positives, negatives, scores);
    found = motifs.size();
    benchmark::DoNotOptimize(motifs.data());
  }
  state.counters["sequences/s"] = benchmark::Counter(static_cast<double>(sample_size), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["motifs"] = static_cast<double>(found);
}

}  // namespace

BENCHMARK(attention_scores<dnabert::DNABERT6>)->Name("attention_scores/base/101nt")->Arg(64)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(attention_scores<small_shape>)->Name("attention_scores/small/101nt")->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(motif_discovery)->Name("motif_discovery/1000x101nt")->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
