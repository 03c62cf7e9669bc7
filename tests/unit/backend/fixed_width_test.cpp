// The CPU kernels a static bert_spec reaches (LayerNorm with a fixed_width, attention with a
// fixed_head_shape) against the same kernels with the size given at run time, forward and
// backward; and the autograd ops' check of a fixed size against the tensors they get.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "dnabert/autograd/functions.hpp"
#include "dnabert/backend/cpu_ops.hpp"
#include "tensor_compare.hpp"

namespace {

using backend_type = dnabert::backend::cpu;

backend_type& test_backend() {
  static backend_type backend(2);
  return backend;
}

std::vector<float> random_values(std::size_t count, std::uint32_t seed, float spread = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> values(count);
  for (float& x : values) x = normal(rng);
  return values;
}

// |got - want| <= 1e-6 · max(1, max |want|): the fixed size may only reorder float sums.
void check_close(std::span<const float> got, std::span<const float> want, const char* what) {
  REQUIRE(got.size() == want.size());
  CHECK_MESSAGE(dnabert::test::max_abs_diff(got, want) <= 1e-6 * std::max(1.0, dnabert::test::max_abs(want)), what);
}

// Outputs of the four LayerNorm kernels for one width type.
struct layer_norm_outputs {
  std::vector<float> y, mean, rstd, dx, dgamma, dbeta, sum_y, da, db, sum_dgamma, sum_dbeta;
};

template <class W>
layer_norm_outputs run_layer_norms(std::int64_t rows, W width) {
  const std::int64_t n = width;
  const auto count = static_cast<std::size_t>(rows * n);
  const auto x = random_values(count, 1, 3.0f), residual = random_values(count, 2), dy = random_values(count, 3);
  const auto gamma = random_values(static_cast<std::size_t>(n), 4), beta = random_values(static_cast<std::size_t>(n), 5);
  auto& be = test_backend();
  layer_norm_outputs o;
  o.y.resize(count);
  o.mean.resize(static_cast<std::size_t>(rows));
  o.rstd.resize(o.mean.size());
  layer_norm_forward(be, x.data(), gamma.data(), beta.data(), rows, width, 1e-12, o.y.data(), o.mean.data(), o.rstd.data());
  o.dx.assign(count, 0.5f);  // backward ops add into their outputs
  o.dgamma.assign(static_cast<std::size_t>(n), 0.25f);
  o.dbeta.assign(o.dgamma.size(), -0.25f);
  layer_norm_backward(be, dy.data(), x.data(), gamma.data(), o.mean.data(), o.rstd.data(), rows, width, o.dx.data(),
                      o.dgamma.data(), o.dbeta.data());

  std::vector<float> mean(o.mean.size()), rstd(o.mean.size());
  o.sum_y.resize(count);
  add_layer_norm_forward(be, x.data(), residual.data(), gamma.data(), beta.data(), rows, width, 1e-5, o.sum_y.data(),
                         mean.data(), rstd.data());
  o.da.assign(count, 0.0f);
  o.db.assign(count, 1.0f);
  o.sum_dgamma.assign(static_cast<std::size_t>(n), 0.0f);
  o.sum_dbeta.assign(o.sum_dgamma.size(), 0.0f);
  add_layer_norm_backward(be, dy.data(), x.data(), residual.data(), gamma.data(), mean.data(), rstd.data(), rows, width,
                          o.da.data(), o.db.data(), o.sum_dgamma.data(), o.sum_dbeta.data());
  return o;
}

template <int Width>
void check_layer_norms() {
  CAPTURE(Width);
  const std::int64_t rows = 29;
  const auto fixed = run_layer_norms(rows, dnabert::fixed_width<Width>{});
  const auto runtime = run_layer_norms(rows, std::int64_t{Width});
  check_close(fixed.y, runtime.y, "layer_norm_forward y");
  check_close(fixed.mean, runtime.mean, "layer_norm_forward mean");
  check_close(fixed.rstd, runtime.rstd, "layer_norm_forward rstd");
  check_close(fixed.dx, runtime.dx, "layer_norm_backward dx");
  check_close(fixed.dgamma, runtime.dgamma, "layer_norm_backward dgamma");
  check_close(fixed.dbeta, runtime.dbeta, "layer_norm_backward dbeta");
  check_close(fixed.sum_y, runtime.sum_y, "add_layer_norm_forward y");
  check_close(fixed.da, runtime.da, "add_layer_norm_backward da");
  check_close(fixed.db, runtime.db, "add_layer_norm_backward db");
  check_close(fixed.sum_dgamma, runtime.sum_dgamma, "add_layer_norm_backward dgamma");
  check_close(fixed.sum_dbeta, runtime.sum_dbeta, "add_layer_norm_backward dbeta");
}

// Outputs of attention forward (with probabilities and dropout) and backward for one shape type.
struct attention_outputs {
  std::vector<float> probs, context, dq, dk, dv;
};

template <class Shape>
attention_outputs run_attention(const Shape& s) {
  const auto count = static_cast<std::size_t>(s.batch * s.seq * s.row_stride);
  const auto q = random_values(count, 11), k = random_values(count, 12), v = random_values(count, 13);
  const auto dcontext = random_values(count, 14);
  std::vector<float> key_bias(static_cast<std::size_t>(s.batch * s.seq), 0.0f);
  key_bias.back() = -10000.0f;  // the last sequence ends in padding
  const auto map_size = static_cast<std::size_t>(s.batch * s.heads * s.seq * s.seq);
  std::vector<std::uint8_t> keep(map_size);
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  auto& be = test_backend();
  attention_outputs o;
  o.probs.resize(map_size);
  o.context.resize(count);
  attention_forward(be, s, q.data(), k.data(), v.data(), key_bias.data(), scale, o.probs.data(), o.context.data(), 0.1,
                    keep.data(), 42, 7);
  o.dq.assign(count, 0.0f);
  o.dk.assign(count, 0.0f);
  o.dv.assign(count, 0.0f);
  attention_backward(be, s, q.data(), k.data(), v.data(), o.probs.data(), dcontext.data(), scale, 0.1, keep.data(),
                     o.dq.data(), o.dk.data(), o.dv.data());
  return o;
}

template <int HeadDim>
void check_attention() {
  CAPTURE(HeadDim);
  dnabert::backend::fixed_head_shape<HeadDim> fixed_shape;
  fixed_shape.batch = 2;
  fixed_shape.seq = 9;
  fixed_shape.heads = 3;
  fixed_shape.head_dim = HeadDim;
  fixed_shape.row_stride = 3 * HeadDim;
  const dnabert::backend::attention_shape& runtime_shape = fixed_shape;
  const auto fixed = run_attention(fixed_shape);
  const auto runtime = run_attention(runtime_shape);
  check_close(fixed.probs, runtime.probs, "attention_forward probabilities");
  check_close(fixed.context, runtime.context, "attention_forward context");
  check_close(fixed.dq, runtime.dq, "attention_backward dq");
  check_close(fixed.dk, runtime.dk, "attention_backward dk");
  check_close(fixed.dv, runtime.dv, "attention_backward dv");
}

}  // namespace

