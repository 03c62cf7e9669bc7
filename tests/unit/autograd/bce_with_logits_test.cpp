// Binary cross-entropy with logits (the multi-label classification loss) against PyTorch's
// F.binary_cross_entropy_with_logits (tests/reference/make_multi_label_goldens.py), central finite
// differences, and a shape mismatch.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dnabert/autograd/functions.hpp"
#include "dnabert/backend/cpu/ops.hpp"
#include "test_paths.hpp"
#include "typed_cpu_tensors.hpp"

namespace autograd_bce_with_logits_test {

namespace {

namespace ag = dnabert::autograd;

using dnabert::test::backend_of;
using dnabert::test::make_tensor;
using dnabert::test::test_backend;

std::vector<double> flatten(const nlohmann::json& rows) {
  std::vector<double> out;
  for (const auto& row : rows)
    for (const auto& x : row) out.push_back(x.get<double>());
  return out;
}

// The loss and d(seed * loss)/d(logits), as doubles.
template <class T>
std::pair<double, std::vector<double>> loss_and_grad(const ag::var<backend_of<T>>& logits,
                                                     const dnabert::tensor<backend_of<T>>& targets, double seed = 1.0) {
  auto& be = test_backend<T>();
  logits.clear_grad();
  ag::tape<backend_of<T>> tape(be, true);
  const auto loss = ag::bce_with_logits(tape, logits, targets);
  tape.backward(loss, make_tensor<T>({}, {seed}));
  std::vector<double> grad;
  for (const T g : logits.grad(be).span()) grad.push_back(static_cast<double>(g));
  return {static_cast<double>(loss.value().span()[0]), grad};
}

}  // namespace

TEST_CASE_TEMPLATE("bce_with_logits: loss and gradient match torch F.binary_cross_entropy_with_logits", T, double, float) {
  std::ifstream in(dnabert::test::data_path("multi_label/bce.json"));
  REQUIRE(in.good());
  const auto golden = nlohmann::json::parse(in);
  const auto values = flatten(golden.at("logits"));
  const auto rows = static_cast<std::int64_t>(golden.at("logits").size());
  const ag::var<backend_of<T>> logits(make_tensor<T>({rows, 4}, values), true);
  const auto targets = make_tensor<T>({rows, 4}, flatten(golden.at("targets")));
  const auto found = loss_and_grad<T>(logits, targets);
  const double loss = found.first;
  const std::vector<double>& grad = found.second;
  // The logits of +-40 would overflow exp() in a naive form; float carries ~1e-7 relative error.
  const double tolerance = std::is_same_v<T, double> ? 1e-13 : 2e-6;
  CHECK(std::isfinite(loss));
  CHECK(std::abs(loss - golden.at("loss").get<double>()) <= tolerance);
  const auto expected = flatten(golden.at("grad"));
  REQUIRE(grad.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("gradient element " << i << ": found " << grad[i] << ", torch " << expected[i]);
    CHECK(std::abs(grad[i] - expected[i]) <= tolerance);
  }
}

TEST_CASE("bce_with_logits: gradient matches central finite differences") {
  std::mt19937 rng(34);
  std::normal_distribution<double> normal(0.0, 2.0);
  std::vector<double> values(5 * 3), targets(5 * 3);
  for (double& x : values) x = normal(rng);
  for (std::size_t i = 0; i < targets.size(); ++i) targets[i] = (i * 7) % 3 == 0 ? 1.0 : 0.0;
  const ag::var<backend_of<double>> logits(make_tensor<double>({5, 3}, values), true);
  const auto target_tensor = make_tensor<double>({5, 3}, targets);
  constexpr double seed = 0.6;  // the backward must scale by d(objective)/d(loss)
  const auto analytic = loss_and_grad<double>(logits, target_tensor, seed).second;
  const auto objective = [&] {
    ag::tape<backend_of<double>> tape(test_backend<double>(), false);
    return seed * ag::bce_with_logits(tape, logits, target_tensor).value().span()[0];
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
    CHECK(std::abs(analytic[i] - numeric) <= 1e-9);
  }
}

TEST_CASE("bce_with_logits: targets of another size are refused") {
  const ag::var<backend_of<float>> logits(make_tensor<float>({2, 3}, {0, 1, 2, 3, 4, 5}), true);
  const auto targets = make_tensor<float>({2, 2}, {0, 1, 1, 0});
  ag::tape<backend_of<float>> tape(test_backend<float>(), true);
  CHECK_THROWS_AS(ag::bce_with_logits(tape, logits, targets), dnabert::shape_error);
}

}  // namespace autograd_bce_with_logits_test
