// bfloat16 rounding (nearest, ties to even) on the bit patterns where it matters, checked against
// the values torch.tensor(x).to(torch.bfloat16) gives for them.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>

#include "dnabert/core/half_float.hpp"

namespace core_bfloat16_test {

namespace {

std::uint16_t bits_of(std::uint32_t float_bits) { return dnabert::bfloat16(std::bit_cast<float>(float_bits)).bits; }

}  // namespace

TEST_CASE("bfloat16: rounds to nearest, ties to even, like torch") {
  CHECK(bits_of(0x3f800000U) == 0x3f80U);  // 1.0 exactly
  CHECK(bits_of(0x3f808000U) == 0x3f80U);  // halfway, even below: down
  CHECK(bits_of(0x3f818000U) == 0x3f82U);  // halfway, odd below: up
  CHECK(bits_of(0x3f808001U) == 0x3f81U);  // just above halfway: up
  CHECK(bits_of(0x3f807fffU) == 0x3f80U);  // just below halfway: down
  CHECK(bits_of(0xbf818000U) == 0xbf82U);  // the same for negatives
  CHECK(bits_of(0x7f7fffffU) == 0x7f80U);  // float max rounds to infinity
  CHECK(bits_of(0x7f800000U) == 0x7f80U);  // infinity stays
  CHECK(bits_of(0x00000001U) == 0x0000U);  // the smallest subnormal rounds to zero
}

TEST_CASE("bfloat16: NaN stays NaN, values convert back exactly") {
  const dnabert::bfloat16 nan(std::numeric_limits<float>::quiet_NaN());
  CHECK(std::isnan(static_cast<float>(nan)));
  const dnabert::bfloat16 signalling(std::bit_cast<float>(0x7f800001U));  // rounding must not turn it into infinity
  CHECK(std::isnan(static_cast<float>(signalling)));
  for (const float x : {0.0f, -2.5f, 0.15625f, 3.0e38f, -1.0e-38f}) {
    const dnabert::bfloat16 b(x);
    CHECK(dnabert::bfloat16(static_cast<float>(b)).bits == b.bits);  // round trip of a bf16 value
    CHECK(std::abs(static_cast<float>(b) - x) <= std::abs(x) * 0x1.0p-8f);
  }
  CHECK(static_cast<float>(dnabert::bfloat16(-10000)) == -9984.0f);  // the attention mask value
}

}  // namespace core_bfloat16_test
