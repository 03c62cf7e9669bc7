#pragma once
// Labelled sequence tables: DNABERT's fine-tuning TSV (k-mer sentences, header row skipped) and
// DNABERT-2's CSV (sequence,label), each also as a table of pairs (DNABERT's dnapair TSV
// seq1<TAB>seq2<TAB>label, DNABERT-2's 3-column CSV). Sequences come back as raw nucleotides,
// labels as numbers, or for multi-label tables as 0/1 vectors (the label column holding two or
// more space-separated 0/1 values, e.g. "0 1 1 0": spaces clash with neither separator).

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/kmer_sentence.hpp"
#include "dnabert/io/line_reader.hpp"

namespace dnabert::io {

/// The two table layouts DNABERT and DNABERT-2 train from.
enum class table_format {
  dnabert_tsv,   ///< header row, then sequence<TAB>label[<TAB>ignored...] or seq1<TAB>seq2<TAB>label[...]
  dnabert2_csv,  ///< header "sequence,label" then two columns, or a 3-column header then seq1,seq2,label
};

/// One data row: the sequence as nucleotides (k-mer sentences joined back), its label and line.
struct labelled_row {
  std::string sequence;
  double label = 0.0;
  std::uint64_t line = 0;
  std::string second;  ///< a pair table's second sequence (empty otherwise)
  /// A multi-label table's 0/1 value per label, as many in every row (empty otherwise; `label` is then 0).
  std::vector<std::uint8_t> multi_labels = {};  // = {}: initialisers that omit it stay warning-free
};

/// A whole table and the layout it was read as.
struct labelled_table {
  table_format format = table_format::dnabert_tsv;
  std::vector<labelled_row> rows;
  bool pairs = false;  ///< every row holds a pair of sequences
};

/// Longest table line accepted by default (sequences in tables are short; 64 MiB is plenty).
inline constexpr std::size_t default_max_table_line_length = std::size_t{64} << 20;

namespace detail {

/// The column separator of each table format.
inline char separator_of(table_format format) { return format == table_format::dnabert_tsv ? '\t' : ','; }

/// The first three columns of a row and how many columns it has (no allocation, whatever the count).
struct leading_columns {
  std::string_view first, second, third;
  std::size_t count = 1;
};

/// Splits off the first three columns of `line` and counts its columns.
inline leading_columns split_leading_columns(std::string_view line, char separator) {
  leading_columns columns;
  columns.count += static_cast<std::size_t>(std::count(line.begin(), line.end(), separator));
  std::string_view rest = line;
  for (std::string_view* column : {&columns.first, &columns.second, &columns.third}) {
    const std::size_t end = std::min(rest.find(separator), rest.size());
    *column = rest.substr(0, end);
    if (end == rest.size()) break;
    rest = rest.substr(end + 1);
  }
  return columns;
}

/// Whether a column reads as a label (a number), which tells a sequence,label row from a pair's.
inline bool reads_as_number(std::string_view text) {
  const std::size_t first = text.find_first_not_of(' ');
  if (first == std::string_view::npos) return false;
  text = text.substr(first, text.find_last_not_of(' ') - first + 1);
  double value = 0.0;
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  return status == std::errc() && end == text.data() + text.size();
}

/// Parses a label: a finite decimal number, surrounding spaces allowed.
inline double parse_label(std::string_view text, std::string_view file, std::uint64_t line) {
  const std::size_t first = text.find_first_not_of(' ');
  if (first == std::string_view::npos) throw format_error::at_line(file, line, "empty label (expected a number)");
  text = text.substr(first, text.find_last_not_of(' ') - first + 1);
  double value = 0.0;
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (status != std::errc() || end != text.data() + text.size())
    throw format_error::at_line(file, line, "label " + quote_excerpt(text) + " is not a number");
  if (!std::isfinite(value))
    throw format_error::at_line(file, line, "label " + quote_excerpt(text) + " is not a finite number");
  return value;
}

/// Whether a label column holds a label vector: two or more values separated by spaces.
inline bool is_label_vector(std::string_view text) {
  const std::size_t first = text.find_first_not_of(' ');
  if (first == std::string_view::npos) return false;
  const std::size_t last = text.find_last_not_of(' ');
  return text.substr(first, last - first + 1).find(' ') != std::string_view::npos;
}

/// Whether a second column holds a label vector rather than a pair's second sequence (a k-mer
/// sentence has spaces too): digits and spaces only.
inline bool reads_as_label_vector(std::string_view text) {
  return is_label_vector(text) && text.find_first_not_of("0123456789 ") == std::string_view::npos;
}

/// Parses a multi-label column: 0/1 values separated by runs of spaces, surrounding spaces allowed.
inline std::vector<std::uint8_t> parse_label_vector(std::string_view text, std::string_view file, std::uint64_t line) {
  std::vector<std::uint8_t> values;
  for (std::size_t start = text.find_first_not_of(' '); start != std::string_view::npos;
       start = text.find_first_not_of(' ', start)) {
    const std::string_view value = text.substr(start, std::min(text.find(' ', start), text.size()) - start);
    if (value != "0" && value != "1")
      throw format_error::at_line(file, line,
                                  "value " + std::to_string(values.size() + 1) + " of the label vector is " +
                                      quote_excerpt(value) +
                                      ", expected 0 or 1 (a multi-label column holds 0/1 values separated by spaces, "
                                      "e.g. '0 1 1 0')");
    values.push_back(value == "1" ? 1 : 0);
    start += value.size();
  }
  return values;
}

/// Turns a sequence column into nucleotides; a column with spaces is a k-mer sentence.
inline std::string parse_sequence_column(std::string_view text, std::string_view file, std::uint64_t line) {
  if (is_blank(text)) throw format_error::at_line(file, line, "empty sequence");
  const bool sentence = text.find(' ') != std::string_view::npos;
  for (std::size_t position = 0; position < text.size(); ++position) {
    const char c = text[position];
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!letter && !(sentence && c == ' '))
      throw format_error::at_line(file, line,
                                  "sequence character " + std::to_string(position + 1) + " is " + describe_byte(c) +
                                      ", expected a letter" + (sentence ? " or a space between k-mers" : ""));
  }
  return sentence ? kmer_sentence_to_sequence(text, file, line) : std::string(text);
}

}  // namespace detail

