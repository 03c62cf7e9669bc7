#pragma once
// Where text results go: a file written atomically, or stdout; whole, or as they are produced.

#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include <dnabert/io/atomic_file.hpp>

namespace dnabert::cli {

/// Whether results for `path` go to stdout: it is empty or "-".
inline bool is_stdout(const std::string& path) { return path.empty() || path == "-"; }

/// Where scratch files of a run writing `output` go: the output's folder (the disk it is written
/// to), or the system's temporary folder when the output is stdout.
inline std::string scratch_directory(const std::string& output) {
  if (is_stdout(output)) return std::filesystem::temp_directory_path().string();
  const auto parent = std::filesystem::path(output).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

/// Writes `text` to `path` atomically, or to stdout when `path` is empty or "-".
inline void write_output(const std::string& path, const std::string& text) {
  if (is_stdout(path)) {
    std::cout << text;
    std::cout.flush();
    return;
  }
  io::write_file_atomically(path, text);
}

/// Text results written as they are produced, a megabyte at a time: to stdout ("-" or empty), or
/// to a file that commit() puts in place atomically (a run that fails leaves no partial file).
class text_output {
 public:
  /// Starts the output to `path`.
  explicit text_output(const std::string& path) {
    if (!is_stdout(path)) file_.emplace(path);
  }

  /// Where the text goes; call flush_if_full() after a row.
  [[nodiscard]] std::ostringstream& text() noexcept { return file_ ? file_->text() : buffer_; }

  /// Passes the text on once it holds a megabyte.
  void flush_if_full() {
    if (file_) file_->flush_if_full();
    else if (buffer_.tellp() > std::streamoff{1} << 20) flush_stdout();
  }

  /// Writes what is left (and puts the file in place).
  void commit() {
    if (file_) file_->commit();
    else flush_stdout();
  }

 private:
  void flush_stdout() {
    std::cout << buffer_.view();
    std::cout.flush();
    buffer_.str({});
  }

  std::optional<io::streamed_text_file> file_;
  std::ostringstream buffer_;
};

}  // namespace dnabert::cli
