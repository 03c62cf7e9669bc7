#pragma once
// Comparing what a sequence gets in one batch with what it gets in another. oneDNN's GEMM gives a
// row of a product the same bits whatever the number of rows, so there batches change no bit;
// Eigen's own GEMM takes a block's remainder rows through other kernels (and the BLAS builds are
// not checked), so there results agree to float rounding only.
#include <algorithm>
#include <cmath>
#include <iterator>

namespace dnabert::test {

/// Whether this build's float32 GEMM is batch-invariant (oneDNN's is).
inline constexpr bool gemm_is_batch_invariant =
#if defined(DNABERT_USE_ONEDNN)
    true;
#else
    false;
#endif

/// `got` equals `want` element by element: exactly where batches cannot change bits, else to 1e-5
/// of `want`'s largest magnitude.
template <class Got, class Want>
bool same_across_batches(const Got& got, const Want& want) {
  if (std::distance(std::begin(got), std::end(got)) != std::distance(std::begin(want), std::end(want))) return false;
  if constexpr (gemm_is_batch_invariant) return std::equal(std::begin(got), std::end(got), std::begin(want));
  double scale = 1e-30;
  for (const auto w : want) scale = std::max(scale, std::abs(double(w)));
  return std::equal(std::begin(got), std::end(got), std::begin(want),
                    [&](auto g, auto w) { return std::abs(double(g) - double(w)) <= 1e-5 * scale; });
}

}  // namespace dnabert::test
