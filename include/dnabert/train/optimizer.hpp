#pragma once
// AdamW exactly as torch.optim.AdamW with DNABERT's parameter groups, global-norm gradient
// clipping as torch.nn.utils.clip_grad_norm_, and the bookkeeping of gradient accumulation.
//
// A training step with N micro-batches (DNABERT's loop):
//   gradient_accumulation accumulation(N);
//   for each micro-batch: forward; tape.backward(loss, seed = accumulation.loss_scale());
//     // gradients add up across backward calls; dividing each loss by N is the caller's
//     // concern (or call scale_gradients(backend, params, loss_scale) before clipping)
//     if (accumulation.complete_micro_batch()) {
//       clip_grad_norm(backend, params, 1.0);
//       optimizer.step(schedule.lr(optimizer.steps_taken()));
//       zero_grad(params);
//     }

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dnabert/autograd/tape.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/tensor.hpp"
#include "dnabert/io/tensor_map.hpp"
#include "dnabert/nn/parameter.hpp"
#include "dnabert/ops/multi_tensor.hpp"

namespace dnabert::train {

/// AdamW hyper-parameters; the defaults are DNABERT's pre-training ones (the run_pretrain.py command in
/// section 2.2 of https://github.com/jerryji1993/DNABERT/blob/master/README.md).
struct adamw_options {
  double lr = 4e-4;
  double beta1 = 0.9;
  double beta2 = 0.98;
  double eps = 1e-6;
  double weight_decay = 0.01;

  /// DNABERT pre-training: lr 4e-4, betas (0.9, 0.98), eps 1e-6, weight decay 0.01.
  static adamw_options pretraining() { return {}; }
  /// DNABERT fine-tuning (README section 3.3, run_finetune.py defaults): lr 2e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0.01.
  static adamw_options finetuning() { return {2e-4, 0.9, 0.999, 1e-8, 0.01}; }
};

/// Whether DNABERT decays a parameter: not when its name contains "bias" or "LayerNorm.weight".
inline bool uses_weight_decay(std::string_view name) {
  return name.find("bias") == std::string_view::npos && name.find("LayerNorm.weight") == std::string_view::npos;
}

/// Drops every gradient (torch's zero_grad with set_to_none): a parameter that then gets no
/// gradient is skipped by the optimizer, as torch skips grad None.
template <class B>
void zero_grad(const nn::parameter_list<B>& params) {
  for (const auto& item : params.items()) item.value.clear_grad();
}

/// Multiplies every present gradient by `factor` (e.g. 1/N after N summed micro-batches).
template <class B>
void scale_gradients(B& backend, const nn::parameter_list<B>& params, double factor) {
  for (const auto& item : params.items()) {
    if (item.alias || !item.value.has_grad()) continue;
    const auto& grad = item.value.grad(backend);
    scale(backend, grad.data(), factor, grad.numel());
  }
}

/// Global L2 norm of all present gradients (aliases counted once), as torch.nn.utils.clip_grad_norm_.
template <class B>
double gradient_norm(B& backend, const nn::parameter_list<B>& params) {
  std::vector<ops::tensor_extent<typename B::value_type>> grads;
  for (const auto& item : params.items()) {
    if (item.alias || !item.value.has_grad()) continue;
    const auto& grad = item.value.grad(backend);
    grads.push_back({grad.data(), grad.numel()});
  }
  return std::sqrt(sum_of_squares(backend, std::span<const ops::tensor_extent<typename B::value_type>>(grads)));
}

/// Scales the gradients by max_norm / (norm + 1e-6) when that is below 1, as
/// torch.nn.utils.clip_grad_norm_; returns the norm before clipping (non-finite when a gradient
/// is: the caller decides whether to stop or skip the step).
template <class B>
double clip_grad_norm(B& backend, const nn::parameter_list<B>& params, double max_norm) {
  const double norm = gradient_norm(backend, params);
  const double coefficient = max_norm / (norm + 1e-6);
  if (coefficient < 1.0) scale_gradients(backend, params, coefficient);
  return norm;
}

/// Counts micro-batches of one optimizer step (DNABERT's gradient_accumulation_steps).
class gradient_accumulation {
 public:
  /// Accumulates `micro_batches` (>= 1) backward passes per optimizer step.
  explicit gradient_accumulation(std::int64_t micro_batches) : micro_batches_(micro_batches) {
    if (micro_batches < 1)
      throw config_error("gradient accumulation needs >= 1 micro-batch per step, found " + std::to_string(micro_batches));
  }
  /// The factor each micro-batch loss is scaled by so the summed gradient is their mean (1/N).
  [[nodiscard]] double loss_scale() const noexcept { return 1.0 / static_cast<double>(micro_batches_); }
  /// Records one finished backward pass; true when the optimizer should step now.
  [[nodiscard]] bool complete_micro_batch() noexcept {
    done_ = (done_ + 1) % micro_batches_;
    return done_ == 0;
  }
  /// Micro-batches per optimizer step.
  [[nodiscard]] std::int64_t micro_batches() const noexcept { return micro_batches_; }

