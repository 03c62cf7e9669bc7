// The optimizer against PyTorch: torch.optim.AdamW with DNABERT's no-decay groups,
// get_linear_schedule_with_warmup and clip_grad_norm_ (tests/reference/make_optimizer_goldens.py).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/train/optimizer.hpp"
#include "dnabert/train/schedule.hpp"
#include "tensor_compare.hpp"
#include "test_paths.hpp"

namespace train_optimizer_test {

namespace {

using B = dnabert::backend::cpu;
using dnabert::nn::parameter_list;

// The golden runs' settings; they must match make_optimizer_goldens.py.
const std::vector<float> step_factors = {1.0F, -0.5F, 3.0F, 0.05F, 2.0F};
constexpr std::size_t skip_step = 2;
const std::string skip_param = "classifier.bias";
constexpr std::int64_t warmup = 2;
constexpr std::int64_t total = 10;

const dnabert::io::tensor_map& parity_weights() {
  static const auto tensors = dnabert::io::read_safetensors(dnabert::test::data_path("parity/cls3_k3/model.safetensors")).tensors;
  return tensors;
}
const dnabert::io::tensor_map& parity_golden() {
  static const auto tensors = dnabert::io::read_safetensors(dnabert::test::data_path("parity/cls3_k3/golden.safetensors")).tensors;
  return tensors;
}
const dnabert::io::tensor_map& optimizer_golden() {
  static const auto tensors = dnabert::io::read_safetensors(dnabert::test::data_path("optimizer/adamw_golden.safetensors")).tensors;
  return tensors;
}

const dnabert::io::loaded_tensor& at(const dnabert::io::tensor_map& map, const std::string& name) {
  const auto found = map.find(name);
  REQUIRE_MESSAGE(found != map.end(), "missing tensor " << name);
  return found->second;
}

// The classifier's parameters, plus a tied alias of the word embeddings that the optimizer
// and the clipping norm must skip (PyTorch sees no such duplicate).
parameter_list<B> classifier_parameters(B& backend) {
  parameter_list<B> params;
  for (const auto& [name, t] : parity_weights()) {
    const auto value = params.create(backend, name, t.shape, dnabert::nn::init_kind::zeros);
    upload(backend, t.values.data(), value.value().data(), value.value().numel());
  }
  params.alias("cls.predictions.decoder.weight", params.find("bert.embeddings.word_embeddings.weight")->value);
  return params;
}

// Adds `factor` * source into the gradient, as one backward pass would.
void add_gradient(B& backend, const dnabert::autograd::var<B>& param, std::span<const float> source, float factor) {
  const auto& grad = param.grad(backend);
  std::vector<float> contribution(source.begin(), source.end());
  for (float& x : contribution) x *= factor;
  accumulate(backend, grad.data(), contribution.data(), grad.numel());
}

// Sets every gradient to the golden gradient times `factor`, summed over two micro-batches.
void set_step_gradients(B& backend, const parameter_list<B>& params, std::size_t step) {
  dnabert::train::zero_grad(params);
  dnabert::train::gradient_accumulation accumulation(2);
  for (const float share : {0.25F, 0.75F}) {
    for (const auto& item : params.items()) {
      if (item.alias || (step == skip_step && item.name == skip_param)) continue;
      add_gradient(backend, item.value, at(parity_golden(), "grad." + item.name).values, step_factors[step] * share);
    }
    if (share == 0.25F) CHECK_FALSE(accumulation.complete_micro_batch());
  }
  CHECK(accumulation.complete_micro_batch());
}

using dnabert::test::max_abs_diff;

std::vector<float> host_values(B& backend, const dnabert::tensor<B>& t) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  download(backend, t.data(), out.data(), t.numel());
  return out;
}

void check_golden_run(const std::string& run, dnabert::train::adamw_options options) {
  B backend(1);
  const auto params = classifier_parameters(backend);
  dnabert::train::adamw<B> optimizer(backend, params, options);
  const dnabert::train::lr_schedule schedule(options.lr, warmup, total);
  const auto& golden_lr = at(optimizer_golden(), run + ".lr").values;
  const auto& golden_norm = at(optimizer_golden(), run + ".grad_norm").values;
  for (std::size_t step = 0; step < step_factors.size(); ++step) {
    set_step_gradients(backend, params, step);
    const double norm = dnabert::train::clip_grad_norm(backend, params, 1.0);
    CHECK(norm == doctest::Approx(golden_norm[step]).epsilon(1e-6));
    const double lr = schedule.lr(optimizer.steps_taken());
    CHECK(lr == doctest::Approx(golden_lr[step]).epsilon(1e-6));
    optimizer.step(lr);
  }
  CHECK(optimizer.steps_taken() == 5);
  double worst = 0;
  double moved = 0;
  for (const auto& item : params.items()) {
    if (item.alias) continue;
    const auto ours = host_values(backend, item.value.value());
    worst = std::max(worst, max_abs_diff(ours, at(optimizer_golden(), run + "." + item.name).values));
    moved = std::max(moved, max_abs_diff(ours, at(parity_weights(), item.name).values));
  }
  MESSAGE(run << ": largest difference from torch.optim.AdamW after 5 steps " << worst << ", largest move " << moved);
  CHECK(worst <= 1e-5);
  CHECK(moved > 1e-4);  // the steps did move the parameters well beyond the bar
}

}  // namespace

