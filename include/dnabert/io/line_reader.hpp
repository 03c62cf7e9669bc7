#pragma once
// Splits a byte source into lines with 1-based numbers: strips "\n" and "\r\n", a UTF-8 BOM at
// the very start, accepts a last line without newline, and caps the length of any one line.

#include <algorithm>
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
#include "dnabert/io/byte_source.hpp"

namespace dnabert::io {

/// Longest line accepted by default: a whole chromosome may sit on one line of a FASTA file.
inline constexpr std::size_t default_max_line_length = std::size_t{1} << 30;

/// Reads lines from a byte source, one at a time, without holding more than one line.
class line_reader {
 public:
  /// Takes ownership of `source`; a line longer than `max_line_length` bytes is an error.
  explicit line_reader(std::unique_ptr<byte_source> source, std::size_t max_line_length = default_max_line_length)
      : source_(std::move(source)), max_line_length_(max_line_length), chunk_(chunk_size) {}

  /// Appends the next line, without its terminator, to `destination`; false at end of input.
  bool append_line(std::string& destination) {
    const std::size_t start = destination.size();
    bool found_any = false;
    for (;;) {
      if (position_ == filled_ && !refill()) {
        if (!found_any) return false;
        break;
      }
      found_any = true;
      const char* begin = chunk_.data() + position_;
      const auto available = filled_ - position_;
      const auto* newline = static_cast<const char*>(std::memchr(begin, '\n', available));
      const std::size_t piece = newline != nullptr ? static_cast<std::size_t>(newline - begin) : available;
      if (piece > max_line_length_ - (destination.size() - start))
        throw format_error::at_line(name(), line_number_ + 1,
                                    "line is longer than the limit of " + std::to_string(max_line_length_) + " bytes");
      destination.append(begin, piece);
      position_ += piece;
      if (newline != nullptr) {
        ++position_;
        break;
      }
    }
    ++line_number_;
    if (destination.size() > start && destination.back() == '\r') destination.pop_back();
    if (line_number_ == 1 && std::string_view(destination).substr(start).starts_with(utf8_bom))
      destination.erase(start, utf8_bom.size());
    return true;
  }

  /// Replaces `line` with the next line, without its terminator; false at end of input.
  bool next_line(std::string& line) {
    line.clear();
    return append_line(line);
  }

  /// 1-based number of the line read last (0 before the first).
  [[nodiscard]] std::uint64_t line_number() const noexcept { return line_number_; }

  /// The source's name, for error messages.
  [[nodiscard]] const std::string& name() const noexcept { return source_->name(); }

 private:
  static constexpr std::size_t chunk_size = 64 * 1024;
  static constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

  bool refill() {
    filled_ = source_->read(chunk_);
    position_ = 0;
    return filled_ > 0;
  }

  std::unique_ptr<byte_source> source_;
  std::size_t max_line_length_;
  std::vector<char> chunk_;
  std::size_t position_ = 0;
  std::size_t filled_ = 0;
  std::uint64_t line_number_ = 0;
};

namespace detail {

/// Shows a byte readably in a message: 'A' for printable ASCII, "byte 0x00" otherwise.
inline std::string describe_byte(char value) {
  const auto byte = static_cast<unsigned char>(value);
  if (byte >= 0x20 && byte < 0x7f) return std::string("'") + value + "'";
  constexpr std::string_view hex_digits = "0123456789ABCDEF";
  return std::string("byte 0x") + hex_digits[byte >> 4] + hex_digits[byte & 0xf];
}

/// Quotes the start of `text` for a message, replacing unprintable bytes with '?'.
inline std::string quote_excerpt(std::string_view text, std::size_t max_length = 40) {
  std::string quoted = "'";
  for (const char c : text.substr(0, max_length)) {
    const auto byte = static_cast<unsigned char>(c);
    quoted += byte >= 0x20 && byte < 0x7f ? c : '?';
  }
  quoted += text.size() > max_length ? "...'" : "'";
  return quoted;
}

/// True when `line` holds nothing but spaces and tabs.
inline bool is_blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

/// The words of `text`, split at runs of spaces and tabs.
inline std::vector<std::string_view> split_blanks(std::string_view text) {
  std::vector<std::string_view> words;
  for (std::size_t start = text.find_first_not_of(" \t"); start != std::string_view::npos;) {
    const std::size_t end = std::min(text.find_first_of(" \t", start), text.size());
    words.push_back(text.substr(start, end - start));
    start = text.find_first_not_of(" \t", end);
  }
  return words;
}

/// A 0-based coordinate in column `column` of line `line`: a non-negative decimal integer of at
/// most 18 digits; throws format_error naming the file and line otherwise.
inline std::int64_t parse_coordinate(std::string_view text, const std::string& file, std::uint64_t line,
                                     std::string_view column) {
  if (text.starts_with('-') && text.size() > 1 && text.find_first_not_of("0123456789", 1) == std::string_view::npos) {
    std::string what(column);
    what += " ";
    what += text;
    what += " is negative (coordinates are 0-based and start at 0)";
    throw format_error::at_line(file, line, what);
  }
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string_view::npos) {
    std::string what(column);
    what += " must be a non-negative integer, found ";
    what += quote_excerpt(text);
    throw format_error::at_line(file, line, what);
  }
  std::int64_t value = 0;
  for (const char c : text) value = value * 10 + (c - '0');
  return value;
}

/// Reads the next line that is not blank into `line`; false at end of input.
inline bool next_non_blank_line(line_reader& lines, std::string& line) {
  while (lines.next_line(line))
    if (!is_blank(line)) return true;
  return false;
}

/// Passes reads on from a source it does not own and keeps a copy of every byte, so that what
/// was read to look at an input can be given back (a pipe cannot be read twice).
class recording_source final : public byte_source {
 public:
  recording_source(byte_source& inner, std::vector<char>& recorded)
      : byte_source(inner.name()), inner_(inner), recorded_(recorded) {}

  std::size_t read(std::span<char> buffer) override {
    const std::size_t count = inner_.read(buffer);
    recorded_.insert(recorded_.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(count));
    return count;
  }

 private:
  byte_source& inner_;
  std::vector<char>& recorded_;
};

}  // namespace detail

/// The first non-blank line of an input, looked at without using it up.
struct peeked_line {
  bool found = false;             ///< false when the input is empty or blank
  std::string line;               ///< the line, as line_reader gives it (no terminator, no BOM)
  std::uint64_t line_number = 0;  ///< its 1-based number
  std::unique_ptr<byte_source> source;  ///< the whole input again, from its first byte
};

/// Reads `source` up to its first non-blank line (at most `max_line_length` bytes a line) and
/// returns that line with a source that replays the bytes read, then reads on: formats are told
/// from a buffered prefix, never by seeking or opening the input again.
inline peeked_line peek_first_line(std::unique_ptr<byte_source> source, std::size_t max_line_length) {
  peeked_line peeked;
  std::vector<char> prefix;
  {
    line_reader lines(std::make_unique<detail::recording_source>(*source, prefix), max_line_length);
    peeked.found = detail::next_non_blank_line(lines, peeked.line);
    peeked.line_number = lines.line_number();
  }
  peeked.source = std::make_unique<detail::replay_source>(std::move(prefix), std::move(source));
  return peeked;
}

}  // namespace dnabert::io
