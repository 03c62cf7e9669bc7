// The fused CUDA attention kernel's host-side arithmetic (backend/cuda/flash_tiling.hpp) and its
// algorithm: tiles, tails, grid and shared memory against direct counts, the online-softmax step
// against a one-pass softmax, and the host reference of the kernel's tile recurrence
// (flash_attention_reference.hpp) against the CPU backend's attention_forward. No GPU needed.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "dnabert/backend/cpu/ops.hpp"
#include "dnabert/backend/cuda/flash_tiling.hpp"
#include "flash_attention_reference.hpp"

namespace backend_flash_attention_test {

namespace {

namespace launch = dnabert::backend::cuda_launch;

std::vector<float> random_values(std::size_t n, std::uint32_t seed, float spread) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-spread, spread);
  std::vector<float> out(n);
  for (auto& x : out) x = dist(rng);
  return out;
}

// One attention problem: q, k, v as column blocks of a fused [B*S, 3*hidden] buffer (row_stride
// 3 * hidden, as the layers' strided views), and a padding mask cutting batch b to lengths[b].
struct problem {
  dnabert::ops::attention_shape shape;
  std::vector<float> qkv;
  std::vector<float> key_bias;
  float scale;

  problem(std::int64_t batch, std::int64_t seq, std::int64_t heads, std::int64_t head_dim, std::uint32_t seed)
      : shape{batch, seq, heads, head_dim, 3 * heads * head_dim},
        qkv(random_values(static_cast<std::size_t>(batch * seq * shape.row_stride), seed, 2.0f)),
        key_bias(static_cast<std::size_t>(batch * seq), 0.0f),
        scale(1.0f / std::sqrt(static_cast<float>(head_dim))) {
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t j = seq - (b * seq) / (batch + 1); j < seq; ++j)  // batch b: (b / (batch + 1)) padding
        key_bias[static_cast<std::size_t>(b * seq + j)] = -10000.0f;
  }
  [[nodiscard]] const float* q() const { return qkv.data(); }
  [[nodiscard]] const float* k() const { return qkv.data() + shape.heads * shape.head_dim; }
  [[nodiscard]] const float* v() const { return qkv.data() + 2 * shape.heads * shape.head_dim; }
};

// The CPU backend's context (columns of q's layout outside the heads stay 0).
std::vector<float> cpu_context(const problem& p) {
  static dnabert::backend::cpu backend(2);
  std::vector<float> context(p.qkv.size(), 0.0f);
  attention_forward(backend, p.shape, p.q(), p.k(), p.v(), p.key_bias.data(), p.scale, static_cast<float*>(nullptr),
                    context.data(), 0.0,
                    nullptr, 0, 0);
  return context;
}

template <std::int64_t QueryTile, std::int64_t KeyTile>
void check_reference(const problem& p, const std::vector<float>& want) {
  CAPTURE(QueryTile);
  CAPTURE(KeyTile);
  std::vector<float> got(p.qkv.size(), 0.0f);
  dnabert::test::flash_attention_reference<QueryTile, KeyTile>(p.shape, p.q(), p.k(), p.v(), p.key_bias.data(), p.scale,
                                                               got.data());
  double worst = 0, scale = 1;
  for (std::size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
  }
  CHECK(worst <= 1e-6 * scale);
}

}  // namespace

TEST_CASE("flash tiling: tiles cover a length exactly, the last one holding the tail") {
  for (const std::int64_t tile : {1, 5, 32, 64})
    for (std::int64_t length = 1; length <= 200; ++length) {
      const std::int64_t tiles = launch::tile_count(length, tile);
      std::int64_t covered = 0;
      for (std::int64_t t = 0; t < tiles; ++t) {
        const std::int64_t n = launch::tile_length(length, tile, t);
        CHECK(n >= 1);
        CHECK(n == (t + 1 < tiles ? tile : length - (tiles - 1) * tile));
        covered += n;
      }
      CHECK(covered == length);
      CHECK((tiles - 1) * tile < length);  // no empty tile
    }
  static_assert(launch::tile_count(128, 64) == 2 && launch::tile_count(129, 64) == 3 && launch::tile_count(1, 64) == 1);
  static_assert(launch::tile_length(129, 64, 2) == 1 && launch::tile_length(37, 64, 0) == 37);
}

