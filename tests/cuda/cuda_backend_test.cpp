// The CUDA backend against the CPU backend on the same inputs: every op (float32, TF32 off),
// whole models loaded from the Hugging Face fixtures, and training steps with dropout on.
// gpu() has the kernel set DNABERT_CUDA_KERNELS names (bench/gpu/run.sh runs the suite with
// each); the ops that have two kernels are also checked with both in one run.
// Exits 77 (ctest: skipped) where no GPU is visible.
#include "doctest_main.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/backend/cpu/ops.hpp"
#include "dnabert/backend/cpu/optimizer_ops.hpp"
#include "dnabert/backend/cuda/ops.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/model/classifier.hpp"
#include "dnabert/model/packed_rows.hpp"
#include "dnabert/tokenizer/kmer_tokenizer.hpp"
#include "dnabert/tokenizer/token_batch.hpp"
#include "dnabert/parallel/communicator.hpp"
#include "dnabert/train/gradient_sum.hpp"
#include "dnabert/train/optimizer.hpp"
#include "dnabert/train/pretrain.hpp"
#ifdef DNABERT_WITH_NCCL
#include "dnabert/backend/cuda/nccl.hpp"
#endif
#include "golden_batch.hpp"
#include "test_paths.hpp"
#include "tiny_config.hpp"

#include <nlohmann/json.hpp>

namespace {

using dnabert::backend::cpu;
using dnabert::backend::cuda;
using dnabert::backend::cuda_bf16;

using dnabert::backend::cuda_kernels;

cuda& gpu() {
  static cuda device(0);
  return device;
}

// A float32 backend with the given kernel set, whatever the environment says.
cuda& gpu_with(cuda_kernels kernels) {
  static cuda standard(0, dnabert::backend::cuda_math::fp32, cuda_kernels::standard);
  static cuda fused(0, dnabert::backend::cuda_math::fp32, cuda_kernels::fused);
  return kernels == cuda_kernels::fused ? fused : standard;
}

constexpr cuda_kernels both_kernel_sets[] = {cuda_kernels::standard, cuda_kernels::fused};

std::string kernel_set_name(cuda_kernels kernels) { return kernels == cuda_kernels::fused ? "fused" : "standard"; }

cpu& host() {
  static cpu backend(2);
  return backend;
}

std::vector<float> random_values(std::size_t n, std::uint32_t seed, float low = -1.0f, float high = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> out(n);
  for (auto& x : out) x = dist(rng);
  return out;
}

// A device copy of host values on `be` (its stream; ops on another backend object would race
// with the copy), kept alive by the returned tensor.
template <class E>
dnabert::tensor<cuda, E> to_device(const std::vector<E>& values, cuda& be = gpu()) {
  dnabert::tensor<cuda, E> t(be, {static_cast<std::int64_t>(values.size())});
  upload(be, values.data(), t.data(), t.numel());
  return t;
}

// The values of t, once the work queued on `be` (which wrote them) is done.
template <class E>
std::vector<E> to_host(const dnabert::tensor<cuda, E>& t, cuda& be = gpu()) {
  return dnabert::host_values(be, t);
}

// |got - want| <= tolerance * max(1, max |want|) element-wise.
void check_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& what,
                 double tolerance = 1e-5) {
  REQUIRE_MESSAGE(got.size() == want.size(), what);
  double scale = 1;
  for (const float w : want) scale = std::max(scale, static_cast<double>(std::abs(w)));
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double diff = std::abs(static_cast<double>(got[i]) - static_cast<double>(want[i]));
    if (diff > worst) {
      worst = diff;
      at = i;
    }
  }
  CHECK_MESSAGE(worst <= tolerance * scale, what << ": max |cuda - cpu| " << worst << " at " << at << " (scale " << scale << ")");
}

}  // namespace

TEST_CASE("cuda: gemm in every transpose combination, with alpha and beta") {
  const std::int64_t m = 37, n = 53, k = 29;
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      const auto a = random_values(static_cast<std::size_t>(m * k), 1);
      const auto b = random_values(static_cast<std::size_t>(k * n), 2);
      auto c = random_values(static_cast<std::size_t>(m * n), 3);
      const auto da = to_device(a), db = to_device(b), dc = to_device(c);
      gemm(gpu(), ta, tb, m, n, k, 0.7f, da.data(), db.data(), 0.3f, dc.data());
      gemm(host(), ta, tb, m, n, k, 0.7f, a.data(), b.data(), 0.3f, c.data());
      check_close(to_host(dc), c, "gemm ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
    }
}

TEST_CASE("cuda: linear layers through cuBLASLt's bias epilogue, and the fallback for unaligned operands") {
  struct shape {
    std::int64_t rows, in, out, offset;  // offset > 0: operands start `offset` floats into their buffers
  };
  for (const auto& [rows, in, out, offset] : {shape{1, 64, 3, 0}, shape{37, 64, 64, 0}, shape{512, 768, 3072, 0},
                                              shape{130, 3072, 768, 0}, shape{37, 64, 64, 1}}) {
    const auto x = random_values(static_cast<std::size_t>(rows * in + offset), 40);
    const auto w = random_values(static_cast<std::size_t>(out * in + offset), 41, -0.1f, 0.1f);
    const auto b = random_values(static_cast<std::size_t>(out + offset), 42);
    std::vector<float> want(static_cast<std::size_t>(rows * out));
    linear_forward(host(), x.data() + offset, w.data() + offset, b.data() + offset, rows, in, out, want.data());
    const auto dx = to_device(x), dw = to_device(w), db = to_device(b);
    dnabert::tensor<cuda> y(gpu(), {rows * out + offset});
    linear_forward(gpu(), dx.data() + offset, dw.data() + offset, db.data() + offset, rows, in, out, y.data() + offset);
    const auto got = to_host(y);
    check_close({got.begin() + offset, got.end()}, want,
                "linear " + std::to_string(rows) + "x" + std::to_string(in) + "->" + std::to_string(out) +
                    (offset ? " (unaligned)" : ""));
  }
  static cuda_bf16 half(0);
  const std::int64_t rows = 64, in = 768, out = 768;
  const auto x = random_values(static_cast<std::size_t>(rows * in), 43);
  const auto w = random_values(static_cast<std::size_t>(out * in), 44, -0.05f, 0.05f);
  const auto b = random_values(static_cast<std::size_t>(out), 45);
  const std::vector<dnabert::bfloat16> xh(x.begin(), x.end()), wh(w.begin(), w.end()), bh(b.begin(), b.end());
  std::vector<float> want(static_cast<std::size_t>(rows * out));
  const std::vector<float> xr(xh.begin(), xh.end()), wr(wh.begin(), wh.end()), br(bh.begin(), bh.end());
  linear_forward(host(), xr.data(), wr.data(), br.data(), rows, in, out, want.data());
  dnabert::tensor<cuda_bf16> dx(half, {rows * in}), dw(half, {out * in}), db(half, {out}), y(half, {rows * out});
  upload(half, xh.data(), dx.data(), dx.numel());
  upload(half, wh.data(), dw.data(), dw.numel());
  upload(half, bh.data(), db.data(), db.numel());
  linear_forward(half, dx.data(), dw.data(), db.data(), rows, in, out, y.data());
  const auto got_bf16 = dnabert::host_values(half, y);
  check_close({got_bf16.begin(), got_bf16.end()}, want, "bf16 linear (one bf16 rounding of the output)", 1e-2);
}

TEST_CASE("cuda: every dense-layer shape runs, through cuBLASLt or its cuBLAS fallback, and the plan cache stays bounded") {
  // Tiny outputs (regression, 2- and 3-class heads) are where cuBLASLt commonly has no algorithm
  // and answers NOT_SUPPORTED: the layer must fall back, that shape and every later call of it.
  for (const std::int64_t out : {1, 2, 3}) {
    for (const std::int64_t rows : {1, 5, 64}) {
      const std::int64_t in = 768;
      const auto x = random_values(static_cast<std::size_t>(rows * in), 50);
      const auto w = random_values(static_cast<std::size_t>(out * in), 51, -0.1f, 0.1f);
      const auto b = random_values(static_cast<std::size_t>(out), 52);
      std::vector<float> want(static_cast<std::size_t>(rows * out));
      linear_forward(host(), x.data(), w.data(), b.data(), rows, in, out, want.data());
      for (const auto kernels : both_kernel_sets) {
        cuda& be = gpu_with(kernels);
        const auto dx = to_device(x, be), dw = to_device(w, be), db = to_device(b, be);
        for (int call = 0; call < 2; ++call) {
          dnabert::tensor<cuda> y(be, {rows * out});
          linear_forward(be, dx.data(), dw.data(), db.data(), rows, in, out, y.data());
          check_close(to_host(y, be), want,
                      "linear " + std::to_string(rows) + "x768->" + std::to_string(out) + " (" + kernel_set_name(kernels) + ")");
        }
      }
    }
  }
  cuda& lt = gpu_with(cuda_kernels::fused);
  CHECK(dnabert::backend::detail::cuda_linear_plans(lt.context()) > 0);
  CHECK(dnabert::backend::detail::cuda_linear_plans(gpu_with(cuda_kernels::standard).context()) == 0);
  MESSAGE(dnabert::backend::detail::cuda_linear_plans_without_algorithm(lt.context())
          << " of " << dnabert::backend::detail::cuda_linear_plans(lt.context()) << " shapes without a cuBLASLt algorithm");
  // Row counts vary with packing and masked-LM rows: 600 of them keep at most 512 plans.
  const auto x = random_values(600 * 16, 53);
  const auto w = random_values(16 * 16, 54);
  const auto b = random_values(16, 55);
  const auto dx = to_device(x, lt), dw = to_device(w, lt), db = to_device(b, lt);
  dnabert::tensor<cuda> y(lt, {600 * 16});
  for (std::int64_t rows = 1; rows <= 600; ++rows) linear_forward(lt, dx.data(), dw.data(), db.data(), rows, 16, 16, y.data());
  CHECK(dnabert::backend::detail::cuda_linear_plans(lt.context()) <= 512);
}

