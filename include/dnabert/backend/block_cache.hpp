#pragma once
// Freed memory blocks kept by size class for the next allocation of that class: a forward pass asks
// for the same sizes again and again. Shared by the CPU and CUDA backends' allocators.

#include <bit>
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace dnabert::backend {

/// A thread-safe cache of free blocks, keyed by their size class in bytes.
class block_cache {
 public:
  /// The block size that serves a request of `bytes`: a multiple of `alignment` (a power of two),
  /// and above 8 alignments rounded up to 1/8 of its power of two, so that the many slightly
  /// different sizes of a training run (masked rows vary per batch) share blocks instead of
  /// each size keeping blocks of its own; at most 12.5 % is wasted.
  [[nodiscard]] static constexpr std::size_t size_class(std::size_t bytes, std::size_t alignment) {
    const std::size_t aligned = (bytes + alignment - 1) / alignment * alignment;
    if (aligned <= 8 * alignment) return aligned;
    const std::size_t step = std::bit_floor(aligned) / 8;
    return (aligned + step - 1) / step * step;
  }

  /// A cached block of exactly `bytes`, or nullptr when none is free.
  [[nodiscard]] void* reuse(std::size_t bytes) {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto found = free_.find(bytes);
    if (found == free_.end() || found->second.empty()) return nullptr;
    void* p = found->second.back();
    found->second.pop_back();
    return p;
  }

  /// Keeps the free block `p` of `bytes` for reuse.
  void keep(void* p, std::size_t bytes) {
    const std::lock_guard<std::mutex> lock(mutex_);
    free_[bytes].push_back(p);
  }

  /// Hands every cached block to free(p, bytes) and forgets it; returns the bytes released.
  template <class Free>
  std::size_t release(Free&& free) {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::size_t released = 0;
    for (auto& [bytes, blocks] : free_) {
      for (void* p : blocks) free(p, bytes);
      released += bytes * blocks.size();
      blocks.clear();
    }
    return released;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
};

}  // namespace dnabert::backend
