// Element-wise CUDA ops: bias, sums, fill, GELU, tanh, dropout, embeddings and row copies.
// Grid-stride loops, one thread per element per pass; arithmetic in float whatever T stores.
#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "common.cuh"
#include "reductions.cuh"
#include "dnabert/backend/cuda/ops.hpp"
#include "dnabert/backend/sorted_runs.hpp"
#include "dnabert/core/rng.hpp"

namespace dnabert::backend {
namespace {

using detail::for_each;
using detail::from_float;
using detail::index_t;
using detail::to_float;

constexpr float inv_sqrt2 = 0.70710678118654752440f;
constexpr float inv_sqrt_2pi = 0.39894228040143267794f;

}  // namespace

template <class T>
void add_bias(cuda_t<T>& be, T* y, const T* bias, std::int64_t rows, std::int64_t n) {
  using D = detail::device_t<T>;
  auto* yd = detail::device_ptr(y);
  const auto* b = detail::device_ptr(bias);
  for_each(be, rows * n, [=] __device__(index_t i) { yd[i] = from_float<D>(to_float(yd[i]) + to_float(b[i % n])); }, "add_bias");
}

template <class T>
void add_bias_grad(cuda_t<T>& be, const T* dy, std::int64_t rows, std::int64_t n, T* dbias) {
  const auto* d = detail::device_ptr(dy);
  detail::add_column_sums(be, rows, n, [=] __device__(index_t r, index_t j) { return to_float(d[r * n + j]); },
                          detail::device_ptr(dbias));
}

template <class T>
void add(cuda_t<T>& be, const T* a, const T* b, T* out, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto *ad = detail::device_ptr(a), *bd = detail::device_ptr(b);
  auto* od = detail::device_ptr(out);
  for_each(be, n, [=] __device__(index_t i) { od[i] = from_float<D>(to_float(ad[i]) + to_float(bd[i])); }, "add");
}

template <class T>
void accumulate(cuda_t<T>& be, T* dst, const T* src, std::int64_t n) {
  using D = detail::device_t<T>;
  auto* d = detail::device_ptr(dst);
  const auto* s = detail::device_ptr(src);
  for_each(be, n, [=] __device__(index_t i) { d[i] = from_float<D>(to_float(d[i]) + to_float(s[i])); }, "accumulate");
}

template <class T>
void fill(cuda_t<T>& be, T* dst, T value, std::int64_t n) {
  using D = detail::device_t<T>;
  auto* d = detail::device_ptr(dst);
  const float v = static_cast<float>(value);
  for_each(be, n, [=] __device__(index_t i) { d[i] = from_float<D>(v); }, "fill");
}

template <class T>
void gelu_forward(cuda_t<T>& be, const T* x, T* y, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto* xd = detail::device_ptr(x);
  auto* yd = detail::device_ptr(y);
  for_each(
      be, n,
      [=] __device__(index_t i) {
        const float v = to_float(xd[i]);
        yd[i] = from_float<D>(0.5f * v * (1.0f + erff(v * inv_sqrt2)));
      },
      "gelu_forward");
}

template <class T>
void gelu_backward(cuda_t<T>& be, const T* x, const T* dy, T* dx, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto *xd = detail::device_ptr(x), *g = detail::device_ptr(dy);
  auto* out = detail::device_ptr(dx);
  for_each(
      be, n,
      [=] __device__(index_t i) {
        const float v = to_float(xd[i]);
        const float cdf = 0.5f * (1.0f + erff(v * inv_sqrt2));
        const float pdf = inv_sqrt_2pi * expf(-0.5f * v * v);
        out[i] = from_float<D>(to_float(out[i]) + to_float(g[i]) * (cdf + v * pdf));
      },
      "gelu_backward");
}

template <class T>
void gated_gelu_forward(cuda_t<T>& be, const T* x, T* y, std::int64_t rows, std::int64_t width) {
  using D = detail::device_t<T>;
  const auto* xd = detail::device_ptr(x);
  auto* yd = detail::device_ptr(y);
  for_each(
      be, rows * width,
      [=] __device__(index_t i) {
        const index_t at = (i / width) * 2 * width + i % width;
        const float gate = to_float(xd[at]);
        yd[i] = from_float<D>(0.5f * gate * (1.0f + erff(gate * inv_sqrt2)) * to_float(xd[at + width]));
      },
      "gated_gelu_forward");
}

template <class T>
void gated_gelu_backward(cuda_t<T>& be, const T* x, const T* dy, T* dx, std::int64_t rows, std::int64_t width) {
  using D = detail::device_t<T>;
  const auto *xd = detail::device_ptr(x), *g = detail::device_ptr(dy);
  auto* out = detail::device_ptr(dx);
  for_each(
      be, rows * width,
      [=] __device__(index_t i) {
        const index_t at = (i / width) * 2 * width + i % width;
        const float gate = to_float(xd[at]), value = to_float(xd[at + width]), grad = to_float(g[i]);
        const float cdf = 0.5f * (1.0f + erff(gate * inv_sqrt2));
        const float pdf = inv_sqrt_2pi * expf(-0.5f * gate * gate);
        out[at] = from_float<D>(to_float(out[at]) + grad * value * (cdf + gate * pdf));
        out[at + width] = from_float<D>(to_float(out[at + width]) + grad * gate * cdf);
      },
      "gated_gelu_backward");
}

template <class T>
void tanh_forward(cuda_t<T>& be, const T* x, T* y, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto* xd = detail::device_ptr(x);
  auto* yd = detail::device_ptr(y);
  for_each(be, n, [=] __device__(index_t i) { yd[i] = from_float<D>(tanhf(to_float(xd[i]))); }, "tanh_forward");
}

template <class T>
void tanh_backward(cuda_t<T>& be, const T* y, const T* dy, T* dx, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto *yd = detail::device_ptr(y), *g = detail::device_ptr(dy);
  auto* out = detail::device_ptr(dx);
  for_each(
      be, n,
      [=] __device__(index_t i) {
        const float v = to_float(yd[i]);
        out[i] = from_float<D>(to_float(out[i]) + to_float(g[i]) * (1.0f - v * v));
      },
      "tanh_backward");
}

template <class T>
void relu_forward(cuda_t<T>& be, const T* x, T* y, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto* xd = detail::device_ptr(x);
  auto* yd = detail::device_ptr(y);
  for_each(be, n, [=] __device__(index_t i) { yd[i] = from_float<D>(fmaxf(to_float(xd[i]), 0.0f)); }, "relu_forward");
}

template <class T>
void relu_backward(cuda_t<T>& be, const T* y, const T* dy, T* dx, std::int64_t n) {
  using D = detail::device_t<T>;
  const auto *yd = detail::device_ptr(y), *g = detail::device_ptr(dy);
  auto* out = detail::device_ptr(dx);
  for_each(
      be, n,
      [=] __device__(index_t i) {
        if (to_float(yd[i]) > 0.0f) out[i] = from_float<D>(to_float(out[i]) + to_float(g[i]));
      },
      "relu_backward");
}

template <class T>
void segment_pool_forward(cuda_t<T>& be, const T* x, const std::int32_t* starts, std::int64_t segments,
                          std::int64_t width, bool take_max, T* y, std::int32_t* argmax) {
  using D = detail::device_t<T>;
  const auto* xd = detail::device_ptr(x);
  auto* yd = detail::device_ptr(y);
  for_each(
      be, segments * width,
      [=] __device__(index_t i) {
        const index_t s = i / width, j = i % width;
        const std::int32_t first = starts[s], end = starts[s + 1];
        float value = take_max ? to_float(xd[first * width + j]) : 0.0f;
        std::int32_t best = first;
        for (std::int32_t r = first; r < end; ++r) {
          const float v = to_float(xd[r * width + j]);
          if (!take_max) value += v;
          else if (v > value) {
            value = v;
            best = r;
          }
        }
        yd[i] = from_float<D>(take_max ? value : value / static_cast<float>(end - first));
        if (take_max) argmax[i] = best;
      },
      "segment_pool_forward");
}

template <class T>
void segment_pool_backward(cuda_t<T>& be, const T* dy, const std::int32_t* starts, std::int64_t segments,
                           std::int64_t width, bool take_max, const std::int32_t* argmax, T* dx) {
  using D = detail::device_t<T>;
  const auto* g = detail::device_ptr(dy);
  auto* out = detail::device_ptr(dx);
  for_each(
      be, segments * width,
      [=] __device__(index_t i) {
        const index_t s = i / width, j = i % width;
        const float grad = to_float(g[i]);
        if (take_max) {
          D& slot = out[argmax[i] * width + j];
          slot = from_float<D>(to_float(slot) + grad);
          return;
        }
        const std::int32_t first = starts[s], end = starts[s + 1];
        const float share = grad / static_cast<float>(end - first);
        for (std::int32_t r = first; r < end; ++r) {
          D& slot = out[r * width + j];
          slot = from_float<D>(to_float(slot) + share);
        }
      },
      "segment_pool_backward");
}

template <class T>
void dropout_forward(cuda_t<T>& be, const T* x, T* y, std::uint8_t* keep, std::int64_t n, double p, std::uint64_t seed,
                     std::uint64_t offset) {
  using D = detail::device_t<T>;
  const auto* xd = detail::device_ptr(x);
  auto* yd = detail::device_ptr(y);
  const float factor = static_cast<float>(1.0 / (1.0 - p));
  if (n <= 0) return;
  // One thread per Philox block: its four words are the draws of four consecutive offsets (the
  // stream philox_uniform reads one word at a time, as the CPU backend does).
  const std::uint64_t first_block = philox_block_index(offset);
  const std::uint64_t end = offset + static_cast<std::uint64_t>(n);
  const auto blocks = static_cast<std::int64_t>(philox_block_index(end - 1) - first_block + 1);
  for_each(
      be, blocks,
      [=] __device__(index_t b) {
        const std::uint64_t block = first_block + static_cast<std::uint64_t>(b);
        const philox4x32_block words = philox_block(seed, block);
        for (unsigned lane = 0; lane < 4; ++lane) {
          const std::uint64_t at = block * 4 + lane;
          if (at < offset || at >= end) continue;
          const auto i = static_cast<index_t>(at - offset);
          const bool kept = uniform_from_bits(words.word[lane]) >= p;
          keep[i] = kept ? 1 : 0;
          yd[i] = from_float<D>(kept ? to_float(xd[i]) * factor : 0.0f);
        }
      },
      "dropout_forward");
}

template <class T>
void dropout_backward(cuda_t<T>& be, const T* dy, const std::uint8_t* keep, T* dx, std::int64_t n, double p) {
  using D = detail::device_t<T>;
  const auto* g = detail::device_ptr(dy);
  auto* out = detail::device_ptr(dx);
  const float factor = static_cast<float>(1.0 / (1.0 - p));
  for_each(
      be, n,
      [=] __device__(index_t i) {
        if (keep[i]) out[i] = from_float<D>(to_float(out[i]) + to_float(g[i]) * factor);
      },
      "dropout_backward");
}

template <class T>
void embedding_forward(cuda_t<T>& be, const std::int32_t* ids, std::int64_t n, const T* table, std::int64_t width, T* out,
                       bool accumulate_into) {
  using D = detail::device_t<T>;
  const auto* t = detail::device_ptr(table);
  auto* o = detail::device_ptr(out);
  for_each(
      be, n * width,
      [=] __device__(index_t i) {
        const float value = to_float(t[static_cast<index_t>(ids[i / width]) * width + i % width]);
        o[i] = from_float<D>(accumulate_into ? to_float(o[i]) + value : value);
      },
      "embedding_forward");
}

// Deterministic, no atomics: (id, position) pairs stable-sorted by id (CUB's radix sort keeps equal
// ids in position order), then backend/sorted_runs.hpp's order: one thread per (chunk, column)
// sums its chunk from zero; a run of one chunk adds it to the table at once, a longer run keeps
// its chunk sums apart and a second pass adds them in chunk order. All in float, rounded once.
template <class T>
void embedding_backward(cuda_t<T>& be, const std::int32_t* ids, std::int64_t n, const T* dout, std::int64_t width,
                        T* dtable, std::int64_t rows) {
  if (n <= 0 || width <= 0) return;
  if (n > std::numeric_limits<int>::max())
    throw error("embedding_backward: " + std::to_string(n) + " ids exceed CUB's int item count");
  using D = detail::device_t<T>;
  namespace runs = sorted_runs;
  const detail::scratch<std::int32_t> positions(be, n), sorted_ids(be, n), sorted_positions(be, n);
  auto* iota = positions.get();
  for_each(be, n, [=] __device__(index_t i) { iota[i] = static_cast<std::int32_t>(i); }, "embedding_backward positions");
  // Only the bits an id of the table can have: 13 for DNABERT's 4,101 6-mers, not 32.
  const int id_bits = std::max(1, static_cast<int>(std::bit_width(static_cast<std::uint64_t>(std::max<std::int64_t>(rows - 1, 0)))));
  const auto sort = [&](void* temp, std::size_t& temp_bytes) {
    detail::check_cuda(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, ids, sorted_ids.get(), iota,
                                                       sorted_positions.get(), static_cast<int>(n), 0, id_bits,
                                                       be.context().stream()),
                       "cub::DeviceRadixSort::SortPairs");
  };
  std::size_t temp_bytes = 0;
  sort(nullptr, temp_bytes);  // CUB's size query
  const detail::scratch<std::byte> temp(be, static_cast<std::int64_t>(std::max<std::size_t>(temp_bytes, 1)));
  sort(temp.get(), temp_bytes);
  const detail::scratch<float> partial_sums(be, runs::partial_slots(n) * width);
  const auto* keys = sorted_ids.get();
  const auto* order = sorted_positions.get();
  const auto* g = detail::device_ptr(dout);
  auto* t = detail::device_ptr(dtable);
  auto* partial = partial_sums.get();
  for_each(
      be, n * width,
      [=] __device__(index_t i) {
        const index_t start = i / width;
        if (!runs::starts_chunk(keys, start)) return;
        const index_t column = i % width;
        const index_t run_end = runs::run_end(keys, n, start);
        float sum = 0.0f;
        for (index_t k = start, end = std::min(run_end, start + runs::chunk_rows); k < end; ++k)
          sum += to_float(g[static_cast<index_t>(order[k]) * width + column]);
        if (runs::is_long(runs::run_start(keys, start), run_end)) {
          partial[runs::partial_slot(keys, start) * width + column] = sum;
        } else {
          D& slot = t[static_cast<index_t>(keys[start]) * width + column];
          slot = from_float<D>(to_float(slot) + sum);
        }
      },
      "embedding_backward chunks");
  for_each(
      be, n * width,
      [=] __device__(index_t i) {
        const index_t start = i / width;
        if (!runs::starts_run(keys, start)) return;
        const index_t run_end = runs::run_end(keys, n, start);
        if (!runs::is_long(start, run_end)) return;
        const index_t column = i % width;
        D& slot = t[static_cast<index_t>(keys[start]) * width + column];
        float sum = to_float(slot);
        for (index_t c = start; c < run_end; c += runs::chunk_rows) sum += partial[runs::partial_slot(keys, c) * width + column];
        slot = from_float<D>(sum);
      },
      "embedding_backward long runs");
}