TEST_CASE("cuda: element-wise ops and column sums") {
  const std::int64_t rows = 300, n = 70, count = rows * n;
  const auto x = random_values(static_cast<std::size_t>(count), 4, -3, 3);
  const auto dy = random_values(static_cast<std::size_t>(count), 5);
  const auto bias = random_values(static_cast<std::size_t>(n), 6);
  auto want = x;
  auto got = to_device(x);
  const auto d_bias = to_device(bias), d_x = to_device(x), d_dy = to_device(dy);

  add_bias(host(), want.data(), bias.data(), rows, n);
  add_bias(gpu(), got.data(), d_bias.data(), rows, n);
  check_close(to_host(got), want, "add_bias");

  auto dbias = bias;
  auto d_dbias = to_device(bias);
  add_bias_grad(host(), dy.data(), rows, n, dbias.data());
  add_bias_grad(gpu(), d_dy.data(), rows, n, d_dbias.data());
  check_close(to_host(d_dbias), dbias, "add_bias_grad");

  add(host(), want.data(), dy.data(), want.data(), count);
  add(gpu(), got.data(), d_dy.data(), got.data(), count);
  accumulate(host(), want.data(), x.data(), count);
  accumulate(gpu(), got.data(), d_x.data(), count);
  scale(host(), want.data(), 0.25f, count);
  scale(gpu(), got.data(), 0.25f, count);
  check_close(to_host(got), want, "add, accumulate, scale");

  std::vector<float> y(x.size()), dx = dy;
  dnabert::tensor<cuda> d_y(gpu(), {count});
  auto d_dx = to_device(dy);
  gelu_forward(host(), x.data(), y.data(), count);
  gelu_forward(gpu(), d_x.data(), d_y.data(), count);
  check_close(to_host(d_y), y, "gelu_forward");
  gelu_backward(host(), x.data(), dy.data(), dx.data(), count);
  gelu_backward(gpu(), d_x.data(), d_dy.data(), d_dx.data(), count);
  check_close(to_host(d_dx), dx, "gelu_backward");
  {  // GEGLU over [rows, 2 * 35]: [gate | value] halves of each row
    const std::int64_t width = n / 2;
    std::vector<float> gated(static_cast<std::size_t>(rows * width)), dgated = dy;
    dnabert::tensor<cuda> d_gated(gpu(), {rows * width});
    auto d_dgated = to_device(dy);
    gated_gelu_forward(host(), x.data(), gated.data(), rows, width);
    gated_gelu_forward(gpu(), d_x.data(), d_gated.data(), rows, width);
    check_close(to_host(d_gated), gated, "gated_gelu_forward");
    gated_gelu_backward(host(), x.data(), dy.data(), dgated.data(), rows, width);
    gated_gelu_backward(gpu(), d_x.data(), d_dy.data(), d_dgated.data(), rows, width);
    check_close(to_host(d_dgated), dgated, "gated_gelu_backward");
  }
  tanh_forward(host(), x.data(), y.data(), count);
  tanh_forward(gpu(), d_x.data(), d_y.data(), count);
  check_close(to_host(d_y), y, "tanh_forward");
  tanh_backward(host(), y.data(), dy.data(), dx.data(), count);
  tanh_backward(gpu(), d_y.data(), d_dy.data(), d_dx.data(), count);
  check_close(to_host(d_dx), dx, "tanh_backward");
  relu_forward(host(), x.data(), y.data(), count);
  relu_forward(gpu(), d_x.data(), d_y.data(), count);
  check_close(to_host(d_y), y, "relu_forward");
  relu_backward(host(), y.data(), dy.data(), dx.data(), count);
  relu_backward(gpu(), d_y.data(), d_dy.data(), d_dx.data(), count);
  check_close(to_host(d_dx), dx, "relu_backward");

  // A long sequence's pieces pooled per sequence: rows 0-9, 10-209 and 210-299 as three segments.
  const std::vector<std::int32_t> starts = {0, 10, 210, 300};
  const auto d_starts = to_device(starts);
  for (const bool take_max : {false, true}) {
    CAPTURE(take_max);
    std::vector<float> pooled(3 * n), dx_rows = dy;
    std::vector<std::int32_t> argmax(3 * n);
    dnabert::tensor<cuda> d_pooled(gpu(), {3 * n});
    dnabert::tensor<cuda, std::int32_t> d_argmax(gpu(), {3 * n});
    segment_pool_forward(host(), x.data(), starts.data(), 3, n, take_max, pooled.data(), argmax.data());
    segment_pool_forward(gpu(), d_x.data(), d_starts.data(), 3, n, take_max, d_pooled.data(), d_argmax.data());
    check_close(to_host(d_pooled), pooled, "segment_pool_forward");
    if (take_max) CHECK(to_host(d_argmax) == argmax);
    const auto pooled_grad = random_values(static_cast<std::size_t>(3 * n), 7);
    const auto d_pooled_grad = to_device(pooled_grad);
    auto d_dx_rows = to_device(dy);
    segment_pool_backward(host(), pooled_grad.data(), starts.data(), 3, n, take_max, argmax.data(), dx_rows.data());
    segment_pool_backward(gpu(), d_pooled_grad.data(), d_starts.data(), 3, n, take_max, d_argmax.data(), d_dx_rows.data());
    check_close(to_host(d_dx_rows), dx_rows, "segment_pool_backward");
  }

  fill(gpu(), d_y.data(), 2.5f, count);
  CHECK(to_host(d_y) == std::vector<float>(x.size(), 2.5f));
}

TEST_CASE("cuda: layer norm forward and backward") {
  const std::int64_t rows = 130, n = 96;
  const auto x = random_values(static_cast<std::size_t>(rows * n), 7, -2, 2);
  const auto dy = random_values(x.size(), 8);
  const auto gamma = random_values(static_cast<std::size_t>(n), 9, 0.5f, 1.5f);
  const auto beta = random_values(static_cast<std::size_t>(n), 10);
  std::vector<float> y(x.size()), mean(static_cast<std::size_t>(rows)), rstd(mean.size());
  layer_norm_forward(host(), x.data(), gamma.data(), beta.data(), rows, n, 1e-12, y.data(), mean.data(), rstd.data());
  const auto d_x = to_device(x), d_dy = to_device(dy), d_gamma = to_device(gamma), d_beta = to_device(beta);
  dnabert::tensor<cuda> d_y(gpu(), {rows * n}), d_mean(gpu(), {rows}), d_rstd(gpu(), {rows});
  layer_norm_forward(gpu(), d_x.data(), d_gamma.data(), d_beta.data(), rows, n, 1e-12, d_y.data(), d_mean.data(),
                     d_rstd.data());
  check_close(to_host(d_y), y, "layer_norm_forward y");
  check_close(to_host(d_mean), mean, "layer_norm_forward mean");
  check_close(to_host(d_rstd), rstd, "layer_norm_forward rstd");

  auto dx = dy;
  auto dgamma = gamma, dbeta = beta;
  auto d_dx = to_device(dx), d_dgamma = to_device(gamma), d_dbeta = to_device(beta);
  layer_norm_backward(host(), dy.data(), x.data(), gamma.data(), mean.data(), rstd.data(), rows, n, dx.data(),
                      dgamma.data(), dbeta.data());
  layer_norm_backward(gpu(), d_dy.data(), d_x.data(), d_gamma.data(), d_mean.data(), d_rstd.data(), rows, n,
                      d_dx.data(), d_dgamma.data(), d_dbeta.data());
  check_close(to_host(d_dx), dx, "layer_norm_backward dx");
  check_close(to_host(d_dgamma), dgamma, "layer_norm_backward dgamma");
  check_close(to_host(d_dbeta), dbeta, "layer_norm_backward dbeta");
}

TEST_CASE("cuda bf16: the embedding gradient of a 16k-row run is summed in float, rounded once") {
  // The token-type run: every row of a 32 x 512 batch hits row 0; in bf16 the sum would stop
  // growing after ~512 terms (1 + 2^-8 rounds back to 1).
  static cuda_bf16 half(0);
  const std::int64_t n = 16384, width = 8;
  const std::vector<std::int32_t> ids(static_cast<std::size_t>(n), 0);
  const std::vector<dnabert::bfloat16> grad(static_cast<std::size_t>(n * width), dnabert::bfloat16(0.01f));
  dnabert::tensor<cuda_bf16> d_grad(half, {n * width}), d_table(half, {2 * width});
  upload(half, grad.data(), d_grad.data(), d_grad.numel());
  fill(half, d_table.data(), dnabert::bfloat16(0.0f), d_table.numel());
  dnabert::tensor<cuda_bf16, std::int32_t> d_ids(half, {n});
  upload(half, ids.data(), d_ids.data(), n);
  embedding_backward(half, d_ids.data(), n, d_grad.data(), width, d_table.data(), 2);
  const auto table = dnabert::host_values(half, d_table);
  const float want = static_cast<float>(n) * static_cast<float>(dnabert::bfloat16(0.01f));
  for (std::int64_t c = 0; c < width; ++c) CHECK(static_cast<float>(table[static_cast<std::size_t>(c)]) == doctest::Approx(want).epsilon(1e-2));
  for (std::int64_t c = width; c < 2 * width; ++c) CHECK(static_cast<float>(table[static_cast<std::size_t>(c)]) == 0.0f);
}