TEST_CASE("fixed-width LayerNorm kernels equal the run-time-width ones, forward and backward") {
  check_layer_norms<40>();   // not a multiple of the vector length
  check_layer_norms<768>();  // DNABERT's hidden size
}

TEST_CASE("fixed head size attention kernels equal the run-time ones, forward and backward") {
  check_attention<5>();
  check_attention<64>();  // DNABERT's head size
}

TEST_CASE("autograd ops refuse a fixed size that differs from their input") {
  namespace ag = dnabert::autograd;
  using var = ag::var<backend_type>;
  auto& be = test_backend();
  const var x(dnabert::tensor<backend_type>(be, {3, 8}), true);
  const var gamma(dnabert::tensor<backend_type>(be, {8}), true), beta(dnabert::tensor<backend_type>(be, {8}), true);
  ag::tape<backend_type> t(be, false);
  CHECK_THROWS_WITH_AS(ag::layer_norm<16>(t, x, gamma, beta, 1e-12),
                       "tensor layer_norm width: expected shape [16] but found [8]", dnabert::shape_error);
  CHECK_THROWS_WITH_AS(ag::add_layer_norm<4>(t, x, x, gamma, beta, 1e-12),
                       "tensor add_layer_norm width: expected shape [4] but found [8]", dnabert::shape_error);
  const dnabert::backend::attention_shape shape{1, 3, 2, 4, 8};
  CHECK_THROWS_WITH_AS(ag::self_attention<8>(t, x, x, x, dnabert::tensor<backend_type>(), shape, {}),
                       "tensor self_attention head size: expected shape [8] but found [4]", dnabert::shape_error);
}