template <class T>
void scatter_rows(cuda_t<T>& be, const std::int32_t* ids, std::int64_t n, const T* src, std::int64_t width, T* dst) {
  const auto* s = detail::device_ptr(src);
  auto* d = detail::device_ptr(dst);
  for_each(
      be, n * width, [=] __device__(index_t i) { d[static_cast<index_t>(ids[i / width]) * width + i % width] = s[i]; },
      "scatter_rows");
}

template <class T>
void gather_strided_rows(cuda_t<T>& be, const T* src, std::int64_t count, std::int64_t stride_rows, std::int64_t width,
                         T* out) {
  const auto* s = detail::device_ptr(src);
  auto* o = detail::device_ptr(out);
  for_each(be, count * width, [=] __device__(index_t i) { o[i] = s[(i / width) * stride_rows * width + i % width]; },
           "gather_strided_rows");
}

template <class T>
void scatter_strided_rows_add(cuda_t<T>& be, const T* dout, std::int64_t count, std::int64_t stride_rows,
                              std::int64_t width, T* dsrc) {
  using D = detail::device_t<T>;
  const auto* g = detail::device_ptr(dout);
  auto* s = detail::device_ptr(dsrc);
  for_each(
      be, count * width,
      [=] __device__(index_t i) {
        D& slot = s[(i / width) * stride_rows * width + i % width];
        slot = from_float<D>(to_float(slot) + to_float(g[i]));
      },
      "scatter_strided_rows_add");
}