TEST_CASE("cuda: embeddings, strided rows and dropout masks") {
  const std::int64_t vocab = 11, width = 24, n = 50;
  std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>((i * 7) % vocab);  // repeats
  const auto table = random_values(static_cast<std::size_t>(vocab * width), 11);
  auto out = random_values(static_cast<std::size_t>(n * width), 12);
  const auto d_ids = to_device(ids);
  const auto d_table = to_device(table);
  auto d_out = to_device(out);
  embedding_forward(host(), ids.data(), n, table.data(), width, out.data(), true);
  embedding_forward(gpu(), d_ids.data(), n, d_table.data(), width, d_out.data(), true);
  check_close(to_host(d_out), out, "embedding_forward");
  auto dtable = table;
  auto d_dtable = to_device(table);
  embedding_backward(host(), ids.data(), n, out.data(), width, dtable.data(), vocab);
  embedding_backward(gpu(), d_ids.data(), n, d_out.data(), width, d_dtable.data(), vocab);
  check_close(to_host(d_dtable), dtable, "embedding_backward");

  std::vector<float> gathered(static_cast<std::size_t>(5 * width));
  dnabert::tensor<cuda> d_gathered(gpu(), {5 * width});
  gather_strided_rows(host(), out.data(), 5, 10, width, gathered.data());
  gather_strided_rows(gpu(), d_out.data(), 5, 10, width, d_gathered.data());
  check_close(to_host(d_gathered), gathered, "gather_strided_rows");
  scatter_strided_rows_add(host(), gathered.data(), 5, 10, width, out.data());
  scatter_strided_rows_add(gpu(), d_gathered.data(), 5, 10, width, d_out.data());
  check_close(to_host(d_out), out, "scatter_strided_rows_add");

  const std::int64_t count = n * width;
  std::vector<float> y(out.size());
  std::vector<std::uint8_t> keep(out.size());
  dnabert::tensor<cuda> d_y(gpu(), {count});
  dnabert::tensor<cuda, std::uint8_t> d_keep(gpu(), {count});
  dropout_forward(host(), out.data(), y.data(), keep.data(), count, 0.3, 99, 12345);
  dropout_forward(gpu(), d_out.data(), d_y.data(), d_keep.data(), count, 0.3, 99, 12345);
  CHECK(to_host(d_keep) == keep);  // the same counter-based stream on both backends
  check_close(to_host(d_y), y, "dropout_forward");
  auto dx = out;
  auto d_dx = to_device(out);
  dropout_backward(host(), y.data(), keep.data(), dx.data(), count, 0.3);
  dropout_backward(gpu(), d_y.data(), d_keep.data(), d_dx.data(), count, 0.3);
  check_close(to_host(d_dx), dx, "dropout_backward");
}

TEST_CASE("cuda: attention forward and backward, padding and dropout, with and without ALiBi") {
  for (const auto& [p, alibi] : std::vector<std::pair<double, bool>>{{0.0, false}, {0.1, false}, {0.0, true}, {0.1, true}}) {
    // q, k and v as column blocks of one fused [B*S, 3*hidden] buffer: row_stride 3 * hidden.
    dnabert::ops::attention_shape s{3, 17, 4, 8, 3 * 32};
    s.alibi = alibi;
    const auto rows = s.batch * s.seq;
    const auto qkv = random_values(static_cast<std::size_t>(rows * s.row_stride), 13, -2, 2);
    std::vector<float> key_bias(static_cast<std::size_t>(s.batch * s.seq), 0.0f);
    for (std::int64_t j = 12; j < s.seq; ++j) key_bias[static_cast<std::size_t>(s.seq + j)] = -10000.0f;  // padding
    const auto dcontext = random_values(static_cast<std::size_t>(rows * s.row_stride), 14);
    const float scale = 1.0f / std::sqrt(8.0f);
    const std::int64_t square = s.batch * s.heads * s.seq * s.seq;
    std::vector<float> probs(static_cast<std::size_t>(square)), context(qkv.size(), 0.0f);
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(square));
    attention_forward(host(), s, qkv.data(), qkv.data() + 32, qkv.data() + 64, key_bias.data(), scale, probs.data(),
                      context.data(), p, keep.data(), 5, 77);
    const auto d_qkv = to_device(qkv), d_bias = to_device(key_bias), d_dcontext = to_device(dcontext);
    dnabert::tensor<cuda> d_probs(gpu(), {square});
    auto d_context = to_device(std::vector<float>(qkv.size(), 0.0f));
    dnabert::tensor<cuda, std::uint8_t> d_keep(gpu(), {square});
    attention_forward(gpu(), s, d_qkv.data(), d_qkv.data() + 32, d_qkv.data() + 64, d_bias.data(), scale, d_probs.data(),
                      d_context.data(), p, d_keep.data(), 5, 77);
    const std::string tag = " (dropout " + std::to_string(p) + (alibi ? ", ALiBi)" : ")");
    check_close(to_host(d_probs), probs, "attention probs" + tag);
    check_close(to_host(d_context), context, "attention context" + tag);
    if (p > 0) CHECK(to_host(d_keep) == keep);

    auto grads = random_values(qkv.size(), 15);  // backward adds into existing gradients
    auto d_grads = to_device(grads);
    attention_backward(host(), s, qkv.data(), qkv.data() + 32, qkv.data() + 64, probs.data(), dcontext.data(), scale, p,
                       keep.data(), grads.data(), grads.data() + 32, grads.data() + 64);
    attention_backward(gpu(), s, d_qkv.data(), d_qkv.data() + 32, d_qkv.data() + 64, d_probs.data(), d_dcontext.data(),
                       scale, p, d_keep.data(), d_grads.data(), d_grads.data() + 32, d_grads.data() + 64);
    check_close(to_host(d_grads), grads, "attention dq dk dv" + tag);
  }
}

TEST_CASE("cuda: cross-entropy with class weights and ignored rows, MSE, BCE with logits") {
  for (const std::int64_t classes : {std::int64_t{3}, std::int64_t{4101}}) {
    const std::int64_t rows = 7;
    const auto logits = random_values(static_cast<std::size_t>(rows * classes), 16, -4, 4);
    std::vector<std::int32_t> labels{0, 2, -100, 1, 2, -100, 0};
    const auto weights = random_values(static_cast<std::size_t>(classes), 17, 0.5f, 2.0f);
    std::vector<float> probs(logits.size());
    const auto want = cross_entropy_forward(host(), logits.data(), labels.data(), weights.data(), rows, classes, probs.data());
    const auto d_logits = to_device(logits), d_weights = to_device(weights);
    const auto d_labels = to_device(labels);
    dnabert::tensor<cuda> d_probs(gpu(), {rows * classes});
    const auto got = cross_entropy_forward(gpu(), d_logits.data(), d_labels.data(), d_weights.data(), rows, classes,
                                           d_probs.data());
    CHECK(got.first == doctest::Approx(want.first).epsilon(1e-6));
    CHECK(got.second == doctest::Approx(want.second).epsilon(1e-6));
    check_close(to_host(d_probs), probs, "cross_entropy probs");
    auto dlogits = logits;
    auto d_dlogits = to_device(logits);
    cross_entropy_backward(host(), probs.data(), labels.data(), weights.data(), rows, classes, want.second, 0.5f,
                           dlogits.data());
    cross_entropy_backward(gpu(), d_probs.data(), d_labels.data(), d_weights.data(), rows, classes, got.second, 0.5f,
                           d_dlogits.data());
    check_close(to_host(d_dlogits), dlogits, "cross_entropy_backward");
  }
  const auto predictions = random_values(9, 18), targets = random_values(9, 19);
  const auto d_p = to_device(predictions), d_t = to_device(targets);
  CHECK(mse_forward(gpu(), d_p.data(), d_t.data(), 9) ==
        doctest::Approx(mse_forward(host(), predictions.data(), targets.data(), 9)).epsilon(1e-12));
  auto dp = predictions;
  auto d_dp = to_device(predictions);
  mse_backward(host(), predictions.data(), targets.data(), 9, 1.5f, dp.data());
  mse_backward(gpu(), d_p.data(), d_t.data(), 9, 1.5f, d_dp.data());
  check_close(to_host(d_dp), dp, "mse_backward");
  // multi-label BCE on the same values: logits of either sign, 0/1 targets
  std::vector<float> bits(targets.size());
  for (std::size_t i = 0; i < bits.size(); ++i) bits[i] = targets[i] > 0 ? 1.0f : 0.0f;
  const auto d_bits = to_device(bits);
  CHECK(bce_with_logits_forward(gpu(), d_p.data(), d_bits.data(), 9) ==
        doctest::Approx(bce_with_logits_forward(host(), predictions.data(), bits.data(), 9)).epsilon(1e-12));
  auto dx = predictions;
  auto d_dx = to_device(predictions);
  bce_with_logits_backward(host(), predictions.data(), bits.data(), 9, 1.5f, dx.data());
  bce_with_logits_backward(gpu(), d_p.data(), d_bits.data(), 9, 1.5f, d_dx.data());
  check_close(to_host(d_dx), dx, "bce_with_logits_backward");
}

