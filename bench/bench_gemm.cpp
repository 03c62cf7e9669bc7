// sgemm throughput (GFLOP/s) on the GEMM shapes of a DNABERT-6 base forward: the machine's measured
// peak that encoder benchmarks compare against, and the evidence for choosing the CPU backend's
// GEMM engine: Eigen's own, oneDNN's matmul (as the backend calls it), BLIS, OpenBLAS.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef DNABERT_USE_ONEDNN
#include "dnabert/backend/cpu/onednn_matmul.hpp"

#include <oneapi/dnnl/dnnl_debug.h>
#endif
#ifdef DNABERT_BENCH_OPENBLAS
#include <cblas.h>
#endif
#ifdef DNABERT_BENCH_BLIS
#include <blis.h>
#endif

namespace {

// One linear layer as PyTorch stores it: y[M,N] = x[M,K] · W[N,K]ᵀ, all row-major. Activations are
// M = batch × tokens rows; W is nn.Linear's [out_features, in_features] weight.
struct gemm_problem {
  Eigen::Index m;
  Eigen::Index n;
  Eigen::Index k;
  std::vector<float> x;
  std::vector<float> w;
  std::vector<float> y;

  gemm_problem(Eigen::Index rows, Eigen::Index cols, Eigen::Index depth)
      : m(rows), n(cols), k(depth), x(static_cast<std::size_t>(rows * depth)), w(static_cast<std::size_t>(cols * depth)),
        y(static_cast<std::size_t>(rows * cols)) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
    for (float& v : x) v = uniform(rng);
    for (float& v : w) v = uniform(rng);
  }

  [[nodiscard]] double flops() const { return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k); }

  // A wrong kernel (bad transposition, leading dimension) must not be timed: compare a spread of
  // output entries with a double-precision dot product.
  [[nodiscard]] bool matches_reference() const {
    const Eigen::Index stride_m = std::max<Eigen::Index>(1, m / 7);
    const Eigen::Index stride_n = std::max<Eigen::Index>(1, n / 5);
    for (Eigen::Index i = 0; i < m; i += stride_m) {
      for (Eigen::Index j = 0; j < n; j += stride_n) {
        double expected = 0.0;
        for (Eigen::Index p = 0; p < k; ++p) expected += double(x[std::size_t(i * k + p)]) * double(w[std::size_t(j * k + p)]);
        // Sums of k terms in [-1, 1] are of size sqrt(k); a wrong layout is off by that much,
        // fp32 rounding by about 1e4 times less.
        if (std::abs(expected - double(y[std::size_t(i * n + j)])) > 1e-3 * std::sqrt(double(k))) return false;
      }
    }
    return true;
  }
};

using row_major = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void eigen_multiply(gemm_problem& p) {
  const Eigen::Map<const row_major> x(p.x.data(), p.m, p.k);
  const Eigen::Map<const row_major> w(p.w.data(), p.n, p.k);
  Eigen::Map<row_major> y(p.y.data(), p.m, p.n);
  y.noalias() = x * w.transpose();
}

#ifdef DNABERT_BENCH_OPENBLAS
void openblas_multiply(gemm_problem& p) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(p.m), static_cast<blasint>(p.n),
              static_cast<blasint>(p.k), 1.0F, p.x.data(), static_cast<blasint>(p.k), p.w.data(), static_cast<blasint>(p.k),
              0.0F, p.y.data(), static_cast<blasint>(p.n));
}

// OpenBLAS's build decides its threading (pthreads or OpenMP); the label records which one ran.
std::string openblas_label() {
  const int parallel = openblas_get_parallel();
  const char* threading = parallel == 1 ? "pthread" : parallel == 2 ? "openmp" : "sequential";
  return std::string("OpenBLAS ") + threading + " (" + openblas_get_config() + ")";
}
#endif

#ifdef DNABERT_USE_ONEDNN
// The CPU backend's own call: a primitive cached per shape, on dnabert's OpenMP threads.
void onednn_multiply(gemm_problem& p) {
  dnabert::backend::detail::onednn_gemm(false, true, p.m, p.n, p.k, 1.0F, p.x.data(), p.w.data(), 0.0F, p.y.data());
}
#endif

#ifdef DNABERT_BENCH_BLIS
// BLIS's own typed API (its cblas would clash with OpenBLAS's in this program).
void blis_multiply(gemm_problem& p) {
  float one = 1.0F;
  float zero = 0.0F;
  bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, p.m, p.n, p.k, &one, p.x.data(), p.k, 1, p.w.data(), p.k, 1, &zero,
            p.y.data(), p.n, 1);
}
#endif