TEST_CASE("optimizer: 5 AdamW steps match torch.optim.AdamW (DNABERT pre-training defaults)") {
  check_golden_run("pretrain", dnabert::train::adamw_options::pretraining());
}

TEST_CASE("optimizer: 5 AdamW steps match torch.optim.AdamW (large rate and decay)") {
  check_golden_run("amplified", {1e-2, 0.8, 0.9, 1e-3, 0.5});
}

TEST_CASE("optimizer: defaults are DNABERT's (spec 3.3 and 4.3)") {
  const auto pre = dnabert::train::adamw_options::pretraining();
  CHECK(pre.lr == 4e-4);
  CHECK(pre.beta1 == 0.9);
  CHECK(pre.beta2 == 0.98);
  CHECK(pre.eps == 1e-6);
  CHECK(pre.weight_decay == 0.01);
  const auto fine = dnabert::train::adamw_options::finetuning();
  CHECK(fine.lr == 2e-4);
  CHECK(fine.beta2 == 0.999);
  CHECK(fine.eps == 1e-8);
  CHECK(fine.weight_decay == 0.01);
}

TEST_CASE("optimizer: first AdamW step has the closed form p(1 - lr wd) - lr g / (|g| + eps)") {
  B backend(1);
  parameter_list<B> params;
  const auto weight = params.create(backend, "dense.weight", {2}, dnabert::nn::init_kind::zeros);
  const auto bias = params.create(backend, "dense.bias", {2}, dnabert::nn::init_kind::zeros);
  const std::vector<float> start = {1.5F, -2.0F};
  const std::vector<float> grad = {0.5F, -4.0F};
  for (const auto& p : {weight, bias}) {
    upload(backend, start.data(), p.value().data(), 2);
    upload(backend, grad.data(), p.grad(backend).data(), 2);
  }
  const dnabert::train::adamw_options options{0.1, 0.9, 0.999, 0.01, 0.2};
  dnabert::train::adamw<B> optimizer(backend, params, options);
  optimizer.step();
  const auto w = host_values(backend, weight.value());
  const auto b = host_values(backend, bias.value());
  for (std::size_t i = 0; i < 2; ++i) {
    const double adam = 0.1 * grad[i] / (std::abs(grad[i]) + 0.01);
    CHECK(w[i] == doctest::Approx(start[i] * (1 - 0.1 * 0.2) - adam).epsilon(1e-6));
    CHECK(b[i] == doctest::Approx(start[i] - adam).epsilon(1e-6));  // biases are not decayed
  }
}