/// Tells the table format from its header line: a tab means DNABERT TSV, else a comma DNABERT-2 CSV.
inline std::optional<table_format> table_format_of_header(std::string_view header) {
  if (header.find('\t') != std::string_view::npos) return table_format::dnabert_tsv;
  if (header.find(',') != std::string_view::npos) return table_format::dnabert2_csv;
  return std::nullopt;
}

/// Reads the rows of a DNABERT TSV or DNABERT-2 CSV table one at a time, holding one line: blank
/// lines are skipped, the first other line is the header.
class labelled_table_reader {
 public:
  /// Reads the header from `source`; throws format_error when it is missing or not a table header.
  explicit labelled_table_reader(std::unique_ptr<byte_source> source,
                                 std::size_t max_line_length = default_max_table_line_length)
      : lines_(std::move(source), max_line_length) {
    if (!detail::next_non_blank_line(lines_, line_))
      throw format_error(name(), "empty table: expected a header line ('sequence<TAB>label' or 'sequence,label')");
    const std::optional<table_format> format = table_format_of_header(line_);
    if (!format)
      throw format_error::at_line(name(), lines_.line_number(),
                                  "expected a table header with a tab ('sequence<TAB>label') or a comma "
                                  "('sequence,label'), found " +
                                      detail::quote_excerpt(line_));
    format_ = *format;
    const std::size_t header_columns = detail::split_leading_columns(line_, separator()).count;
    if (format_ == table_format::dnabert2_csv && header_columns != 2 && header_columns != 3)
      throw format_error::at_line(name(), lines_.line_number(),
                                  "expected a CSV header with 2 columns ('sequence,label') or 3 (a pair: "
                                  "'sequence1,sequence2,label'), found " +
                                      std::to_string(header_columns) + " columns");
    // A CSV says by its header; a TSV by its first row (a label or a second sequence in column 2).
    if (format_ == table_format::dnabert2_csv) pairs_ = header_columns == 3;
  }

  /// The layout the header announced.
  [[nodiscard]] table_format format() const noexcept { return format_; }
  /// Whether the rows are pairs of sequences (known once the first row is read, for a TSV).
  [[nodiscard]] bool pairs() const noexcept { return pairs_.value_or(false); }
  /// The input's name, for messages.
  [[nodiscard]] const std::string& name() const noexcept { return lines_.name(); }

