#pragma once
// Reader for the uncompressed ("stored") ZIP archives torch.save writes since torch 1.6:
// walks the central directory (ZIP64 included) and views each entry's bytes in place.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/error.hpp"

namespace dnabert::io {

/// One file inside a ZIP archive, as the central directory describes it.
struct zip_entry {
  std::string name;
  std::uint16_t flags = 0;
  std::uint16_t method = 0;  // 0 = stored; anything else is compressed
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t local_header_offset = 0;
};

namespace detail {

inline constexpr std::uint32_t zip_local_header_signature = 0x04034b50;
inline constexpr std::uint32_t zip_central_header_signature = 0x02014b50;
inline constexpr std::uint32_t zip_end_signature = 0x06054b50;
inline constexpr std::uint32_t zip64_end_signature = 0x06064b50;
inline constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
inline constexpr std::size_t zip_local_header_size = 30;
inline constexpr std::size_t zip_central_header_size = 46;
inline constexpr std::size_t zip_end_size = 22;
inline constexpr std::size_t zip64_end_size = 56;
inline constexpr std::size_t zip64_locator_size = 20;
inline constexpr std::size_t zip_max_comment = 0xffff;
inline constexpr std::uint16_t zip64_extra_id = 0x0001;
inline constexpr std::uint32_t zip32_escape = 0xffffffff;  // "the real value is in the ZIP64 extra field"

/// Unsigned little-endian integer of `width` bytes at `offset`; the caller has bounds-checked.
inline std::uint64_t zip_field(std::span<const std::byte> bytes, std::uint64_t offset, std::size_t width) {
  std::uint64_t result = 0;
  for (std::size_t i = 0; i < width; ++i)
    result |= static_cast<std::uint64_t>(bytes[static_cast<std::size_t>(offset) + i]) << (8 * i);
  return result;
}

/// True when [offset, offset + length) lies inside a buffer of `size` bytes (overflow-safe).
inline bool zip_range_fits(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}

}  // namespace detail

/// A ZIP archive over bytes the caller keeps alive; only stored entries can be read.
class zip_archive {
 public:
  /// Most entries an archive may list (a state dict has a few hundred). Names need no cap of
  /// their own: their 16-bit length field keeps them under 64 KiB.
  static constexpr std::uint64_t max_entries = 1'000'000;

  /// Parses the central directory of `bytes`; `file` names the archive in error messages.
  zip_archive(std::span<const std::byte> bytes, std::string file) : bytes_(bytes), file_(std::move(file)) {
    const std::uint64_t end_record = find_end_record();
    directory_location directory = read_end_record(end_record);
    read_central_directory(directory);
  }

  /// Every entry, in central-directory order.
  [[nodiscard]] const std::vector<zip_entry>& entries() const noexcept { return entries_; }

  /// The entry called `name`, or nullptr when there is none.
  [[nodiscard]] const zip_entry* find(std::string_view name) const {
    const auto found = index_.find(name);
    return found == index_.end() ? nullptr : &entries_[found->second];
  }

  /// The bytes of a stored entry, viewed in place; throws for compressed or encrypted entries.
  [[nodiscard]] std::span<const std::byte> read(const zip_entry& entry) const {
    const std::string quoted = "entry '" + entry.name + "'";
    if (entry.method != 0)
      throw format_error::at_byte(file_, entry.local_header_offset,
                                  quoted + " is compressed (method " + std::to_string(entry.method) +
                                      "); only stored (method 0) entries can be read");
    if ((entry.flags & 1U) != 0) throw format_error::at_byte(file_, entry.local_header_offset, quoted + " is encrypted");
    if (entry.compressed_size != entry.uncompressed_size)
      throw format_error::at_byte(file_, entry.local_header_offset,
                                  quoted + " is stored but its compressed size " + std::to_string(entry.compressed_size) +
                                      " differs from its size " + std::to_string(entry.uncompressed_size));
    const std::uint64_t header = entry.local_header_offset;
    require(header, detail::zip_local_header_size, "local header of " + quoted);
    if (detail::zip_field(bytes_, header, 4) != detail::zip_local_header_signature)
      throw format_error::at_byte(file_, header, "expected the local header signature PK\\3\\4 of " + quoted);
    if (detail::zip_field(bytes_, header + 8, 2) != entry.method)
      throw format_error::at_byte(file_, header, "local header of " + quoted + " disagrees with the central directory");
    const std::uint64_t name_length = detail::zip_field(bytes_, header + 26, 2);
    const std::uint64_t extra_length = detail::zip_field(bytes_, header + 28, 2);
    const std::uint64_t name_offset = header + detail::zip_local_header_size;
    require(name_offset, name_length + extra_length, "name and extra field of the local header of " + quoted);
    if (as_text(name_offset, name_length) != entry.name)
      throw format_error::at_byte(file_, name_offset, "local header names a different file than " + quoted);
    const std::uint64_t data_offset = name_offset + name_length + extra_length;
    require(data_offset, entry.uncompressed_size, "data of " + quoted);
    return bytes_.subspan(static_cast<std::size_t>(data_offset), static_cast<std::size_t>(entry.uncompressed_size));
  }