TEST_CASE("optimizer: no weight decay on biases and LayerNorm weights (DNABERT's groups)") {
  using dnabert::train::uses_weight_decay;
  CHECK(uses_weight_decay("bert.encoder.layer.0.attention.self.query.weight"));
  CHECK(uses_weight_decay("bert.embeddings.word_embeddings.weight"));
  CHECK(uses_weight_decay("classifier.weight"));
  CHECK_FALSE(uses_weight_decay("bert.encoder.layer.0.output.dense.bias"));
  CHECK_FALSE(uses_weight_decay("bert.embeddings.LayerNorm.weight"));
  CHECK_FALSE(uses_weight_decay("bert.embeddings.LayerNorm.bias"));
  CHECK_FALSE(uses_weight_decay("cls.predictions.bias"));
  CHECK(uses_weight_decay("cls.predictions.transform.dense.weight"));
  B backend(1);
  const auto params = classifier_parameters(backend);
  const dnabert::train::adamw<B> optimizer(backend, params);
  CHECK(optimizer.decays("bert.pooler.dense.weight"));
  CHECK_FALSE(optimizer.decays("bert.encoder.layer.0.attention.output.LayerNorm.weight"));
  CHECK_THROWS_AS((void)optimizer.decays("cls.predictions.decoder.weight"), dnabert::input_error);  // alias: not optimized
}

TEST_CASE("optimizer: linear warmup then linear decay as get_linear_schedule_with_warmup") {
  const dnabert::train::lr_schedule schedule(4e-4, 2, 10);
  CHECK(schedule.lr(0) == 0.0);
  CHECK(schedule.lr(1) == doctest::Approx(2e-4));
  CHECK(schedule.lr(2) == doctest::Approx(4e-4));
  CHECK(schedule.lr(6) == doctest::Approx(2e-4));
  CHECK(schedule.lr(9) == doctest::Approx(0.5e-4));
  CHECK(schedule.lr(10) == 0.0);
  CHECK(schedule.lr(25) == 0.0);
  const auto& golden_lr = at(optimizer_golden(), "pretrain.lr").values;
  for (std::size_t i = 0; i < golden_lr.size(); ++i)
    CHECK(schedule.lr(static_cast<std::int64_t>(i)) == doctest::Approx(golden_lr[i]).epsilon(1e-6));
  const dnabert::train::lr_schedule no_warmup(1.0, 0, 4);
  CHECK(no_warmup.lr(0) == 1.0);
  CHECK(no_warmup.lr(1) == 0.75);
  CHECK(dnabert::train::warmup_from_fraction(0.1, 1234) == 123);  // int(0.1 * t_total)
  CHECK_THROWS_AS(dnabert::train::lr_schedule(1.0, -1, 10), dnabert::config_error);
  CHECK_THROWS_AS(dnabert::train::lr_schedule(-1.0, 1, 10), dnabert::config_error);
  CHECK_THROWS_AS((void)dnabert::train::warmup_from_fraction(1.5, 10), dnabert::config_error);
}

TEST_CASE("optimizer: constant and cosine schedules after warmup as transformers' get_constant_schedule_with_warmup and get_cosine_schedule_with_warmup") {
  using dnabert::train::schedule_shape;
  const dnabert::train::lr_schedule constant(4e-4, 2, 10, schedule_shape::constant);
  CHECK(constant.lr(0) == 0.0);
  CHECK(constant.lr(1) == doctest::Approx(2e-4));
  for (const std::int64_t step : {2, 6, 9, 10, 25}) CHECK(constant.lr(step) == doctest::Approx(4e-4));
  // get_cosine_schedule_with_warmup: 0.5 * (1 + cos(pi * (step - warmup) / (total - warmup)))
  const dnabert::train::lr_schedule cosine(1.0, 2, 10, schedule_shape::cosine);
  CHECK(cosine.lr(1) == doctest::Approx(0.5));
  CHECK(cosine.lr(2) == doctest::Approx(1.0));
  CHECK(cosine.lr(4) == doctest::Approx(0.5 + 0.25 * std::sqrt(2.0)));
  CHECK(cosine.lr(6) == doctest::Approx(0.5));
  CHECK(cosine.lr(8) == doctest::Approx(0.5 - 0.25 * std::sqrt(2.0)));
  CHECK(cosine.lr(10) == doctest::Approx(0.0));
  CHECK(cosine.lr(25) == doctest::Approx(0.0));  // past the end it stays at 0, not back up the cosine
  CHECK(dnabert::train::lr_schedule(1.0, 2, 10).shape() == schedule_shape::linear);  // DNABERT's by default
}