TEST_CASE("flash tiling: configurations for every supported head width, shared memory and grid") {
  CHECK_FALSE(launch::flash_supports(0));
  CHECK_FALSE(launch::flash_supports(129));
  CHECK_FALSE(launch::flash_supports(-64));
  for (std::int64_t d = 1; d <= launch::flash_max_head_dim; ++d) {
    CAPTURE(d);
    REQUIRE(launch::flash_supports(d));
    const auto t = launch::flash_tiling_for(d);
    CHECK(t.valid());
    CHECK(t.head_dim_padded >= d);
    CHECK(t.head_dim_padded - d < 64);  // at most one class of waste: 64 or 128 columns
    // queries [BQ][P], keys [BK][P + 1], values [BK][P], probabilities [BQ][BK], in floats
    const std::int64_t bq = t.warps * t.rows_per_warp, bk = t.key_tile, pad = t.head_dim_padded;
    CHECK(t.shared_bytes() == 4 * (bq * pad + bk * (pad + 1) + bk * pad + bq * bk));
    CHECK(t.shared_bytes() <= 227 * 1024);  // the most one block may ask for on sm_90
    // sm_90 has 228 KB of shared memory per SM, 1 KB of it reserved per block
    CHECK(t.blocks_per_sm * (t.shared_bytes() + 1024) <= 228 * 1024);
    CHECK(t.blocks_per_sm * t.threads() <= 2048);  // threads per SM
    CHECK(t.threads() == 32 * t.warps);
    CHECK(t.keys_per_lane() * 32 == bk);
    CHECK(t.columns_per_lane() * 32 == pad);
    CHECK(std::gcd(t.key_stride(), std::int64_t{32}) == 1);  // odd stride: 32 lanes, 32 banks
  }
  CHECK(launch::flash_tiling_for(64).head_dim_padded == 64);
  CHECK(launch::flash_tiling_for(65).head_dim_padded == 128);
  CHECK(launch::flash_tiling_for(128).head_dim_padded == 128);
  CHECK_FALSE(launch::flash_tiling{64, 8, 8, 48}.valid());  // key tiles are whole warps of lanes

  const auto t = launch::flash_tiling_for(64);
  const auto grid = launch::flash_grid_for(t, 64 * 12, 512);  // DNABERT-6 base, batch 64
  CHECK(grid.blocks() == 768 * (512 / t.query_tile()));
  CHECK(grid.launchable());
  CHECK(launch::flash_grid_for(t, 3, 1).blocks() == 3);
  CHECK(launch::flash_grid_for(t, 3, t.query_tile() + 1).blocks() == 6);
  CHECK(launch::flash_grid_for(t, 1 << 20, 128).launchable());
  CHECK_FALSE(launch::flash_grid_for(t, std::int64_t{1} << 26, 4096).launchable());  // past 2^31 - 1 blocks

  // Every (matrix, query tile) is one block, and neighbouring blocks share a matrix.
  const auto small = launch::flash_grid_for(t, 5, 3 * t.query_tile() - 7);
  std::vector<int> seen(static_cast<std::size_t>(5 * 3), 0);
  for (std::int64_t block = 0; block < small.blocks(); ++block) {
    const std::int64_t matrix = small.matrix_of(block), tile = small.tile_of(block);
    REQUIRE((matrix >= 0 && matrix < 5 && tile >= 0 && tile < 3));
    ++seen[static_cast<std::size_t>(matrix * 3 + tile)];
    if (block > 0 && tile > 0) CHECK(small.matrix_of(block - 1) == matrix);
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
}

TEST_CASE("flash tiling: attention_forward fuses only without probabilities or dropout") {
  CHECK(launch::flash_dispatch(false, 0.0, 64));
  CHECK(launch::flash_dispatch(false, 0.0, 128));
  CHECK_FALSE(launch::flash_dispatch(true, 0.0, 64));   // probabilities wanted (backward, attention maps)
  CHECK_FALSE(launch::flash_dispatch(false, 0.1, 64));  // attention dropout
  CHECK_FALSE(launch::flash_dispatch(false, 0.0, 160)); // too wide: the GEMM path
}

TEST_CASE("flash tiling: the online-softmax step over any tiling gives the one-pass max and sum") {
  const auto logits = random_values(100, 21, 30.0f);
  double top = -INFINITY;
  for (const float x : logits) top = std::max(top, static_cast<double>(x));
  double want = 0;
  for (const float x : logits) want += std::exp(static_cast<double>(x) - top);
  for (const std::int64_t tile : {1, 7, 32, 64, 100}) {
    CAPTURE(tile);
    launch::online_softmax state;
    for (std::int64_t t = 0; t < launch::tile_count(100, tile); ++t) {
      float tile_max = -INFINITY;
      for (std::int64_t j = 0; j < launch::tile_length(100, tile, t); ++j)
        tile_max = std::max(tile_max, logits[static_cast<std::size_t>(t * tile + j)]);
      launch::enter_key_tile(state, tile_max);
      for (std::int64_t j = 0; j < launch::tile_length(100, tile, t); ++j)
        state.sum += std::exp(logits[static_cast<std::size_t>(t * tile + j)] - state.max);
    }
    CHECK(state.max == static_cast<float>(top));
    CHECK(state.sum == doctest::Approx(want).epsilon(1e-6));
  }
  launch::online_softmax masked;  // a tile of -inf logits leaves the state as it is, no NaN
  CHECK(launch::enter_key_tile(masked, -INFINITY) == 1.0f);
  CHECK(masked.sum == 0.0f);
  CHECK(launch::key_weight(masked, -INFINITY) == 0.0f);  // not exp(-inf - -inf) = NaN
  CHECK(launch::inverse_sum(masked) == 0.0f);             // a row with no key to attend: zeros
  launch::enter_key_tile(masked, 2.0f);                    // a later tile with a real key
  CHECK(launch::key_weight(masked, -INFINITY) == 0.0f);
  CHECK(launch::key_weight(masked, 2.0f) == 1.0f);
}

TEST_CASE("flash reference: a query whose keys are all masked with a true -inf gets zeros, not NaN") {
  problem one(1, 5, 1, 8, 3);
  std::fill(one.key_bias.begin(), one.key_bias.end(), -INFINITY);
  std::vector<float> context(one.qkv.size(), 7.0f);
  const auto run = [&] {
    dnabert::test::flash_attention_reference<16, 16>(one.shape, one.q(), one.k(), one.v(), one.key_bias.data(), one.scale,
                                                     context.data());
  };
  run();
  for (std::int64_t r = 0; r < 5; ++r)
    for (std::int64_t c = 0; c < 8; ++c) CHECK(context[static_cast<std::size_t>(r * one.shape.row_stride + c)] == 0.0f);
  one.key_bias[3] = 0.0f;  // one key left: every query attends to it alone, its value exactly
  run();
  for (std::int64_t r = 0; r < 5; ++r)
    for (std::int64_t c = 0; c < 8; ++c)
      CHECK(context[static_cast<std::size_t>(r * one.shape.row_stride + c)] == one.v()[3 * one.shape.row_stride + c]);
}

TEST_CASE("flash reference: the kernel's tile recurrence equals the CPU backend's attention, 1e-6") {
  constexpr auto dnabert_tiles = launch::flash_tiling_for(64);
  constexpr auto wide_tiles = launch::flash_tiling_for(128);
  for (const std::int64_t seq : {1, 37, 64, 100, 130}) {
    CAPTURE(seq);
    const problem small(3, seq, 2, 8, static_cast<std::uint32_t>(seq));
    const auto want = cpu_context(small);
    check_reference<dnabert_tiles.query_tile(), dnabert_tiles.key_tile>(small, want);
    check_reference<wide_tiles.query_tile(), wide_tiles.key_tile>(small, want);
    check_reference<16, 32>(small, want);
    check_reference<5, 7>(small, want);  // tiles that divide nothing
    check_reference<1, 1>(small, want);  // one key at a time: the recurrence at every step
  }
  const problem base_width(2, 77, 2, 64, 5);  // DNABERT's head width, a sequence of two key tiles and a tail
  check_reference<dnabert_tiles.query_tile(), dnabert_tiles.key_tile>(base_width, cpu_context(base_width));
  const problem wide(2, 45, 1, 100, 6);  // a head width padded to 128
  check_reference<wide_tiles.query_tile(), wide_tiles.key_tile>(wide, cpu_context(wide));
}

}  // namespace backend_flash_attention_test