 private:
  std::int64_t micro_batches_;
  std::int64_t done_ = 0;
};

/// torch.optim.AdamW over a parameter list, with DNABERT's no-decay group (uses_weight_decay).
/// Moments and step counts are kept per parameter, as torch does, so that a parameter without a
/// gradient in some step is left untouched and keeps its own bias correction.
template <class B>
class adamw {
 public:
  /// An optimizer for the non-alias parameters of `params` (the list as it is now), moments zero.
  /// On a backend whose parameters are not float32 (bf16) it also keeps a float32 master copy of
  /// every parameter: updates smaller than a bf16 step accumulate there instead of vanishing.
  adamw(B& backend, const nn::parameter_list<B>& params, adamw_options options = adamw_options::pretraining())
      : backend_(&backend), options_(options) {
    for (const auto& item : params.items()) {
      if (item.alias) continue;
      const auto& shape = item.value.shape();
      const std::vector<float> zeros(static_cast<std::size_t>(element_count(shape)), 0.0f);
      slot s{item.name, item.value, uses_weight_decay(item.name), float_tensor(backend, shape), float_tensor(backend, shape),
             float_tensor(), 0};
      upload(backend, zeros.data(), s.exp_avg.data(), s.exp_avg.numel());
      upload(backend, zeros.data(), s.exp_avg_sq.data(), s.exp_avg_sq.numel());
      if constexpr (keeps_master_weights) {
        s.master = float_tensor(backend, shape);
        sync_master(s);
      }
      slots_.push_back(std::move(s));
    }
  }

  /// One update of every parameter that has a gradient, with learning rate `lr` (from a schedule),
  /// all in one multi-tensor op.
  void step(double lr) {
    std::vector<ops::adamw_tensor<typename B::value_type>> tensors;
    for (auto& s : slots_) {
      if (!s.param.has_grad()) continue;
      ++s.steps;
      const auto t = static_cast<double>(s.steps);
      const auto& value = s.param.value();
      tensors.push_back({value.data(), s.param.grad(*backend_).data(), s.exp_avg.data(), s.exp_avg_sq.data(),
                         keeps_master_weights ? s.master.data() : nullptr, value.numel(),
                         s.decays ? options_.weight_decay : 0.0, 1.0 - std::pow(options_.beta1, t),
                         1.0 - std::pow(options_.beta2, t)});
    }
    const ops::adamw_hyper hyper{lr, options_.beta1, options_.beta2, options_.eps};
    adamw_update(*backend_, std::span<const ops::adamw_tensor<typename B::value_type>>(tensors), hyper);
    ++steps_taken_;
  }

  /// One update with the constant rate of the options.
  void step() { step(options_.lr); }

  /// Optimizer steps taken (the schedule's position).
  [[nodiscard]] std::int64_t steps_taken() const noexcept { return steps_taken_; }
  /// The hyper-parameters.
  [[nodiscard]] const adamw_options& options() const noexcept { return options_; }
  /// Whether the parameter `name` is weight-decayed; throws input_error for an unknown name.
  [[nodiscard]] bool decays(std::string_view name) const { return find_slot(name).decays; }

  /// The state for a checkpoint: "<param>.exp_avg", "<param>.exp_avg_sq" (float32, the
  /// parameter's shape) and "<param>.step" (shape [1]), plus "optimizer.steps_taken" ([1]);
  /// with master weights also "<param>.master" (float32), so that a bf16 run resumes exactly.
  /// Steps are stored as float32, exact up to 2^24 (16.7 million steps).
  [[nodiscard]] io::tensor_map state() const {
    io::tensor_map out;
    for (const auto& s : slots_) {
      out.emplace(s.name + ".exp_avg", host_copy(s.exp_avg));
      out.emplace(s.name + ".exp_avg_sq", host_copy(s.exp_avg_sq));
      out.emplace(s.name + ".step", io::make_owned_tensor({1}, {static_cast<float>(s.steps)}));
      if constexpr (keeps_master_weights) out.emplace(s.name + master_suffix, host_copy(s.master));
    }
    out.emplace(std::string(steps_taken_key), io::make_owned_tensor({1}, {static_cast<float>(steps_taken_)}));
    return out;
  }

