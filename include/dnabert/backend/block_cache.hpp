#pragma once
// Freed memory blocks kept by exact size for the next allocation of that size: a forward pass asks
// for the same sizes again and again. Shared by the CPU and CUDA backends' allocators.

#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace dnabert::backend {

/// A thread-safe cache of free blocks, keyed by their exact size in bytes.
class block_cache {
 public:
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