TEST_CASE("cuda: AdamW update and squared norm") {
  const std::int64_t n = 100003;
  auto param = random_values(static_cast<std::size_t>(n), 20);
  const auto grad = random_values(param.size(), 21);
  auto m = random_values(param.size(), 22, -0.1f, 0.1f);
  auto v = random_values(param.size(), 23, 0.0f, 0.01f);
  auto d_param = to_device(param), d_m = to_device(m), d_v = to_device(v);
  const auto d_grad = to_device(grad);
  adamw_update(host(), param.data(), grad.data(), m.data(), v.data(), n, 1e-3, 0.9, 0.999, 1e-6, 0.01, 0.19, 0.00299);
  adamw_update(gpu(), d_param.data(), d_grad.data(), d_m.data(), d_v.data(), n, 1e-3, 0.9, 0.999, 1e-6, 0.01, 0.19,
               0.00299);
  check_close(to_host(d_param), param, "adamw param", 1e-6);
  check_close(to_host(d_m), m, "adamw exp_avg", 1e-6);
  check_close(to_host(d_v), v, "adamw exp_avg_sq", 1e-6);
  const double want = sum_of_squares(host(), grad.data(), n);
  CHECK(sum_of_squares(gpu(), d_grad.data(), n) == doctest::Approx(want).epsilon(1e-12));
  CHECK(sum_of_squares(gpu(), d_grad.data(), n) == sum_of_squares(gpu(), d_grad.data(), n));  // deterministic

  // Multi-tensor: three tensors of other sizes and step counts in one launch (fused kernels) or
  // one launch each (standard), as three single updates.
  for (const auto kernels : both_kernel_sets) {
    cuda& be = gpu_with(kernels);
    using float_tensor = dnabert::ops::adamw_tensor<float>;
    std::vector<std::vector<float>> params, grads, ms, vs;
    std::vector<dnabert::tensor<cuda>> dp, dg, dm, dv;
    std::vector<float_tensor> tensors;
    std::vector<dnabert::ops::tensor_extent<float>> extents;
    double single_sums = 0;
    for (const std::int64_t size : {std::int64_t{1}, std::int64_t{768}, std::int64_t{300001}}) {
      const auto seed = static_cast<std::uint32_t>(size % 1000);
      params.push_back(random_values(static_cast<std::size_t>(size), seed + 1));
      grads.push_back(random_values(static_cast<std::size_t>(size), seed + 2));
      ms.push_back(random_values(static_cast<std::size_t>(size), seed + 3, -0.1f, 0.1f));
      vs.push_back(random_values(static_cast<std::size_t>(size), seed + 4, 0.0f, 0.01f));
      dp.push_back(to_device(params.back(), be));
      dg.push_back(to_device(grads.back(), be));
      dm.push_back(to_device(ms.back(), be));
      dv.push_back(to_device(vs.back(), be));
      const double steps = static_cast<double>(tensors.size() + 1);
      tensors.push_back({dp.back().data(), dg.back().data(), dm.back().data(), dv.back().data(), nullptr, size,
                         tensors.empty() ? 0.0 : 0.01, 1 - std::pow(0.9, steps), 1 - std::pow(0.999, steps)});
      extents.push_back({dg.back().data(), size});
      single_sums += sum_of_squares(be, dg.back().data(), size);
    }
    CHECK(sum_of_squares(be, std::span<const dnabert::ops::tensor_extent<float>>(extents)) == single_sums);
    adamw_update(be, std::span<const float_tensor>(tensors), {1e-3, 0.9, 0.999, 1e-6});
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const auto& t = tensors[i];
      adamw_update(host(), params[i].data(), grads[i].data(), ms[i].data(), vs[i].data(), t.n, 1e-3, 0.9, 0.999, 1e-6,
                   t.weight_decay, t.bias_correction1, t.bias_correction2);
      check_close(to_host(dp[i], be), params[i],
                  "multi-tensor adamw param " + std::to_string(i) + " (" + kernel_set_name(kernels) + ")", 1e-6);
      check_close(to_host(dm[i], be), ms[i], "multi-tensor adamw exp_avg " + std::to_string(i), 1e-6);
      check_close(to_host(dv[i], be), vs[i], "multi-tensor adamw exp_avg_sq " + std::to_string(i), 1e-6);
    }
  }
}

TEST_CASE("cuda: failures are exceptions naming what failed") {
  CHECK_THROWS_WITH_AS((void)cuda(99), doctest::Contains("cuda:99 requested"), dnabert::error);
  CHECK_THROWS_WITH_AS((void)gpu().allocate(std::size_t{1} << 50), doctest::Contains("out of memory"), dnabert::error);
  // The backend still works after a failed allocation.
  const auto d = to_device(std::vector<float>{1, 2, 3});
  CHECK(to_host(d) == std::vector<float>{1, 2, 3});
}

namespace {

dnabert::token_batch batch_for(const dnabert::sequence_tokenizer& tokenizer, const std::vector<std::string>& sequences) {
  std::vector<dnabert::token_piece> pieces;
  for (const auto& s : sequences) {
    auto encoded = tokenizer.encode(s, s, pieces.size());
    pieces.insert(pieces.end(), encoded.begin(), encoded.end());
  }
  return dnabert::make_batch(pieces);
}

}  // namespace

namespace {

// Model folder `dir` loaded on both backends gives the same logits, hidden states and attentions
// for `sequences`, tokenized by the folder's own tokenizer.
void check_folder_on_gpu(const std::string& dir, dnabert::bert_head head, const std::vector<std::string>& sequences) {
  const auto on_cpu = dnabert::Bert<dnabert::dynamic_bert, cpu>::load(host(), dir, head);
  const auto on_gpu = dnabert::Bert<dnabert::dynamic_bert, cuda>::load(gpu(), dir, head);
  const auto batch = batch_for(on_cpu.tokenizer(), sequences);
  dnabert::autograd::tape<cpu> cpu_tape(host());
  dnabert::nn::forward_context<cpu> cpu_ctx{cpu_tape};
  dnabert::autograd::tape<cuda> gpu_tape(gpu());
  dnabert::nn::forward_context<cuda> gpu_ctx{gpu_tape};
  const dnabert::forward_options all{true, true, true, {}};
  const auto want = on_cpu.forward(cpu_ctx, batch, all);
  const auto got = on_gpu.forward(gpu_ctx, batch, all);
  const auto logits = want.logits.value().span();
  check_close(to_host(got.logits.value()), {logits.begin(), logits.end()}, dir + " logits");
  REQUIRE(got.hidden_states.size() == want.hidden_states.size());
  for (std::size_t i = 0; i < want.hidden_states.size(); ++i) {
    const auto h = want.hidden_states[i].span();
    check_close(to_host(got.hidden_states[i]), {h.begin(), h.end()}, dir + " hidden state " + std::to_string(i));
  }
  for (std::size_t i = 0; i < want.attentions.size(); ++i) {
    const auto a = want.attentions[i].span();
    check_close(to_host(got.attentions[i]), {a.begin(), a.end()}, dir + " attentions " + std::to_string(i));
  }
}

const std::vector<std::string> fixture_sequences{"ACGTACGGTTACNNACGTAGGCTAGCTAGGATCGATCGTAGCTAGCTAGG", "acgtTTGACCA",
                                                 "GGGGCCCCAAAATTTTACGTACGTAGCTAGCTACGATCGATCGA"};

}  // namespace

TEST_CASE("cuda: Hugging Face fixtures give the CPU backend's logits, hidden states and attentions") {
  for (const char* name : {"mlm_k3", "cls_k6", "cls3_k3", "reg_k6"})
    check_folder_on_gpu(dnabert::test::data_path(std::string("parity/") + name),
                        std::string(name).starts_with("mlm") ? dnabert::bert_head::masked_lm
                                                             : dnabert::bert_head::sequence_classification,
                        fixture_sequences);
}

TEST_CASE("cuda: DNABERT-2 folders (ALiBi past alibi_starting_size, GEGLU) give the CPU backend's outputs") {
  auto sequences = fixture_sequences;
  sequences.push_back(std::string(300, 'A') + "CGT");  // more tokens than the fixtures' alibi_starting_size of 16
  check_folder_on_gpu(dnabert::test::data_path("dnabert2/cls_k"), dnabert::bert_head::sequence_classification, sequences);
  check_folder_on_gpu(dnabert::test::data_path("dnabert2/mlm"), dnabert::bert_head::masked_lm, sequences);
}

TEST_CASE("cuda: the classifier predicts and embeds as on the CPU, long sequences included") {
  const std::string dir = dnabert::test::data_path("parity/cls_k6");
  const auto on_cpu = dnabert::load_classifier(dir, 2);
  const dnabert::classifier<dnabert::dynamic_bert, cuda> on_gpu(dir, std::make_unique<cuda>(0));
  std::string long_sequence;
  for (int i = 0; i < 700; ++i) long_sequence += "ACGTTGCAAGGCTTAC"[(i * 7 + i / 5) % 16];  // two pieces
  const std::vector<std::string> sequences{"ACGTACGGTTACNNACGTAGG", long_sequence, "ttgacgatcgatcgggcgc"};
  for (const auto rule : {dnabert::piece_rule::mean, dnabert::piece_rule::max}) {
    dnabert::inference_options options;
    options.batch_size = 2;
    options.long_sequences = rule;
    const auto want = on_cpu.predict(sequences, options);
    const auto got = on_gpu.predict(sequences, options);
    check_close({got.logits.begin(), got.logits.end()}, {want.logits.begin(), want.logits.end()}, "predict logits");
    CHECK(got.predicted == want.predicted);
  }
  for (const auto how : {dnabert::pooling::cls, dnabert::pooling::mean, dnabert::pooling::pooler}) {
    const auto want = on_cpu.embed(sequences, how);
    const auto got = on_gpu.embed(sequences, how);
    check_close({got.begin(), got.end()}, {want.begin(), want.end()}, "embed");
  }
}

namespace {

// The golden batch of a parity fixture (the token ids PyTorch saw).
dnabert::token_batch golden_batch(const std::string& dir) {
  const auto golden = dnabert::io::read_safetensors(dir + "/golden.safetensors").tensors;
  return dnabert::test::batch_from_tensors(golden.at("input_ids"), golden.at("attention_mask"));
}

// max |got - want| / max |want|.
double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - static_cast<double>(want[i])));
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
  }
  return worst / scale;
}

}  // namespace