  /// The name this archive reports errors under.
  [[nodiscard]] const std::string& file() const noexcept { return file_; }

 private:
  struct directory_location {
    std::uint64_t entry_count = 0;
    std::uint64_t size = 0;
    std::uint64_t offset = 0;
  };

  [[nodiscard]] std::uint64_t size() const noexcept { return bytes_.size(); }

  void require(std::uint64_t offset, std::uint64_t length, const std::string& what) const {
    if (!detail::zip_range_fits(offset, length, size()))
      throw format_error::at_byte(file_, offset,
                                  "truncated archive: " + what + " needs " + std::to_string(length) + " bytes but " +
                                      std::to_string(offset <= size() ? size() - offset : 0) + " remain");
  }

  [[nodiscard]] std::string_view as_text(std::uint64_t offset, std::uint64_t length) const {
    return {reinterpret_cast<const char*>(bytes_.data()) + offset, static_cast<std::size_t>(length)};
  }

  // The end record sits in the last 22 bytes plus at most a 64 KiB comment; a candidate only
  // counts when its comment length reaches exactly the end, so a signature inside a comment
  // cannot be mistaken for it.
  [[nodiscard]] std::uint64_t find_end_record() const {
    if (size() < detail::zip_end_size)
      throw format_error(file_, "truncated archive: " + std::to_string(size()) +
                                    " bytes cannot hold the 22-byte end of central directory record");
    const std::uint64_t last = size() - detail::zip_end_size;
    const std::uint64_t first = last > detail::zip_max_comment ? last - detail::zip_max_comment : 0;
    for (std::uint64_t candidate = last + 1; candidate-- > first;) {
      if (detail::zip_field(bytes_, candidate, 4) == detail::zip_end_signature &&
          detail::zip_field(bytes_, candidate + 20, 2) == last - candidate)
        return candidate;
    }
    throw format_error(file_, "no end of central directory record (PK\\5\\6) in the last 64 KiB: not a ZIP archive or truncated");
  }

  [[nodiscard]] directory_location read_end_record(std::uint64_t end_record) const {
    if (detail::zip_field(bytes_, end_record + 4, 2) != 0 || detail::zip_field(bytes_, end_record + 6, 2) != 0)
      throw format_error::at_byte(file_, end_record, "multi-disk ZIP archives are not supported");
    directory_location directory{detail::zip_field(bytes_, end_record + 10, 2),
                                 detail::zip_field(bytes_, end_record + 12, 4),
                                 detail::zip_field(bytes_, end_record + 16, 4)};
    if (end_record >= detail::zip64_locator_size) {
      const std::uint64_t locator = end_record - detail::zip64_locator_size;
      if (detail::zip_field(bytes_, locator, 4) == detail::zip64_locator_signature)
        directory = read_zip64_end_record(detail::zip_field(bytes_, locator + 8, 8), locator);
    }
    if (directory.entry_count > max_entries)
      throw format_error::at_byte(file_, end_record,
                                  "archive lists " + std::to_string(directory.entry_count) + " entries, more than the cap of " +
                                      std::to_string(max_entries));
    require(directory.offset, directory.size, "central directory");
    return directory;
  }

  [[nodiscard]] directory_location read_zip64_end_record(std::uint64_t record, std::uint64_t locator) const {
    require(record, detail::zip64_end_size, "ZIP64 end of central directory record");
    if (record + detail::zip64_end_size > locator)
      throw format_error::at_byte(file_, locator, "ZIP64 locator points past itself (offset " + std::to_string(record) + ")");
    if (detail::zip_field(bytes_, record, 4) != detail::zip64_end_signature)
      throw format_error::at_byte(file_, record, "expected the ZIP64 end of central directory signature PK\\6\\6");
    if (detail::zip_field(bytes_, record + 16, 4) != 0 || detail::zip_field(bytes_, record + 20, 4) != 0)
      throw format_error::at_byte(file_, record, "multi-disk ZIP archives are not supported");
    return {detail::zip_field(bytes_, record + 32, 8), detail::zip_field(bytes_, record + 40, 8),
            detail::zip_field(bytes_, record + 48, 8)};
  }

