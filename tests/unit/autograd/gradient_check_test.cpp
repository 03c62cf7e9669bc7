// Every differentiable op against central finite differences, in double precision.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "dnabert/autograd/functions.hpp"
#include "dnabert/backend/cpu/ops.hpp"

namespace autograd_gradient_check_test {

namespace {

using backend_type = dnabert::backend::cpu_t<double>;
using var = dnabert::autograd::var<backend_type>;
using tape_type = dnabert::autograd::tape<backend_type>;
using tensor = dnabert::tensor<backend_type>;

backend_type& test_backend() {
  static backend_type backend(1);
  return backend;
}

tensor random_tensor(const dnabert::shape_type& shape, std::mt19937& rng, double scale = 1.0) {
  tensor t(test_backend(), shape);
  std::normal_distribution<double> normal(0.0, scale);
  for (double& x : t.span()) x = normal(rng);
  return t;
}

// Checks d(sum(f(inputs) * w))/d(input) for every input against central differences.
// `f` builds the graph on the tape it is given; inputs are parameters (requires_grad).
void check_gradients(const std::vector<var>& inputs, const std::function<var(tape_type&)>& f, double tolerance = 1e-6,
                     double step = 1e-5) {
  auto& be = test_backend();
  std::mt19937 rng(99);
  tape_type probe(be, true);
  const var output = f(probe);
  probe.clear();
  const tensor weights = random_tensor(output.shape(), rng);
  auto objective = [&] {
    tape_type forward(be, true);  // recording, so dropout draws the same mask every time
    const var y = f(forward);
    double total = 0;
    for (std::size_t i = 0; i < weights.span().size(); ++i) total += y.value().span()[i] * weights.span()[i];
    return total;
  };

  for (const auto& input : inputs) input.clear_grad();
  tape_type t(be, true);
  const var y = f(t);
  t.backward(y, weights);

  for (std::size_t which = 0; which < inputs.size(); ++which) {
    const auto values = inputs[which].value().span();
    const auto analytic = inputs[which].grad(be).span();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double saved = values[i];
      values[i] = saved + step;
      const double plus = objective();
      values[i] = saved - step;
      const double minus = objective();
      values[i] = saved;
      const double numeric = (plus - minus) / (2 * step);
      const double error = std::abs(numeric - analytic[i]) / std::max(1.0, std::abs(numeric));
      if (error > tolerance) {
        FAIL_CHECK("input " << which << " element " << i << ": analytic " << analytic[i] << " numeric " << numeric);
        return;
      }
    }
  }
}

var parameter(const dnabert::shape_type& shape, std::mt19937& rng, double scale = 1.0) {
  return var(random_tensor(shape, rng, scale), true);
}

}  // namespace

namespace ag = dnabert::autograd;

TEST_CASE("gradient check: linear") {
  std::mt19937 rng(1);
  const var x = parameter({5, 4}, rng), w = parameter({3, 4}, rng), b = parameter({3}, rng);
  check_gradients({x, w, b}, [&](tape_type& t) { return ag::linear(t, x, w, b); });
}

TEST_CASE("gradient check: gelu, tanh, add") {
  std::mt19937 rng(2);
  const var x = parameter({4, 6}, rng, 2.0), y = parameter({4, 6}, rng);
  check_gradients({x}, [&](tape_type& t) { return ag::gelu(t, x); });
  check_gradients({x}, [&](tape_type& t) { return ag::tanh(t, x); });
  check_gradients({x, y}, [&](tape_type& t) { return ag::add(t, x, y); });
}

TEST_CASE("gradient check: GEGLU (DNABERT-2's gated feed-forward)") {
  std::mt19937 rng(21);
  const var x = parameter({4, 10}, rng, 2.0);  // [gate | value], 5 columns each
  check_gradients({x}, [&](tape_type& t) { return ag::gated_gelu(t, x); });
  tape_type t(test_backend(), false);
  const auto y = ag::gated_gelu(t, x).value().span();
  const auto in = x.value().span();
  for (std::size_t r = 0; r < 4; ++r)
    for (std::size_t c = 0; c < 5; ++c) {
      const double gate = in[r * 10 + c], value = in[r * 10 + 5 + c];
      CHECK(y[r * 5 + c] == doctest::Approx(0.5 * gate * (1 + std::erf(gate / std::sqrt(2.0))) * value).epsilon(1e-12));
    }
}

TEST_CASE("gradient check: layer_norm") {
  std::mt19937 rng(3);
  const var x = parameter({3, 8}, rng, 3.0), g = parameter({8}, rng), b = parameter({8}, rng);
  check_gradients({x, g, b}, [&](tape_type& t) { return ag::layer_norm(t, x, g, b, 1e-12); });
}

