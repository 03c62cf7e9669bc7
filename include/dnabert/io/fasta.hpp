#pragma once
// Streaming FASTA reader (plain or gzip): one record at a time, case kept (lower case means
// soft-masked), every malformed line reported with its line, column and offending byte.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/line_reader.hpp"

namespace dnabert::io {

/// One FASTA record, sequence as written (case kept, spaces and line breaks removed).
struct fasta_record {
  std::string id;                  ///< header text after '>' up to the first space or tab
  std::string description;         ///< rest of the header line, leading blanks removed
  std::string sequence;            ///< nucleotides as read
  std::uint64_t header_line = 0;   ///< 1-based line of the '>' header
  std::uint64_t soft_masked = 0;   ///< lower-case letters (soft-masked repeats)
  std::uint64_t non_acgt = 0;      ///< letters other than A, C, G, T in either case (N, IUPAC, U, '-', '*')
};

/// Limits that keep a hostile file from exhausting memory.
struct fasta_options {
  std::size_t max_line_length = default_max_line_length;  ///< longest line, in bytes
  std::uint64_t max_record_length = std::uint64_t{1} << 31;  ///< longest sequence, in nucleotides
  /// Refuse an id seen before; this keeps every id, so memory grows with the records read. Off,
  /// a stream of reads of any length runs in memory that does not grow.
  bool unique_ids = true;
};

namespace detail {

/// Bits describing a byte of a FASTA sequence line; 0 means the byte is not allowed.
namespace fasta_byte {
inline constexpr std::uint8_t letter = 1;    // kept in the sequence
inline constexpr std::uint8_t lower = 2;     // soft-masked
inline constexpr std::uint8_t non_acgt = 4;  // N, IUPAC, U, X, '-', '*'
inline constexpr std::uint8_t blank = 8;     // space or tab, skipped
}  // namespace fasta_byte

/// Sequence bytes: ACGT, the IUPAC codes (RYKMSWBDHVN), U, X (masked), '-' and '*'; blanks skipped.
inline constexpr std::array<std::uint8_t, 256> fasta_byte_table = [] {
  std::array<std::uint8_t, 256> table{};
  const auto mark = [&table](std::string_view letters, std::uint8_t bits) {
    for (const char c : letters) {
      table[static_cast<unsigned char>(c)] = fasta_byte::letter | bits;
      if (c >= 'A' && c <= 'Z')
        table[static_cast<unsigned char>(c - 'A' + 'a')] = fasta_byte::letter | fasta_byte::lower | bits;
    }
  };
  mark("ACGT", 0);
  mark("RYKMSWBDHVNUX-*", fasta_byte::non_acgt);
  table[' '] = table['\t'] = fasta_byte::blank;
  return table;
}();

/// True for bytes that may not appear in a header line (controls other than tab).
inline bool is_control_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (byte < 0x20 && c != '\t') || byte == 0x7f;
}

}  // namespace detail

/// Reads FASTA records one at a time; memory holds one record plus the ids seen so far (none
/// without fasta_options::unique_ids).
class fasta_reader {
 public:
  /// Reads from `source` (see open_input for files and gzip).
  explicit fasta_reader(std::unique_ptr<byte_source> source, fasta_options options = {})
      : lines_(std::move(source), options.max_line_length), options_(options) {}

  /// Opens a plain or gzip-compressed FASTA file.
  explicit fasta_reader(const std::string& path, fasta_options options = {})
      : fasta_reader(open_input(path), options) {}

  /// Reads the next record into `record`; false after the last. Throws format_error on bad input.
  bool next(fasta_record& record) {
    if (!next_header(record)) return false;
    while (next_sequence_line(record)) {
    }
    return true;
  }

  /// Starts the next record: its header into `record`, its sequence empty; false after the last.
  /// Then next_sequence_line() reads the sequence a line at a time (a genome packed as it streams
  /// holds one line, not one chromosome).
  bool next_header(fasta_record& record) {
    if (in_record_) throw error(name() + ": next_header() called before the sequence of FASTA record '" + record.id + "' was read");
    if (!pending_header_ && !find_first_header()) return false;
    start_record(record);
    in_record_ = true;
    record_length_ = 0;
    return true;
  }

  /// Appends the current record's next sequence line (letters only) to record.sequence, which
  /// the caller may empty between calls; false at the record's end.
  bool next_sequence_line(fasta_record& record) {
    if (!in_record_) return false;
    const std::size_t line_start = record.sequence.size();
    if (lines_.append_line(record.sequence)) {
      if (record.sequence.size() == line_start || record.sequence[line_start] != '>') {
        keep_sequence_letters(record, line_start);
        return true;
      }
      header_.assign(record.sequence, line_start + 1);
      header_line_ = lines_.line_number();
      record.sequence.resize(line_start);
    } else {
      pending_header_ = false;
    }
    in_record_ = false;
    if (record_length_ == 0)
      throw format_error::at_line(name(), record.header_line,
                                  "FASTA record '" + record.id + "' has no sequence (header followed by " +
                                      (pending_header_ ? "another header)" : "end of file)"));
    return false;
  }

  /// The input's name, for messages.
  [[nodiscard]] const std::string& name() const noexcept { return lines_.name(); }

