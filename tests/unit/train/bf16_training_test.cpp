// Training on the CPU in bf16 (backend::cpu_math::bf16: GEMM operands rounded to bfloat16, float32
// sums, float32 master weights, LayerNorm and softmax): one step's gradients are fp32's to within
// bfloat16's precision, and fine-tuning learns as it does in fp32. A build without oneDNN has no
// bf16 backend: there the constructor's refusal is checked instead.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/io/sequence_input.hpp"
#include "dnabert/train/finetune.hpp"
#include "test_paths.hpp"
#include "tiny_config.hpp"

namespace train_bf16_training_test {

namespace {

using B = dnabert::backend::cpu;
using dnabert::backend::cpu_math;

}  // namespace

#ifndef DNABERT_USE_ONEDNN
TEST_CASE("bf16 training: a build without oneDNN refuses the bf16 backend, saying why") {
  CHECK_THROWS_WITH_AS(B(1, cpu_math::bf16), doctest::Contains("--precision bf16 on the CPU needs oneDNN"),
                       dnabert::config_error);
}
#else
namespace {

dnabert::bert_config small_classifier() {
  return dnabert::test::tiny_config(dnabert::bert_head::sequence_classification, 32, 2, 2, 64, 48);
}

// 64 sequences of 40 nt, GC-rich (65 % G or C, label 1) and AT-rich (35 %, label 0) in turn: a
// task a fresh model starts to learn within 20 steps (a planted motif takes hundreds).
dnabert::train::labelled_dataset gc_content_set() {
  std::mt19937 rng(9);
  std::vector<dnabert::io::sequence_entry> entries;
  for (int i = 0; i < 64; ++i) {
    const bool gc_rich = i % 2 == 0;
    std::string sequence(40, 'A');
    for (char& c : sequence) c = rng() % 100 < (gc_rich ? 65U : 35U) ? "GC"[rng() % 2] : "AT"[rng() % 2];
    entries.push_back({std::to_string(i), sequence, gc_rich ? 1.0 : 0.0, {}});
  }
  return {entries, dnabert::kmer_tokenizer(3)};
}

// Fine-tunes a fresh small classifier (seed 7) for 20 steps on a backend computing in `math`, into
// `dir`; returns the loss of each step. lr 1e-2: at DNABERT's 2e-4 twenty steps barely move the loss.
std::vector<double> train_20_steps(cpu_math math, const std::string& dir) {
  B cpu(1, math);
  dnabert::cpu_bert<> model(cpu, small_classifier(), dnabert::bert_head::sequence_classification, 7);
  dnabert::train::finetune_options options;
  options.max_steps = 20;
  options.batch_size = 16;
  options.optimizer.lr = 1e-2;
  std::vector<double> losses;
  const auto summary = dnabert::train::finetune(model, gc_content_set(), dnabert::train::labelled_dataset({}, dnabert::kmer_tokenizer(3)), options, dir);
  for (const auto& [step, loss] : summary.train_loss) losses.push_back(loss);
  return losses;
}

// The loss and every parameter's gradient (by name, tied aliases once) after one forward and
// backward of the cross-entropy loss on all of `data`, dropout off, from the model in `dir`.
struct step_gradients {
  double loss = 0;
  std::vector<std::pair<std::string, std::vector<float>>> grads;
};

step_gradients one_step(cpu_math math, const std::string& dir, const dnabert::train::labelled_dataset& data) {
  B cpu(1, math);
  const auto model = dnabert::cpu_bert<>::load(cpu, dir, dnabert::bert_head::sequence_classification);
  std::vector<std::size_t> rows(data.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  const auto batch = data.batch(rows);
  dnabert::autograd::id_tensor<B> labels(cpu, {static_cast<std::int64_t>(rows.size())});
  for (std::size_t i = 0; i < rows.size(); ++i) labels.data()[i] = static_cast<std::int32_t>(batch.labels[i]);
  dnabert::autograd::tape<B> tape(cpu, true);
  dnabert::nn::forward_context<B> ctx{tape};
  ctx.dropout_enabled = false;
  const auto out = model.forward(ctx, batch.tokens);
  auto loss = dnabert::autograd::cross_entropy(tape, out.logits, labels);
  tape.backward(loss);
  step_gradients result{loss.value().data()[0], {}};
  for (const auto& p : model.parameters().items()) {
    if (p.alias) continue;
    const auto g = p.value.grad(cpu).span();
    result.grads.emplace_back(p.name, std::vector<float>(g.begin(), g.end()));
  }
  return result;
}

// Euclidean norm of a tensor, and of the difference of two.
double norm(const std::vector<float>& a) {
  double sum = 0;
  for (const float x : a) sum += double(x) * x;
  return std::sqrt(sum);
}

double norm_of_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(sum);
}

double mean(const std::vector<double>& v, std::size_t from, std::size_t to) {
  double sum = 0;
  for (std::size_t i = from; i < to; ++i) sum += v[i];
  return sum / static_cast<double>(to - from);
}

}  // namespace

TEST_CASE("bf16 training: fine-tuning lowers the loss as fp32 does") {
  const auto fp32 = train_20_steps(cpu_math::fp32, dnabert::test::scratch_dir("bf16-training-fp32").string());
  const auto bf16 = train_20_steps(cpu_math::bf16, dnabert::test::scratch_dir("bf16-training-bf16").string());
  REQUIRE(fp32.size() == 20);
  REQUIRE(bf16.size() == 20);
  double largest = 0;
  for (std::size_t i = 0; i < fp32.size(); ++i) largest = std::max(largest, std::abs(bf16[i] - fp32[i]));
  MESSAGE("mean loss of steps 1-5 / 16-20: fp32 " << mean(fp32, 0, 5) << " / " << mean(fp32, 15, 20) << ", bf16 "
                                                  << mean(bf16, 0, 5) << " / " << mean(bf16, 15, 20)
                                                  << "; largest |loss_bf16 - loss_fp32| of a step " << largest);
  CHECK(mean(fp32, 15, 20) < mean(fp32, 0, 5) - 0.1);
  CHECK(mean(bf16, 15, 20) < mean(bf16, 0, 5) - 0.1);
  CHECK(std::abs(mean(bf16, 15, 20) - mean(fp32, 15, 20)) <= 0.02);
  CHECK(largest > 0);  // the GEMMs did run in bf16
}

TEST_CASE("bf16 training: one step's gradients are fp32's to within bfloat16 precision") {
  // From trained weights: at the N(0, 0.02) initialisation every sequence's pooled vector is
  // nearly the same, so the classifier's gradient is a difference of near-equal sums whose
  // relative error measures that cancellation, not bf16.
  const auto dir = dnabert::test::scratch_dir("bf16-gradients").string();
  train_20_steps(cpu_math::fp32, dir);
  const auto data = gc_content_set();
  const auto fp32 = one_step(cpu_math::fp32, dir, data);
  const auto bf16 = one_step(cpu_math::bf16, dir, data);
  MESSAGE("loss fp32 " << fp32.loss << ", bf16 " << bf16.loss);
  CHECK(std::abs(bf16.loss - fp32.loss) <= 1e-2 * fp32.loss);
  REQUIRE(bf16.grads.size() == fp32.grads.size());
  // bfloat16 keeps 8 significant bits: rounding a GEMM operand errs by up to u = 2^-9 (0.2 %), a
  // product of two rounded operands by 2u, and a weight's gradient ends a chain of such GEMMs (2
  // layers forward, then back through them) whose errors partly cancel: measured here, 0.05-0.5 %
  // norm-wise. 2 % (about 10u) leaves room for other CPUs' kernels (AMX, emulation) that round the
  // same operands but sum in another order, and still catches a wrong gradient (errors of order 1).
  constexpr double tolerance = 0.02;
  double largest_norm = 0;
  for (const auto& [name, g] : fp32.grads) largest_norm = std::max(largest_norm, norm(g));
  // The attention key bias's gradient is zero in exact arithmetic (softmax ignores a score added to
  // a whole row): both precisions hold rounding noise there (about 1e-10), which is compared as such.
  const double zero = 1e-6 * largest_norm;
  double worst = 0, total = 0;
  std::size_t compared = 0;
  for (std::size_t i = 0; i < fp32.grads.size(); ++i) {
    const auto& [name, want] = fp32.grads[i];
    const auto& got = bf16.grads[i].second;
    CAPTURE(name);
    REQUIRE(bf16.grads[i].first == name);
    if (norm(want) <= zero) {
      CHECK(norm(got) <= zero);
      continue;
    }
    const double error = norm_of_difference(got, want) / norm(want);
    CHECK(error <= tolerance);
    worst = std::max(worst, error);
    total += error;
    ++compared;
  }
  MESSAGE("bf16 vs fp32 gradients of " << compared << " tensors: largest norm-wise relative error " << worst
                                       << ", mean " << total / static_cast<double>(compared));
  CHECK(compared > 30);
  CHECK(worst > 0);
}
#endif  // DNABERT_USE_ONEDNN

}  // namespace train_bf16_training_test
