#pragma once
// The CPU backend's GEMMs through oneDNN's matmul primitive (built with DNABERT_USE_ONEDNN):
// float32, bfloat16 and int8 products, with bias and GELU fused as post-ops.
// oneDNN JIT-compiles its kernels for the ISA it finds at run time (AVX2, AVX-512, AMX), so one
// binary is fast on every x86 family, where Debian's BLIS and OpenBLAS fall back to older kernels
// on CPUs they do not know (docs/benchmarks.md). Creating a primitive (choosing and JIT-compiling
// a kernel) costs far more than a small product, so each shape's primitive is made once and
// cached. Debian's oneDNN threads with OpenMP (CMake checks): it runs on dnabert's OpenMP threads,
// as many as omp_get_max_threads(), which the backend's `threads` sets.

#ifdef DNABERT_USE_ONEDNN

#include <bit>
#include <cstdlib>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <unordered_map>

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "dnabert/core/error.hpp"

namespace dnabert::backend::detail {

/// What a matmul multiplies (the product is always float32): float32, bfloat16 (float32
/// accumulation), or unsigned 8-bit activations with a zero point times signed 8-bit weights
/// (int32 accumulation, then per-output-channel scales: ONNX Runtime's dynamic quantization).
enum class matmul_types : std::uint8_t { f32, bf16, u8s8 };

/// What runs on each product element before it is stored (after the bias).
enum class matmul_epilogue : std::uint8_t { none, gelu };

/// Everything a matmul primitive is specialised for: C[m,n] = epilogue(alpha·op(A)·op(B) + bias[n]) (+ beta·C).
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
  std::int64_t a_stride = 0;  ///< elements between rows of a non-transposed A (0: k, contiguous)
  matmul_types types = matmul_types::f32;
  bool packed_weights = false;  ///< B is in the layout the primitive chose (pack_weights made it)
  matmul_epilogue epilogue = matmul_epilogue::none;
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
    mix((key.trans_a ? 1U : 0U) | (key.trans_b ? 2U : 0U) | (key.has_bias ? 4U : 0U) | (key.packed_weights ? 8U : 0U) |
        (static_cast<std::uint64_t>(key.types) << 4) | (static_cast<std::uint64_t>(key.epilogue) << 8));
    mix(std::bit_cast<std::uint32_t>(key.alpha));
    mix(std::bit_cast<std::uint32_t>(key.beta));
    mix(static_cast<std::uint64_t>(key.threads));
    mix(static_cast<std::uint64_t>(key.a_stride));
    return h;
  }
};

/// A created primitive and the memory descriptors its arguments are wrapped in.
struct onednn_matmul_entry {
  dnnl::matmul primitive;
  dnnl::memory::desc a, b, bias, c, scratchpad;
};

/// The arguments of one product; `scales` ([n] output scales) and `zero_point` only for u8s8.
struct onednn_matmul_args {
  const void* a = nullptr;
  const void* b = nullptr;
  const float* bias = nullptr;
  float* c = nullptr;
  const float* scales = nullptr;
  std::int32_t zero_point = 0;
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
    using type = dnnl::memory::data_type;
    const type f32 = type::f32;
    const type a_type = key.types == matmul_types::f32 ? f32 : key.types == matmul_types::bf16 ? type::bf16 : type::u8;
    const type b_type = key.types == matmul_types::f32 ? f32 : key.types == matmul_types::bf16 ? type::bf16 : type::s8;
    const bool quantized = key.types == matmul_types::u8s8;
    // Row-major A [m,k] (stored [k,m] when transposed) and B [k,n] (stored [n,k]): strides say which.
    const std::int64_t a_stride = key.a_stride > 0 ? key.a_stride : key.k;
    const dnnl::memory::desc a({key.m, key.k}, a_type, key.trans_a ? dims{1, key.m} : dims{a_stride, 1});
    const dnnl::memory::desc b = key.packed_weights
                                     ? dnnl::memory::desc({key.k, key.n}, b_type, dnnl::memory::format_tag::any)
                                     : dnnl::memory::desc({key.k, key.n}, b_type, key.trans_b ? dims{1, key.k} : dims{key.n, 1});
    const dnnl::memory::desc c({key.m, key.n}, f32, dims{key.n, 1});
    const dnnl::memory::desc bias = key.has_bias ? dnnl::memory::desc({1, key.n}, f32, dims{key.n, 1}) : dnnl::memory::desc();
    dnnl::primitive_attr attr;
    // The caller gives each execution its own scratch memory: the library's would be shared by
    // every execution of the primitive, and one primitive runs on several threads at once when a
    // product is split into row tasks (packed_linear.hpp).
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::post_ops post;
    if (quantized) {
      // Per-call activation scale times per-channel weight scales, and the activations' zero
      // point, both given at execution. oneDNN 2.x adds a matmul's own bias before the output
      // scales (into the int32 sum), so the float bias comes as a post-op, after them.
      attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
      attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      if (key.has_bias) post.append_binary(dnnl::algorithm::binary_add, bias);
    } else if (key.alpha != 1.0F) {
      attr.set_output_scales(0, {key.alpha});
    }
    // dst = alpha·A·B + beta·dst; without this post-op oneDNN never reads C (beta = 0 ignores its contents).
    if (key.beta != 0.0F) post.append_sum(key.beta);
    if (key.epilogue == matmul_epilogue::gelu) post.append_eltwise(1.0F, dnnl::algorithm::eltwise_gelu_erf, 0.0F, 0.0F);
    attr.set_post_ops(post);
    const bool bias_argument = key.has_bias && !quantized;
    const auto desc = bias_argument ? dnnl::matmul::desc(a, b, bias, c) : dnnl::matmul::desc(a, b, c);
    const dnnl::matmul::primitive_desc pd(desc, attr, engine_);
    return std::make_shared<const onednn_matmul_entry>(
        onednn_matmul_entry{dnnl::matmul(pd), a, pd.weights_desc(), bias, c, pd.scratchpad_desc()});
  }

  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  std::mutex mutex_;
  std::unordered_map<onednn_matmul_key, std::shared_ptr<const onednn_matmul_entry>, onednn_matmul_key_hash> entries_;
};

