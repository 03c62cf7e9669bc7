#pragma once
// Work shared round-robin over the ranks of a job, its results used on rank 0 in order: item i is
// computed on rank i mod ranks, and each round of one item per rank is gathered to rank 0, which
// hands the results on in item order. So what rank 0 writes is what one process writes.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "dnabert/parallel/communicator.hpp"

namespace dnabert::parallel {

/// Items given in the same order on every rank; `use(item, result bytes)` runs on rank 0 for each
/// item in that order (in one process: at once).
template <class Item, class Use>
class ordered_work {
 public:
  /// Work over `ranks`, whose results go to `use` on rank 0.
  ordered_work(communicator& ranks, Use use) : ranks_(&ranks), use_(std::move(use)) {}

  /// Adds the next item; compute(item) -> std::string runs when the item is this rank's. Every
  /// rank adds every item (rank 0 keeps it until its result arrives).
  template <class Compute>
  void add(Item item, Compute&& compute) {
    const auto size = static_cast<std::size_t>(ranks_->size());
    if (size == 1) {
      use_(item, compute(item));
      return;
    }
    if (added_ % size == static_cast<std::size_t>(ranks_->rank())) mine_ = "1" + compute(item);
    if (ranks_->rank() == 0) round_.push_back(std::move(item));
    if (++added_ % size == 0) gather_round();
  }

  /// After the last item: gathers the last, partial round.
  void finish() {
    if (ranks_->size() > 1 && added_ % static_cast<std::size_t>(ranks_->size()) != 0) gather_round();
  }

 private:
  // Every rank sends "1" and its result, or "0" when it had no item this round.
  void gather_round() {
    const std::vector<std::string> parts = ranks_->gather_to_rank_0(mine_.empty() ? std::string("0") : mine_);
    for (std::size_t i = 0; i < round_.size() && i < parts.size(); ++i) use_(round_[i], parts[i].substr(1));
    round_.clear();
    mine_.clear();
  }

  communicator* ranks_;
  Use use_;
  std::size_t added_ = 0;
  std::string mine_;          // this rank's result in the round
  std::vector<Item> round_;   // rank 0: the round's items, waiting for their results
};

}  // namespace dnabert::parallel
