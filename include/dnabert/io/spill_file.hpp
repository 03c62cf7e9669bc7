#pragma once
// A scratch file for what a streaming pass must keep until the end but not in memory (rows whose
// width is known only at the end, the input itself when several models read it in turn): records
// written in order, then read back in the same order, as often as needed. The file has no name
// (unlinked as soon as it is created), so the kernel removes it however the process ends.

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/error.hpp"

namespace dnabert::io {

/// Length-prefixed records (bytes, text or floats) written, then read back in order.
class spill_file {
 public:
  /// Creates the file in `directory` (the output's, so that it lands on the disk the output
  /// goes to); throws dnabert::error when it cannot.
  explicit spill_file(const std::string& directory) : directory_(directory.empty() ? "." : directory) {
    std::string pattern = (std::filesystem::path(directory_) / ".dnabert-spill-XXXXXX").string();
    const int descriptor = ::mkstemp(pattern.data());
    if (descriptor < 0) fail("cannot create a scratch file");
    ::unlink(pattern.c_str());
    file_ = ::fdopen(descriptor, "w+b");
    if (file_ == nullptr) {
      ::close(descriptor);
      fail("cannot open a scratch file");
    }
  }

  spill_file(const spill_file&) = delete;
  spill_file& operator=(const spill_file&) = delete;
  ~spill_file() { std::fclose(file_); }

  /// Appends one record.
  void write(std::span<const std::byte> bytes) {
    const std::uint64_t size = bytes.size();
    if (reading_) throw error("scratch file in " + directory_ + ": written after reading began");
    if (std::fwrite(&size, sizeof size, 1, file_) != 1 ||
        (size > 0 && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()))
      fail("cannot write a scratch file");
    ++records_;
  }
  /// Appends text as one record.
  void write(std::string_view text) { write(std::as_bytes(std::span<const char>(text.data(), text.size()))); }
  /// Appends floats as one record.
  void write(std::span<const float> values) { write(std::as_bytes(values)); }

  /// Reads the next record into `text` (the first read after writing starts from the first
  /// record); false after the last.
  bool read(std::string& text) {
    std::uint64_t size = 0;
    if (!next_size(size)) return false;
    text.resize(size);
    read_bytes(text.data(), size);
    return true;
  }
  /// Reads the next record of floats into `values`; false after the last.
  bool read(std::vector<float>& values) {
    std::uint64_t size = 0;
    if (!next_size(size)) return false;
    if (size % sizeof(float) != 0) throw error("scratch file in " + directory_ + ": a record is not whole floats");
    values.resize(size / sizeof(float));
    read_bytes(values.data(), size);
    return true;
  }

  /// Starts reading again from the first record (no more records can be written).
  void rewind() {
    if (std::fflush(file_) != 0 || std::fseek(file_, 0, SEEK_SET) != 0) fail("cannot read back a scratch file");
    reading_ = true;
    read_ = 0;
  }

  /// Records written.
  [[nodiscard]] std::uint64_t records() const noexcept { return records_; }

 private:
  bool next_size(std::uint64_t& size) {
    if (!reading_) rewind();
    if (read_ == records_) return false;
    read_bytes(&size, sizeof size);
    ++read_;
    return true;
  }

  void read_bytes(void* destination, std::uint64_t size) {
    if (size > 0 && std::fread(destination, 1, size, file_) != size) fail("cannot read back a scratch file");
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw error(what + " in " + directory_ + ": " + std::strerror(errno));
  }

  std::string directory_;
  std::FILE* file_ = nullptr;
  std::uint64_t records_ = 0;
  std::uint64_t read_ = 0;
  bool reading_ = false;
};

}  // namespace dnabert::io
