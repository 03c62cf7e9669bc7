#pragma once
// The autograd tape: forward ops record a closure each; backward() runs them in reverse
// creation order (no topological sort needed). With recording off (inference) nothing is
// saved, so a forward pass keeps no activations alive beyond their use.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dnabert/core/tensor.hpp"

namespace dnabert::autograd {

/// A value in the graph and, once backward reaches it, its gradient.
template <class B>
struct node {
  tensor<B> value;
  tensor<B> grad;           ///< allocated (zeroed) on first use
  bool requires_grad = false;
};

/// Handle to a node: a tensor that may take part in differentiation.
template <class B>
class var {
 public:
  var() = default;
  /// Wraps a value; `requires_grad` marks it as something gradients flow to.
  explicit var(tensor<B> value, bool requires_grad = false) : node_(std::make_shared<node<B>>()) {
    node_->value = std::move(value);
    node_->requires_grad = requires_grad;
  }

  /// The forward value.
  [[nodiscard]] const tensor<B>& value() const { return node_->value; }
  /// Whether gradients are wanted for this value (a parameter, or anything computed from one).
  [[nodiscard]] bool requires_grad() const { return node_ && node_->requires_grad; }
  /// The gradient, allocated and zeroed on first call.
  [[nodiscard]] const tensor<B>& grad(B& backend) const {
    if (node_->grad.numel() != node_->value.numel() || node_->grad.data() == nullptr) {
      node_->grad = tensor<B>(backend, node_->value.shape());
      fill(backend, node_->grad.data(), typename B::value_type(0), node_->grad.numel());
    }
    return node_->grad;
  }
  /// Whether a gradient has been allocated.
  [[nodiscard]] bool has_grad() const { return node_ && node_->grad.data() != nullptr; }
  /// Replaces the value (same shape) for every holder of this node, e.g. with a view of
  /// memory-mapped weights.
  void rebind(tensor<B> value) const {
    if (value.shape() != node_->value.shape()) throw shape_error("rebind", node_->value.shape(), value.shape());
    node_->value = std::move(value);
  }
  /// Drops the gradient (the next grad() starts from zero).
  void clear_grad() const { node_->grad = tensor<B>(); }
  /// Shape of the value.
  [[nodiscard]] const shape_type& shape() const { return node_->value.shape(); }
  /// True when this handle holds a node.
  explicit operator bool() const noexcept { return static_cast<bool>(node_); }

 private:
  std::shared_ptr<node<B>> node_;
};

/// Records backward closures while `recording()`; replays them in reverse on backward().
template <class B>
class tape {
 public:
  /// A tape over `backend`; starts with recording off (inference).
  explicit tape(B& backend, bool recording = false) : backend_(&backend), recording_(recording) {}

  /// The backend ops run on.
  [[nodiscard]] B& backend() const noexcept { return *backend_; }
  /// Whether ops record their backward closures (training) or not (inference).
  [[nodiscard]] bool recording() const noexcept { return recording_; }
  /// Turns recording on or off.
  void set_recording(bool on) noexcept { recording_ = on; }

  /// A new value computed by an op; it requires grad when any input does and we record.
  [[nodiscard]] var<B> make(tensor<B> value, bool any_input_requires_grad) const {
    return var<B>(std::move(value), recording_ && any_input_requires_grad);
  }

  /// Records `step` to run during backward (only while recording).
  void on_backward(std::function<void()> step) {
    if (recording_) steps_.push_back(std::move(step));
  }

  /// Seeds d(loss)/d(loss) = 1 and runs every recorded step in reverse; then clears the tape.
  void backward(const var<B>& loss) {
    const auto& seed = loss.grad(*backend_);
    fill(*backend_, seed.data(), typename B::value_type(1), seed.numel());
    replay();
  }

  /// Runs backward from `output` with d(loss)/d(output) = `seed` (same shape as output).
  void backward(const var<B>& output, const tensor<B>& seed) {
    if (seed.shape() != output.shape()) throw shape_error("backward seed", output.shape(), seed.shape());
    copy(*backend_, seed.data(), output.grad(*backend_).data(), seed.numel());
    replay();
  }

  /// Forgets recorded steps (e.g. after an evaluation pass).
  void clear() { steps_.clear(); }
  /// Number of recorded steps.
  [[nodiscard]] std::size_t size() const noexcept { return steps_.size(); }

 private:
  void replay() {
    for (auto step = steps_.rbegin(); step != steps_.rend(); ++step) (*step)();
    steps_.clear();
  }

  B* backend_;
  bool recording_;
  std::vector<std::function<void()>> steps_;
};

}  // namespace dnabert::autograd
