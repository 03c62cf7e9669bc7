#pragma once
// A linear layer's weights prepared once for inference on the CPU, in the backend's cpu_math:
// float32 or bfloat16 reordered into the layout oneDNN's kernel reads, or int8 per output channel
// (quantized here, or read from a folder `dnabert quantize` wrote). A forward then converts only
// the activations: to bfloat16, or to uint8 with a scale and zero point chosen per call.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dnabert/backend/cpu/backend.hpp"
#include "dnabert/backend/cpu/low_precision.hpp"
#include "dnabert/backend/cpu/onednn_matmul.hpp"
#include "dnabert/backend/cpu/ops.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/int8_quantization.hpp"
#include "dnabert/ops/op_list.hpp"

namespace dnabert::backend {

/// Weights and bias of y = x Wᵀ + b prepared for CPU inference (see pack_linear).
struct packed_linear {
  cpu_math math = cpu_math::fp32;
  std::int64_t in = 0;
  std::int64_t out = 0;
  std::shared_ptr<void> weights;  ///< oneDNN's layout (float32, bfloat16 or int8); float32 [out, in] without oneDNN
#ifdef DNABERT_USE_ONEDNN
  dnnl::memory::desc layout;  ///< how `weights` is laid out
#endif
  std::vector<float> bias;    ///< [out]
  std::vector<float> scales;  ///< int8: each output channel's weight scale [out]
};

namespace detail {

#ifdef DNABERT_USE_ONEDNN
/// The row count the layout of packed weights is chosen for: oneDNN picks it by ISA and the
/// weight shape, not the rows (onednn_matmul reorders, should another row count ever differ).
inline constexpr std::int64_t packing_rows = 256;

/// Whether oneDNN's int8 kernels here have VNNI (u8·s8 products summed in 32 bits). Without it
/// they pair products in saturating 16-bit sums, so weights are kept within ±63 (as ONNX Runtime's
/// reduce_range does) to never saturate.
inline bool has_vnni() {
  const auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_vnni || isa == dnnl::cpu_isa::avx512_core_bf16 ||
         isa == dnnl::cpu_isa::avx512_core_amx || isa == dnnl::cpu_isa::avx2_vnni;
}

/// The matmul key of a packed linear layer's forward.
inline onednn_matmul_key packed_key(const packed_linear& w, std::int64_t rows, std::int64_t x_stride,
                                    ops::activation act) {
  onednn_matmul_key key{rows, w.out, w.in, false, true, true, 1.0F, 0.0F, onednn_threads()};
  key.a_stride = x_stride == w.in ? 0 : x_stride;
  key.types = w.math == cpu_math::fp32 ? matmul_types::f32 : w.math == cpu_math::bf16 ? matmul_types::bf16 : matmul_types::u8s8;
  key.packed_weights = true;
  key.epilogue = act == ops::activation::gelu ? matmul_epilogue::gelu : matmul_epilogue::none;
  return key;
}

/// Reorders `source` ([in, out] as weight[out, in]ᵀ, element type `type`) into the layout the
/// packed forward's primitive reads, into w.weights.
inline void reorder_into_packed(cpu_t<float>& be, packed_linear& w, const void* source, dnnl::memory::data_type type) {
  const auto key = packed_key(w, packing_rows, w.in, ops::activation::none);
  try {
    auto& cache = onednn_matmul_cache::instance();
    w.layout = cache.get(key)->b;
    w.weights = be.allocate(w.layout.get_size());
    const auto& engine = cache.engine();
    dnnl::memory from({{w.in, w.out}, type, {1, w.in}}, engine, const_cast<void*>(source));
    dnnl::memory to(w.layout, engine, w.weights.get());
    dnnl::stream stream(engine);
    dnnl::reorder(from, to).execute(stream, from, to);
    stream.wait();
  } catch (const dnnl::error& e) {
    throw error("oneDNN could not pack a [" + std::to_string(w.out) + "x" + std::to_string(w.in) + "] " +
                to_string(w.math) + " weight: " + e.what());
  }
}
#endif

}  // namespace detail

/// How this CPU computes `math`, in one line (the CLI prints it): the instruction set oneDNN
/// uses, and whether bfloat16 is native or emulated there. fp32 without oneDNN: the BLAS.
inline std::string describe_cpu_math(cpu_math math) {
#ifdef DNABERT_USE_ONEDNN
  const auto isa = dnnl::get_effective_cpu_isa();
  using dnnl::cpu_isa;
  const std::string name = isa == cpu_isa::avx512_core_amx    ? "AVX-512 with AMX"
                           : isa == cpu_isa::avx512_core_bf16 ? "AVX-512 with AVX512_BF16 and VNNI"
                           : isa == cpu_isa::avx512_core_vnni ? "AVX-512 with VNNI"
                           : isa == cpu_isa::avx512_core      ? "AVX-512"
                           : isa == cpu_isa::avx2_vnni        ? "AVX2 with AVX-VNNI"
                           : isa == cpu_isa::avx2             ? "AVX2"
                                                              : "an instruction set older than AVX2";
  std::string text = to_string(math) + " GEMMs through oneDNN " + std::to_string(DNNL_VERSION_MAJOR) + "." +
                     std::to_string(DNNL_VERSION_MINOR) + " on " + name;
  if (math == cpu_math::bf16 && isa != cpu_isa::avx512_core_amx && isa != cpu_isa::avx512_core_bf16)
    text += ": this CPU has no bfloat16 instructions, so oneDNN emulates them (slower than fp32; "
            "it needs AVX-512 at least)";
  if (math == cpu_math::int8 && !detail::has_vnni())
    text += ": without VNNI, weights are quantized to ±63 (as ONNX Runtime's reduce_range) so 16-bit sums never saturate";
  return text;
#else
  return to_string(math) + " GEMMs through " +
#if defined(DNABERT_USE_BLIS)
         "BLIS";
#elif defined(DNABERT_USE_OPENBLAS)
         "OpenBLAS";
#else
         "Eigen";
#endif
#endif
}

/// Whether pack_linear makes int8 weights here (the backend computes in int8): then layers pack
/// the int8 weights of a quantized folder with pack_quantized_linear instead.
inline bool packs_int8(const cpu_t<float>& be) { return be.math() == cpu_math::int8; }

/// Prepares int8 weights quantized ahead of time (a `dnabert quantize` folder) on an int8
/// backend, without quantizing again. Where oneDNN's int8 kernels lack VNNI (see has_vnni),
/// weights beyond ±63 are quantized again from their float values, to that range.
inline packed_linear pack_quantized_linear(cpu_t<float>& be, const int8_rows& weight, std::span<const float> bias) {
  if (be.math() != cpu_math::int8)
    throw config_error("int8 weights need the int8 CPU backend (--precision int8), not " + to_string(be.math()));
  if (weight.rows <= 0 || weight.cols <= 0 || static_cast<std::int64_t>(weight.values.size()) != weight.rows * weight.cols ||
      static_cast<std::int64_t>(weight.scales.size()) != weight.rows || static_cast<std::int64_t>(bias.size()) != weight.rows)
    throw config_error("int8 weight of " + std::to_string(weight.rows) + "x" + std::to_string(weight.cols) +
                       " with " + std::to_string(weight.scales.size()) + " scales and " + std::to_string(bias.size()) +
                       " biases: expected one scale and one bias per row");
#ifdef DNABERT_USE_ONEDNN
  packed_linear w;
  w.math = cpu_math::int8;
  w.in = weight.cols;
  w.out = weight.rows;
  w.bias.assign(bias.begin(), bias.end());
  const bool fits = detail::has_vnni() || std::all_of(weight.values.begin(), weight.values.end(),
                                                      [](std::int8_t v) { return v >= -63 && v <= 63; });
  const int8_rows narrowed = fits ? int8_rows{} : quantize_rows(dequantize_rows(weight), weight.rows, weight.cols, 63);
  const int8_rows& used = fits ? weight : narrowed;
  w.scales = used.scales;
  detail::reorder_into_packed(be, w, used.values.data(), dnnl::memory::data_type::s8);
  return w;
#else
  return {};  // unreachable: an int8 backend needs oneDNN (cpu_t's constructor)
#endif
}

/// Prepares weight [out, in] and bias [out] for inference in be.math(): int8 quantizes each
/// output channel symmetrically (scale max|row| / 127, as `dnabert quantize`) and packs that as
/// pack_quantized_linear does, so both give the same weights on every CPU.
inline packed_linear pack_linear(cpu_t<float>& be, const float* weight, const float* bias, std::int64_t in, std::int64_t out) {
  packed_linear w;
  w.math = be.math();
  w.in = in;
  w.out = out;
#ifdef DNABERT_USE_ONEDNN
  if (w.math == cpu_math::int8)
    return pack_quantized_linear(be, quantize_rows({weight, static_cast<std::size_t>(in * out)}, out, in),
                                 {bias, static_cast<std::size_t>(out)});
  w.bias.assign(bias, bias + out);
  detail::reorder_into_packed(be, w, weight, dnnl::memory::data_type::f32);  // bf16: the reorder rounds
#else
  w.weights = be.allocate(static_cast<std::size_t>(in * out) * sizeof(float));
  std::memcpy(w.weights.get(), weight, static_cast<std::size_t>(in * out) * sizeof(float));
  w.bias.assign(bias, bias + out);
#endif
  return w;
}

#ifdef DNABERT_USE_ONEDNN
namespace detail {

/// Rows of one task of a packed product (see run_in_row_tasks). Measured on a 2-core Xeon
/// (docs/benchmarks.md, "Under contention"): 32-row tasks cost 25 % of an idle 8x128 forward
/// (a single-threaded kernel on 32 rows runs slower than oneDNN's own split), 128-row ones ~5 %.
inline constexpr std::int64_t task_rows = 128;

/// Runs product(first_row, rows) over [0, rows) in tasks of task_rows rows that the threads take
/// as they come, each task one single-threaded oneDNN product. oneDNN splits a product among the
/// threads in equal static shares, so when the OS deschedules one thread (another process wants
/// its core) the others wait for its share at the product's end, up to a time slice; here they
/// take its remaining tasks instead (docs/benchmarks.md, "Under contention"). With fewer tasks
/// than two per thread, oneDNN's own split runs.
template <class Product>
void run_in_row_tasks(std::int64_t rows, Product&& product) {
  const std::int64_t tasks = (rows + task_rows - 1) / task_rows;
  if (onednn_threads() == 1 || tasks < 2 * onednn_threads()) {
    product(0, rows);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t t = 0; t < tasks; ++t) product(t * task_rows, std::min(task_rows, rows - t * task_rows));
}

}  // namespace detail
#endif

/// y[rows, out] = act(x · Wᵀ + b) for x [rows, in] whose rows are x_stride apart, in w.math: the
/// activations rounded to bfloat16, or quantized to uint8 for this call (int8). Float32 result.
inline void linear_forward(cpu_t<float>& be, const float* x, std::int64_t x_stride, const packed_linear& w,
                           std::int64_t rows, float* y, ops::activation act) {
  if (rows <= 0) return;
#ifdef DNABERT_USE_ONEDNN
  // The source rows the GEMM reads (x itself, or its bf16 / uint8 copy), their stride, element size.
  const void* source = x;
  std::int64_t stride = x_stride;
  std::size_t element = sizeof(float);
  std::shared_ptr<void> converted;
  std::vector<float> scales;
  std::int32_t zero_point = 0;
  if (w.math != cpu_math::fp32) {
    converted = be.allocate(static_cast<std::size_t>(rows * w.in) * sizeof(std::uint16_t));
    source = converted.get();
    stride = w.in;
  }
  if (w.math == cpu_math::bf16) {
    detail::round_to_bfloat16(x, rows, w.in, x_stride, static_cast<std::uint16_t*>(converted.get()));
    element = sizeof(std::uint16_t);
  } else if (w.math == cpu_math::int8) {
    const detail::uint8_quantization q = detail::choose_uint8_quantization(x, rows, w.in, x_stride);
    if (!q.finite) throw error("int8 linear layer: its input holds a NaN or an infinity, which no int8 scale represents");
    detail::quantize_to_uint8(x, rows, w.in, x_stride, q, static_cast<std::uint8_t*>(converted.get()));
    scales.resize(w.scales.size());
    for (std::size_t c = 0; c < scales.size(); ++c) scales[c] = q.scale * w.scales[c];
    zero_point = q.zero_point;
    element = sizeof(std::uint8_t);
  }
  detail::run_in_row_tasks(rows, [&](std::int64_t first, std::int64_t count) {
    const auto* from = static_cast<const std::byte*>(source) + static_cast<std::size_t>(first * stride) * element;
    detail::onednn_matmul(detail::packed_key(w, count, stride, act),
                          {from, w.weights.get(), w.bias.data(), y + first * w.out, scales.data(), zero_point}, &w.layout);
  });
#else
  // Without oneDNN only float32 packs (a copy of the weights): the plain ops on contiguous rows.
  std::vector<float> contiguous;
  if (x_stride != w.in) {
    contiguous.resize(static_cast<std::size_t>(rows * w.in));
    for (std::int64_t r = 0; r < rows; ++r) std::copy_n(x + r * x_stride, w.in, contiguous.data() + r * w.in);
    x = contiguous.data();
  }
  linear_forward(be, x, static_cast<const float*>(w.weights.get()), w.bias.data(), rows, w.in, w.out, y);
  if (act == ops::activation::gelu) gelu_forward(be, y, y, rows * w.out);
#endif
}

static_assert(ops::packs_linear<cpu>, "the CPU backend packs linear layers (ops/op_list.hpp)");
static_assert(ops::packs_quantized_linear<cpu>, "the CPU backend packs a quantized folder's int8 weights (ops/op_list.hpp)");

}  // namespace dnabert::backend
