#pragma once
// Writes files atomically (temporary file, fsync, rename, fsync of the directory), so a crash or
// an error never leaves a half-written config.json, vocab.txt, checkpoint or plot behind.

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "dnabert/core/error.hpp"

namespace dnabert::io {

/// Flushes `directory`'s entries to disk: only a synced directory makes a rename in it survive a
/// power cut. Throws dnabert::error.
inline void sync_directory(const std::string& directory) {
  const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory_fd < 0) throw error("cannot open directory " + directory + " to sync it: " + std::strerror(errno));
  const int synced = ::fsync(directory_fd);
  const int saved_errno = errno;
  ::close(directory_fd);
  if (synced != 0) throw error("cannot sync directory " + directory + ": " + std::strerror(saved_errno));
}

/// The process that made `file_name`, when it is the name of an atomic_file_writer's temporary
/// file (".<target>.tmp-<pid>-<n>"); 0 for any other name.
inline ::pid_t temporary_file_writer(std::string_view file_name) {
  const auto marker = file_name.rfind(".tmp-");
  if (!file_name.starts_with('.') || marker == std::string_view::npos || marker < 2) return 0;
  const std::string_view rest = file_name.substr(marker + 5);
  const auto dash = rest.find('-');
  if (dash == std::string_view::npos || dash + 1 == rest.size()) return 0;
  ::pid_t pid = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + dash, pid);
  if (ec != std::errc() || end != rest.data() + dash || pid <= 0) return 0;
  if (rest.substr(dash + 1).find_first_not_of("0123456789") != std::string_view::npos) return 0;
  return pid;
}

/// Removes from `directory` the temporary files of writers that are gone (killed before they
/// committed); those of running processes stay. Returns how many it removed.
inline std::size_t remove_abandoned_temporaries(const std::string& directory) {
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    const ::pid_t writer = temporary_file_writer(entry.path().filename().string());
    // kill(pid, 0) probes without signalling; ESRCH: no such process. A reused pid looks alive,
    // which only leaves the file.
    if (writer == 0 || !(::kill(writer, 0) != 0 && errno == ESRCH)) continue;
    std::error_code removal;
    removed += std::filesystem::remove(entry.path(), removal) ? 1 : 0;
  }
  return removed;
}

/// Builds a file next to its target and puts it in place only on commit(); readers see the old
/// content or the complete new one. Destroying it uncommitted removes the temporary file.
class atomic_file_writer {
 public:
  /// Creates a uniquely named temporary file in the target's directory; throws dnabert::error.
  explicit atomic_file_writer(std::string path) : path_(std::move(path)) {
    const std::filesystem::path target(path_);
    // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "literal" + std::string&&.
    std::string stem(1, '.');
    stem += target.filename().string();
    stem += ".tmp-";
    stem += std::to_string(::getpid());
    stem += '-';
    std::random_device entropy;
    // O_EXCL makes a clash with another writer fail instead of sharing the file; a few fresh
    // random names make a clash that persists vanishingly unlikely.
    constexpr int attempts = 16;
    std::string candidate;
    for (int attempt = 0; attempt < attempts && fd_ < 0; ++attempt) {
      candidate = (target.parent_path() / (stem + std::to_string(entropy()))).string();
      fd_ = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ < 0 && errno != EEXIST) break;
    }
    if (fd_ < 0) fail("cannot create temporary file " + candidate);
    temp_path_ = std::move(candidate);
  }

  atomic_file_writer(const atomic_file_writer&) = delete;
  atomic_file_writer& operator=(const atomic_file_writer&) = delete;

  ~atomic_file_writer() { discard(); }

  /// Appends bytes, retrying short writes and interrupted calls.
  void write(std::span<const std::byte> bytes) {
    require_open();
    // Linux moves at most about 2 GiB per call; larger chunks only become short writes.
    constexpr std::size_t max_chunk = std::size_t{1} << 30;
    while (!bytes.empty()) {
      const ::ssize_t written = ::write(fd_, bytes.data(), std::min(bytes.size(), max_chunk));
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        if (written == 0) errno = EIO;  // a regular file that accepts nothing will never progress
        fail("cannot write to " + temp_path_);
      }
      bytes = bytes.subspan(static_cast<std::size_t>(written));
    }
  }

  /// Appends text as raw bytes.
  void write(std::string_view text) { write(std::as_bytes(std::span<const char>(text.data(), text.size()))); }

  /// Overwrites bytes already written, from byte `offset` on (a header whose counts are known
  /// only at the end); the end of the file stays where it is.
  void write_at(std::uint64_t offset, std::string_view text) {
    require_open();
    while (!text.empty()) {
      const ::ssize_t written = ::pwrite(fd_, text.data(), text.size(), static_cast<::off_t>(offset));
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        if (written == 0) errno = EIO;
        fail("cannot write to " + temp_path_);
      }
      text.remove_prefix(static_cast<std::size_t>(written));
      offset += static_cast<std::uint64_t>(written);
    }
  }

  /// Flushes the data to disk and renames it over the target; the writer is finished afterwards.
  void commit() {
    require_open();
    if (::fsync(fd_) != 0) fail("cannot flush " + temp_path_ + " to disk");
    const int closed = ::close(fd_);
    fd_ = -1;
    if (closed != 0) fail("cannot close " + temp_path_);
    if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) fail("cannot rename " + temp_path_ + " over it");
    committed_ = true;
    sync_directory(directory_of_target());
  }

  /// The file this writer replaces on commit.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  void require_open() const {
    if (committed_ || fd_ < 0) throw error("cannot write " + path_ + ": the writer was already committed or discarded");
  }

  // Removes the temporary file (if any) and throws with the current errno.
  [[noreturn]] void fail(const std::string& what) {
    const int saved_errno = errno;
    discard();
    throw error("cannot write " + path_ + ": " + what + ": " + std::strerror(saved_errno));
  }

  void discard() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }

  [[nodiscard]] std::string directory_of_target() const {
    const auto parent = std::filesystem::path(path_).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
  }

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

/// A text file written through an ostream, a megabyte at a time, and put in place atomically by
/// commit(): for tables of any length (bedGraph, mutation tables) without holding them in memory.
class streamed_text_file {
 public:
  /// Starts the temporary file beside `path`.
  explicit streamed_text_file(const std::string& path) : file_(path) {}

  /// Where the text goes; call flush_if_full() after a row.
  [[nodiscard]] std::ostringstream& text() noexcept { return text_; }

  /// Moves the buffered text to the file once it holds a megabyte.
  void flush_if_full() {
    if (text_.tellp() > flush_bytes) flush();
  }

  /// Writes what is left and puts the file in place.
  void commit() {
    flush();
    file_.commit();
  }

  /// The target path.
  [[nodiscard]] const std::string& path() const noexcept { return file_.path(); }

 private:
  static constexpr std::streamoff flush_bytes = std::streamoff{1} << 20;

  void flush() {
    file_.write(text_.str());
    text_.str({});
  }

  atomic_file_writer file_;
  std::ostringstream text_;
};

/// Replaces `path` with `contents` atomically.
inline void write_file_atomically(const std::string& path, std::string_view contents) {
  atomic_file_writer writer(path);
  writer.write(contents);
  writer.commit();
}

/// Replaces `path` with what `fill(writer)` writes; if `fill` throws, `path` stays untouched.
template <std::invocable<atomic_file_writer&> Fill>
void write_file_atomically(const std::string& path, Fill&& fill) {
  atomic_file_writer writer(path);
  std::forward<Fill>(fill)(writer);
  writer.commit();
}

}  // namespace dnabert::io