TEST_CASE("optimizer: clipping scales to max_norm only above it, counting tied weights once") {
  B backend(1);
  const auto params = classifier_parameters(backend);
  set_step_gradients(backend, params, 0);
  const double norm = dnabert::train::gradient_norm(backend, params);
  CHECK(norm == doctest::Approx(at(optimizer_golden(), "pretrain.grad_norm").values[0]).epsilon(1e-6));
  CHECK(dnabert::train::clip_grad_norm(backend, params, 100.0) == norm);  // below: untouched
  CHECK(dnabert::train::gradient_norm(backend, params) == norm);
  CHECK(dnabert::train::clip_grad_norm(backend, params, 1.0) == norm);
  CHECK(dnabert::train::gradient_norm(backend, params) == doctest::Approx(norm / (norm + 1e-6)).epsilon(1e-6));

  const auto& grad = params.find("classifier.bias")->value.grad(backend);
  const float infinity = std::numeric_limits<float>::infinity();
  upload(backend, &infinity, grad.data(), 1);
  CHECK_FALSE(std::isfinite(dnabert::train::clip_grad_norm(backend, params, 1.0)));
}

TEST_CASE("optimizer: parameters without a gradient are left alone, and accumulation bookkeeping") {
  B backend(1);
  const auto params = classifier_parameters(backend);
  dnabert::train::adamw<B> optimizer(backend, params);
  dnabert::train::zero_grad(params);
  optimizer.step(1.0);
  CHECK(optimizer.steps_taken() == 1);
  const auto& weights = parity_weights();
  for (const auto& item : params.items())
    if (!item.alias) CHECK(max_abs_diff(host_values(backend, item.value.value()), at(weights, item.name).values) == 0.0);
  CHECK(at(optimizer.state(), "classifier.weight.step").values[0] == 0.0F);

  dnabert::train::gradient_accumulation three(3);
  CHECK(three.loss_scale() == doctest::Approx(1.0 / 3));
  CHECK_FALSE(three.complete_micro_batch());
  CHECK_FALSE(three.complete_micro_batch());
  CHECK(three.complete_micro_batch());
  CHECK_FALSE(three.complete_micro_batch());
  CHECK_THROWS_AS(dnabert::train::gradient_accumulation(0), dnabert::config_error);
}

TEST_CASE("optimizer: state saved to safetensors and restored continues bit for bit") {
  B backend(1);
  const auto params = classifier_parameters(backend);
  dnabert::train::adamw<B> original(backend, params);
  for (std::size_t step = 0; step < 2; ++step) {
    set_step_gradients(backend, params, step);
    original.step(1e-3);
  }
  const auto state = original.state();
  CHECK(state.size() == 3 * 25 + 1);
  CHECK(at(state, "classifier.weight.exp_avg").shape == dnabert::shape_type{3, 64});
  CHECK(at(state, "classifier.bias.step").values[0] == 2.0F);
  const auto path = (dnabert::test::scratch_dir("optimizer-state") / "optimizer.safetensors").string();
  dnabert::io::write_safetensors(path, state);

  // A second copy of the parameters, restored from the file, must then follow the original.
  const auto twin = classifier_parameters(backend);
  for (std::size_t i = 0; i < params.items().size(); ++i) {
    const auto& from = params.items()[i].value.value();
    copy(backend, from.data(), twin.items()[i].value.value().data(), from.numel());
  }
  dnabert::train::adamw<B> restored(backend, twin);
  restored.load_state(dnabert::io::read_safetensors(path).tensors, path);
  CHECK(restored.steps_taken() == 2);
  set_step_gradients(backend, params, 2);
  set_step_gradients(backend, twin, 2);
  original.step(1e-3);
  restored.step(1e-3);
  for (std::size_t i = 0; i < params.items().size(); ++i)
    CHECK(max_abs_diff(host_values(backend, params.items()[i].value.value()),
                       host_values(backend, twin.items()[i].value.value())) == 0.0);
}

