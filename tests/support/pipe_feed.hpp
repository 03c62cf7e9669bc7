#pragma once
// Inputs that are streams: a named pipe (FIFO) or standard input fed by a thread, a few KiB per
// write, so a reader meets what `zcat x.gz | dnabert ...` gives it: no seeking, no second opening,
// and reads that return part of what was asked.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace dnabert::test {

namespace detail {

// Writes `bytes` to `descriptor` `piece` bytes at a time, then closes it; stops when the reader goes away.
inline void feed(int descriptor, const std::string& bytes, std::size_t piece) {
  for (std::size_t at = 0; at < bytes.size();) {
    const ::ssize_t written = ::write(descriptor, bytes.data() + at, std::min(piece, bytes.size() - at));
    if (written <= 0) break;  // EPIPE: the reader closed early (a failed check); SIGPIPE is ignored
    at += static_cast<std::size_t>(written);
  }
  ::close(descriptor);
}

}  // namespace detail

/// A FIFO in `dir` that a thread fills with `bytes` once a reader opens it.
class fifo_feed {
 public:
  /// Creates `dir`/`name` and starts the writer.
  fifo_feed(const std::filesystem::path& dir, const std::string& name, std::string bytes, std::size_t piece = 4093)
      : path_((dir / name).string()) {
    std::signal(SIGPIPE, SIG_IGN);
    if (::mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("cannot create FIFO " + path_);
    writer_ = std::thread([this, content = std::move(bytes), piece] {
      const int descriptor = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);  // waits for the reader
      if (descriptor >= 0) detail::feed(descriptor, content, piece);
    });
  }

  fifo_feed(const fifo_feed&) = delete;
  fifo_feed& operator=(const fifo_feed&) = delete;

  /// Lets a writer still waiting for a reader go (a check failed before reading), then joins it.
  ~fifo_feed() {
    const int unblock = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (unblock >= 0) ::close(unblock);
    writer_.join();
    ::unlink(path_.c_str());
  }

  /// The FIFO's path.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  std::thread writer_;
};

/// Standard input replaced by a pipe that a thread fills with `bytes`, for the object's life.
class stdin_feed {
 public:
  /// Redirects descriptor 0 and starts the writer.
  explicit stdin_feed(std::string bytes, std::size_t piece = 4093) {
    std::signal(SIGPIPE, SIG_IGN);
    int ends[2];
    if (::pipe(ends) != 0) throw std::runtime_error("cannot create a pipe");
    saved_ = ::dup(STDIN_FILENO);
    ::dup2(ends[0], STDIN_FILENO);
    ::close(ends[0]);
    writer_ = std::thread([descriptor = ends[1], content = std::move(bytes), piece] { detail::feed(descriptor, content, piece); });
  }

  stdin_feed(const stdin_feed&) = delete;
  stdin_feed& operator=(const stdin_feed&) = delete;

  /// Puts the old standard input back (the pipe loses its last reader, so the writer stops) and joins the writer.
  ~stdin_feed() {
    ::dup2(saved_, STDIN_FILENO);
    ::close(saved_);
    writer_.join();
  }

 private:
  int saved_ = -1;
  std::thread writer_;
};

}  // namespace dnabert::test