TEST_CASE("cuda bf16: models stay within twice PyTorch's own bf16 error of float32, and above float32's") {
  std::ifstream in(dnabert::test::data_path("bf16/torch_bf16_error.json"));
  REQUIRE(in.good());
  const auto torch_error = nlohmann::json::parse(in);  // tests/reference/make_bf16_error.py
  static cuda_bf16 half(0);
  for (const char* name : {"mlm_k3", "cls_k6", "cls3_k3", "reg_k6"}) {
    const std::string dir = dnabert::test::data_path(std::string("parity/") + name);
    const auto head = std::string(name).starts_with("mlm") ? dnabert::bert_head::masked_lm
                                                           : dnabert::bert_head::sequence_classification;
    const auto full = dnabert::Bert<dnabert::dynamic_bert, cpu>::load(host(), dir, head);
    const auto low = dnabert::Bert<dnabert::dynamic_bert, cuda_bf16>::load(half, dir, head);
    const auto batch = golden_batch(dir);
    dnabert::autograd::tape<cpu> cpu_tape(host());
    dnabert::nn::forward_context<cpu> cpu_ctx{cpu_tape};
    dnabert::autograd::tape<cuda_bf16> gpu_tape(half);
    dnabert::nn::forward_context<cuda_bf16> gpu_ctx{gpu_tape};
    const dnabert::forward_options hidden{true, false, true, {}};
    const auto want = full.forward(cpu_ctx, batch, hidden);
    const auto got = low.forward(gpu_ctx, batch, hidden);
    const auto to_floats = [](const std::vector<dnabert::bfloat16>& v) { return std::vector<float>(v.begin(), v.end()); };
    const auto logits = want.logits.value().span();
    const auto last = want.hidden_states.back().span();
    const double logit_error = relative_error(to_floats(dnabert::host_values(half, got.logits.value())), {logits.begin(), logits.end()});
    const double hidden_error =
        relative_error(to_floats(dnabert::host_values(half, got.hidden_states.back())), {last.begin(), last.end()});
    const double logit_bound = 2 * torch_error[name]["logits"].get<double>();
    const double hidden_bound = 2 * torch_error[name]["last_hidden"].get<double>();
    CHECK_MESSAGE(logit_error <= logit_bound, name << " logits: bf16 error " << logit_error << ", bound " << logit_bound);
    CHECK_MESSAGE(hidden_error <= hidden_bound, name << " last hidden: bf16 error " << hidden_error << ", bound " << hidden_bound);
    // And it really ran in bf16: float32 arithmetic lands near 1e-6, bf16 rounding (2^-8) far above
    // a sixteenth of PyTorch's own bf16 error.
    CHECK_MESSAGE(hidden_error >= hidden_bound / 32, name << " last hidden: error " << hidden_error
                                                        << " is too small for bf16 (PyTorch's: " << hidden_bound / 2 << ")");
    MESSAGE(name << ": bf16 relative error logits " << logit_error << " (PyTorch " << logit_bound / 2 << "), last hidden "
                 << hidden_error << " (PyTorch " << hidden_bound / 2 << ")");
  }
}

namespace {

// One optimizer step (dropout on, clipping, AdamW) of a fresh model; returns every parameter after
// it, in order, plus the loss and the gradient norm.
template <class B>
std::vector<std::vector<float>> one_training_step(B& be, dnabert::bert_head head, double& loss_value, double& norm,
                                                  bool remove_padding = false) {
  const auto config = dnabert::test::tiny_config(head, 32, 2, 4, 64, 64);
  dnabert::Bert<dnabert::dynamic_bert, B> model(be, config, head, 3);
  const auto batch = batch_for(dnabert::kmer_tokenizer(3), {"ACGTACGGTTACGATCGGATTACAGATTACA", "TTGACCANNGT", "GGGCGGCGCATGCATGCAACGT"});
  dnabert::train::adamw<B> optimizer(be, model.parameters(), dnabert::train::adamw_options::pretraining());
  dnabert::autograd::tape<B> tape(be, true);
  dnabert::nn::forward_context<B> ctx{tape, 11, 0};
  std::vector<std::int32_t> labels;
  dnabert::forward_options options;
  options.remove_padding = remove_padding;
  std::vector<std::int32_t> rows;
  if (head == dnabert::bert_head::masked_lm) {
    rows = {1, 4, 9, 40, 47, 60};  // MLM logits at a few token rows only, as pre-training does
    options.mlm_rows = rows;
    labels = {5, 17, 3, 68, 22, 9};
  } else {
    labels = {1, 0, 1};
  }
  dnabert::autograd::id_tensor<B> label_tensor(be, {static_cast<std::int64_t>(labels.size())});
  upload(be, labels.data(), label_tensor.data(), label_tensor.numel());
  const auto out = model.forward(ctx, batch, options);
  auto loss = dnabert::autograd::cross_entropy(tape, out.logits, label_tensor);
  float value = 0;
  download(be, loss.value().data(), &value, 1);
  loss_value = value;
  tape.backward(loss);
  norm = dnabert::train::clip_grad_norm(be, model.parameters(), 0.5);
  optimizer.step(1e-3);
  std::vector<std::vector<float>> params;
  for (const auto& item : model.parameters().items()) {
    const auto& t = item.value.value();
    params.push_back(dnabert::host_values(be, t));
  }
  return params;
}

}  // namespace

TEST_CASE("cuda: one training step equals the CPU backend's (classification and masked LM)") {
  for (const auto head : {dnabert::bert_head::sequence_classification, dnabert::bert_head::masked_lm}) {
    double cpu_loss = 0, cpu_norm = 0, gpu_loss = 0, gpu_norm = 0;
    const auto want = one_training_step(host(), head, cpu_loss, cpu_norm);
    const auto got = one_training_step(gpu(), head, gpu_loss, gpu_norm);
    CHECK(gpu_loss == doctest::Approx(cpu_loss).epsilon(1e-5));
    CHECK(gpu_norm == doctest::Approx(cpu_norm).epsilon(1e-5));
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) check_close(got[i], want[i], "parameter " + std::to_string(i));
  }
}

TEST_CASE("cuda: a training step with padding removal (packed backward) equals the CPU backend's") {
  double cpu_loss = 0, cpu_norm = 0, gpu_loss = 0, gpu_norm = 0;
  const auto head = dnabert::bert_head::sequence_classification;
  const auto want = one_training_step(host(), head, cpu_loss, cpu_norm, true);
  const auto got = one_training_step(gpu(), head, gpu_loss, gpu_norm, true);
  double padded_loss = 0, padded_norm = 0;
  const auto padded = one_training_step(host(), head, padded_loss, padded_norm, false);
  CHECK(gpu_loss == doctest::Approx(cpu_loss).epsilon(1e-5));
  CHECK(gpu_norm == doctest::Approx(cpu_norm).epsilon(1e-5));
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) check_close(got[i], want[i], "packed step, parameter " + std::to_string(i));
  CHECK(want != padded);  // the packed step's dropout masks differ from the padded one's: it really packed
}

TEST_CASE("cuda bf16: AdamW updates float32 master weights and rounds them into the parameters") {
  static cuda_bf16 half(0);
  const std::int64_t n = 50001;
  const auto widen = [](const std::vector<dnabert::bfloat16>& v) { return std::vector<float>(v.begin(), v.end()); };
  const auto initial = random_values(static_cast<std::size_t>(n), 30);
  const std::vector<dnabert::bfloat16> param_bf16(initial.begin(), initial.end());
  const auto grad_source = random_values(param_bf16.size(), 31);
  const std::vector<dnabert::bfloat16> grad_bf16(grad_source.begin(), grad_source.end());
  auto master = widen(param_bf16);
  auto m = random_values(param_bf16.size(), 32, -0.1f, 0.1f);
  auto v = random_values(param_bf16.size(), 33, 0.0f, 0.01f);
  dnabert::tensor<cuda_bf16> d_param(half, {n}), d_grad(half, {n});
  dnabert::tensor<cuda_bf16, float> d_master(half, {n}), d_m(half, {n}), d_v(half, {n});
  upload(half, param_bf16.data(), d_param.data(), n);
  upload(half, grad_bf16.data(), d_grad.data(), n);
  upload(half, master.data(), d_master.data(), n);
  upload(half, m.data(), d_m.data(), n);
  upload(half, v.data(), d_v.data(), n);
  const auto grad = widen(grad_bf16);
  adamw_update(host(), master.data(), grad.data(), m.data(), v.data(), n, 1e-3, 0.9, 0.999, 1e-6, 0.01, 0.19, 0.00299);
  using bf16_tensor = dnabert::ops::adamw_tensor<dnabert::bfloat16>;
  const std::vector<bf16_tensor> one{{d_param.data(), d_grad.data(), d_m.data(), d_v.data(), d_master.data(), n, 0.01, 0.19, 0.00299}};
  adamw_update(half, std::span<const bf16_tensor>(one), {1e-3, 0.9, 0.999, 1e-6});
  const auto got_master = dnabert::host_values(half, d_master);
  check_close(got_master, master, "master weights", 1e-6);
  check_close(dnabert::host_values(half, d_m), m, "exp_avg", 1e-6);
  check_close(dnabert::host_values(half, d_v), v, "exp_avg_sq", 1e-6);
  const auto got_param = dnabert::host_values(half, d_param);
  std::size_t rounded_exactly = 0;
  for (std::size_t i = 0; i < got_param.size(); ++i)
    rounded_exactly += got_param[i].bits == dnabert::float_to_bfloat16(got_master[i]) ? 1 : 0;
  CHECK(rounded_exactly == got_param.size());

  // Steps far below a bf16 step of 1.0 (2^-7) leave the parameter at 1.0 but add up in the master.
  const std::vector<dnabert::bfloat16> ones(16, dnabert::bfloat16(1.0f));
  const std::vector<float> one_master(16, 1.0f), zeros(16, 0.0f);
  const std::vector<dnabert::bfloat16> unit_grad(16, dnabert::bfloat16(1.0f));
  dnabert::tensor<cuda_bf16> p(half, {16}), g(half, {16});
  dnabert::tensor<cuda_bf16, float> pm(half, {16}), pv(half, {16}), pw(half, {16});
  upload(half, ones.data(), p.data(), 16);
  upload(half, unit_grad.data(), g.data(), 16);
  upload(half, one_master.data(), pw.data(), 16);
  upload(half, zeros.data(), pm.data(), 16);
  upload(half, zeros.data(), pv.data(), 16);
  for (int step = 1; step <= 20; ++step) {
    const std::vector<bf16_tensor> unit{
        {p.data(), g.data(), pm.data(), pv.data(), pw.data(), 16, 0.0, 1 - std::pow(0.9, step), 1 - std::pow(0.999, step)}};
    adamw_update(half, std::span<const bf16_tensor>(unit), {1e-5, 0.9, 0.999, 1e-8});
  }
  for (const auto x : dnabert::host_values(half, p)) CHECK(static_cast<float>(x) == 1.0f);
  for (const float x : dnabert::host_values(half, pw)) CHECK(x == doctest::Approx(1.0 - 20 * 1e-5).epsilon(1e-6));
}

