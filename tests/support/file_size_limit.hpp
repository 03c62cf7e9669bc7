#pragma once
// A disk that fills up, without root or a small file system: RLIMIT_FSIZE makes every write past
// `bytes` into any file fail (EFBIG, with SIGXFSZ ignored), as a write to a full disk fails with
// ENOSPC; the writers' error path is the same.
#include <signal.h>
#include <sys/resource.h>

#include <cstdint>
#include <stdexcept>

namespace dnabert::test {

/// While it lives, no file of this process can grow past the limit.
class file_size_limit {
 public:
  /// Limits files to `bytes`.
  explicit file_size_limit(std::uint64_t bytes) {
    if (::getrlimit(RLIMIT_FSIZE, &previous_) != 0) throw std::runtime_error("getrlimit(RLIMIT_FSIZE) failed");
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGXFSZ, &ignore, &previous_action_);  // the write fails instead of killing the process
    struct rlimit limited = previous_;
    limited.rlim_cur = static_cast<rlim_t>(bytes);
    if (::setrlimit(RLIMIT_FSIZE, &limited) != 0) throw std::runtime_error("setrlimit(RLIMIT_FSIZE) failed");
  }

  file_size_limit(const file_size_limit&) = delete;
  file_size_limit& operator=(const file_size_limit&) = delete;

  /// Lifts the limit.
  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &previous_);
    ::sigaction(SIGXFSZ, &previous_action_, nullptr);
  }

 private:
  struct rlimit previous_ {};
  struct sigaction previous_action_ {};
};

}  // namespace dnabert::test