  /// Reads the next row into `row`; false after the last. Throws format_error on a bad row, and
  /// when the table ends without any row.
  bool next(labelled_row& row) {
    if (!detail::next_non_blank_line(lines_, line_)) {
      if (rows_ == 0) throw format_error(name(), "the table has a header but no rows");
      return false;
    }
    const bool tsv = format_ == table_format::dnabert_tsv;
    const std::uint64_t number = lines_.line_number();
    const detail::leading_columns columns = detail::split_leading_columns(line_, separator());
    if (tsv && columns.count < 2)
      throw format_error::at_line(name(), number, "missing label column: expected 'sequence<TAB>label', found 1 column");
    if (!pairs_)
      pairs_ = columns.count >= 3 && !detail::reads_as_number(columns.second) &&
               !detail::reads_as_label_vector(columns.second);
    const std::size_t wanted = *pairs_ ? 3 : 2;
    if (tsv && columns.count < wanted)
      throw format_error::at_line(name(), number,
                                  "expected 'sequence1<TAB>sequence2<TAB>label' as in the first row, found " +
                                      std::to_string(columns.count) + " columns");
    if (!tsv && columns.count != wanted)
      throw format_error::at_line(name(), number,
                                  "expected " + std::to_string(wanted) + " comma-separated columns (" +
                                      (*pairs_ ? "sequence1,sequence2,label" : "sequence,label") +
                                      ") as in the header, found " + std::to_string(columns.count));
    row.sequence = detail::parse_sequence_column(columns.first, name(), number);
    row.second = *pairs_ ? detail::parse_sequence_column(columns.second, name(), number) : std::string();
    read_label(*pairs_ ? columns.third : columns.second, number, row);
    row.line = number;
    ++rows_;
    return true;
  }

 private:
  [[nodiscard]] char separator() const { return detail::separator_of(format_); }

  // A number, or a 0/1 vector of as many labels as the first row's (label_count_ 0: numbers).
  void read_label(std::string_view column, std::uint64_t number, labelled_row& row) {
    const bool vector = detail::is_label_vector(column);
    row.multi_labels = vector ? detail::parse_label_vector(column, name(), number) : std::vector<std::uint8_t>{};
    row.label = vector ? 0.0 : detail::parse_label(column, name(), number);
    if (!label_count_) {
      label_count_ = row.multi_labels.size();
      first_row_line_ = number;
      return;
    }
    if (row.multi_labels.size() == *label_count_) return;
    const auto describe = [](std::size_t count) {
      return count == 0 ? std::string("a single number") : "a vector of " + std::to_string(count) + " labels";
    };
    throw format_error::at_line(name(), number,
                                "the label is " + describe(row.multi_labels.size()) + " but line " +
                                    std::to_string(first_row_line_) + "'s is " + describe(*label_count_) +
                                    ": every row needs the same labels");
  }

  line_reader lines_;
  std::string line_;
  table_format format_ = table_format::dnabert_tsv;
  std::optional<bool> pairs_;  // unknown for a TSV until its first row
  std::optional<std::size_t> label_count_;  // the first row's label vector size (0: a number)
  std::uint64_t first_row_line_ = 0;
  std::uint64_t rows_ = 0;
};

/// Reads a DNABERT TSV or DNABERT-2 CSV table; blank lines are skipped, the first other line is the header.
inline labelled_table read_labelled_table(std::unique_ptr<byte_source> source,
                                          std::size_t max_line_length = default_max_table_line_length) {
  labelled_table_reader reader(std::move(source), max_line_length);
  labelled_table table{reader.format(), {}};
  for (labelled_row row; reader.next(row);) table.rows.push_back(std::move(row));
  table.pairs = reader.pairs();
  return table;
}

/// Reads a table file, plain or gzip-compressed.
inline labelled_table read_labelled_table(const std::string& path,
                                          std::size_t max_line_length = default_max_table_line_length) {
  return read_labelled_table(open_input(path), max_line_length);
}

/// Reads table bytes in memory (plain or gzip); `name` appears in messages.
inline labelled_table read_labelled_table(std::span<const std::byte> bytes, std::string name,
                                          std::size_t max_line_length = default_max_table_line_length) {
  return read_labelled_table(open_input(bytes, std::move(name)), max_line_length);
}

}  // namespace dnabert::io