namespace {

// Losses of `steps` AdamW steps (dropout off) of a small classifier on one fixed batch; `state`
// receives the optimizer's state after them.
template <class B>
std::vector<double> training_losses(B& be, int steps, dnabert::io::tensor_map* state = nullptr) {
  const auto head = dnabert::bert_head::sequence_classification;
  const auto config = dnabert::test::tiny_config(head, 32, 2, 4, 64, 64);
  dnabert::Bert<dnabert::dynamic_bert, B> model(be, config, head, 5);
  const auto batch = batch_for(dnabert::kmer_tokenizer(3), {"ACGTACGGTTACGATCGGATTACAGATTACA", "TTGACCAGCGT", "GGGCGGCGCATGCATGCAACGT",
                                   "ATATATATTTAAAT"});
  const std::vector<std::int32_t> labels = {1, 0, 1, 0};
  dnabert::autograd::id_tensor<B> label_tensor(be, {4});
  upload(be, labels.data(), label_tensor.data(), 4);
  dnabert::train::adamw<B> optimizer(be, model.parameters(), dnabert::train::adamw_options::finetuning());
  std::vector<double> losses;
  for (int step = 0; step < steps; ++step) {
    dnabert::autograd::tape<B> tape(be, true);
    dnabert::nn::forward_context<B> ctx{tape, 7, 0};
    ctx.dropout_enabled = false;
    const auto out = model.forward(ctx, batch);
    auto loss = dnabert::autograd::cross_entropy(tape, out.logits, label_tensor);
    losses.push_back(static_cast<double>(dnabert::host_values(be, loss.value())[0]));
    tape.backward(loss);
    dnabert::train::clip_grad_norm(be, model.parameters(), 1.0);
    optimizer.step(1e-3);
    dnabert::train::zero_grad(model.parameters());
  }
  if (state != nullptr) *state = optimizer.state();
  return losses;
}

}  // namespace

TEST_CASE("cuda bf16: mixed-precision training follows float32 training and checkpoints its master weights") {
  static cuda_bf16 half(0);
  const auto full = training_losses(host(), 40);
  dnabert::io::tensor_map state;
  const auto mixed = training_losses(half, 40, &state);
  CHECK(mixed.front() == doctest::Approx(full.front()).epsilon(2e-2));
  CHECK(full.back() < 0.5 * full.front());  // the float32 run learns the batch
  CHECK_MESSAGE(full.front() - mixed.back() >= 0.5 * (full.front() - full.back()),
                "bf16 loss " << mixed.front() << " -> " << mixed.back() << ", float32 " << full.front() << " -> " << full.back());
  std::size_t masters = 0;
  for (const auto& [name, value] : state) masters += name.ends_with(".master") ? 1 : 0;
  CHECK(masters > 0);
  CHECK(state.contains("classifier.weight.master"));

  // A fresh bf16 optimizer restores the master weights into its parameters, rounded.
  const auto config = dnabert::test::tiny_config(dnabert::bert_head::sequence_classification, 32, 2, 4, 64, 64);
  dnabert::Bert<dnabert::dynamic_bert, cuda_bf16> model(half, config, dnabert::bert_head::sequence_classification, 99);
  dnabert::train::adamw<cuda_bf16> optimizer(half, model.parameters(), dnabert::train::adamw_options::finetuning());
  optimizer.load_state(state, "state");
  for (const auto& item : model.parameters().items()) {
    if (item.alias) continue;
    const auto& master = state.at(item.name + ".master").values;
    const auto values = dnabert::host_values(half, item.value.value());
    REQUIRE(values.size() == master.size());
    std::size_t equal = 0;
    for (std::size_t i = 0; i < values.size(); ++i) equal += values[i].bits == dnabert::float_to_bfloat16(master[i]) ? 1 : 0;
    CHECK_MESSAGE(equal == values.size(), item.name);
  }
  const auto restored = optimizer.state();
  CHECK(std::ranges::equal(restored.at("classifier.weight.master").values, state.at("classifier.weight.master").values));
}

TEST_CASE("cuda: embedding backward is deterministic and equals the CPU's bits (repeated ids)") {
  // Many repeats of a few ids (as token types and [PAD] give), a run of one id, distinct ids:
  // atomics would sum repeats in varying order; the sorted runs add them in position order.
  const std::int64_t vocab = 300, width = 96;
  std::vector<std::int32_t> ids;
  for (std::int32_t i = 0; i < 4000; ++i) ids.push_back((i * 7) % 5);
  ids.insert(ids.end(), 1500, 0);
  for (std::int32_t i = 0; i < 250; ++i) ids.push_back(i + 50);
  const auto n = static_cast<std::int64_t>(ids.size());
  const auto table = random_values(static_cast<std::size_t>(vocab * width), 21);
  const auto dout = random_values(static_cast<std::size_t>(n * width), 22);
  const auto d_ids = to_device(ids);
  const auto d_dout = to_device(dout);
  auto want = table;
  embedding_backward(host(), ids.data(), n, dout.data(), width, want.data(), vocab);
  std::vector<std::vector<float>> runs;
  for (int run = 0; run < 2; ++run) {
    auto d_table = to_device(table);
    embedding_backward(gpu(), d_ids.data(), n, d_dout.data(), width, d_table.data(), vocab);
    runs.push_back(to_host(d_table));
  }
  CHECK(runs[0] == runs[1]);  // bit for bit (no NaNs in these values)
  CHECK(runs[0] == want);     // the CPU backend's sum order
}

TEST_CASE("cuda: residual add + layer norm forward and backward, fused and as two ops") {
  const std::int64_t rows = 130, n = 96;
  const auto a = random_values(static_cast<std::size_t>(rows * n), 41, -2, 2);
  const auto b = random_values(a.size(), 42, -2, 2);
  const auto dy = random_values(a.size(), 43);
  const auto gamma = random_values(static_cast<std::size_t>(n), 44, 0.5f, 1.5f);
  const auto beta = random_values(static_cast<std::size_t>(n), 45);
  std::vector<float> y(a.size()), mean(static_cast<std::size_t>(rows)), rstd(mean.size());
  add_layer_norm_forward(host(), a.data(), b.data(), gamma.data(), beta.data(), rows, n, 1e-12, y.data(), mean.data(),
                         rstd.data());
  for (const auto kernels : both_kernel_sets) {
    cuda& be = gpu_with(kernels);
    const std::string set = " (" + kernel_set_name(kernels) + ")";
    const auto d_a = to_device(a, be), d_b = to_device(b, be), d_dy = to_device(dy, be), d_gamma = to_device(gamma, be),
               d_beta = to_device(beta, be);
    dnabert::tensor<cuda> d_y(be, {rows * n}), d_mean(be, {rows}), d_rstd(be, {rows});
    add_layer_norm_forward(be, d_a.data(), d_b.data(), d_gamma.data(), d_beta.data(), rows, n, 1e-12, d_y.data(),
                           d_mean.data(), d_rstd.data());
    check_close(to_host(d_y, be), y, "add_layer_norm_forward y" + set);
    check_close(to_host(d_mean, be), mean, "add_layer_norm_forward mean" + set);
    check_close(to_host(d_rstd, be), rstd, "add_layer_norm_forward rstd" + set);

    for (const bool with_db : {true, false}) {  // a summand that needs no gradient gets a null pointer
      auto da = dy, db = b, dgamma = gamma, dbeta = beta;  // backward adds into existing gradients
      auto d_da = to_device(da, be), d_db = to_device(db, be), d_dgamma = to_device(gamma, be), d_dbeta = to_device(beta, be);
      add_layer_norm_backward(host(), dy.data(), a.data(), b.data(), gamma.data(), mean.data(), rstd.data(), rows, n,
                              da.data(), with_db ? db.data() : nullptr, dgamma.data(), dbeta.data());
      add_layer_norm_backward(be, d_dy.data(), d_a.data(), d_b.data(), d_gamma.data(), d_mean.data(), d_rstd.data(),
                              rows, n, d_da.data(), with_db ? d_db.data() : nullptr, d_dgamma.data(), d_dbeta.data());
      const std::string tag = (with_db ? " (both summands)" : " (db null)") + set;
      check_close(to_host(d_da, be), da, "add_layer_norm_backward da" + tag);
      check_close(to_host(d_db, be), db, "add_layer_norm_backward db" + tag);
      check_close(to_host(d_dgamma, be), dgamma, "add_layer_norm_backward dgamma" + tag);
      check_close(to_host(d_dbeta, be), dbeta, "add_layer_norm_backward dbeta" + tag);
    }
  }
}

namespace {

// An attention problem for the fused kernel: q, k, v as column blocks of one [B*S, 3*H*d] buffer,
// batch b padded over its last b·S/(B+1) keys (-10000, as Hugging Face).
struct fused_attention_case {
  dnabert::ops::attention_shape s;
  std::vector<float> qkv, key_bias;
  float scale;
  fused_attention_case(std::int64_t batch, std::int64_t seq, std::int64_t heads, std::int64_t head_dim, std::uint32_t seed)
      : s{batch, seq, heads, head_dim, 3 * heads * head_dim},
        qkv(random_values(static_cast<std::size_t>(batch * seq * 3 * heads * head_dim), seed, -2, 2)),
        key_bias(static_cast<std::size_t>(batch * seq), 0.0f),
        scale(1.0f / std::sqrt(static_cast<float>(head_dim))) {
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t j = seq - b * seq / (batch + 1); j < seq; ++j) key_bias[static_cast<std::size_t>(b * seq + j)] = -10000.0f;
  }
  [[nodiscard]] std::int64_t width() const { return s.heads * s.head_dim; }
  // The CPU backend's context for these inputs.
  [[nodiscard]] std::vector<float> cpu_context() const {
    std::vector<float> context(qkv.size(), 0.0f);
    attention_forward(host(), s, qkv.data(), qkv.data() + width(), qkv.data() + 2 * width(), key_bias.data(), scale,
                      static_cast<float*>(nullptr), context.data(), 0.0, nullptr, 0, 0);
    return context;
  }
};

}  // namespace

