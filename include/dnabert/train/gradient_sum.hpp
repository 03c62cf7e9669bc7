#pragma once
// The gradients of one optimizer step, summed over its micro-batches and the ranks of a
// data-parallel run in one fixed order: micro-batch 0 + 1 + 2 + ..., each micro-batch's gradient
// computed from zero. That is what makes `-np N` with one micro-batch per rank give the bits
// one process gives accumulating N micro-batches. The model's parts (embeddings, each encoder
// layer, the head) lie in the buffer one after the other, so that during the last micro-batch's
// backward pass each part is summed over the ranks as soon as backward has finished it.
// Gradients narrower than float (bf16) are summed in float and rounded once, when given back.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dnabert/core/tensor.hpp"
#include "dnabert/nn/parameter.hpp"
#include "dnabert/parallel/communicator.hpp"

namespace dnabert::train {

/// A flat buffer holding every (non-alias) parameter's gradient, part by part, filled from the
/// parameters after each micro-batch's backward pass and given back to them before the
/// optimizer step.
template <class B>
class gradient_sum {
 public:
  using value_type = typename B::value_type;
  /// What the sums are kept in: float for a narrower value_type, else value_type.
  using sum_type = std::conditional_t<(sizeof(value_type) < sizeof(float)), float, value_type>;

  /// A buffer for the gradients of `params` (the list as it is now); `part_of(name)` numbers
  /// each parameter's part from 0 (none: all in part 0).
  gradient_sum(B& backend, const nn::parameter_list<B>& params, const std::function<int(std::string_view)>& part_of = {})
      : backend_(&backend) {
    for (const auto& item : params.items()) {
      if (item.alias) continue;
      const int part = part_of ? part_of(item.name) : 0;
      parts_.push_back(part);
      if (static_cast<std::size_t>(part) >= ranges_.size()) ranges_.resize(static_cast<std::size_t>(part) + 1);
      ranges_[static_cast<std::size_t>(part)].count += item.value.value().numel();
    }
    std::int64_t total = 0;
    for (auto& stretch : ranges_) {
      stretch.offset = total;
      total += stretch.count;
    }
    std::vector<std::int64_t> next;  // where each part's next parameter goes
    for (const auto& part : ranges_) next.push_back(part.offset);
    std::size_t i = 0;
    for (const auto& item : params.items()) {
      if (item.alias) continue;
      auto& at = next[static_cast<std::size_t>(parts_[i++])];
      offsets_.push_back(at);
      at += item.value.value().numel();
    }
    present_.assign(offsets_.size(), 0.0);
    taken_.assign(ranges_.size(), false);
    started_.assign(ranges_.size(), false);
    flat_ = tensor<B, sum_type>(backend, {total});
  }

  /// Whether parts can be summed over `ranks` while backward runs: the buffer is where the
  /// transport reads (host memory over MPI, device memory over NCCL).
  [[nodiscard]] bool overlaps(const parallel::communicator& ranks) const {
    return ranks.size() > 1 && (B::host_memory || ranks.buffers() == parallel::memory_space::device);
  }

  /// Moves (the step's first micro-batch) or adds (the next ones) the gradients of `part`'s
  /// parameters into the buffer; the parameters' are dropped.
  void take_part(int part, const nn::parameter_list<B>& params, bool first) {
    gather(params, first, part);
    taken_[static_cast<std::size_t>(part)] = true;
  }

  /// take_part for every part this micro-batch has not given yet; ends the micro-batch.
  void take_rest(const nn::parameter_list<B>& params, bool first) {
    for (std::size_t p = 0; p < ranges_.size(); ++p)
      if (!taken_[p]) gather(params, first, static_cast<int>(p));
    taken_.assign(ranges_.size(), false);
  }

  /// Queues the sum of `part` over `ranks` (overlaps(ranks) must hold), and moves the queued
  /// sums on, one at a time in queue order (every rank starts its collectives in that order).
  void start_sum(int part, parallel::communicator& ranks) {
    started_[static_cast<std::size_t>(part)] = true;
    const auto& range = ranges_[static_cast<std::size_t>(part)];
    pending_.push_back(ranks.start_sum_in_rank_order(flat_.data() + range.offset, static_cast<std::size_t>(range.count),
                                                     parallel::element_type_of<sum_type>()));
    while (next_pending_ < pending_.size() && pending_[next_pending_]->progress()) ++next_pending_;
  }