  void read_central_directory(const directory_location& directory) {
    // Each entry takes at least 46 bytes, so the count cannot promise more than the bytes hold.
    if (directory.entry_count > directory.size / detail::zip_central_header_size)
      throw format_error::at_byte(file_, directory.offset,
                                  "central directory of " + std::to_string(directory.size) + " bytes cannot hold " +
                                      std::to_string(directory.entry_count) + " entries");
    entries_.reserve(static_cast<std::size_t>(directory.entry_count));
    const std::uint64_t end = directory.offset + directory.size;
    std::uint64_t position = directory.offset;
    for (std::uint64_t i = 0; i < directory.entry_count; ++i) {
      if (!detail::zip_range_fits(position, detail::zip_central_header_size, end))
        throw format_error::at_byte(file_, position, "central directory entry " + std::to_string(i) + " runs past its end");
      if (detail::zip_field(bytes_, position, 4) != detail::zip_central_header_signature)
        throw format_error::at_byte(file_, position, "expected the central directory signature PK\\1\\2");
      position = read_central_entry(position, end);
    }
  }

  // Reads the entry at `position` and returns where the next one starts.
  std::uint64_t read_central_entry(std::uint64_t position, std::uint64_t end) {
    zip_entry entry;
    entry.flags = static_cast<std::uint16_t>(detail::zip_field(bytes_, position + 8, 2));
    entry.method = static_cast<std::uint16_t>(detail::zip_field(bytes_, position + 10, 2));
    entry.compressed_size = detail::zip_field(bytes_, position + 20, 4);
    entry.uncompressed_size = detail::zip_field(bytes_, position + 24, 4);
    const std::uint64_t name_length = detail::zip_field(bytes_, position + 28, 2);
    const std::uint64_t extra_length = detail::zip_field(bytes_, position + 30, 2);
    const std::uint64_t comment_length = detail::zip_field(bytes_, position + 32, 2);
    std::uint64_t disk = detail::zip_field(bytes_, position + 34, 2);
    entry.local_header_offset = detail::zip_field(bytes_, position + 42, 4);
    const std::uint64_t name_offset = position + detail::zip_central_header_size;
    if (!detail::zip_range_fits(name_offset, name_length + extra_length + comment_length, end))
      throw format_error::at_byte(file_, position, "central directory entry's name, extra field and comment run past its end");
    entry.name = std::string(as_text(name_offset, name_length));
    read_zip64_extra(entry, disk, name_offset + name_length, extra_length);
    if (disk != 0)
      throw format_error::at_byte(file_, position, "entry '" + entry.name + "' lives on another disk");
    if (!index_.emplace(entry.name, entries_.size()).second)
      throw format_error::at_byte(file_, position, "duplicate entry name '" + entry.name + "'");
    entries_.push_back(std::move(entry));
    return name_offset + name_length + extra_length + comment_length;
  }

  // Fields whose 32-bit value is 0xffffffff (disk: 0xffff) are given, in this order, by the
  // ZIP64 extra field.
  void read_zip64_extra(zip_entry& entry, std::uint64_t& disk, std::uint64_t offset, std::uint64_t length) const {
    std::uint64_t* escaped[4] = {};
    std::size_t escaped_count = 0;
    for (std::uint64_t* field : {&entry.uncompressed_size, &entry.compressed_size, &entry.local_header_offset})
      if (*field == detail::zip32_escape) escaped[escaped_count++] = field;
    if (disk == 0xffff) escaped[escaped_count++] = &disk;
    std::size_t filled = 0;
    const std::uint64_t end = offset + length;
    while (end - offset >= 4) {
      const std::uint64_t id = detail::zip_field(bytes_, offset, 2);
      const std::uint64_t field_length = detail::zip_field(bytes_, offset + 2, 2);
      offset += 4;
      if (field_length > end - offset)
        throw format_error::at_byte(file_, offset, "extra field of entry '" + entry.name + "' runs past its end");
      if (id == detail::zip64_extra_id) {
        std::uint64_t cursor = offset;
        for (filled = 0; filled < escaped_count; ++filled) {
          const std::size_t width = escaped[filled] == &disk ? 4 : 8;
          if (offset + field_length - cursor < width) break;
          *escaped[filled] = detail::zip_field(bytes_, cursor, width);
          cursor += width;
        }
      }
      offset += field_length;
    }
    if (filled < escaped_count)
      throw format_error::at_byte(file_, offset,
                                  "entry '" + entry.name + "' needs " + std::to_string(escaped_count) +
                                      " ZIP64 extra values but its extra field gives " + std::to_string(filled));
  }

  std::span<const std::byte> bytes_;
  std::string file_;
  std::vector<zip_entry> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace dnabert::io
