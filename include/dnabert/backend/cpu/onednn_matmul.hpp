#pragma once
// The CPU backend's float GEMM through oneDNN's matmul primitive (built with DNABERT_USE_ONEDNN).
// oneDNN JIT-compiles its kernels for the ISA it finds at run time (AVX2, AVX-512, AMX), so one
// binary is fast on every x86 family, where Debian's BLIS and OpenBLAS fall back to older kernels
// on CPUs they do not know (docs/benchmarks.md). Creating a primitive (choosing and JIT-compiling
// a kernel) costs far more than a small product, so each shape's primitive is made once and
// cached. Debian's oneDNN threads with OpenMP (CMake checks): it runs on dnabert's OpenMP threads,
// as many as omp_get_max_threads(), which the backend's `threads` sets.

#ifdef DNABERT_USE_ONEDNN

#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "dnabert/core/error.hpp"

namespace dnabert::backend::detail {

/// Everything a matmul primitive is specialised for: C[m,n] = alpha·op(A)·op(B) (+ bias[n]) (+ beta·C).
struct onednn_matmul_key {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  bool trans_a = false;
  bool trans_b = false;
  bool has_bias = false;
  float alpha = 1.0F;
  float beta = 0.0F;
  int threads = 1;  // a primitive splits its work for, and runs, the OpenMP thread count it was made with
  friend bool operator==(const onednn_matmul_key&, const onednn_matmul_key&) = default;
};

/// Hash of a key (boost-style combination of its fields).
struct onednn_matmul_key_hash {
  std::size_t operator()(const onednn_matmul_key& key) const noexcept {
    std::size_t h = 0;
    const auto mix = [&h](std::uint64_t v) { h ^= std::hash<std::uint64_t>{}(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
    mix(static_cast<std::uint64_t>(key.m));
    mix(static_cast<std::uint64_t>(key.n));
    mix(static_cast<std::uint64_t>(key.k));
    mix((key.trans_a ? 1U : 0U) | (key.trans_b ? 2U : 0U) | (key.has_bias ? 4U : 0U));
    mix(std::bit_cast<std::uint32_t>(key.alpha));
    mix(std::bit_cast<std::uint32_t>(key.beta));
    mix(static_cast<std::uint64_t>(key.threads));
    return h;
  }
};

/// A created primitive and the memory descriptors its arguments are wrapped in.
struct onednn_matmul_entry {
  dnnl::matmul primitive;
  dnnl::memory::desc a, b, bias, c;
};

/// The process's oneDNN CPU engine and its matmul primitives, one per key; safe to use from any thread.
class onednn_matmul_cache {
 public:
  /// The one cache of the process (oneDNN's engine is per process too).
  static onednn_matmul_cache& instance() {
    static onednn_matmul_cache cache;
    return cache;
  }

  /// The CPU engine every primitive runs on.
  [[nodiscard]] const dnnl::engine& engine() const noexcept { return engine_; }

  /// The primitive for `key`, created on first use.
  std::shared_ptr<const onednn_matmul_entry> get(const onednn_matmul_key& key) {
    const std::lock_guard lock(mutex_);
    if (const auto found = entries_.find(key); found != entries_.end()) return found->second;
    // Bounded: a program that sees ever new batch shapes (scan over varied lengths) must not grow
    // without end; entries in use stay alive through their shared_ptr.
    if (entries_.size() >= max_entries) entries_.clear();
    auto entry = create(key);
    entries_.emplace(key, entry);
    return entry;
  }

 private:
  static constexpr std::size_t max_entries = 512;

  onednn_matmul_cache() = default;

  std::shared_ptr<const onednn_matmul_entry> create(const onednn_matmul_key& key) const {
    using dims = dnnl::memory::dims;
    const auto f32 = dnnl::memory::data_type::f32;
    // Row-major A [m,k] (stored [k,m] when transposed) and B [k,n] (stored [n,k]): strides say which.
    const dnnl::memory::desc a({key.m, key.k}, f32, key.trans_a ? dims{1, key.m} : dims{key.k, 1});
    const dnnl::memory::desc b({key.k, key.n}, f32, key.trans_b ? dims{1, key.k} : dims{key.n, 1});
    const dnnl::memory::desc c({key.m, key.n}, f32, dims{key.n, 1});
    const dnnl::memory::desc bias = key.has_bias ? dnnl::memory::desc({1, key.n}, f32, dims{key.n, 1}) : dnnl::memory::desc();
    dnnl::primitive_attr attr;
    if (key.alpha != 1.0F) attr.set_output_scales(0, {key.alpha});
    if (key.beta != 0.0F) {
      // dst = alpha·A·B + beta·dst; without this post-op oneDNN never reads C (beta = 0 ignores its contents).
      dnnl::post_ops post;
      post.append_sum(key.beta);
      attr.set_post_ops(post);
    }
    const auto desc = key.has_bias ? dnnl::matmul::desc(a, b, bias, c) : dnnl::matmul::desc(a, b, c);
    const dnnl::matmul::primitive_desc pd(desc, attr, engine_);
    return std::make_shared<const onednn_matmul_entry>(onednn_matmul_entry{dnnl::matmul(pd), a, b, bias, c});
  }

  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  std::mutex mutex_;
  std::unordered_map<onednn_matmul_key, std::shared_ptr<const onednn_matmul_entry>, onednn_matmul_key_hash> entries_;
};

/// Runs the cached primitive for `key` on row-major buffers (bias may be null when !key.has_bias).
inline void onednn_matmul(const onednn_matmul_key& key, const float* a, const float* b, const float* bias, float* c) {
  try {
    auto& cache = onednn_matmul_cache::instance();
    const auto entry = cache.get(key);
    const auto& engine = cache.engine();
    // oneDNN takes non-const handles; it only reads sources.
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, dnnl::memory(entry->a, engine, const_cast<float*>(a))},
        {DNNL_ARG_WEIGHTS, dnnl::memory(entry->b, engine, const_cast<float*>(b))},
        {DNNL_ARG_DST, dnnl::memory(entry->c, engine, c)}};
    if (key.has_bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(entry->bias, engine, const_cast<float*>(bias)));
    thread_local dnnl::stream stream(engine);
    entry->primitive.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    throw error("oneDNN matmul [" + std::to_string(key.m) + "x" + std::to_string(key.k) + "]" +
                (key.trans_a ? "^T" : "") + " x [" + std::to_string(key.k) + "x" + std::to_string(key.n) + "]" +
                (key.trans_b ? "^T" : "") + (key.has_bias ? " + bias" : "") + " failed: " + e.what() +
                " (oneDNN status " + std::to_string(static_cast<int>(e.status)) + ")");
  }
}

/// C[m,n] = alpha·op(A)·op(B) + beta·C, row-major contiguous, as `gemm` (sizes > 0).
inline void onednn_gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                        const float* a, const float* b, float beta, float* c) {
  onednn_matmul({m, n, k, trans_a, trans_b, false, alpha, beta, omp_get_max_threads()}, a, b, nullptr, c);
}

/// y[rows,out] = x[rows,in]·weight[out,in]ᵀ + bias, the bias added by the GEMM's epilogue (sizes > 0).
inline void onednn_linear(const float* x, const float* weight, const float* bias, std::int64_t rows, std::int64_t in,
                          std::int64_t out, float* y) {
  onednn_matmul({rows, out, in, false, true, true, 1.0F, 0.0F, omp_get_max_threads()}, x, weight, bias, y);
}

}  // namespace dnabert::backend::detail

#endif  // DNABERT_USE_ONEDNN
