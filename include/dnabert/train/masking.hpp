#pragma once
// DNABERT's masked-language-model masking (`mask_tokens` in
// https://github.com/jerryji1993/DNABERT/blob/master/examples/run_pretrain.py): centres widened to k
// contiguous k-mers, then 80 % [MASK] / 10 % random id / 10 % unchanged, from a counter-based RNG.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dnabert/core/rng.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/vocabulary.hpp"
#include "dnabert/tokenizer/sequence_tokenizer.hpp"
#include "dnabert/tokenizer/token_batch.hpp"

namespace dnabert::train {

/// Label of positions that are not predicted (PyTorch CrossEntropyLoss's ignore_index).
inline constexpr std::int32_t ignored_label = -100;

/// Centre probability p for k: DNABERT's 0.025 for k=6, the spec's derived 0.053/0.040/0.032 for
/// k=3/4/5, and otherwise 1 - 0.85^(1/k), so that about 15 % of interior tokens are masked.
inline double default_mask_probability(int k) {
  check_k(k);
  switch (k) {
    case 3: return 0.053;
    case 4: return 0.040;
    case 5: return 0.032;
    case 6: return 0.025;
    default: return 1.0 - std::pow(0.85, 1.0 / k);
  }
}

/// How far a centre's span reaches: positions c - before .. c + after, k tokens in all.
struct mask_span {
  int before = 0;
  int after = 0;
};

/// The span around a centre for k: -(k-1)/2 .. +k/2, which is DNABERT's MASK_LIST for k = 3..6
/// ([-1,+1], [-1,+1,+2], [-2..+2], [-2..+3]) and the same symmetric rule for every other k.
inline mask_span mask_span_for_k(int k) {
  check_k(k);
  return {(k - 1) / 2, k / 2};
}

/// What mask_tokens needs besides the batch.
struct masking_options {
  int k = 6;                                   ///< the model's k-mer size (1..15)
  double centre_probability = 0.025;           ///< p, the chance that a real k-mer is a span centre
  token_id vocab_size = vocab_size_for_k(6);   ///< random replacements are drawn from [0, vocab_size)
  std::uint64_t seed = 42;                     ///< the run's seed; with the step it fixes every draw
  special_token_ids specials = {};             ///< the tokenizer's [CLS], [SEP], [PAD], [MASK] (DNABERT's by default)
};

/// DNABERT's masking options for k: default probability and the 4^k + 5 vocabulary.
inline masking_options default_masking_options(int k, std::uint64_t seed = 42) {
  return {k, default_mask_probability(k), vocab_size_for_k(k), seed};
}

/// A masked batch: inputs to feed the model and labels (original id where masked, -100 elsewhere).
struct masked_batch {
  std::size_t rows = 0;
  std::size_t length = 0;
  std::vector<token_id> input_ids;   ///< row-major [rows, length]
  std::vector<std::int32_t> labels;  ///< row-major [rows, length]
};

namespace detail {

/// The independent uniform draws made for every token.
enum class mask_draw : std::uint64_t { centre = 0, replace_with_mask = 1, replace_with_random = 2, random_id = 3 };

/// Longest row a batch may have: the counter packs the position into 30 bits.
inline constexpr std::size_t max_masked_length = std::size_t{1} << 30;

/// Uniform draw `draw` for (row, position) of the batch at `step`. The stream is
/// mix64(seed + mix64(step)); the counter is row·2^32 + position·4 + draw, so a draw does not
/// depend on how the batch was padded, and a resumed run redraws identically from (seed, step).
inline double mask_uniform(std::uint64_t seed, std::uint64_t step, std::size_t row, std::size_t position,
                           mask_draw draw) {
  const std::uint64_t stream = mix64(seed + mix64(step));
  const std::uint64_t counter = (std::uint64_t{row} << 32) + (std::uint64_t{position} << 2) +
                                static_cast<std::uint64_t>(draw);
  return uniform_from_counter(stream, counter);
}

/// Real tokens may be masked; [CLS], [SEP], [PAD] (`specials`' ids) and padding never ([UNK] and
/// [MASK] may, as in DNABERT).
inline bool is_maskable(token_id id, std::int32_t attention, const special_token_ids& specials) {
  return attention != 0 && id != specials.cls && id != specials.sep && id != specials.pad;
}

/// Throws config_error for options mask_tokens cannot honour.
inline void check_masking_options(const masking_options& options) {
  check_k(options.k);
  if (!(options.centre_probability >= 0.0 && options.centre_probability <= 1.0))
    throw config_error("mask centre probability must be between 0 and 1, got " +
                       std::to_string(options.centre_probability));
  if (options.vocab_size < special::count)
    throw config_error("vocabulary size for masking must be at least " + std::to_string(special::count) + ", got " +
                       std::to_string(options.vocab_size));
  if (options.specials.mask < 0 || options.specials.mask >= options.vocab_size)
    throw config_error("masking needs a [MASK] token in the vocabulary (the tokenizer has none)");
}

/// Throws input_error unless the batch's arrays hold rows × length entries and rows fit the counter.
inline void check_batch_shape(const token_batch& batch) {
  const std::size_t cells = batch.rows * batch.length;
  if ((batch.length != 0 && cells / batch.length != batch.rows) || batch.input_ids.size() != cells ||
      batch.attention_mask.size() != cells)
    throw input_error("token batch of " + std::to_string(batch.rows) + " x " + std::to_string(batch.length) +
                      " holds " + std::to_string(batch.input_ids.size()) + " ids and " +
                      std::to_string(batch.attention_mask.size()) + " mask entries");
  if (batch.length > max_masked_length || std::uint64_t{batch.rows} > (std::uint64_t{1} << 31))
    throw input_error("token batch of " + std::to_string(batch.rows) + " x " + std::to_string(batch.length) +
                      " is too large to mask (at most 2^31 rows of 2^30 tokens)");
}

}  // namespace detail

/// DNABERT's mask_tokens on `batch` for training step `step`: every maskable token is a centre
/// with probability p; each centre masks positions c-before .. c+after, clipped to the row's first
/// and last maskable positions (DNABERT's 1..end) and skipping any special token inside; each
/// masked token is then [MASK] (80 %), a uniform id in [0, vocab_size) (10 %) or kept (10 %).
inline masked_batch mask_tokens(const token_batch& batch, const masking_options& options, std::uint64_t step) {
  detail::check_masking_options(options);
  detail::check_batch_shape(batch);
  const mask_span span = mask_span_for_k(options.k);
  masked_batch out{batch.rows, batch.length, batch.input_ids,
                   std::vector<std::int32_t>(batch.input_ids.size(), ignored_label)};
  std::vector<bool> masked(batch.length);
  for (std::size_t row = 0; row < batch.rows; ++row) {
    const std::size_t base = row * batch.length;
    const auto maskable = [&](std::size_t t) {
      return detail::is_maskable(batch.input_ids[base + t], batch.attention_mask[base + t], options.specials);
    };
    std::size_t first = batch.length;
    std::size_t last = 0;
    for (std::size_t t = 0; t < batch.length; ++t)
      if (maskable(t)) {
        if (first == batch.length) first = t;
        last = t;
      }
    if (first == batch.length) continue;
    masked.assign(batch.length, false);
    for (std::size_t centre = first; centre <= last; ++centre) {
      if (!maskable(centre) ||
          detail::mask_uniform(options.seed, step, row, centre, detail::mask_draw::centre) >= options.centre_probability)
        continue;
      const std::size_t from = centre - std::min(centre - first, static_cast<std::size_t>(span.before));
      const std::size_t to = std::min(last, centre + static_cast<std::size_t>(span.after));
      for (std::size_t t = from; t <= to; ++t) masked[t] = masked[t] || maskable(t);
    }
    for (std::size_t t = first; t <= last; ++t) {
      if (!masked[t]) continue;
      const std::size_t cell = base + t;
      out.labels[cell] = batch.input_ids[cell];
      if (detail::mask_uniform(options.seed, step, row, t, detail::mask_draw::replace_with_mask) < 0.8) {
        out.input_ids[cell] = options.specials.mask;
      } else if (detail::mask_uniform(options.seed, step, row, t, detail::mask_draw::replace_with_random) < 0.5) {
        const double u = detail::mask_uniform(options.seed, step, row, t, detail::mask_draw::random_id);
        out.input_ids[cell] = static_cast<token_id>(u * static_cast<double>(options.vocab_size));
      }
    }
  }
  return out;
}

}  // namespace dnabert::train
