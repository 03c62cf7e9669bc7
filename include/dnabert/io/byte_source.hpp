#pragma once
// Streaming byte sources for text inputs: a file, a pipe or standard input ("-") read with POSIX
// read(), a buffer in memory, and gzip (multi-member, so BGZF too) via zlib. open_input() tells gzip
// from plain text by content, from a prefix it replays: nothing is ever sought or opened twice.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"

namespace dnabert::io {

/// A stream of bytes read in chunks; memory use never depends on the input's size.
class byte_source {
 public:
  byte_source(const byte_source&) = delete;
  byte_source& operator=(const byte_source&) = delete;
  virtual ~byte_source() = default;

  /// Fills the front of `buffer` (not empty) and returns how many bytes it wrote; 0 means end of input.
  virtual std::size_t read(std::span<char> buffer) = 0;

  /// The name used in error messages (usually the path).
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 protected:
  explicit byte_source(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

/// The path that stands for standard input, as most Unix tools take it.
inline constexpr std::string_view stdin_path = "-";
/// What messages call standard input.
inline constexpr std::string_view stdin_name = "<stdin>";

/// The name messages give the input at `path`: "<stdin>" for "-", else the path itself.
inline std::string input_name(const std::string& path) { return path == stdin_path ? std::string(stdin_name) : path; }

/// Reads a file, a pipe (/dev/stdin, a FIFO) or standard input ("-") with POSIX read(), retrying on EINTR.
class file_source final : public byte_source {
 public:
  /// Opens `path` ("-": a duplicate of standard input, which stays open); throws file_error
  /// "cannot open" or "is a directory".
  explicit file_source(const std::string& path) : byte_source(input_name(path)) {
    descriptor_ = path == stdin_path ? ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (descriptor_ < 0) {
      const int reason = errno;
      throw file_error(name(), std::string("cannot open: ") + std::strerror(reason), reason);
    }
    struct stat info {};
    if (::fstat(descriptor_, &info) == 0 && S_ISDIR(info.st_mode)) {
      ::close(descriptor_);
      throw file_error(name(), "cannot open: is a directory, expected a file", EISDIR);
    }
  }

  ~file_source() override { ::close(descriptor_); }

  /// Reads the next chunk of the file.
  std::size_t read(std::span<char> buffer) override {
    const std::size_t request = std::min<std::size_t>(buffer.size(), SSIZE_MAX);
    for (;;) {
      const ssize_t count = ::read(descriptor_, buffer.data(), request);
      if (count >= 0) return static_cast<std::size_t>(count);
      if (errno != EINTR) throw format_error(name(), std::string("read error: ") + std::strerror(errno));
    }
  }

 private:
  int descriptor_ = -1;
};

/// Serves bytes the caller keeps alive (tests, fuzzing, data already in memory).
class memory_source final : public byte_source {
 public:
  /// Views `bytes`, which must outlive the source; `name` appears in error messages.
  memory_source(std::span<const std::byte> bytes, std::string name) : byte_source(std::move(name)), bytes_(bytes) {}

  /// Copies the next chunk out of the buffer.
  std::size_t read(std::span<char> buffer) override {
    const std::size_t count = std::min(buffer.size(), bytes_.size());
    if (count > 0) std::memcpy(buffer.data(), bytes_.data(), count);
    bytes_ = bytes_.subspan(count);
    return count;
  }

 private:
  std::span<const std::byte> bytes_;
};

namespace detail {

/// Replays bytes already taken from `inner` (while sniffing its format), then reads on.
class replay_source final : public byte_source {
 public:
  replay_source(std::vector<char> replay, std::unique_ptr<byte_source> inner)
      : byte_source(inner->name()), replay_(std::move(replay)), inner_(std::move(inner)) {}

  std::size_t read(std::span<char> buffer) override {
    if (replayed_ < replay_.size()) {
      const std::size_t count = std::min(buffer.size(), replay_.size() - replayed_);
      std::memcpy(buffer.data(), replay_.data() + replayed_, count);
      replayed_ += count;
      return count;
    }
    return inner_->read(buffer);
  }

 private:
  std::vector<char> replay_;
  std::size_t replayed_ = 0;
  std::unique_ptr<byte_source> inner_;
};

/// The two bytes every gzip member (and so every BGZF block) starts with.
inline constexpr std::array<unsigned char, 2> gzip_magic = {0x1f, 0x8b};

/// True when `prefix` starts with the gzip magic.
inline bool starts_with_gzip_magic(std::span<const char> prefix) {
  return prefix.size() >= gzip_magic.size() && static_cast<unsigned char>(prefix[0]) == gzip_magic[0] &&
         static_cast<unsigned char>(prefix[1]) == gzip_magic[1];
}

}  // namespace detail

/// Inflates a gzip stream of one or more concatenated members (BGZF included).
class gzip_source final : public byte_source {
 public:
  /// Decompresses what `compressed` yields; errors name the compressed byte offset.
  explicit gzip_source(std::unique_ptr<byte_source> compressed)
      : byte_source(compressed->name()), compressed_(std::move(compressed)), input_(chunk_size) {
    constexpr int gzip_only_window_bits = 16 + MAX_WBITS;
    if (inflateInit2(&stream_, gzip_only_window_bits) != Z_OK)
      throw error(name() + ": cannot initialise zlib's inflate");
  }

  ~gzip_source() override { inflateEnd(&stream_); }

  /// Decompresses into `buffer`; throws format_error on corrupt or truncated input.
  std::size_t read(std::span<char> buffer) override {
    if (buffer.empty() || finished_) return 0;
    const auto capacity = static_cast<uInt>(std::min<std::size_t>(buffer.size(), UINT_MAX));
    stream_.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream_.avail_out = capacity;
    while (stream_.avail_out == capacity) {
      if (stream_.avail_in == 0 && !input_ended_) refill();
      if (stream_.avail_in == 0 && input_ended_) {
        if (between_members_) {
          finished_ = true;
          break;
        }
        throw format_error::at_byte(name(), consumed(),
                                    "truncated gzip stream: the input ends inside the member that starts at byte " +
                                        std::to_string(member_start_));
      }
      if (between_members_) {
        between_members_ = false;
        member_start_ = consumed();
      }
      const int status = inflate(&stream_, Z_NO_FLUSH);
      if (status == Z_STREAM_END) {
        inflateReset(&stream_);
        between_members_ = true;
      } else if (status != Z_OK && !(status == Z_BUF_ERROR && stream_.avail_in == 0)) {
        const char* reason = stream_.msg != nullptr ? stream_.msg : "invalid data";
        throw format_error::at_byte(name(), consumed(),
                                    std::string("corrupt gzip data (") + reason + ") in the member that starts at byte " +
                                        std::to_string(member_start_));
      }
    }
    return capacity - stream_.avail_out;
  }

 private:
  static constexpr std::size_t chunk_size = 64 * 1024;

  void refill() {
    const std::size_t count = compressed_->read(input_);
    input_ended_ = count == 0;
    fed_ += count;
    stream_.next_in = reinterpret_cast<Bytef*>(input_.data());
    stream_.avail_in = static_cast<uInt>(count);
  }

  /// Compressed bytes inflate has consumed so far, counted across members.
  [[nodiscard]] std::uint64_t consumed() const noexcept { return fed_ - stream_.avail_in; }

  std::unique_ptr<byte_source> compressed_;
  std::vector<char> input_;
  z_stream stream_{};
  std::uint64_t fed_ = 0;
  std::uint64_t member_start_ = 0;
  bool input_ended_ = false;
  bool between_members_ = false;  // false at the start: an empty stream is a truncated one
  bool finished_ = false;
};

/// Wraps `source` in a gzip_source when its content starts with the gzip magic (1f 8b).
inline std::unique_ptr<byte_source> decompress_if_gzip(std::unique_ptr<byte_source> source) {
  std::vector<char> prefix(detail::gzip_magic.size());
  std::size_t filled = 0;
  while (filled < prefix.size()) {
    const std::size_t count = source->read(std::span<char>(prefix).subspan(filled));
    if (count == 0) break;
    filled += count;
  }
  prefix.resize(filled);
  const bool gzip = detail::starts_with_gzip_magic(prefix);
  auto replayed = std::make_unique<detail::replay_source>(std::move(prefix), std::move(source));
  if (gzip) return std::make_unique<gzip_source>(std::move(replayed));
  return replayed;
}

/// Opens a plain or gzip-compressed file, pipe or standard input ("-"), telling them apart by
/// content, not by name.
inline std::unique_ptr<byte_source> open_input(const std::string& path) {
  return decompress_if_gzip(std::make_unique<file_source>(path));
}

/// Reads plain or gzip-compressed bytes in memory; `name` appears in error messages.
inline std::unique_ptr<byte_source> open_input(std::span<const std::byte> bytes, std::string name) {
  return decompress_if_gzip(std::make_unique<memory_source>(bytes, std::move(name)));
}

}  // namespace dnabert::io