 private:
  /// Skips blank lines to the first header; false (or "no FASTA records") at end of input.
  bool find_first_header() {
    if (finished_) return false;
    std::string line;
    if (!detail::next_non_blank_line(lines_, line)) {
      finished_ = true;
      if (records_ == 0) throw format_error(name(), "no FASTA records (the input is empty or blank)");
      return false;
    }
    if (line.front() != '>')
      throw format_error::at_line(name(), lines_.line_number(),
                                  "expected '>' at start of FASTA record, found " + detail::describe_byte(line.front()));
    header_.assign(line, 1);
    header_line_ = lines_.line_number();
    pending_header_ = true;
    return true;
  }

  /// Fills id and description from the pending header and checks the id.
  void start_record(fasta_record& record) {
    for (std::size_t column = 0; column < header_.size(); ++column)
      if (detail::is_control_byte(header_[column]))
        throw format_error::at_line(name(), header_line_,
                                    "column " + std::to_string(column + 2) + ": unexpected " +
                                        detail::describe_byte(header_[column]) + " in FASTA header");
    const std::string_view header = header_;
    const std::size_t id_end = std::min(header.find_first_of(" \t"), header.size());
    if (id_end == 0)
      throw format_error::at_line(name(), header_line_,
                                  "empty FASTA id: expected an id right after '>', found " +
                                      (header.empty() ? std::string("end of line") : detail::describe_byte(header[0])));
    record.id.assign(header.substr(0, id_end));
    const std::size_t description_start = std::min(header.find_first_not_of(" \t", id_end), header.size());
    record.description.assign(header.substr(description_start));
    record.header_line = header_line_;
    record.sequence.clear();
    record.soft_masked = 0;
    record.non_acgt = 0;
    if (options_.unique_ids) {
      const auto [previous, inserted] = first_line_of_id_.try_emplace(record.id, header_line_);
      if (!inserted)
        throw format_error::at_line(name(), header_line_,
                                    "duplicate FASTA id '" + record.id + "' (first used on line " +
                                        std::to_string(previous->second) + ")");
    }
    ++records_;
  }

  /// Validates the line appended at `line_start`, counts masked/non-ACGT letters and drops blanks.
  /// The counting pass has no branches, so randomly mixed case and N cost no mispredictions.
  void keep_sequence_letters(fasta_record& record, std::size_t line_start) {
    std::string& sequence = record.sequence;
    std::uint8_t seen = 0;
    bool disallowed = false;
    for (std::size_t index = line_start; index < sequence.size(); ++index) {
      const std::uint8_t bits = detail::fasta_byte_table[static_cast<unsigned char>(sequence[index])];
      seen |= bits;
      disallowed |= bits == 0;
      record.soft_masked += (bits & detail::fasta_byte::lower) >> 1;
      record.non_acgt += (bits & detail::fasta_byte::non_acgt) >> 2;
    }
    if (disallowed) report_disallowed_byte(std::string_view(sequence).substr(line_start), record.id);
    if ((seen & detail::fasta_byte::blank) != 0)
      sequence.erase(std::remove_if(sequence.begin() + static_cast<std::ptrdiff_t>(line_start), sequence.end(),
                                    [](char c) { return c == ' ' || c == '\t'; }),
                     sequence.end());
    record_length_ += sequence.size() - line_start;
    if (record_length_ > options_.max_record_length)
      throw format_error::at_line(name(), lines_.line_number(),
                                  "FASTA record '" + record.id + "' is longer than the limit of " +
                                      std::to_string(options_.max_record_length) + " nucleotides");
  }

  /// Throws for the first byte of sequence line `line` that may not appear in a sequence.
  [[noreturn]] void report_disallowed_byte(std::string_view line, const std::string& id) const {
    std::size_t column = 0;
    while (detail::fasta_byte_table[static_cast<unsigned char>(line[column])] != 0) ++column;
    const char c = line[column];
    throw format_error::at_line(name(), lines_.line_number(),
                                "column " + std::to_string(column + 1) + ": unexpected " + detail::describe_byte(c) +
                                    " in the sequence of FASTA record '" + id + "'" +
                                    (c == '>' ? " ('>' starts a header only at the beginning of a line)"
                                              : " (expected nucleotide letters, IUPAC codes, '-' or '*')"));
  }

  line_reader lines_;
  fasta_options options_;
  std::string header_;  // text after '>' of the header read but not yet returned
  std::uint64_t header_line_ = 0;
  bool pending_header_ = false;
  bool in_record_ = false;            // a header was returned and its sequence is being read
  std::uint64_t record_length_ = 0;  // letters of the current record so far
  bool finished_ = false;
  std::uint64_t records_ = 0;
  std::unordered_map<std::string, std::uint64_t> first_line_of_id_;
};

/// Reads every record of a FASTA stream.
inline std::vector<fasta_record> read_fasta(std::unique_ptr<byte_source> source, fasta_options options = {}) {
  fasta_reader reader(std::move(source), options);
  std::vector<fasta_record> records;
  fasta_record record;
  while (reader.next(record)) records.push_back(std::move(record));
  return records;
}

/// Reads every record of a plain or gzip-compressed FASTA file.
inline std::vector<fasta_record> read_fasta(const std::string& path, fasta_options options = {}) {
  return read_fasta(open_input(path), options);
}

/// Reads every record of FASTA bytes in memory (plain or gzip); `name` appears in messages.
inline std::vector<fasta_record> read_fasta(std::span<const std::byte> bytes, std::string name,
                                            fasta_options options = {}) {
  return read_fasta(open_input(bytes, std::move(name)), options);
}

}  // namespace dnabert::io
