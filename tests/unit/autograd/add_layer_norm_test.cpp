// The fused residual add + LayerNorm (autograd::add_layer_norm, the backend's add_layer_norm_*)
// against the unfused ops it replaces, autograd::add then autograd::layer_norm, in float.
#include <doctest/doctest.h>

#include <random>
#include <span>
#include <vector>

#include "dnabert/autograd/functions.hpp"
#include "dnabert/backend/cpu/ops.hpp"
#include "tensor_compare.hpp"

namespace autograd_add_layer_norm_test {

namespace {

using backend_type = dnabert::backend::cpu;
using var = dnabert::autograd::var<backend_type>;
using tape_type = dnabert::autograd::tape<backend_type>;
namespace ag = dnabert::autograd;

backend_type& test_backend() {
  static backend_type backend(2);
  return backend;
}

var random_var(const dnabert::shape_type& shape, std::uint32_t seed, float spread, bool requires_grad = true) {
  dnabert::tensor<backend_type> t(test_backend(), shape);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  for (float& x : t.span()) x = normal(rng);
  return var(t, requires_grad);
}

std::span<const float> values(const var& x) { return x.value().span(); }
std::span<const float> gradient(const var& x) { return x.grad(test_backend()).span(); }

// |got - want| <= 1e-6 · max(1, max |want|).
void check_equal(std::span<const float> got, std::span<const float> want, const char* what) {
  const double bound = 1e-6 * std::max(1.0, dnabert::test::max_abs(want));
  CHECK_MESSAGE(dnabert::test::max_abs_diff(got, want) <= bound, what);
}

}  // namespace

TEST_CASE("add_layer_norm equals add then layer_norm, forward and backward, 1e-6") {
  const std::int64_t rows = 37, width = 96;  // a width that is not a multiple of the vector length
  for (const bool residual_needs_grad : {true, false}) {
    CAPTURE(residual_needs_grad);
    const var a = random_var({rows, width}, 1, 2.0f);
    const var b = random_var({rows, width}, 2, 1.0f, residual_needs_grad);
    const var gamma = random_var({width}, 3, 0.5f);
    const var beta = random_var({width}, 4, 0.5f);
    const var upstream = random_var({rows, width}, 5, 1.0f, false);

    tape_type unfused(test_backend(), true);
    const var want = ag::layer_norm(unfused, ag::add(unfused, a, b), gamma, beta, 1e-12);
    unfused.backward(want, upstream.value());
    const std::vector<float> da(gradient(a).begin(), gradient(a).end()), dgamma(gradient(gamma).begin(), gradient(gamma).end()),
        dbeta(gradient(beta).begin(), gradient(beta).end());
    const std::vector<float> db = residual_needs_grad ? std::vector<float>(gradient(b).begin(), gradient(b).end()) : std::vector<float>();
    for (const var& x : {a, b, gamma, beta}) x.clear_grad();

    tape_type fused(test_backend(), true);
    const var got = ag::add_layer_norm(fused, a, b, gamma, beta, 1e-12);
    fused.backward(got, upstream.value());
    check_equal(values(got), values(want), "y");
    check_equal(gradient(a), da, "da");
    if (residual_needs_grad) check_equal(gradient(b), db, "db");
    check_equal(gradient(gamma), dgamma, "dgamma");
    check_equal(gradient(beta), dbeta, "dbeta");
    for (const var& x : {a, b, gamma, beta}) x.clear_grad();
  }
}

TEST_CASE("add_layer_norm records nothing when not training and checks shapes") {
  const var a = random_var({4, 16}, 6, 1.0f), b = random_var({4, 16}, 7, 1.0f);
  const var gamma = random_var({16}, 8, 1.0f), beta = random_var({16}, 9, 1.0f);
  tape_type inference(test_backend(), false);
  const var y = ag::add_layer_norm(inference, a, b, gamma, beta, 1e-12);
  CHECK_FALSE(y.requires_grad());
  tape_type reference(test_backend(), false);
  check_equal(values(y), values(ag::layer_norm(reference, ag::add(reference, a, b), gamma, beta, 1e-12)), "inference y");
  const var wrong = random_var({4, 15}, 10, 1.0f);
  CHECK_THROWS_AS(ag::add_layer_norm(inference, a, wrong, gamma, beta, 1e-12), dnabert::shape_error);
}

}  // namespace autograd_add_layer_norm_test
