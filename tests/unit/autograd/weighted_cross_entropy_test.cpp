// Cross-entropy with class weights against PyTorch's F.cross_entropy(weight=..., ignore_index=-100)
// (tests/reference/make_weighted_ce_goldens.py), central finite differences, and bad weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "dnabert/autograd/functions.hpp"
#include "dnabert/backend/cpu/ops.hpp"
#include "test_paths.hpp"
#include "typed_cpu_tensors.hpp"

namespace autograd_weighted_cross_entropy_test {

namespace {

namespace ag = dnabert::autograd;

using dnabert::test::backend_of;
using dnabert::test::make_tensor;
using dnabert::test::test_backend;

template <class T>
ag::id_tensor<backend_of<T>> make_labels(const std::vector<std::int32_t>& values) {
  ag::id_tensor<backend_of<T>> t(test_backend<T>(), {static_cast<std::int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

const nlohmann::json& goldens() {
  static const nlohmann::json parsed = [] {
    std::ifstream in(dnabert::test::data_path("weighted_ce/goldens.json"));
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
  }();
  return parsed;
}

std::vector<double> flatten(const nlohmann::json& rows) {
  std::vector<double> out;
  for (const auto& row : rows)
    for (const auto& x : row) out.push_back(x.get<double>());
  return out;
}

// Loss and d(seed * loss)/d(logits), as doubles.
struct loss_and_grad {
  double loss = 0;
  std::vector<double> grad;
};

template <class T>
loss_and_grad run(const ag::var<backend_of<T>>& logits, const ag::id_tensor<backend_of<T>>& labels,
                     const dnabert::tensor<backend_of<T>>* weights, double seed = 1.0) {
  auto& be = test_backend<T>();
  logits.clear_grad();
  ag::tape<backend_of<T>> tape(be, true);
  const auto loss = ag::cross_entropy(tape, logits, labels, weights);
  loss_and_grad out;
  out.loss = static_cast<double>(loss.value().span()[0]);
  tape.backward(loss, make_tensor<T>({}, {seed}));
  for (const T g : logits.grad(be).span()) out.grad.push_back(static_cast<double>(g));
  return out;
}

}  // namespace

TEST_CASE_TEMPLATE("weighted cross-entropy: loss and gradient match torch F.cross_entropy(weight=...)", T, double,
                   float) {
  // float carries ~1e-7 relative error through exp/log of logits of size ~4.
  const double tolerance = std::is_same_v<T, double> ? 1e-13 : 2e-6;
  for (const char* name : {"weighted", "zero_weight", "unweighted"}) {
    CAPTURE(name);
    const auto& golden = goldens().at(name);
    const auto logit_values = flatten(golden.at("logits"));
    const auto rows = static_cast<std::int64_t>(golden.at("labels").size());
    const ag::var<backend_of<T>> logits(make_tensor<T>({rows, 3}, logit_values), true);
    const auto labels = make_labels<T>(golden.at("labels").get<std::vector<std::int32_t>>());
    const bool weighted = !golden.at("weights").is_null();
    const auto weights = weighted ? make_tensor<T>({3}, golden.at("weights").get<std::vector<double>>())
                                  : dnabert::tensor<backend_of<T>>();
    const auto found = run<T>(logits, labels, weighted ? &weights : nullptr);
    CHECK(std::abs(found.loss - golden.at("loss").get<double>()) <= tolerance);
    const auto expected = flatten(golden.at("grad"));
    REQUIRE(found.grad.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      INFO("gradient element " << i << ": found " << found.grad[i] << ", torch " << expected[i]);
      CHECK(std::abs(found.grad[i] - expected[i]) <= tolerance);
    }
  }
}

TEST_CASE("weighted cross-entropy: gradient matches central finite differences") {
  std::mt19937 rng(11);
  std::normal_distribution<double> normal(0.0, 1.5);
  std::vector<double> values(6 * 4);
  for (double& x : values) x = normal(rng);
  const ag::var<backend_of<double>> logits(make_tensor<double>({6, 4}, values), true);
  const auto labels = make_labels<double>({3, -100, 0, 1, 3, 2});
  const auto weights = make_tensor<double>({4}, {0.4, 2.0, 0.0, 1.3});  // class 2's row counts for nothing
  constexpr double seed = 0.7;  // the backward must scale by d(objective)/d(loss)
  const auto analytic = run<double>(logits, labels, &weights, seed).grad;

  const auto objective = [&] {
    ag::tape<backend_of<double>> tape(test_backend<double>(), false);
    return seed * ag::cross_entropy(tape, logits, labels, &weights).value().span()[0];
  };
  constexpr double step = 1e-5;
  const auto logit_values = logits.value().span();
  for (std::size_t i = 0; i < logit_values.size(); ++i) {
    const double saved = logit_values[i];
    logit_values[i] = saved + step;
    const double plus = objective();
    logit_values[i] = saved - step;
    const double minus = objective();
    logit_values[i] = saved;
    const double numeric = (plus - minus) / (2 * step);
    INFO("element " << i << ": analytic " << analytic[i] << ", numeric " << numeric);
    CHECK(std::abs(analytic[i] - numeric) <= 1e-8);
  }
  // rows 1 (ignored) and 5 (weight 0) get no gradient at all
  for (std::size_t c = 0; c < 4; ++c) {
    CHECK(analytic[4 + c] == 0.0);
    CHECK(analytic[20 + c] == 0.0);
  }
}

TEST_CASE("weighted cross-entropy: unit weights give exactly the unweighted loss and gradient") {
  const std::vector<double> values = {0.3, -1.2, 2.0, 1.1, 0.0, -0.4, -2.2, 0.9, 0.5};
  const ag::var<backend_of<double>> logits(make_tensor<double>({3, 3}, values), true);
  const auto labels = make_labels<double>({2, -100, 0});
  const auto ones = make_tensor<double>({3}, {1, 1, 1});
  const auto plain = run<double>(logits, labels, nullptr);
  const auto unit = run<double>(logits, labels, &ones);
  CHECK(plain.loss == unit.loss);
  CHECK(plain.grad == unit.grad);
  // scaling every weight by the same factor changes nothing (the mean divides it out)
  const auto scaled_weights = make_tensor<double>({3}, {4, 4, 4});
  const auto scaled = run<double>(logits, labels, &scaled_weights);
  CHECK(scaled.loss == doctest::Approx(plain.loss).epsilon(1e-14));
}

TEST_CASE("weighted cross-entropy: used rows of total weight 0 give loss 0 and no gradient") {
  const ag::var<backend_of<double>> logits(make_tensor<double>({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), true);
  const auto weights = make_tensor<double>({3}, {0, 1, 0});
  for (const auto& label_values : {std::vector<std::int32_t>{0, 2, 0}, std::vector<std::int32_t>{-100, -100, -100}}) {
    const auto found = run<double>(logits, make_labels<double>(label_values), &weights);
    CHECK(found.loss == 0.0);
    CHECK(found.grad == std::vector<double>(9, 0.0));
  }
}

TEST_CASE("weighted cross-entropy: bad weights and labels are refused with a clear error") {
  auto& be = test_backend<double>();
  ag::tape<backend_of<double>> tape(be, true);
  const ag::var<backend_of<double>> logits(make_tensor<double>({2, 3}, {1, 2, 3, 4, 5, 6}), true);
  const auto labels = make_labels<double>({0, 2});
  const auto expect_refused = [&](const std::vector<double>& values, const std::string& message) {
    const auto weights = make_tensor<double>({static_cast<std::int64_t>(values.size())}, values);
    CHECK_THROWS_WITH_AS((void)ag::cross_entropy(tape, logits, labels, &weights), message.c_str(), dnabert::error);
  };
  expect_refused({1, 2}, "tensor cross_entropy class weights: expected shape [3] but found [2]");
  expect_refused({1, 2, 3, 4}, "tensor cross_entropy class weights: expected shape [3] but found [4]");
  expect_refused({1, -0.5, 3}, "cross-entropy class weight 1 is -0.5; class weights must be finite and >= 0");
  expect_refused({1, 2, std::numeric_limits<double>::quiet_NaN()},
                 "cross-entropy class weight 2 is nan; class weights must be finite and >= 0");
  expect_refused({std::numeric_limits<double>::infinity(), 2, 3},
                 "cross-entropy class weight 0 is inf; class weights must be finite and >= 0");
  const auto square = make_tensor<double>({3, 1}, {1, 1, 1});
  CHECK_THROWS_AS((void)ag::cross_entropy(tape, logits, labels, &square), dnabert::shape_error);
  const auto negative = make_tensor<double>({3}, {1, -1, 1});
  CHECK_THROWS_AS((void)ag::cross_entropy(tape, logits, labels, &negative), dnabert::config_error);
  CHECK_THROWS_AS((void)ag::cross_entropy(tape, logits, make_labels<double>({0, 1, 2}), nullptr), dnabert::shape_error);
}

}  // namespace autograd_weighted_cross_entropy_test
