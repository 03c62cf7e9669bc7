#pragma once
// One writer per output folder: a run holds flock(2) on `<folder>/.dnabert.lock` (which names its
// pid and host) for as long as it writes there, and a second run on the same folder is refused at
// once, naming the holder. The kernel drops the lock when the holder exits or is killed, so a lock
// file a crashed run left behind never blocks. POSIX only: elsewhere the lock is not taken (see
// output_lock::enforced).

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "dnabert/core/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#define DNABERT_HAS_OUTPUT_LOCK 1
#else
#define DNABERT_HAS_OUTPUT_LOCK 0
#endif

namespace dnabert::io {

/// The name of the lock file inside a locked output folder.
inline constexpr std::string_view output_lock_file = ".dnabert.lock";

/// Another run holds the output folder; `holder()` says which ("pid 1234 on node7").
class output_busy_error : public error {
 public:
  /// Describes `folder`, held by `holder` (empty when the holder could not be read).
  output_busy_error(const std::string& folder, std::string holder)
      : error("output folder " + folder + " is in use by another dnabert run (" +
              (holder.empty() ? std::string("its pid could not be read") : holder) +
              "); wait for it to end or choose another output folder"),
        holder_(std::move(holder)) {}

  /// The holder as its lock file names it, e.g. "pid 1234 on node7"; empty when unknown.
  [[nodiscard]] const std::string& holder() const noexcept { return holder_; }

 private:
  std::string holder_;
};

/// An exclusive lock on an output folder, held until destroyed (or the process ends, however it
/// ends). Creating it creates the folder when missing.
class output_lock {
 public:
  /// Locks `folder` (created with its parents when missing); throws output_busy_error when another
  /// process holds it, dnabert::error when the folder or its lock file cannot be created.
  explicit output_lock(std::string folder) : folder_(std::move(folder)) {
    std::error_code failure;
    created_folder_ = std::filesystem::create_directories(folder_, failure);
    if (failure) throw error("cannot create output folder " + folder_ + ": " + failure.message());
#if DNABERT_HAS_OUTPUT_LOCK
    acquire();
#endif
  }

  output_lock(const output_lock&) = delete;
  output_lock& operator=(const output_lock&) = delete;
  output_lock(output_lock&& other) noexcept
      : folder_(std::move(other.folder_)), descriptor_(std::exchange(other.descriptor_, -1)),
        created_folder_(std::exchange(other.created_folder_, false)) {}
  output_lock& operator=(output_lock&&) = delete;

  /// Removes the lock file and releases the lock (and removes the folder if this lock created it
  /// and nothing was written there).
  ~output_lock() { release(); }

  /// The locked folder.
  [[nodiscard]] const std::string& folder() const noexcept { return folder_; }

  /// Whether this platform takes the lock at all (POSIX: yes; elsewhere the folder is only created).
  [[nodiscard]] static constexpr bool enforced() noexcept { return DNABERT_HAS_OUTPUT_LOCK != 0; }

 private:
  [[nodiscard]] std::string lock_path() const { return (std::filesystem::path(folder_) / output_lock_file).string(); }

#if DNABERT_HAS_OUTPUT_LOCK
  // Opens and locks the lock file. A holder unlinks the file just before it lets go, so a lock won
  // on a file no longer at the path is worthless: then try again with the file now there.
  void acquire() {
    const std::string path = lock_path();
    for (;;) {
      const int descriptor = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (descriptor < 0) throw error("cannot create lock file " + path + ": " + std::strerror(errno));
      if (::flock(descriptor, LOCK_EX | LOCK_NB) != 0) {
        const int reason = errno;
        if (reason == EWOULDBLOCK) {
          const std::string holder = read_holder(descriptor);
          ::close(descriptor);
          throw output_busy_error(folder_, holder);
        }
        ::close(descriptor);
        throw error("cannot lock " + path + ": " + std::strerror(reason));
      }
      struct stat held {}, named {};
      if (::fstat(descriptor, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
          held.st_ino == named.st_ino) {
        descriptor_ = descriptor;
        break;
      }
      ::close(descriptor);
    }
    write_holder();
  }

  // "pid 1234 on node7", this process, written over the lock file's content.
  void write_holder() const {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const std::string text = std::to_string(::getpid()) + ' ' + host + '\n';
    if (::ftruncate(descriptor_, 0) != 0 || ::pwrite(descriptor_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
      throw error("cannot write lock file " + lock_path() + ": " + std::strerror(errno));
  }

  // The holder a lock file names, as "pid N on HOST"; the holder writes it just after locking,
  // so an empty file is read again for a moment before giving up.
  static std::string read_holder(int descriptor) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      char text[300] = {};
      const ssize_t count = ::pread(descriptor, text, sizeof text - 1, 0);
      const std::string_view content(text, count > 0 ? static_cast<std::size_t>(count) : 0);
      const std::size_t end = content.find('\n');
      if (end != std::string_view::npos) {
        const std::string_view line = content.substr(0, end);
        const std::size_t space = line.find(' ');
        const std::string_view pid = line.substr(0, space);
        if (!pid.empty() && pid.find_first_not_of("0123456789") == std::string_view::npos)
          return "pid " + std::string(pid) +
                 (space == std::string_view::npos || space + 1 == line.size() ? "" : " on " + std::string(line.substr(space + 1)));
        return {};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return {};
  }
#endif

  void release() noexcept {
#if DNABERT_HAS_OUTPUT_LOCK
    if (descriptor_ < 0) return;
    ::unlink(lock_path().c_str());  // before letting go: a waiting run then finds a fresh file
    ::close(descriptor_);
    descriptor_ = -1;
#endif
    if (created_folder_) {
      std::error_code ignored;
      std::filesystem::remove(folder_, ignored);  // only when empty: a run that failed before writing
    }
  }

  std::string folder_;
  int descriptor_ = -1;
  bool created_folder_ = false;
};

}  // namespace dnabert::io