TEST_CASE("cuda: fused attention equals the CPU backend and the GEMM path (fp32), padding, tails") {
  for (const auto& [seq, head_dim] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 64}, {37, 64}, {128, 64}, {512, 64}, {37, 100}, {130, 32}}) {
    const fused_attention_case c(3, seq, 4, head_dim, static_cast<std::uint32_t>(seq + head_dim));
    const auto want = c.cpu_context();
    const auto d_qkv = to_device(c.qkv), d_bias = to_device(c.key_bias);
    const float* q = d_qkv.data();
    auto fused = to_device(std::vector<float>(c.qkv.size(), 0.0f));
    auto gemm_path = to_device(std::vector<float>(c.qkv.size(), 0.0f));
    attention_forward_fused(gpu(), c.s, q, q + c.width(), q + 2 * c.width(), d_bias.data(), c.scale, fused.data());
    attention_forward_gemm(gpu(), c.s, q, q + c.width(), q + 2 * c.width(), d_bias.data(), c.scale, static_cast<float*>(nullptr),
                           gemm_path.data(), 0.0, nullptr, 0, 0);
    const std::string tag = " seq " + std::to_string(seq) + " head_dim " + std::to_string(head_dim);
    check_close(to_host(fused), want, "fused attention vs cpu" + tag);
    check_close(to_host(fused), to_host(gemm_path), "fused attention vs gemm path" + tag);
    auto no_mask = to_device(std::vector<float>(c.qkv.size(), 0.0f));
    attention_forward_fused(gpu(), c.s, q, q + c.width(), q + 2 * c.width(), static_cast<const float*>(nullptr), c.scale,
                            no_mask.data());
    std::vector<float> unmasked(c.qkv.size(), 0.0f);
    attention_forward(host(), c.s, c.qkv.data(), c.qkv.data() + c.width(), c.qkv.data() + 2 * c.width(),
                      static_cast<const float*>(nullptr), c.scale, static_cast<float*>(nullptr), unmasked.data(), 0.0, nullptr, 0, 0);
    check_close(to_host(no_mask), unmasked, "fused attention without mask" + tag);
    auto alibi_shape = c.s;  // ALiBi's bias, computed inside both kernels
    alibi_shape.alibi = true;
    std::vector<float> alibi_want(c.qkv.size(), 0.0f);
    attention_forward(host(), alibi_shape, c.qkv.data(), c.qkv.data() + c.width(), c.qkv.data() + 2 * c.width(),
                      c.key_bias.data(), c.scale, static_cast<float*>(nullptr), alibi_want.data(), 0.0, nullptr, 0, 0);
    auto alibi_fused = to_device(std::vector<float>(c.qkv.size(), 0.0f));
    attention_forward_fused(gpu(), alibi_shape, q, q + c.width(), q + 2 * c.width(), d_bias.data(), c.scale, alibi_fused.data());
    check_close(to_host(alibi_fused), alibi_want, "fused attention with ALiBi vs cpu" + tag);
  }
}

TEST_CASE("cuda: fused attention refuses heads wider than 128, attention_forward falls back to GEMMs") {
  const fused_attention_case c(2, 9, 1, 160, 51);
  const auto d_qkv = to_device(c.qkv), d_bias = to_device(c.key_bias);
  const float* q = d_qkv.data();
  auto context = to_device(std::vector<float>(c.qkv.size(), 0.0f));
  CHECK_THROWS_WITH(attention_forward_fused(gpu(), c.s, q, q + c.width(), q + 2 * c.width(), d_bias.data(), c.scale,
                                            context.data()),
                    doctest::Contains("attention_forward_fused"));
  attention_forward(gpu(), c.s, q, q + c.width(), q + 2 * c.width(), d_bias.data(), c.scale, static_cast<float*>(nullptr),
                    context.data(), 0.0,
                    nullptr, 0, 0);
  check_close(to_host(context), c.cpu_context(), "attention_forward, head_dim 160");
}

TEST_CASE("cuda bf16: fused attention stays within bf16 rounding of the CPU on the same inputs") {
  static cuda_bf16 half(0);
  for (const auto& [seq, head_dim] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 64}, {37, 64}, {128, 64}, {512, 64}, {37, 128}, {512, 128}}) {
    fused_attention_case c(2, seq, 3, head_dim, static_cast<std::uint32_t>(100 + seq + head_dim));
    for (auto* values : {&c.qkv, &c.key_bias})  // both sides see the bf16 inputs (the mask -10000 becomes -9984)
      for (float& x : *values) x = static_cast<float>(dnabert::bfloat16(x));
    c.scale = static_cast<float>(dnabert::bfloat16(c.scale));  // 1/8 is exact, 1/sqrt(128) is not
    const auto want = c.cpu_context();
    const std::vector<dnabert::bfloat16> qkv(c.qkv.begin(), c.qkv.end()), bias(c.key_bias.begin(), c.key_bias.end());
    dnabert::tensor<cuda_bf16> d_qkv(half, {static_cast<std::int64_t>(qkv.size())}), d_bias(half, {static_cast<std::int64_t>(bias.size())}),
        d_context(half, {static_cast<std::int64_t>(qkv.size())});
    upload(half, qkv.data(), d_qkv.data(), d_qkv.numel());
    upload(half, bias.data(), d_bias.data(), d_bias.numel());
    fill(half, d_context.data(), dnabert::bfloat16(0.0f), d_context.numel());
    const dnabert::bfloat16* q = d_qkv.data();
    attention_forward_fused(half, c.s, q, q + c.width(), q + 2 * c.width(), d_bias.data(), dnabert::bfloat16(c.scale),
                            d_context.data());
    const auto got = dnabert::host_values(half, d_context);
    // float inside the kernel and the same bf16 inputs: the output's rounding to bf16 (2^-9
    // relative) is what remains.
    check_close(std::vector<float>(got.begin(), got.end()), want,
                "bf16 fused attention seq " + std::to_string(seq) + " head_dim " + std::to_string(head_dim), 1e-2);
  }
}

TEST_CASE("cuda: padding removal gives the padded pass's logits and real-token states") {
  const std::string dir = dnabert::test::data_path("parity/cls_k6");
  const auto model = dnabert::Bert<dnabert::dynamic_bert, cuda>::load(gpu(), dir, dnabert::bert_head::sequence_classification);
  const auto batch = batch_for(dnabert::kmer_tokenizer(6), {"ACGTACGGTTACGATCGGATTACAGATTACAGGCATTAGCA", "TTGACCAGCGT", "GGGCGGCGCATGCATGCAACGTAC"});
  REQUIRE(dnabert::pack_rows(batch).has_padding);
  dnabert::autograd::tape<cuda> tape(gpu());
  dnabert::nn::forward_context<cuda> ctx{tape};
  dnabert::forward_options padded{true, false, true, {}};
  dnabert::forward_options packed = padded;
  packed.remove_padding = true;
  const auto want = model.forward(ctx, batch, padded);
  const auto got = model.forward(ctx, batch, packed);
  check_close(to_host(got.logits.value()), to_host(want.logits.value()), "packed logits");
  const auto got_states = to_host(got.sequence_output.value());
  const auto want_states = to_host(want.sequence_output.value());
  const auto hidden = static_cast<std::size_t>(model.config().hidden_size);
  std::vector<float> got_real, want_real;
  for (std::size_t row = 0; row < batch.attention_mask.size(); ++row) {
    if (!batch.attention_mask[row]) continue;
    got_real.insert(got_real.end(), got_states.begin() + static_cast<std::ptrdiff_t>(row * hidden),
                    got_states.begin() + static_cast<std::ptrdiff_t>((row + 1) * hidden));
    want_real.insert(want_real.end(), want_states.begin() + static_cast<std::ptrdiff_t>(row * hidden),
                     want_states.begin() + static_cast<std::ptrdiff_t>((row + 1) * hidden));
  }
  check_close(got_real, want_real, "packed states at real tokens");
}

TEST_CASE("cuda bf16: padding removal gives the padded pass's logits to bf16 rounding") {
  static cuda_bf16 half(0);
  const std::string dir = dnabert::test::data_path("parity/cls_k6");
  const auto model = dnabert::Bert<dnabert::dynamic_bert, cuda_bf16>::load(half, dir, dnabert::bert_head::sequence_classification);
  const auto batch = batch_for(dnabert::kmer_tokenizer(6), {"ACGTACGGTTACGATCGGATTACAGATTACAGGCATTAGCA", "TTGACCAGCGT", "GGGCGGCGCATGCATGCAACGTAC"});
  dnabert::autograd::tape<cuda_bf16> tape(half);
  dnabert::nn::forward_context<cuda_bf16> ctx{tape};
  dnabert::forward_options packed;
  packed.remove_padding = true;
  const auto want = dnabert::host_values(half, model.forward(ctx, batch, {}).logits.value());
  const auto got = dnabert::host_values(half, model.forward(ctx, batch, packed).logits.value());
  check_close(std::vector<float>(got.begin(), got.end()), std::vector<float>(want.begin(), want.end()), "bf16 packed logits",
              3e-2);
}

TEST_CASE("cuda bf16: scaling a gradient rounds once, the factor not at all") {
  static cuda_bf16 half(0);
  const std::vector<dnabert::bfloat16> three(4, dnabert::bfloat16(3.0f));
  dnabert::tensor<cuda_bf16> x(half, {4});
  upload(half, three.data(), x.data(), 4);
  scale(half, x.data(), 0.3, 4);
  // 3 * 0.3 rounded once is bf16(0.9) = 0.8984375; with the factor first rounded to bf16
  // (0.30078125) the product would round to 0.90234375.
  const float once = static_cast<float>(dnabert::bfloat16(0.9f));
  REQUIRE(once != static_cast<float>(dnabert::bfloat16(3.0f * static_cast<float>(dnabert::bfloat16(0.3f)))));
  for (const auto value : dnabert::host_values(half, x)) CHECK(static_cast<float>(value) == once);
}

