#pragma once
// Named trainable parameters: every layer registers its tensors under their Hugging Face
// names, so loading, saving and the optimizer find them by name without knowing the layers.

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "dnabert/autograd/tape.hpp"
#include "dnabert/core/tensor.hpp"

namespace dnabert::nn {

/// How a fresh parameter is initialised (Hugging Face BertPreTrainedModel._init_weights).
enum class init_kind { normal, zeros, ones };

/// A parameter with its Hugging Face name and its initialisation rule.
template <class B>
struct named_parameter {
  std::string name;
  autograd::var<B> value;
  init_kind init = init_kind::normal;
  bool alias = false;  ///< a second name of a tied parameter (skipped by init and optimizers)
};

/// The parameters of a model in registration (state_dict) order.
template <class B>
class parameter_list {
 public:
  /// Allocates a parameter `name` of `shape` on `backend` and registers it.
  autograd::var<B> create(B& backend, std::string name, shape_type shape, init_kind init) {
    autograd::var<B> value(tensor<B>(backend, std::move(shape)), true);
    items_.push_back({std::move(name), value, init});
    return value;
  }

  /// Registers an existing parameter under a second name (tied weights).
  void alias(std::string name, const autograd::var<B>& value) { items_.push_back({std::move(name), value, init_kind::normal, true}); }

  /// All parameters, tied ones listed under each name.
  [[nodiscard]] const std::vector<named_parameter<B>>& items() const noexcept { return items_; }

  /// The parameter called `name`, or nullptr.
  [[nodiscard]] const named_parameter<B>* find(std::string_view name) const {
    for (const auto& item : items_)
      if (item.name == name) return &item;
    return nullptr;
  }

  /// Fills every parameter (or only those named in `only`, when given) per its rule:
  /// normal(0, stddev), zeros, or ones, from a host RNG seeded with `seed`.
  void initialise(B& backend, double stddev, std::uint64_t seed, const std::vector<std::string>* only = nullptr) const {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, stddev);
    std::vector<typename B::value_type> host;
    for (const auto& item : items_) {
      if (item.alias) continue;
      if (only != nullptr && std::find(only->begin(), only->end(), item.name) == only->end()) continue;
      const auto& t = item.value.value();
      host.assign(static_cast<std::size_t>(t.numel()), 0);
      for (auto& x : host) x = static_cast<typename B::value_type>(item.init == init_kind::normal ? normal(rng)
                                                                   : item.init == init_kind::ones ? 1.0
                                                                                                  : 0.0);
      upload(backend, host.data(), t.data(), t.numel());
    }
  }

 private:
  std::vector<named_parameter<B>> items_;
};

}  // namespace dnabert::nn
