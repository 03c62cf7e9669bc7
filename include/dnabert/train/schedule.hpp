#pragma once
// Learning-rate schedules: linear warmup from 0, then the rate's shape for the rest of the run.
// Linear decay to 0 is DNABERT's (transformers' get_linear_schedule_with_warmup); constant and
// cosine are transformers' get_constant_schedule_with_warmup and get_cosine_schedule_with_warmup,
// for small models that need many updates at their peak rate.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>

#include "dnabert/core/error.hpp"

namespace dnabert::train {

/// What the rate does after warmup.
enum class schedule_shape {
  linear,    ///< decays linearly, reaching 0 at the last step (DNABERT)
  constant,  ///< stays at the peak
  cosine,    ///< follows half a cosine from the peak to 0 at the last step
};

/// Linear warmup over `warmup_steps`, then `shape` until `total_steps`.
class lr_schedule {
 public:
  /// A schedule peaking at `peak_lr`; throws config_error on negative steps or a negative rate.
  lr_schedule(double peak_lr, std::int64_t warmup_steps, std::int64_t total_steps, schedule_shape shape = schedule_shape::linear)
      : peak_lr_(peak_lr), warmup_steps_(warmup_steps), total_steps_(total_steps), shape_(shape) {
    if (!(peak_lr >= 0)) throw config_error("learning rate must be >= 0, found " + std::to_string(peak_lr));
    if (warmup_steps < 0 || total_steps < 0)
      throw config_error("warmup and total steps must be >= 0, found warmup " + std::to_string(warmup_steps) +
                         " and total " + std::to_string(total_steps));
  }

  /// The rate for the update after `completed_steps` optimizer steps (the first update uses
  /// lr(0), which is 0 during warmup, as in transformers).
  [[nodiscard]] double lr(std::int64_t completed_steps) const {
    const auto step = static_cast<double>(completed_steps);
    if (completed_steps < warmup_steps_) return peak_lr_ * step / static_cast<double>(std::max<std::int64_t>(1, warmup_steps_));
    if (shape_ == schedule_shape::constant) return peak_lr_;
    const double decay = static_cast<double>(std::max<std::int64_t>(1, total_steps_ - warmup_steps_));
    if (shape_ == schedule_shape::cosine) {
      const double done = std::min(1.0, (step - static_cast<double>(warmup_steps_)) / decay);  // share of the decay behind
      return peak_lr_ * 0.5 * (1.0 + std::cos(std::numbers::pi * done));
    }
    return peak_lr_ * std::max(0.0, (static_cast<double>(total_steps_) - step) / decay);
  }

  /// The peak rate.
  [[nodiscard]] double peak_lr() const noexcept { return peak_lr_; }
  /// Steps of warmup.
  [[nodiscard]] std::int64_t warmup_steps() const noexcept { return warmup_steps_; }
  /// Step at which a decaying rate reaches 0.
  [[nodiscard]] std::int64_t total_steps() const noexcept { return total_steps_; }
  /// What the rate does after warmup.
  [[nodiscard]] schedule_shape shape() const noexcept { return shape_; }

 private:
  double peak_lr_;
  std::int64_t warmup_steps_;
  std::int64_t total_steps_;
  schedule_shape shape_;
};

/// Warmup steps as DNABERT's fine-tuning computes them from a fraction: int(fraction * total).
inline std::int64_t warmup_from_fraction(double fraction, std::int64_t total_steps) {
  if (!(fraction >= 0 && fraction <= 1)) throw config_error("warmup fraction must be in [0, 1], found " + std::to_string(fraction));
  return static_cast<std::int64_t>(fraction * static_cast<double>(total_steps));
}

}  // namespace dnabert::train