TEST_CASE("cuda bf16: the gradients of 1000 micro-batches are summed in float, rounded once") {
  // In bf16 a running sum of ones stops at 256 (256 + 1 rounds back to 256).
  static cuda_bf16 half(0);
  dnabert::nn::parameter_list<cuda_bf16> params;
  const auto w = params.create(half, "w", {8}, dnabert::nn::init_kind::zeros);
  dnabert::train::gradient_sum<cuda_bf16> sum(half, params);
  const std::vector<dnabert::bfloat16> ones(8, dnabert::bfloat16(1.0f));
  for (int micro_batch = 0; micro_batch < 1000; ++micro_batch) {
    upload(half, ones.data(), w.grad(half).data(), 8);
    sum.take_rest(params, micro_batch == 0);
  }
  sum.sum_over(dnabert::parallel::one_process());
  sum.give_back(params, 1.0);
  for (const auto value : dnabert::host_values(half, w.grad(half))) CHECK(static_cast<float>(value) == 1000.0f);
  sum.give_back(params, 1.0 / 1000);
  for (const auto value : dnabert::host_values(half, w.grad(half))) CHECK(static_cast<float>(value) == 1.0f);
}

TEST_CASE("cuda: TF32 dense layers stay within TF32 rounding of float32, and are not float32") {
  const std::int64_t rows = 64, in = 768, out = 768;
  const auto x = random_values(static_cast<std::size_t>(rows * in), 60);
  const auto w = random_values(static_cast<std::size_t>(out * in), 61, -0.05f, 0.05f);
  const auto b = random_values(static_cast<std::size_t>(out), 62);
  std::vector<float> want(static_cast<std::size_t>(rows * out));
  linear_forward(host(), x.data(), w.data(), b.data(), rows, in, out, want.data());
  for (const auto kernels : both_kernel_sets) {
    cuda tf32(0, dnabert::backend::cuda_math::tf32, kernels);  // cuBLASLt (fused) or cuBLAS (standard)
    dnabert::tensor<cuda> dx(tf32, {rows * in}), dw(tf32, {out * in}), db(tf32, {out}), y(tf32, {rows * out});
    upload(tf32, x.data(), dx.data(), dx.numel());
    upload(tf32, w.data(), dw.data(), dw.numel());
    upload(tf32, b.data(), db.data(), db.numel());
    linear_forward(tf32, dx.data(), dw.data(), db.data(), rows, in, out, y.data());
    const auto got = dnabert::host_values(tf32, y);
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
    // TF32 rounds each input to 10 bits of mantissa (2^-11 relative): ~1e-4 on these sums of 768
    // products, where float32 stays near 1e-6.
    const std::string set = kernel_set_name(kernels);
    MESSAGE("TF32 linear 64x768->768 (" << set << "): max |tf32 - fp32 cpu| " << worst);
    check_close(got, want, "TF32 linear (" + set + ")", 5e-3);
    CHECK_MESSAGE(worst > 1e-5, "TF32 linear (" << set << ") is as exact as float32: the tensor cores were not used");
  }
}

TEST_CASE("cuda bf16: dropout draws the CPU's mask and scales in float") {
  static cuda_bf16 half(0);
  const std::int64_t n = 10007;  // not a multiple of 4: a partial Philox block at both ends (offset 13)
  const auto values = random_values(static_cast<std::size_t>(n), 70);
  const std::vector<dnabert::bfloat16> x(values.begin(), values.end());
  const std::vector<float> xr(x.begin(), x.end());
  std::vector<float> y(xr.size()), dx(xr.size(), 0.0f);
  std::vector<std::uint8_t> keep(xr.size());
  dropout_forward(host(), xr.data(), y.data(), keep.data(), n, 0.1, 9, 13);
  dropout_backward(host(), xr.data(), keep.data(), dx.data(), n, 0.1);
  dnabert::tensor<cuda_bf16> d_x(half, {n}), d_y(half, {n}), d_dx(half, {n});
  dnabert::tensor<cuda_bf16, std::uint8_t> d_keep(half, {n});
  upload(half, x.data(), d_x.data(), n);
  fill(half, d_dx.data(), dnabert::bfloat16(0.0f), n);
  dropout_forward(half, d_x.data(), d_y.data(), d_keep.data(), n, 0.1, 9, 13);
  dropout_backward(half, d_x.data(), d_keep.data(), d_dx.data(), n, 0.1);
  CHECK(dnabert::host_values(half, d_keep) == keep);
  const auto got_y = dnabert::host_values(half, d_y), got_dx = dnabert::host_values(half, d_dx);
  check_close(std::vector<float>(got_y.begin(), got_y.end()), y, "bf16 dropout forward", 4e-3);
  check_close(std::vector<float>(got_dx.begin(), got_dx.end()), dx, "bf16 dropout backward", 4e-3);
}

TEST_CASE("cuda bf16: attention backward with dropout stays within bf16 rounding of the CPU") {
  static cuda_bf16 half(0);
  const dnabert::ops::attention_shape s{3, 17, 4, 8, 3 * 32};
  const auto rows = s.batch * s.seq;
  const auto round = [](std::vector<float> v) {  // both sides see bf16 inputs
    for (float& x : v) x = static_cast<float>(dnabert::bfloat16(x));
    return v;
  };
  const auto qkv = round(random_values(static_cast<std::size_t>(rows * s.row_stride), 80, -2, 2));
  const auto dcontext = round(random_values(qkv.size(), 81));
  std::vector<float> key_bias(static_cast<std::size_t>(rows), 0.0f);
  for (std::int64_t j = 12; j < s.seq; ++j) key_bias[static_cast<std::size_t>(s.seq + j)] = -9984.0f;  // -10000 in bf16
  const float scale = 1.0f / std::sqrt(8.0f);
  const std::int64_t square = s.batch * s.heads * s.seq * s.seq;
  std::vector<float> probs(static_cast<std::size_t>(square)), context(qkv.size(), 0.0f), grads(qkv.size(), 0.0f);
  std::vector<std::uint8_t> keep(static_cast<std::size_t>(square));
  attention_forward(host(), s, qkv.data(), qkv.data() + 32, qkv.data() + 64, key_bias.data(), scale, probs.data(),
                    context.data(), 0.1, keep.data(), 5, 77);
  attention_backward(host(), s, qkv.data(), qkv.data() + 32, qkv.data() + 64, probs.data(), dcontext.data(), scale, 0.1,
                     keep.data(), grads.data(), grads.data() + 32, grads.data() + 64);

  const auto upload_bf16 = [](const std::vector<float>& v) {
    const std::vector<dnabert::bfloat16> h(v.begin(), v.end());
    dnabert::tensor<cuda_bf16> t(half, {static_cast<std::int64_t>(h.size())});
    upload(half, h.data(), t.data(), t.numel());
    return t;
  };
  const auto floats = [](const dnabert::tensor<cuda_bf16>& t) {
    const auto h = dnabert::host_values(half, t);
    return std::vector<float>(h.begin(), h.end());
  };
  const auto d_qkv = upload_bf16(qkv), d_bias = upload_bf16(key_bias), d_dcontext = upload_bf16(dcontext);
  auto d_context = upload_bf16(std::vector<float>(qkv.size(), 0.0f)), d_grads = upload_bf16(std::vector<float>(qkv.size(), 0.0f));
  dnabert::tensor<cuda_bf16> d_probs(half, {square});
  dnabert::tensor<cuda_bf16, std::uint8_t> d_keep(half, {square});
  const dnabert::bfloat16* q = d_qkv.data();
  dnabert::bfloat16* g = d_grads.data();
  attention_forward(half, s, q, q + 32, q + 64, d_bias.data(), dnabert::bfloat16(scale), d_probs.data(), d_context.data(),
                    0.1, d_keep.data(), 5, 77);
  attention_backward(half, s, q, q + 32, q + 64, d_probs.data(), d_dcontext.data(), dnabert::bfloat16(scale), 0.1,
                     d_keep.data(), g, g + 32, g + 64);
  CHECK(dnabert::host_values(half, d_keep) == keep);
  check_close(floats(d_probs), probs, "bf16 attention probs (dropout 0.1)", 1e-2);
  check_close(floats(d_context), context, "bf16 attention context (dropout 0.1)", 2e-2);
  check_close(floats(d_grads), grads, "bf16 attention dq dk dv (dropout 0.1)", 3e-2);
}

#ifdef DNABERT_WITH_NCCL
TEST_CASE("cuda: NCCL on one rank: pre-training through the communicator equals the run without it, bit for bit") {
  dnabert::backend::nccl_communicator nccl(dnabert::parallel::one_process(), 0);
  CHECK(nccl.rank() == 0);
  CHECK(nccl.size() == 1);
  CHECK(nccl.buffers() == dnabert::parallel::memory_space::device);
  std::mt19937 rng(3);
  std::string genome = ">g\n";
  for (int i = 0; i < 4000; ++i) genome += "ACGT"[rng() % 4];
  genome += "\n";
  const auto corpus = dnabert::train::pretraining_corpus::read(std::as_bytes(std::span(genome.data(), genome.size())), "g.fa");
  const auto run = [&](dnabert::parallel::communicator* ranks, const std::string& name) {
    dnabert::Bert<dnabert::dynamic_bert, cuda> model(
        gpu(), dnabert::test::tiny_config(dnabert::bert_head::masked_lm, 32, 1, 2, 64, 66), dnabert::bert_head::masked_lm, 5);
    dnabert::train::pretrain_options options;
    options.max_steps = 5;
    options.batch_size = 4;
    options.gradient_accumulation_steps = 2;
    options.warmup_steps = 1;
    options.communicator = ranks;
    (void)dnabert::train::pretrain(model, corpus, options, dnabert::test::scratch_dir(name).string());
    std::vector<float> weights;
    for (const auto& item : model.parameters().items()) {
      const auto values = to_host(item.value.value());
      weights.insert(weights.end(), values.begin(), values.end());
    }
    return weights;
  };
  CHECK(run(&nccl, "nccl-one-rank") == run(nullptr, "nccl-none"));
}
#endif

int main(int argc, char** argv) {
  return dnabert::test::run_test_cases(argc, argv, []() -> std::optional<std::string> {
    if (dnabert::backend::cuda_device_count() == 0) return "no CUDA device visible";
    return std::nullopt;
  });
}
