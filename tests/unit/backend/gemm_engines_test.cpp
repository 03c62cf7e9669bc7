// Every GEMM engine compiled into this program (Eigen always; oneDNN, BLIS or OpenBLAS as the
// build has them), and the CPU backend's gemm and linear_forward that dispatch to one, against a
// naive double-precision product: all four transposes, odd sizes, alpha/beta, bias. CMake also
// builds this file into a second program with BLIS beside oneDNN (ctest prefix "blis."), so the
// fallback stays tested where oneDNN is the engine.
#include "dnabert/backend/cpu/ops.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace backend_gemm_engines_test {

namespace {

using dnabert::backend::cpu_t;
namespace detail = dnabert::backend::detail;

using gemm_fn = void (*)(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*, const float*,
                         float, float*);

struct engine {
  std::string name;
  gemm_fn run;
};

/// The CPU backend (2 threads), shared by the cases: its constructor sets the OpenMP thread count.
cpu_t<float>& backend() {
  static cpu_t<float> be(2);
  return be;
}

std::vector<engine> engines() {
  std::vector<engine> list{{"eigen", &detail::eigen_gemm<float>}};
#ifdef DNABERT_USE_ONEDNN
  list.push_back({"onednn", &detail::onednn_gemm});
#endif
#ifdef DNABERT_HAS_CBLAS
  list.push_back({"cblas", &detail::cblas_gemm});
#endif
  list.push_back({"gemm", [](bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                             const float* a, const float* b, float beta, float* c) {
                    gemm(backend(), ta, tb, m, n, k, alpha, a, b, beta, c);
                  }});
  return list;
}

std::vector<float> uniform(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0F, 1.0F);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

/// Checks c against alpha·op(A)·op(B) + beta·c0 (+ bias) computed in double. fp32 rounding is at
/// most about k ulps of the sum of |terms|; a wrong layout or a dropped term is off by far more.
void check_product(const std::string& what, bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k,
                   double alpha, const std::vector<float>& a, const std::vector<float>& b, double beta,
                   const std::vector<float>& c0, const std::vector<float>& bias, const std::vector<float>& c) {
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = 0.0;
      double magnitude = 0.0;
      for (std::int64_t p = 0; p < k; ++p) {
        const double x = a[static_cast<std::size_t>(ta ? p * m + i : i * k + p)];
        const double y = b[static_cast<std::size_t>(tb ? j * k + p : p * n + j)];
        sum += x * y;
        magnitude += std::abs(x * y);
      }
      double expected = alpha * sum;
      magnitude = std::abs(alpha) * magnitude;
      if (beta != 0.0) {
        expected += beta * c0[static_cast<std::size_t>(i * n + j)];
        magnitude += std::abs(beta * c0[static_cast<std::size_t>(i * n + j)]);
      }
      if (!bias.empty()) {
        expected += bias[static_cast<std::size_t>(j)];
        magnitude += std::abs(bias[static_cast<std::size_t>(j)]);
      }
      const double got = c[static_cast<std::size_t>(i * n + j)];
      if (!(std::abs(got - expected) <= 1e-6 * double(k + 4) * magnitude + 1e-7)) {
        FAIL(what << " m=" << m << " n=" << n << " k=" << k << " trans_a=" << ta << " trans_b=" << tb
                  << " alpha=" << alpha << " beta=" << beta << ": C[" << i << "," << j << "] = " << got
                  << ", expected " << expected);
      }
    }
  }
}

const std::vector<std::int64_t> odd_sizes = {1, 7, 33, 129};

}  // namespace

TEST_CASE("gemm engines: every transpose and odd size, beta 0 over NaN, beta 1 accumulates, general alpha and beta") {
  struct scaling {
    float alpha;
    float beta;
  };
  // beta 0 must ignore C entirely (it holds NaN); beta 1 accumulates; then neither is special.
  const std::vector<scaling> scalings = {{1.0F, 0.0F}, {0.37F, 1.0F}, {-2.0F, 0.5F}};
  for (const engine& e : engines()) {
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        for (const std::int64_t m : odd_sizes) {
          for (const std::int64_t n : odd_sizes) {
            for (const std::int64_t k : odd_sizes) {
              const auto a = uniform(m * k, 1);
              const auto b = uniform(k * n, 2);
              for (const scaling s : scalings) {
                const auto c0 = s.beta == 0.0F
                                    ? std::vector<float>(static_cast<std::size_t>(m * n),
                                                         std::numeric_limits<float>::quiet_NaN())
                                    : uniform(m * n, 3);
                auto c = c0;
                e.run(ta, tb, m, n, k, s.alpha, a.data(), b.data(), s.beta, c.data());
                check_product(e.name, ta, tb, m, n, k, s.alpha, a, b, s.beta, c0, {}, c);
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("gemm: an empty inner dimension gives beta times C") {
  for (const engine& e : engines()) {
    if (e.name != "gemm") continue;  // the engines themselves are only called with sizes > 0
    std::vector<float> c = {1.0F, -2.0F, 3.0F, 4.0F};
    e.run(false, false, 2, 2, 0, 1.0F, nullptr, nullptr, 0.5F, c.data());
    CHECK(c == std::vector<float>{0.5F, -1.0F, 1.5F, 2.0F});
  }
}

TEST_CASE("linear_forward: x times weight transposed plus bias, over NaN in y") {
  for (const std::int64_t rows : {1, 7, 129}) {
    for (const std::int64_t in : {1, 33, 768}) {
      for (const std::int64_t out : {7, 129}) {
        const auto x = uniform(rows * in, 4);
        const auto weight = uniform(out * in, 5);
        const auto bias = uniform(out, 6);
        std::vector<float> y(static_cast<std::size_t>(rows * out), std::numeric_limits<float>::quiet_NaN());
        linear_forward(backend(), x.data(), weight.data(), bias.data(), rows, in, out, y.data());
        check_product("linear_forward", false, true, rows, out, in, 1.0, x, weight, 0.0, {}, bias, y);
      }
    }
  }
}

#ifdef DNABERT_USE_ONEDNN
TEST_CASE("onednn_gemm: a shape oneDNN rejects is a dnabert::error naming the product") {
  const std::vector<float> a(4, 1.0F);
  std::vector<float> c(4);
  CHECK_THROWS_WITH_AS(detail::onednn_gemm(false, false, -2, 2, 2, 1.0F, a.data(), a.data(), 0.0F, c.data()),
                       doctest::Contains("oneDNN matmul [-2x2] x [2x2] failed"), dnabert::error);
}
#endif

}  // namespace backend_gemm_engines_test
