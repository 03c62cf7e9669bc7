// The tensor type and its xtensor edge.
#include "dnabert/core/tensor.hpp"

#include <doctest/doctest.h>

#include "dnabert/backend/cpu/backend.hpp"
#include "dnabert/core/xtensor_view.hpp"

namespace core_tensor_test {

TEST_CASE("tensor: shape, strides, reshape and row slices share storage") {
  dnabert::backend::cpu cpu(1);
  dnabert::tensor<dnabert::backend::cpu> t(cpu, {2, 3, 4});
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<float>(i);
  CHECK(t.strides() == dnabert::shape_type{12, 4, 1});
  CHECK(t.rows() == 6);
  const auto flat = t.reshaped({6, 4});
  CHECK(flat.data() == t.data());
  const auto second = t.slice_rows(1, 2);
  CHECK(second.shape() == dnabert::shape_type{1, 3, 4});
  CHECK(second.data()[0] == 12.0f);
  CHECK_THROWS_AS((void)t.reshaped({5, 5}), dnabert::shape_error);
}

TEST_CASE("tensor: xtensor views in both directions without copies") {
  dnabert::backend::cpu cpu(1);
  dnabert::tensor<dnabert::backend::cpu> t(cpu, {2, 3});
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<float>(i);
  auto view = dnabert::as_xtensor(t);
  CHECK(view(1, 2) == 5.0f);
  view(0, 1) = 42.0f;
  CHECK(t.data()[1] == 42.0f);

  xt::xarray<float> array = {{1.0f, 2.0f}, {3.0f, 4.0f}};
  const auto wrapped = dnabert::as_tensor<dnabert::backend::cpu>(array);
  CHECK(wrapped.data() == array.data());
  CHECK(wrapped.shape() == dnabert::shape_type{2, 2});
}

}  // namespace core_tensor_test