TEST_CASE("gradient check: add_layer_norm, into both summands and when one needs no gradient") {
  std::mt19937 rng(31);
  const var a = parameter({3, 8}, rng, 3.0), r = parameter({3, 8}, rng), g = parameter({8}, rng), b = parameter({8}, rng);
  check_gradients({a, r, g, b}, [&](tape_type& t) { return ag::add_layer_norm(t, a, r, g, b, 1e-12); });
  const var fixed(random_tensor({3, 8}, rng), false);
  check_gradients({a, g, b}, [&](tape_type& t) { return ag::add_layer_norm(t, fixed, a, g, b, 1e-12); });
  check_gradients({a}, [&](tape_type& t) { return ag::add_layer_norm(t, a, a, g, b, 1e-12); });  // x + x: both paths add
}

TEST_CASE("gradient check: dropout uses one mask per (seed, offset)") {
  std::mt19937 rng(4);
  const var x = parameter({6, 7}, rng);
  check_gradients({x}, [&](tape_type& t) { return ag::dropout(t, x, 0.3, 1234, 77); });
  tape_type t(test_backend(), true);
  const var y = ag::dropout(t, x, 0.3, 1234, 77);
  int zeros = 0;
  for (std::size_t i = 0; i < y.value().span().size(); ++i) {
    if (y.value().span()[i] == 0) ++zeros;
    else CHECK(y.value().span()[i] == doctest::Approx(x.value().span()[i] / 0.7));
  }
  CHECK(zeros > 3);
  CHECK(zeros < 25);
  tape_type inference(test_backend(), false);
  CHECK(ag::dropout(inference, x, 0.3, 1234, 77).value().data() == x.value().data());  // identity when not training
}

TEST_CASE("gradient check: embedding and strided rows") {
  std::mt19937 rng(5);
  const var table = parameter({6, 3}, rng);
  dnabert::tensor<backend_type, std::int32_t> ids(test_backend(), {5});
  const std::int32_t values[] = {2, 0, 2, 5, 1};
  std::copy(std::begin(values), std::end(values), ids.data());
  check_gradients({table}, [&](tape_type& t) { return ag::embedding(t, ids, table); });
  const var x = parameter({6, 4}, rng);
  check_gradients({x}, [&](tape_type& t) { return ag::strided_rows(t, x, 2, 3); });
}

TEST_CASE("gradient check: relu, segment mean and max, joined rows (a long sequence's pieces)") {
  std::mt19937 rng(51);
  const var x = parameter({4, 6}, rng);
  check_gradients({x}, [&](tape_type& t) { return ag::relu(t, x); });
  const var pieces = parameter({6, 5}, rng);
  dnabert::tensor<backend_type, std::int32_t> starts(test_backend(), {4});
  const std::int32_t bounds[] = {0, 1, 4, 6};  // segments of 1, 3 and 2 rows
  std::copy(std::begin(bounds), std::end(bounds), starts.data());
  check_gradients({pieces}, [&](tape_type& t) { return ag::segment_pool(t, pieces, starts, false); });
  check_gradients({pieces}, [&](tape_type& t) { return ag::segment_pool(t, pieces, starts, true); });
  tape_type t(test_backend(), false);
  const var maxima = ag::segment_pool(t, pieces, starts, true), means = ag::segment_pool(t, pieces, starts, false);
  const auto rows = pieces.value().span();
  CHECK(maxima.value().span()[5 + 2] == std::max({rows[5 + 2], rows[10 + 2], rows[15 + 2]}));  // segment 1, column 2
  CHECK(means.value().span()[10 + 1] == doctest::Approx((rows[20 + 1] + rows[25 + 1]) / 2));   // segment 2, column 1
  dnabert::tensor<backend_type, std::int32_t> slots(test_backend(), {6});
  const std::int32_t picked[] = {0, 5, 5, 1, 2, 3};  // row 5 twice: its gradient adds
  std::copy(std::begin(picked), std::end(picked), slots.data());
  check_gradients({pieces}, [&](tape_type& tape) { return ag::joined_rows(tape, slots, pieces, 3); });
  CHECK(ag::joined_rows(t, slots, pieces, 3).shape() == dnabert::shape_type{2, 15});
  CHECK_THROWS_AS(ag::joined_rows(t, slots, pieces, 4), dnabert::input_error);
}

TEST_CASE("gradient check: multi-head self-attention with padding mask and dropout") {
  std::mt19937 rng(6);
  const dnabert::ops::attention_shape shape{2, 4, 2, 3, 6};  // batch 2, seq 4, 2 heads of 3
  const var q = parameter({8, 6}, rng), k = parameter({8, 6}, rng), v = parameter({8, 6}, rng);
  tensor key_bias(test_backend(), {2, 4});
  const double bias[] = {0, 0, 0, 0, 0, 0, -10000, -10000};  // second sequence has 2 pads
  std::copy(std::begin(bias), std::end(bias), key_bias.data());
  for (const double p : {0.0, 0.2}) {
    const ag::attention_options options{p, 42, 5, false};
    check_gradients({q, k, v}, [&](tape_type& t) { return ag::self_attention(t, q, k, v, key_bias, shape, options).context; });
  }
  tape_type t(test_backend(), false);
  const auto result = ag::self_attention(t, q, k, v, key_bias, shape, {0.0, 0, 0, true});
  const auto probs = result.probabilities.span();
  // batch 1, head 0, query 0: padded keys get (numerically) zero weight, rows sum to one
  const std::size_t row = (1 * 2 + 0) * 16;
  CHECK(probs[row + 2] < 1e-300);
  CHECK(probs[row + 0] + probs[row + 1] + probs[row + 2] + probs[row + 3] == doctest::Approx(1.0));
}