#define DNABERT_INSTANTIATE_ELEMENTWISE(T)                                                                            \
  template void add_bias<T>(cuda_t<T>&, T*, const T*, std::int64_t, std::int64_t);                                   \
  template void add_bias_grad<T>(cuda_t<T>&, const T*, std::int64_t, std::int64_t, T*);                              \
  template void add<T>(cuda_t<T>&, const T*, const T*, T*, std::int64_t);                                            \
  template void accumulate<T>(cuda_t<T>&, T*, const T*, std::int64_t);                                               \
  template void fill<T>(cuda_t<T>&, T*, T, std::int64_t);                                                            \
  template void gelu_forward<T>(cuda_t<T>&, const T*, T*, std::int64_t);                                             \
  template void gelu_backward<T>(cuda_t<T>&, const T*, const T*, T*, std::int64_t);                                  \
  template void gated_gelu_forward<T>(cuda_t<T>&, const T*, T*, std::int64_t, std::int64_t);                        \
  template void gated_gelu_backward<T>(cuda_t<T>&, const T*, const T*, T*, std::int64_t, std::int64_t);             \
  template void tanh_forward<T>(cuda_t<T>&, const T*, T*, std::int64_t);                                             \
  template void tanh_backward<T>(cuda_t<T>&, const T*, const T*, T*, std::int64_t);                                  \
  template void relu_forward<T>(cuda_t<T>&, const T*, T*, std::int64_t);                                             \
  template void relu_backward<T>(cuda_t<T>&, const T*, const T*, T*, std::int64_t);                                  \
  template void segment_pool_forward<T>(cuda_t<T>&, const T*, const std::int32_t*, std::int64_t, std::int64_t, bool, \
                                        T*, std::int32_t*);                                                          \
  template void segment_pool_backward<T>(cuda_t<T>&, const T*, const std::int32_t*, std::int64_t, std::int64_t,     \
                                         bool, const std::int32_t*, T*);                                             \
  template void dropout_forward<T>(cuda_t<T>&, const T*, T*, std::uint8_t*, std::int64_t, double, std::uint64_t,     \
                                   std::uint64_t);                                                                   \
  template void dropout_backward<T>(cuda_t<T>&, const T*, const std::uint8_t*, T*, std::int64_t, double);            \
  template void embedding_forward<T>(cuda_t<T>&, const std::int32_t*, std::int64_t, const T*, std::int64_t, T*, bool); \
  template void embedding_backward<T>(cuda_t<T>&, const std::int32_t*, std::int64_t, const T*, std::int64_t, T*,    \
                                       std::int64_t);                                                               \
  template void scatter_rows<T>(cuda_t<T>&, const std::int32_t*, std::int64_t, const T*, std::int64_t, T*);        \
  template void gather_strided_rows<T>(cuda_t<T>&, const T*, std::int64_t, std::int64_t, std::int64_t, T*);          \
  template void scatter_strided_rows_add<T>(cuda_t<T>&, const T*, std::int64_t, std::int64_t, std::int64_t, T*);
DNABERT_INSTANTIATE_ELEMENTWISE(float)
DNABERT_INSTANTIATE_ELEMENTWISE(bfloat16)

}  // namespace dnabert::backend