// Runs one engine on args {M, N, K, threads}; `threads_in_use` is what the engine reports after
// being asked for that many, so a build without threading cannot pass for a 2-thread result.
template <void (*Multiply)(gemm_problem&)>
void time_gemm(benchmark::State& state, int threads_in_use, const std::string& label) {
  const int requested_threads = static_cast<int>(state.range(3));
  if (threads_in_use != requested_threads) {
    state.SkipWithError(("asked for " + std::to_string(requested_threads) + " threads, the engine runs " +
                         std::to_string(threads_in_use) + " (built without OpenMP or threads?)")
                            .c_str());
    return;
  }
  gemm_problem problem(state.range(0), state.range(1), state.range(2));
  Multiply(problem);
  if (!problem.matches_reference()) {
    state.SkipWithError("GEMM result differs from the double-precision reference");
    return;
  }
  const std::clock_t cpu_start = std::clock();
  for (auto _ : state) {
    Multiply(problem);
    benchmark::DoNotOptimize(problem.y.data());
    benchmark::ClobberMemory();
  }
  const double cpu_seconds = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const double gflop = problem.flops() * 1e-9;
  state.counters["GFLOP/s"] = benchmark::Counter(gflop, benchmark::Counter::kIsIterationInvariantRate);
  // Throughput per second of CPU time over all threads: on a busy machine, where wall-clock
  // GFLOP/s mostly measures the neighbours, it still shows what each engine's kernels can do.
  state.counters["GFLOP/cpu-s"] = gflop * double(state.iterations()) / std::max(cpu_seconds, 1e-9);
  state.SetLabel(label);
}

void eigen_sgemm(benchmark::State& state) {
  Eigen::setNbThreads(static_cast<int>(state.range(3)));
  time_gemm<eigen_multiply>(state, Eigen::nbThreads(), "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." +
                                                           std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                                           std::to_string(EIGEN_MINOR_VERSION));
}

#ifdef DNABERT_USE_ONEDNN
void onednn_sgemm(benchmark::State& state) {
  omp_set_num_threads(static_cast<int>(state.range(3)));
  const dnnl_version_t* version = dnnl_version();
  time_gemm<onednn_multiply>(state, omp_get_max_threads(),
                             "oneDNN " + std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
                                 std::to_string(version->patch) + " matmul (" + dnnl_runtime2str(version->cpu_runtime) +
                                 ", " + dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()) + ")");
}
#endif

#ifdef DNABERT_BENCH_BLIS
void blis_sgemm(benchmark::State& state) {
  bli_thread_set_num_threads(state.range(3));
  time_gemm<blis_multiply>(state, static_cast<int>(bli_thread_get_num_threads()),
                           std::string("BLIS ") + bli_info_get_version_str() + " (" +
                               bli_arch_string(bli_arch_query_id()) + ")");
}
#endif

#ifdef DNABERT_BENCH_OPENBLAS
void openblas_sgemm(benchmark::State& state) {
  openblas_set_num_threads(static_cast<int>(state.range(3)));
  time_gemm<openblas_multiply>(state, openblas_get_num_threads(), openblas_label());
}
#endif

// 2048³ as the classic square peak, then every linear layer of a DNABERT-6 base forward
// (hidden 768, FFN 3072) for M = 1×128, 8×128 and 8×512 tokens, on 1 and 2 threads.
void dnabert_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K", "threads"});
  for (const std::int64_t threads : {1, 2}) {
    b->Args({2048, 2048, 2048, threads});
    for (const std::int64_t m : {128, 1024, 4096}) {
      b->Args({m, 768, 768, threads});   // Q, K, V and attention output projections
      b->Args({m, 3072, 768, threads});  // FFN up-projection
      b->Args({m, 768, 3072, threads});  // FFN down-projection
    }
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(eigen_sgemm)->Apply(dnabert_shapes);
#ifdef DNABERT_USE_ONEDNN
BENCHMARK(onednn_sgemm)->Apply(dnabert_shapes);
#endif
#ifdef DNABERT_BENCH_BLIS
BENCHMARK(blis_sgemm)->Apply(dnabert_shapes);
#endif
#ifdef DNABERT_BENCH_OPENBLAS
BENCHMARK(openblas_sgemm)->Apply(dnabert_shapes);
#endif
BENCHMARK_MAIN();