TEST_CASE("gradient check: self-attention with ALiBi's position bias, and its probabilities") {
  std::mt19937 rng(22);
  dnabert::ops::attention_shape shape{2, 5, 3, 2, 6};  // batch 2, seq 5, 3 heads of 2: a count that is not a power of two
  shape.alibi = true;
  const var q = parameter({10, 6}, rng), k = parameter({10, 6}, rng), v = parameter({10, 6}, rng);
  tensor key_bias(test_backend(), {2, 5});
  const double bias[] = {0, 0, 0, 0, 0, 0, 0, 0, -10000, -10000};
  std::copy(std::begin(bias), std::end(bias), key_bias.data());
  for (const double p : {0.0, 0.2}) {
    const ag::attention_options options{p, 42, 5, false};
    check_gradients({q, k, v}, [&](tape_type& t) { return ag::self_attention(t, q, k, v, key_bias, shape, options).context; });
  }
  // The probabilities are softmax(q·k / sqrt(d) + mask - slope_h |i - j|), slopes 1/16, 1/256, 1/4 for 3 heads.
  tape_type t(test_backend(), false);
  const auto probs = ag::self_attention(t, q, k, v, key_bias, shape, {0.0, 0, 0, true}).probabilities.span();
  const double slopes[] = {1.0 / 16, 1.0 / 256, 1.0 / 4};
  const auto qs = q.value().span(), ks = k.value().span();
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t h = 0; h < 3; ++h)
      for (std::size_t i = 0; i < 5; ++i) {
        double logits[5], top = -1e300, sum = 0;
        for (std::size_t j = 0; j < 5; ++j) {
          double dot = 0;
          for (std::size_t d = 0; d < 2; ++d) dot += qs[(b * 5 + i) * 6 + h * 2 + d] * ks[(b * 5 + j) * 6 + h * 2 + d];
          logits[j] = dot / std::sqrt(2.0) + bias[b * 5 + j] - slopes[h] * std::abs(static_cast<double>(i) - static_cast<double>(j));
          top = std::max(top, logits[j]);
        }
        for (const double l : logits) sum += std::exp(l - top);
        for (std::size_t j = 0; j < 5; ++j)
          CHECK(probs[((b * 3 + h) * 5 + i) * 5 + j] == doctest::Approx(std::exp(logits[j] - top) / sum).epsilon(1e-12));
      }
}

TEST_CASE("gradient check: cross-entropy with ignored labels, and mse") {
  std::mt19937 rng(7);
  const var logits = parameter({4, 5}, rng);
  dnabert::tensor<backend_type, std::int32_t> labels(test_backend(), {4});
  const std::int32_t values[] = {1, -100, 4, 0};
  std::copy(std::begin(values), std::end(values), labels.data());
  check_gradients({logits}, [&](tape_type& t) { return ag::cross_entropy(t, logits, labels); });
  const var predictions = parameter({6, 1}, rng);
  const tensor targets = random_tensor({6, 1}, rng);
  check_gradients({predictions}, [&](tape_type& t) { return ag::mse(t, predictions, targets); });
}

TEST_CASE("gradient check: scatter_rows places packed rows in a zero-filled layout") {
  std::mt19937 rng(8);
  const var x = parameter({3, 4}, rng);
  dnabert::tensor<backend_type, std::int32_t> ids(test_backend(), {3});
  const std::int32_t values[] = {4, 0, 2};  // out of order, rows 1, 3 and 5 stay padding
  std::copy(std::begin(values), std::end(values), ids.data());
  check_gradients({x}, [&](tape_type& t) { return ag::scatter_rows(t, ids, x, 6); });
  tape_type t(test_backend(), false);
  const var y = ag::scatter_rows(t, ids, x, 6);
  REQUIRE(y.shape() == dnabert::shape_type{6, 4});
  for (std::int64_t r = 0; r < 6; ++r)
    for (std::int64_t j = 0; j < 4; ++j) {
      const auto* source = std::find(std::begin(values), std::end(values), r);
      const double expected = source == std::end(values) ? 0.0 : x.value().data()[(source - std::begin(values)) * 4 + j];
      CHECK(y.value().data()[r * 4 + j] == expected);
    }
}

}  // namespace autograd_gradient_check_test
