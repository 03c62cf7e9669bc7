// Tokenizer throughput in nucleotides per second (goal: >= 500 M nt/s per core for k = 6).
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "dnabert/tokenizer/kmer_tokenizer.hpp"

namespace {

std::string random_genome_slice(std::size_t length) {
  std::mt19937 rng(42);
  const std::string_view alphabet = "ACGTACGTACGTACGTACGTACGTACGTACGTacgtN";  // some soft-masking and N
  std::string sequence(length, 'A');
  for (char& c : sequence) c = alphabet[rng() % alphabet.size()];
  return sequence;
}

// Raw k-mer ids of a long sequence (the inner loop of genome scans).
template <int K>
void kmer_ids(benchmark::State& state) {
  const auto sequence = random_genome_slice(static_cast<std::size_t>(state.range(0)));
  const dnabert::KmerTokenizer<K> tokenizer;
  std::vector<dnabert::token_id> ids(tokenizer.kmer_count(sequence.size()));
  for (auto _ : state) {
    dnabert::detail::write_kmer_ids<K>(K, sequence, ids.data());
    benchmark::DoNotOptimize(ids.data());
    benchmark::ClobberMemory();
  }
  state.counters["nt/s"] = benchmark::Counter(static_cast<double>(sequence.size()), benchmark::Counter::kIsIterationInvariantRate);
}

// Full model inputs: 510-k-mer pieces with [CLS]/[SEP] (allocates per piece).
template <int K>
void encode_pieces(benchmark::State& state) {
  const auto sequence = random_genome_slice(static_cast<std::size_t>(state.range(0)));
  const dnabert::KmerTokenizer<K> tokenizer;
  for (auto _ : state) {
    auto pieces = tokenizer.encode(sequence);
    benchmark::DoNotOptimize(pieces.data());
  }
  state.counters["nt/s"] = benchmark::Counter(static_cast<double>(sequence.size()), benchmark::Counter::kIsIterationInvariantRate);
}

// The run-time-k form the CLI uses.
void kmer_ids_runtime_k6(benchmark::State& state) {
  const auto sequence = random_genome_slice(static_cast<std::size_t>(state.range(0)));
  const dnabert::kmer_tokenizer tokenizer(6);
  std::vector<dnabert::token_id> ids(tokenizer.kmer_count(sequence.size()));
  for (auto _ : state) {
    dnabert::detail::write_kmer_ids<dnabert::dynamic>(tokenizer.k(), sequence, ids.data());
    benchmark::DoNotOptimize(ids.data());
    benchmark::ClobberMemory();
  }
  state.counters["nt/s"] = benchmark::Counter(static_cast<double>(sequence.size()), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(kmer_ids<3>)->Arg(1 << 20);
BENCHMARK(kmer_ids<6>)->Arg(1 << 20);
BENCHMARK(kmer_ids_runtime_k6)->Arg(1 << 20);
BENCHMARK(encode_pieces<6>)->Arg(1 << 20);
BENCHMARK_MAIN();
