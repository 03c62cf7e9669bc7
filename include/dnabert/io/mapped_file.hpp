#pragma once
// Memory map of a whole file (POSIX). Weight readers view tensors inside it without copying;
// the map lives as long as any tensor that shares ownership of it. Their pages are copy-on-write:
// a model that trains parameters viewed here changes its own copy of those pages, never the
// file. A read-only map (a packed corpus) is shared: processes that map one file share one
// copy of it in the page cache, and it adds nothing to the memory a process commits.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "dnabert/core/error.hpp"

namespace dnabert::io {

/// A file mapped into memory; an empty file maps to an empty span.
class mapped_file {
 public:
  /// How the pages are mapped.
  enum class mode {
    copy_on_write,  ///< private pages the process may write (its own copy of each page written)
    read_only,      ///< shared, read-only pages
  };

  /// Maps `path`; throws file_error naming the file when it cannot be opened, format_error when
  /// it cannot be mapped.
  explicit mapped_file(std::string path, mode how = mode::copy_on_write) : path_(std::move(path)) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int reason = errno;
      throw file_error(path_, std::string("cannot open: ") + std::strerror(reason), reason);
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      ::close(fd);
      throw format_error(path_, "not a regular file");
    }
    size_ = static_cast<std::size_t>(info.st_size);
    if (size_ > 0) {
      void* address = how == mode::read_only ? ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0)
                                              : ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      if (address == MAP_FAILED) {
        const int saved = errno;
        ::close(fd);
        throw format_error(path_, std::string("cannot map into memory: ") + std::strerror(saved));
      }
      data_ = static_cast<const std::byte*>(address);
    }
    ::close(fd);
  }

  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file() {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
  }

  /// The file's bytes.
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  /// The path it was opened with (used in error messages).
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Maps a file and returns shared ownership, so tensors can keep the map alive.
inline std::shared_ptr<const mapped_file> map_file(const std::string& path) {
  return std::make_shared<const mapped_file>(path);
}

}  // namespace dnabert::io