  /// Restores state() read back from `source` (a file name for messages). Throws format_error
  /// when an entry is missing or unexpected, a shape differs, a step is not a whole number in
  /// [0, 2^24], or a moment is non-finite (or exp_avg_sq negative); nothing changes then.
  /// "<param>.master" entries are optional: where present they become the parameter's value (and
  /// master copy); a bf16 optimizer without them takes its master copies from the parameters.
  void load_state(const io::tensor_map& state, std::string_view source) {
    std::vector<std::vector<float>> moments;
    std::vector<std::optional<std::vector<float>>> masters;
    std::vector<std::int64_t> steps;
    std::size_t used = 1;
    const std::int64_t taken = read_step(state, source, std::string(steps_taken_key));
    for (const auto& s : slots_) {
      moments.push_back(read_moment(state, source, s.name + ".exp_avg", s.exp_avg.shape(), false));
      moments.push_back(read_moment(state, source, s.name + ".exp_avg_sq", s.exp_avg_sq.shape(), true));
      steps.push_back(read_step(state, source, s.name + ".step"));
      used += 3;
      masters.emplace_back();
      if (state.contains(s.name + master_suffix)) {
        masters.back() = read_moment(state, source, s.name + master_suffix, s.param.value().shape(), false);
        ++used;
      }
    }
    if (used != state.size())  // every expected entry is present, so some other one is too
      for (const auto& entry_in_state : state)
        if (!expected_entry(entry_in_state.first))
          throw format_error(source, "optimizer state has an entry for no parameter: '" + entry_in_state.first + "'");
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      slot& s = slots_[i];
      upload(*backend_, moments[2 * i].data(), s.exp_avg.data(), s.exp_avg.numel());
      upload(*backend_, moments[2 * i + 1].data(), s.exp_avg_sq.data(), s.exp_avg_sq.numel());
      s.steps = steps[i];
      if (masters[i]) {
        const std::vector<typename B::value_type> rounded(masters[i]->begin(), masters[i]->end());
        upload(*backend_, rounded.data(), s.param.value().data(), s.param.value().numel());
      }
      if constexpr (keeps_master_weights) {
        if (masters[i])
          upload(*backend_, masters[i]->data(), s.master.data(), s.master.numel());
        else
          sync_master(s);
      }
    }
    steps_taken_ = taken;
  }

 private:
  static constexpr std::string_view steps_taken_key = "optimizer.steps_taken";
  static constexpr double largest_exact_step = 16777216.0;  // 2^24: float32 holds every integer up to it

  // Moments (and master weights) are float32 whatever the parameters' type, as torch.amp keeps them.
  using float_tensor = tensor<B, float>;
  static constexpr bool keeps_master_weights = !std::is_same_v<typename B::value_type, float>;
  static constexpr char master_suffix[] = ".master";

  struct slot {
    std::string name;
    autograd::var<B> param;
    bool decays;
    float_tensor exp_avg;
    float_tensor exp_avg_sq;
    float_tensor master;  ///< float32 copy of the parameter (empty when the parameters are float32)
    std::int64_t steps;
  };

  // The master copy from the parameter's current (rounded) value.
  void sync_master(slot& s) const {
    const auto widened = host_floats(*backend_, s.param.value());
    upload(*backend_, widened.data(), s.master.data(), s.master.numel());
  }

  const slot& find_slot(std::string_view name) const {
    for (const auto& s : slots_)
      if (s.name == name) return s;
    throw input_error("the optimizer has no parameter '" + std::string(name) + "'");
  }

  bool expected_entry(std::string_view name) const {
    if (name == steps_taken_key) return true;
    for (const auto& s : slots_)
      if (name == s.name + ".exp_avg" || name == s.name + ".exp_avg_sq" || name == s.name + ".step" ||
          name == s.name + master_suffix)
        return true;
    return false;
  }

  io::loaded_tensor host_copy(const float_tensor& t) const {
    return io::make_owned_tensor(t.shape(), host_values(*backend_, t));
  }

  static const io::loaded_tensor& entry(const io::tensor_map& state, std::string_view source, const std::string& name) {
    const auto found = state.find(name);
    if (found == state.end()) throw format_error(source, "optimizer state lacks '" + name + "'");
    return found->second;
  }

  static std::int64_t read_step(const io::tensor_map& state, std::string_view source, const std::string& name) {
    const auto& t = entry(state, source, name);
    if (t.shape != shape_type{1} || t.values.size() != 1)
      throw format_error(source, "'" + name + "': expected shape [1] but found " + shape_to_string(t.shape));
    const double value = t.values[0];
    if (!(value >= 0 && value <= largest_exact_step && value == std::floor(value)))
      throw format_error(source, "'" + name + "': expected a whole step count in [0, 16777216] but found " +
                                     std::to_string(value));
    return static_cast<std::int64_t>(value);
  }

  std::vector<float> read_moment(const io::tensor_map& state, std::string_view source,
                                                  const std::string& name, const shape_type& shape,
                                                  bool non_negative) const {
    const auto& t = entry(state, source, name);
    if (t.shape != shape || static_cast<std::int64_t>(t.values.size()) != element_count(shape))
      throw format_error(source, "'" + name + "': expected shape " + shape_to_string(shape) + " but found " +
                                     shape_to_string(t.shape));
    for (std::size_t i = 0; i < t.values.size(); ++i) {
      const float x = t.values[i];
      if (!std::isfinite(x) || (non_negative && x < 0))
        throw format_error(source, "'" + name + "': element " + std::to_string(i) + " is " + std::to_string(x) +
                                       ", expected a finite" + (non_negative ? " non-negative" : "") + " value");
    }
    return {t.values.begin(), t.values.end()};
  }

  B* backend_;
  adamw_options options_;
  std::vector<slot> slots_;
  std::int64_t steps_taken_ = 0;
};

}  // namespace dnabert::train