  /// Completes the sum over `ranks`: the parts not started yet are summed, the last part first
  /// (backward's order, so that every rank starts the same sums in the same order), then every
  /// sum is waited for.
  void sum_over(parallel::communicator& ranks) {
    if (ranks.size() > 1) {
      if (overlaps(ranks)) {
        for (std::size_t p = ranges_.size(); p-- > 0;)
          if (!started_[p]) start_sum(static_cast<int>(p), ranks);
        for (const auto& sum : pending_) sum->wait();
      } else {  // a host transport (MPI) for device gradients: through host memory, at the end
        const auto n = static_cast<std::size_t>(flat_.numel());
        staging_.resize(n);
        download(*backend_, flat_.data(), staging_.data(), static_cast<std::int64_t>(n));
        ranks.sum_in_rank_order(staging_.data(), n);
        upload(*backend_, staging_.data(), flat_.data(), static_cast<std::int64_t>(n));
      }
      ranks.sum_in_rank_order(present_.data(), present_.size());
    }
    pending_.clear();
    next_pending_ = 0;
    started_.assign(ranges_.size(), false);
  }

  /// Gives the sums times `factor` back as the parameters' gradients; a parameter no micro-batch
  /// on any rank reached stays without one (the optimizer skips it, as torch skips grad None).
  void give_back(const nn::parameter_list<B>& params, double factor = 1.0) {
    std::size_t i = 0;
    for (const auto& item : params.items()) {
      if (item.alias) continue;
      if (present_[i] > 0) {
        const auto& grad = item.value.grad(*backend_);
        if constexpr (std::is_same_v<sum_type, value_type>) {
          copy(*backend_, flat_.data() + offsets_[i], grad.data(), grad.numel());
          if (factor != 1.0) scale(*backend_, grad.data(), factor, grad.numel());
        } else {
          round_scaled(*backend_, flat_.data() + offsets_[i], factor, grad.data(), grad.numel());
        }
      }
      ++i;
    }
  }

 private:
  struct range {
    std::int64_t offset = 0;
    std::int64_t count = 0;
  };

  void gather(const nn::parameter_list<B>& params, bool first, int part) {
    std::size_t i = 0;
    for (const auto& item : params.items()) {
      if (item.alias) continue;
      if (parts_[i] == part) {
        sum_type* slot = flat_.data() + offsets_[i];
        const std::int64_t n = item.value.value().numel();
        if (item.value.has_grad()) {
          const auto& grad = item.value.grad(*backend_);
          if constexpr (std::is_same_v<sum_type, value_type>) {
            if (first) copy(*backend_, grad.data(), slot, n);
            else accumulate(*backend_, slot, grad.data(), n);
          } else {
            if (first) clear(*backend_, slot, n);
            add_widened(*backend_, grad.data(), slot, n);
          }
          present_[i] = 1.0;
          item.value.clear_grad();
        } else if (first) {
          clear(*backend_, slot, n);
          present_[i] = 0.0;
        }
      }
      ++i;
    }
  }

  B* backend_;
  std::vector<int> parts_;             // each non-alias parameter's part
  std::vector<std::int64_t> offsets_;  // where each non-alias parameter's gradient starts
  std::vector<range> ranges_;          // each part's stretch of the buffer
  std::vector<double> present_;        // whether a micro-batch reached it (summed over ranks: > 0)
  std::vector<bool> taken_;            // parts this micro-batch has given
  std::vector<bool> started_;          // parts whose sum over the ranks has started
  std::vector<std::unique_ptr<parallel::pending_sum>> pending_;  // the step's sums, in the order started
  std::size_t next_pending_ = 0;                                  // the first not complete
  tensor<B, sum_type> flat_;
  std::vector<sum_type> staging_;    // host copy for a host transport of device gradients
};

}  // namespace dnabert::train