TEST_CASE("optimizer: hostile optimizer state is refused with the file and the entry named") {
  B backend(1);
  const auto params = classifier_parameters(backend);
  dnabert::train::adamw<B> optimizer(backend, params);
  const auto good = optimizer.state();
  const auto refused = [&](dnabert::io::tensor_map bad, const std::string& expected) {
    CHECK_THROWS_WITH_AS(optimizer.load_state(bad, "opt.safetensors"), doctest::Contains(expected.c_str()), dnabert::format_error);
  };
  auto missing = good;
  missing.erase("classifier.bias.exp_avg_sq");
  refused(missing, "opt.safetensors: optimizer state lacks 'classifier.bias.exp_avg_sq'");
  auto no_count = good;
  no_count.erase("optimizer.steps_taken");
  refused(no_count, "lacks 'optimizer.steps_taken'");
  auto reshaped = good;
  reshaped["classifier.weight.exp_avg"] = dnabert::io::make_owned_tensor({64, 3}, std::vector<float>(192, 0.0F));
  refused(reshaped, "'classifier.weight.exp_avg': expected shape [3, 64] but found [64, 3]");
  auto fractional = good;
  fractional["classifier.bias.step"] = dnabert::io::make_owned_tensor({1}, {2.5F});
  refused(fractional, "'classifier.bias.step': expected a whole step count in [0, 16777216] but found 2.5");
  auto huge = good;
  huge["optimizer.steps_taken"] = dnabert::io::make_owned_tensor({1}, {3e7F});
  refused(huge, "expected a whole step count");
  auto wide_step = good;
  wide_step["classifier.bias.step"] = dnabert::io::make_owned_tensor({2}, {1.0F, 1.0F});
  refused(wide_step, "'classifier.bias.step': expected shape [1] but found [2]");
  auto negative = good;
  negative["classifier.bias.exp_avg_sq"] = dnabert::io::make_owned_tensor({3}, {0.0F, -1.0F, 0.0F});
  refused(negative, "'classifier.bias.exp_avg_sq': element 1 is -1.000000, expected a finite non-negative value");
  auto not_finite = good;
  not_finite["classifier.bias.exp_avg"] = dnabert::io::make_owned_tensor({3}, {0.0F, 0.0F, std::nanf("")});
  refused(not_finite, "'classifier.bias.exp_avg': element 2 is");
  auto extra = good;
  extra["bert.pooler.dense.weight.momentum"] = dnabert::io::make_owned_tensor({1}, {0.0F});
  refused(extra, "optimizer state has an entry for no parameter: 'bert.pooler.dense.weight.momentum'");
  // A refused state changes nothing.
  CHECK(optimizer.steps_taken() == 0);
}

TEST_CASE("optimizer: master weights in a state (a bf16 run's checkpoint) become the float32 parameters") {
  B backend(1);
  const auto params = classifier_parameters(backend);
  dnabert::train::adamw<B> optimizer(backend, params);
  auto state = optimizer.state();
  const std::vector<float> master = {0.125F, -3.0F, 1e-7F};
  state["classifier.bias.master"] = dnabert::io::make_owned_tensor({3}, master);
  const auto before = host_values(backend, params.find("classifier.weight")->value.value());
  optimizer.load_state(state, "mixed.safetensors");
  CHECK(host_values(backend, params.find("classifier.bias")->value.value()) == master);
  CHECK(host_values(backend, params.find("classifier.weight")->value.value()) == before);  // no master: unchanged
  CHECK_FALSE(optimizer.state().contains("classifier.bias.master"));  // float32 parameters are their own masters

  auto reshaped = state;
  reshaped["classifier.bias.master"] = dnabert::io::make_owned_tensor({1, 3}, master);
  CHECK_THROWS_WITH_AS(optimizer.load_state(reshaped, "mixed.safetensors"),
                       doctest::Contains("'classifier.bias.master': expected shape [3] but found [1, 3]"),
                       dnabert::format_error);
  auto infinite = state;
  infinite["classifier.bias.master"] =
      dnabert::io::make_owned_tensor({3}, {0.0F, std::numeric_limits<float>::infinity(), 0.0F});
  CHECK_THROWS_WITH_AS(optimizer.load_state(infinite, "mixed.safetensors"),
                       doctest::Contains("'classifier.bias.master': element 1 is"), dnabert::format_error);
}

}  // namespace train_optimizer_test
