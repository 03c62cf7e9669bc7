// The optimizer's vectorised CPU ops against plain scalar references: AdamW in torch's order,
// the squared norm (and its independence of the thread count), scaling.
#include "dnabert/backend/cpu/optimizer_ops.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace backend_optimizer_ops_test {

namespace {

using dnabert::backend::cpu_t;

/// Sizes below one packet, an odd tail, and several chunks with a ragged end.
const std::vector<std::int64_t> sizes = {1, 7, 1000003};

/// Optimizer state of n elements. m has g's sign and v is near g^2, as after a few steps, so
/// no step cancels catastrophically and a relative bound on every element is meaningful.
template <class T>
struct adamw_state {
  std::vector<T> param, grad, m, v;

  explicit adamw_state(std::int64_t n, unsigned seed)
      : param(static_cast<std::size_t>(n)), grad(param.size()), m(param.size()), v(param.size()) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> magnitude(0.5, 1.5);
    std::bernoulli_distribution negative(0.5);
    for (std::size_t i = 0; i < param.size(); ++i) {
      param[i] = static_cast<T>((negative(rng) ? -1 : 1) * magnitude(rng));
      const double g = (negative(rng) ? -1 : 1) * 1e-2 * magnitude(rng);
      grad[i] = static_cast<T>(g);
      m[i] = static_cast<T>(g * magnitude(rng));
      v[i] = static_cast<T>(g * g * magnitude(rng));
    }
  }
};

/// AdamW's hyper-parameters at one step; the bias corrections are torch's for `step`.
struct adamw_settings {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
  int step = 3;
  [[nodiscard]] double bias_correction1() const { return 1.0 - std::pow(beta1, step); }
  [[nodiscard]] double bias_correction2() const { return 1.0 - std::pow(beta2, step); }
};

/// One element of torch.optim.AdamW's single-tensor update, in double.
struct reference_element {
  double param, m, v;
};
reference_element reference_adamw(double param, double grad, double m, double v, const adamw_settings& s) {
  param *= 1.0 - s.lr * s.weight_decay;
  m += (1.0 - s.beta1) * (grad - m);
  v = v * s.beta2 + (1.0 - s.beta2) * grad * grad;
  const double denom = std::sqrt(v) / std::sqrt(s.bias_correction2()) + s.eps;
  param -= (s.lr / s.bias_correction1()) * (m / denom);
  return {param, m, v};
}

double relative_error(double got, double want) { return std::abs(got - want) / std::abs(want); }

/// Runs adamw_update on a fresh state and returns the largest relative error of p, m and v
/// against the double reference.
template <class T>
double adamw_error(std::int64_t n, const adamw_settings& s) {
  cpu_t<T> cpu(2);
  adamw_state<T> state(n, 42);
  const adamw_state<T> before = state;
  dnabert::backend::adamw_update(cpu, state.param.data(), state.grad.data(), state.m.data(), state.v.data(), n, s.lr,
                                 s.beta1, s.beta2, s.eps, s.weight_decay, s.bias_correction1(), s.bias_correction2());
  double worst = 0;
  for (std::size_t i = 0; i < state.param.size(); ++i) {
    const auto want = reference_adamw(before.param[i], before.grad[i], before.m[i], before.v[i], s);
    worst = std::max({worst, relative_error(state.param[i], want.param), relative_error(state.m[i], want.m),
                      relative_error(state.v[i], want.v)});
  }
  return worst;
}

/// n values of mixed sign and magnitude (1e-3 .. 1e3).
std::vector<float> mixed_values(std::int64_t n) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> exponent(-3.0, 3.0);
  std::bernoulli_distribution negative(0.5);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (auto& value : x) value = static_cast<float>((negative(rng) ? -1 : 1) * std::pow(10.0, exponent(rng)));
  return x;
}

}  // namespace

TEST_CASE("adamw_update: equals torch's update in double, with and without weight decay") {
  for (const std::int64_t n : sizes)
    for (const double weight_decay : {0.0, 0.01}) {
      CAPTURE(n);
      CAPTURE(weight_decay);
      adamw_settings s;
      s.weight_decay = weight_decay;
      CHECK(adamw_error<float>(n, s) <= 1e-6);
      CHECK(adamw_error<double>(n, s) <= 1e-14);
    }
}

TEST_CASE("adamw_update: first step's bias correction and a large learning rate") {
  adamw_settings s;
  s.step = 1;  // bias corrections 0.1 and 0.001: the update is lr * sign(g) in size
  s.lr = 0.05;
  s.weight_decay = 0.1;
  for (const std::int64_t n : sizes) {
    CAPTURE(n);
    CHECK(adamw_error<float>(n, s) <= 1e-6);
  }
}

TEST_CASE("adamw_update: the same bits on 1 and 2 threads") {
  const adamw_settings s;
  const std::int64_t n = 1000003;
  std::vector<adamw_state<float>> results;
  for (const int threads : {1, 2}) {
    cpu_t<float> cpu(threads);
    adamw_state<float> state(n, 5);
    dnabert::backend::adamw_update(cpu, state.param.data(), state.grad.data(), state.m.data(), state.v.data(), n, s.lr,
                                   s.beta1, s.beta2, s.eps, s.weight_decay, s.bias_correction1(), s.bias_correction2());
    results.push_back(std::move(state));
  }
  CHECK(results[0].param == results[1].param);
  CHECK(results[0].m == results[1].m);
  CHECK(results[0].v == results[1].v);
}

TEST_CASE("sum_of_squares: equals a long double sum, and is bit-identical on 1 and 2 threads") {
  for (const std::int64_t n : {std::int64_t{0}, std::int64_t{1}, std::int64_t{7}, std::int64_t{1000003}}) {
    CAPTURE(n);
    const auto x = mixed_values(n);
    long double want = 0;
    for (const float value : x) want += static_cast<long double>(value) * static_cast<long double>(value);
    cpu_t<float> one(1);
    const double on_one = dnabert::backend::sum_of_squares(one, x.data(), n);
    cpu_t<float> two(2);
    const double on_two = dnabert::backend::sum_of_squares(two, x.data(), n);
    if (n == 0)
      CHECK(on_one == 0.0);
    else
      CHECK(std::abs(static_cast<long double>(on_one) - want) / want <= 1e-12L);
    CHECK(on_one == on_two);  // exact comparison on purpose: clipping must not depend on threads
  }
}

TEST_CASE("scale: multiplies every element by the factor") {
  for (const std::int64_t n : sizes) {
    CAPTURE(n);
    cpu_t<float> cpu(2);
    auto x = mixed_values(n);
    const auto before = x;
    dnabert::backend::scale(cpu, x.data(), 0.37F, n);
    bool all_equal = true;
    for (std::size_t i = 0; i < x.size(); ++i) all_equal = all_equal && x[i] == before[i] * 0.37F;
    CHECK(all_equal);
  }
}

}  // namespace backend_optimizer_ops_test
