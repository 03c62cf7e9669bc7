#pragma once
// Exceptions thrown by dnabert. Every message names the file (or tensor), the place in it,
// what was expected and what was found, so a user can fix the input without a debugger.

#include <cstdint>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dnabert {

/// Base class of every exception dnabert throws on purpose.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Malformed input file: message "FILE:LINE: what", "FILE: byte N: what" or "FILE: what".
class format_error : public error {
 public:
  /// Error without a position (the file as a whole is wrong).
  format_error(std::string_view file, std::string_view what)
      : error(std::string(file) + ": " + std::string(what)), file_(file) {}

  /// Error at a 1-based line number.
  static format_error at_line(std::string_view file, std::uint64_t line, std::string_view what) {
    return format_error(file, std::string(file) + ":" + std::to_string(line) + ": " + std::string(what), line, 0);
  }

  /// Error at a 0-based byte offset (binary formats).
  static format_error at_byte(std::string_view file, std::uint64_t offset, std::string_view what) {
    return format_error(file, std::string(file) + ": byte " + std::to_string(offset) + ": " + std::string(what), 0,
                        offset);
  }

  /// The file the error is about.
  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  /// 1-based line of the error, 0 when not line-based.
  [[nodiscard]] std::uint64_t line() const noexcept { return line_; }
  /// Byte offset of the error, 0 when not byte-based.
  [[nodiscard]] std::uint64_t byte_offset() const noexcept { return byte_; }

 private:
  format_error(std::string_view file, std::string message, std::uint64_t line, std::uint64_t byte)
      : error(std::move(message)), file_(file), line_(line), byte_(byte) {}

  std::string file_;
  std::uint64_t line_ = 0;
  std::uint64_t byte_ = 0;
};

/// A file that cannot be opened (missing, a directory where a file is expected, no permission):
/// "FILE: cannot open: REASON". It is a format_error too, so whoever catches those still does;
/// error_number() is the system's reason (errno), which bindings map to their own I/O errors
/// (Python's OSError and its FileNotFoundError, IsADirectoryError, ...).
class file_error : public format_error {
 public:
  /// `what` says what failed; `error_number` is errno's value for it.
  file_error(std::string_view file, std::string_view what, int error_number)
      : format_error(file, what), error_number_(error_number) {}

  /// The errno value that says why the file could not be opened.
  [[nodiscard]] int error_number() const noexcept { return error_number_; }

 private:
  int error_number_ = 0;
};

/// A model configuration that is inconsistent or does not match the compiled model.
class config_error : public error {
 public:
  using error::error;
};

/// Input that is well-formed but cannot be used (e.g. a sequence shorter than k).
class input_error : public error {
 public:
  using error::error;
};

/// Renders a shape as "[4101, 768]".
inline std::string shape_to_string(const std::vector<std::int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

/// A tensor whose shape differs from the one the model needs.
class shape_error : public error {
 public:
  /// "tensor NAME: expected shape [..] but found [..]".
  shape_error(std::string_view tensor, const std::vector<std::int64_t>& expected, const std::vector<std::int64_t>& found)
      : error("tensor " + std::string(tensor) + ": expected shape " + shape_to_string(expected) + " but found " +
              shape_to_string(found)) {}
};

}  // namespace dnabert
