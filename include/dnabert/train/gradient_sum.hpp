#pragma once
// The gradients of one optimizer step, summed over its micro-batches and the ranks of a
// data-parallel run in one fixed order: micro-batch 0 + 1 + 2 + ..., each micro-batch's gradient
// computed from zero. That is what makes `-np N` with one micro-batch per rank give the bits
// one process gives accumulating N micro-batches.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dnabert/core/tensor.hpp"
#include "dnabert/nn/parameter.hpp"
#include "dnabert/parallel/communicator.hpp"

namespace dnabert::train {

/// A flat buffer holding every (non-alias) parameter's gradient, filled from the parameters
/// after each micro-batch's backward pass and given back to them before the optimizer step.
template <class B>
class gradient_sum {
 public:
  using value_type = typename B::value_type;

  /// A buffer for the gradients of `params` (the list as it is now).
  gradient_sum(B& backend, const nn::parameter_list<B>& params) : backend_(&backend) {
    std::int64_t total = 0;
    for (const auto& item : params.items()) {
      if (item.alias) continue;
      offsets_.push_back(total);
      total += item.value.value().numel();
    }
    present_.assign(offsets_.size(), 0.0);
    flat_ = tensor<B>(backend, {total});
  }

  /// Moves the gradients of the first micro-batch into the buffer (the parameters' are dropped).
  void start(const nn::parameter_list<B>& params) { gather(params, false); }

  /// Adds the gradients of the next micro-batch into the buffer (the parameters' are dropped).
  void add(const nn::parameter_list<B>& params) { gather(params, true); }

  /// Sums the buffers of all ranks in rank order (the same bits everywhere).
  void sum_over(parallel::communicator& ranks) {
    if (ranks.size() == 1) return;
    ranks.sum_in_rank_order(present_.data(), present_.size());
    const auto n = static_cast<std::size_t>(flat_.numel());
    if constexpr (B::host_memory) {
      ranks.sum_in_rank_order(flat_.data(), n);
    } else if (ranks.buffers() == parallel::memory_space::device) {
      ranks.sum_in_rank_order(flat_.data(), n);
    } else {  // a host transport (MPI) for device gradients: through host memory
      staging_.resize(n);
      download(*backend_, flat_.data(), staging_.data(), static_cast<std::int64_t>(n));
      ranks.sum_in_rank_order(staging_.data(), n);
      upload(*backend_, staging_.data(), flat_.data(), static_cast<std::int64_t>(n));
    }
  }

  /// Gives the sums back as the parameters' gradients; a parameter no micro-batch on any rank
  /// reached stays without one (the optimizer skips it, as torch skips grad None).
  void give_back(const nn::parameter_list<B>& params) {
    std::size_t i = 0;
    for (const auto& item : params.items()) {
      if (item.alias) continue;
      if (present_[i] > 0) {
        const auto& grad = item.value.grad(*backend_);
        copy(*backend_, flat_.data() + offsets_[i], grad.data(), grad.numel());
      }
      ++i;
    }
  }

 private:
  void gather(const nn::parameter_list<B>& params, bool adding) {
    std::size_t i = 0;
    for (const auto& item : params.items()) {
      if (item.alias) continue;
      value_type* slot = flat_.data() + offsets_[i];
      const std::int64_t n = item.value.value().numel();
      if (item.value.has_grad()) {
        const auto& grad = item.value.grad(*backend_);
        if (adding) accumulate(*backend_, slot, grad.data(), n);
        else copy(*backend_, grad.data(), slot, n);
        present_[i] = 1.0;
        item.value.clear_grad();
      } else if (!adding) {
        fill(*backend_, slot, value_type(0), n);
        present_[i] = 0.0;
      }
      ++i;
    }
  }

  B* backend_;
  std::vector<std::int64_t> offsets_;  // where each non-alias parameter's gradient starts
  std::vector<double> present_;        // whether a micro-batch reached it (summed over ranks: > 0)
  tensor<B> flat_;
  std::vector<value_type> staging_;    // host copy for a host transport of device gradients
};

}  // namespace dnabert::train
