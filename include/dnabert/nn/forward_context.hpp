#pragma once
// What one forward pass threads through the layers: the tape (recording = training) and the
// dropout stream, whose offset advances by each mask's size so every mask is reproducible.

#include <cstdint>
#include <functional>

#include "dnabert/autograd/functions.hpp"

namespace dnabert::nn {

/// The tape and dropout stream of one forward pass.
template <class B>
struct forward_context {
  autograd::tape<B>& tape;
  std::uint64_t seed = 0;
  std::uint64_t offset = 0;
  /// Off for evaluation-mode gradients (Hugging Face's model.eval() with a backward pass).
  bool dropout_enabled = true;
  /// When set on a recording pass, called during backward as each part of the model has its
  /// gradients complete, with the part's number (the model's parameter_part: the head first,
  /// the embeddings last), so that a data-parallel run sums them while backward goes on.
  std::function<void(int)> gradients_ready = {};

  /// Whether dropout applies: only while training (the tape records) and enabled.
  [[nodiscard]] bool dropout_active() const noexcept { return tape.recording() && dropout_enabled; }

  /// Dropout with probability p on the next stretch of the stream (identity unless active).
  autograd::var<B> dropout(const autograd::var<B>& x, double p) {
    if (!dropout_active() || p <= 0) return x;
    const std::uint64_t start = offset;
    offset += static_cast<std::uint64_t>(x.value().numel());
    return autograd::dropout(tape, x, p, seed, start);
  }

  /// Reserves `count` draws of the stream and returns their first offset.
  std::uint64_t reserve(std::int64_t count) {
    const std::uint64_t start = offset;
    offset += static_cast<std::uint64_t>(count);
    return start;
  }
};

}  // namespace dnabert::nn
