#pragma once
// What the Google Benchmark programs share: the CPU backends sized from the environment, a random
// batch of k-mer ids framed by [CLS] ... [SEP] (the same in every program and run), the counters.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>

#include "dnabert/backend/cpu/backend.hpp"
#include "dnabert/core/bert_config.hpp"
#include "dnabert/core/vocabulary.hpp"
#include "dnabert/tokenizer/token_batch.hpp"

namespace dnabert::bench {

/// Threads from DNABERT_THREADS, else OMP_NUM_THREADS, else 0 (all cores).
inline int threads_from_environment() {
  for (const char* name : {"DNABERT_THREADS", "OMP_NUM_THREADS"})
    if (const char* value = std::getenv(name)) return std::atoi(value);
  return 0;
}

/// The one float32 CPU backend every benchmark of a program runs on.
inline backend::cpu& bench_backend() {
  static backend::cpu backend(threads_from_environment());
  return backend;
}

/// The backend whose GEMMs compute in Math, with bench_backend()'s threads: bench_backend() itself
/// for fp32, else one made on first use (it throws config_error in a build without oneDNN).
template <backend::cpu_math Math>
backend::cpu& precision_backend() {
  if constexpr (Math == backend::cpu_math::fp32) {
    return bench_backend();
  } else {
    static backend::cpu backend(threads_from_environment(), Math);
    return backend;
  }
}

/// `rows` sequences of `length` tokens: [CLS], random 6-mer ids (seeded), [SEP]; no padding.
inline token_batch random_batch(std::size_t rows, std::size_t length) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<token_id> kmer(special::count, vocab_size_for_k(6) - 1);
  token_batch batch;
  batch.rows = rows;
  batch.length = length;
  batch.input_ids.resize(rows * length);
  batch.attention_mask.assign(rows * length, 1);
  batch.origins.resize(rows);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t t = 0; t < length; ++t)
      batch.input_ids[r * length + t] = t == 0 ? special::cls : t + 1 == length ? special::sep : kmer(rng);
  return batch;
}

/// The configuration of Spec's fixed sizes (random weights), with a classifier of `labels` classes
/// and Hugging Face's dropout.
template <class Spec>
bert_config config_of(std::int64_t labels = 2) {
  bert_config config;
  config.vocab_size = vocab_size_for_k(Spec::k);
  config.num_hidden_layers = Spec::layers;
  config.hidden_size = Spec::hidden;
  config.num_attention_heads = Spec::heads;
  config.intermediate_size = Spec::intermediate;
  config.max_position_embeddings = Spec::max_positions;
  config.num_labels = labels;
  return config;
}

/// Counters every model benchmark reports: `tokens` per iteration as tokens/s, and the threads.
inline void report_tokens_per_second(benchmark::State& state, std::size_t tokens) {
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = bench_backend().threads();
}

}  // namespace dnabert::bench