/// This thread's scratch memory for oneDNN executions, at least `bytes` long, 64-byte aligned.
inline void* onednn_scratch(std::size_t bytes) {
  struct free_block {
    void operator()(void* p) const noexcept { std::free(p); }
  };
  thread_local std::unique_ptr<void, free_block> block;
  thread_local std::size_t size = 0;
  if (bytes > size) {
    const std::size_t rounded = (bytes + 63) / 64 * 64;
    block.reset(std::aligned_alloc(64, rounded));
    if (!block) throw std::bad_alloc();
    size = rounded;
  }
  return block.get();
}

/// The threads a primitive made now runs on: one inside a parallel region (OpenMP runs nested
/// regions on one thread, and oneDNN then runs sequentially), else omp_get_max_threads().
inline int onednn_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

/// "[m x k]^T x [k x n] + bias": a product's shape for error messages.
inline std::string onednn_matmul_text(const onednn_matmul_key& key) {
  // A stream, not chained `"[" + std::string`: that form trips g++ 12's -Wrestrict (a false positive).
  std::ostringstream text;
  text << '[' << key.m << 'x' << key.k << ']' << (key.trans_a ? "^T" : "") << " x [" << key.k << 'x' << key.n << ']'
       << (key.trans_b ? "^T" : "") << (key.has_bias ? " + bias" : "");
  return text.str();
}

/// Runs the cached primitive for `key`. With key.packed_weights, args.b holds weights in
/// `packed_desc`, the layout pack_weights chose; should this shape's primitive want another
/// (oneDNN picks the layout by shape and ISA, not by row count, so this is not expected), they
/// are reordered for this call.
inline void onednn_matmul(const onednn_matmul_key& key, const onednn_matmul_args& args,
                          const dnnl::memory::desc* packed_desc = nullptr) {
  try {
    auto& cache = onednn_matmul_cache::instance();
    const auto entry = cache.get(key);
    const auto& engine = cache.engine();
    thread_local dnnl::stream stream(engine);
    // oneDNN takes non-const handles; it only reads sources.
    dnnl::memory weights(entry->b, engine, const_cast<void*>(args.b));
    if (packed_desc != nullptr && *packed_desc != entry->b) {
      dnnl::memory given(*packed_desc, engine, const_cast<void*>(args.b));
      weights = dnnl::memory(entry->b, engine);
      dnnl::reorder(given, weights).execute(stream, given, weights);
    }
    std::unordered_map<int, dnnl::memory> arguments{{DNNL_ARG_SRC, dnnl::memory(entry->a, engine, const_cast<void*>(args.a))},
                                                    {DNNL_ARG_WEIGHTS, weights},
                                                    {DNNL_ARG_DST, dnnl::memory(entry->c, engine, args.c)}};
    std::int32_t zero_point = args.zero_point;
    if (key.types == matmul_types::u8s8) {
      arguments.emplace(DNNL_ARG_ATTR_OUTPUT_SCALES,
                        dnnl::memory({{key.n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a}, engine,
                                     const_cast<float*>(args.scales)));
      arguments.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC,
                        dnnl::memory({{1}, dnnl::memory::data_type::s32, dnnl::memory::format_tag::a}, engine, &zero_point));
      if (key.has_bias)
        arguments.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                          dnnl::memory(entry->bias, engine, const_cast<float*>(args.bias)));
    } else if (key.has_bias) {
      arguments.emplace(DNNL_ARG_BIAS, dnnl::memory(entry->bias, engine, const_cast<float*>(args.bias)));
    }
    if (const std::size_t bytes = entry->scratchpad.get_size(); bytes > 0)
      arguments.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(entry->scratchpad, engine, onednn_scratch(bytes)));
    entry->primitive.execute(stream, arguments);
    stream.wait();
  } catch (const dnnl::error& e) {
    throw error("oneDNN matmul " + onednn_matmul_text(key) + " failed: " + e.what() + " (oneDNN status " +
                std::to_string(static_cast<int>(e.status)) + ")");
  }
}

/// C[m,n] = alpha·op(A)·op(B) + beta·C, row-major contiguous float32, as `gemm` (sizes > 0).
inline void onednn_gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                        const float* a, const float* b, float beta, float* c) {
  onednn_matmul_key key{m, n, k, trans_a, trans_b, false, alpha, beta, onednn_threads()};
  onednn_matmul(key, {a, b, nullptr, c});
}

/// y[rows,out] = x[rows,in]·weight[out,in]ᵀ + bias in float32, the bias added by the GEMM's epilogue (sizes > 0).
inline void onednn_linear(const float* x, const float* weight, const float* bias, std::int64_t rows, std::int64_t in,
                          std::int64_t out, float* y) {
  onednn_matmul_key key{rows, out, in, false, true, true, 1.0F, 0.0F, onednn_threads()};
  onednn_matmul(key, {x, weight, bias, y});
}

}  // namespace dnabert::backend::detail

#endif  // DNABERT_USE_ONEDNN
