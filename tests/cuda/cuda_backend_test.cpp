// The CUDA backend against the CPU backend on the same inputs: every op (float32, TF32 off),
// whole models loaded from the Hugging Face fixtures, and training steps with dropout on.
// Exits 77 (ctest: skipped) where no GPU is visible.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "dnabert/backend/cpu_ops.hpp"
#include "dnabert/backend/cpu_optimizer_ops.hpp"
#include "dnabert/backend/cuda_ops.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/model/classifier.hpp"
#include "dnabert/tokenizer/kmer_tokenizer.hpp"
#include "dnabert/tokenizer/token_batch.hpp"
#include "dnabert/train/optimizer.hpp"
#include "golden_batch.hpp"
#include "test_paths.hpp"
#include "tiny_config.hpp"

#include <nlohmann/json.hpp>

namespace {

using dnabert::backend::cpu;
using dnabert::backend::cuda;
using dnabert::backend::cuda_bf16;

cuda& gpu() {
  static cuda device(0);
  return device;
}

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

// A device copy of host values, kept alive by the returned tensor.
template <class E>
dnabert::tensor<cuda, E> to_device(const std::vector<E>& values) {
  dnabert::tensor<cuda, E> t(gpu(), {static_cast<std::int64_t>(values.size())});
  upload(gpu(), values.data(), t.data(), t.numel());
  return t;
}

template <class E>
std::vector<E> to_host(const dnabert::tensor<cuda, E>& t) {
  return dnabert::host_values(gpu(), t);
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
  tanh_forward(host(), x.data(), y.data(), count);
  tanh_forward(gpu(), d_x.data(), d_y.data(), count);
  check_close(to_host(d_y), y, "tanh_forward");
  tanh_backward(host(), y.data(), dy.data(), dx.data(), count);
  tanh_backward(gpu(), d_y.data(), d_dy.data(), d_dx.data(), count);
  check_close(to_host(d_dx), dx, "tanh_backward");

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
  embedding_backward(host(), ids.data(), n, out.data(), width, dtable.data());
  embedding_backward(gpu(), d_ids.data(), n, d_out.data(), width, d_dtable.data());
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

TEST_CASE("cuda: attention forward and backward, padding and dropout") {
  for (const double p : {0.0, 0.1}) {
    // q, k and v as column blocks of one fused [B*S, 3*hidden] buffer: row_stride 3 * hidden.
    const dnabert::backend::attention_shape s{3, 17, 4, 8, 3 * 32};
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
    const std::string tag = " (dropout " + std::to_string(p) + ")";
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

TEST_CASE("cuda: cross-entropy with class weights and ignored rows, MSE") {
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
}

TEST_CASE("cuda: failures are exceptions naming what failed") {
  CHECK_THROWS_WITH_AS((void)cuda(99), doctest::Contains("cuda:99 requested"), dnabert::error);
  CHECK_THROWS_WITH_AS((void)gpu().allocate(std::size_t{1} << 50), doctest::Contains("out of memory"), dnabert::error);
  // The backend still works after a failed allocation.
  const auto d = to_device(std::vector<float>{1, 2, 3});
  CHECK(to_host(d) == std::vector<float>{1, 2, 3});
}

namespace {

dnabert::token_batch batch_for(int k, const std::vector<std::string>& sequences) {
  const dnabert::kmer_tokenizer tokenizer(k);
  std::vector<dnabert::token_piece> pieces;
  for (const auto& s : sequences) {
    auto encoded = tokenizer.encode(s, s, pieces.size());
    pieces.insert(pieces.end(), encoded.begin(), encoded.end());
  }
  return dnabert::make_batch(pieces);
}

}  // namespace

TEST_CASE("cuda: Hugging Face fixtures give the CPU backend's logits, hidden states and attentions") {
  const std::vector<std::string> sequences{"ACGTACGGTTACNNACGTAGGCTAGCTAGGATCGATCGTAGCTAGCTAGG", "acgtTTGACCA",
                                           "GGGGCCCCAAAATTTTACGTACGTAGCTAGCTACGATCGATCGA"};
  for (const char* name : {"mlm_k3", "cls_k6", "cls3_k3", "reg_k6"}) {
    const std::string dir = dnabert::test::data_path(std::string("parity/") + name);
    const auto head = std::string(name).starts_with("mlm") ? dnabert::bert_head::masked_lm
                                                           : dnabert::bert_head::sequence_classification;
    const auto on_cpu = dnabert::Bert<dnabert::dynamic_bert, cpu>::load(host(), dir, head);
    const auto on_gpu = dnabert::Bert<dnabert::dynamic_bert, cuda>::load(gpu(), dir, head);
    const auto batch = batch_for(on_cpu.k(), sequences);
    dnabert::autograd::tape<cpu> cpu_tape(host());
    dnabert::nn::forward_context<cpu> cpu_ctx{cpu_tape};
    dnabert::autograd::tape<cuda> gpu_tape(gpu());
    dnabert::nn::forward_context<cuda> gpu_ctx{gpu_tape};
    const dnabert::forward_options all{true, true, true, {}};
    const auto want = on_cpu.forward(cpu_ctx, batch, all);
    const auto got = on_gpu.forward(gpu_ctx, batch, all);
    const auto logits = want.logits.value().span();
    check_close(to_host(got.logits.value()), {logits.begin(), logits.end()}, std::string(name) + " logits");
    REQUIRE(got.hidden_states.size() == want.hidden_states.size());
    for (std::size_t i = 0; i < want.hidden_states.size(); ++i) {
      const auto h = want.hidden_states[i].span();
      check_close(to_host(got.hidden_states[i]), {h.begin(), h.end()},
                  std::string(name) + " hidden state " + std::to_string(i));
    }
    for (std::size_t i = 0; i < want.attentions.size(); ++i) {
      const auto a = want.attentions[i].span();
      check_close(to_host(got.attentions[i]), {a.begin(), a.end()},
                  std::string(name) + " attentions " + std::to_string(i));
    }
  }
}

TEST_CASE("cuda: the classifier predicts and embeds as on the CPU, long sequences included") {
  const std::string dir = dnabert::test::data_path("parity/cls_k6");
  const dnabert::classifier<> on_cpu(dir, 2);
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

TEST_CASE("cuda bf16: models stay within twice PyTorch's own bf16 error of float32") {
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
    MESSAGE(name << ": bf16 relative error logits " << logit_error << " (PyTorch " << logit_bound / 2 << "), last hidden "
                 << hidden_error << " (PyTorch " << hidden_bound / 2 << ")");
  }
}

namespace {

// One optimizer step (dropout on, clipping, AdamW) of a fresh model; returns every parameter after
// it, in order, plus the loss and the gradient norm.
template <class B>
std::vector<std::vector<float>> one_training_step(B& be, dnabert::bert_head head, double& loss_value, double& norm) {
  const auto config = dnabert::test::tiny_config(head, 32, 2, 4, 64, 64);
  dnabert::Bert<dnabert::dynamic_bert, B> model(be, config, head, 3);
  const auto batch = batch_for(3, {"ACGTACGGTTACGATCGGATTACAGATTACA", "TTGACCANNGT", "GGGCGGCGCATGCATGCAACGT"});
  dnabert::train::adamw<B> optimizer(be, model.parameters(), dnabert::train::adamw_options::pretraining());
  dnabert::autograd::tape<B> tape(be, true);
  dnabert::nn::forward_context<B> ctx{tape, 11, 0};
  std::vector<std::int32_t> labels;
  dnabert::forward_options options;
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

int main(int argc, char** argv) {
  if (dnabert::backend::cuda_device_count() == 0) {
    std::puts("no CUDA device visible: skipped");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
