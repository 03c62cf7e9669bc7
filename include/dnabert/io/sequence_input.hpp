#pragma once
// One entry point for sequences to tokenize, predict or train on: FASTA, DNABERT TSV or DNABERT-2
// CSV, plain or gzip, told apart by content (never by file name) in one pass, so pipes and standard
// input work; read whole or in bounded chunks. FASTA may take labels from a side file.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/fasta.hpp"
#include "dnabert/io/labelled_table.hpp"
#include "dnabert/io/line_reader.hpp"

namespace dnabert::io {

/// The input formats read_sequences understands.
enum class sequence_format { fasta, dnabert_tsv, dnabert2_csv };

/// A human-readable name for a format ("FASTA", "DNABERT TSV", "DNABERT-2 CSV").
inline std::string_view format_name(sequence_format format) {
  switch (format) {
    case sequence_format::fasta:
      return "FASTA";
    case sequence_format::dnabert_tsv:
      return "DNABERT TSV";
    case sequence_format::dnabert2_csv:
      return "DNABERT-2 CSV";
  }
  return "unknown";
}

/// One input sequence: FASTA id or 0-based table row number, nucleotides, and the label if any.
struct sequence_entry {
  std::string id;
  std::string sequence;
  std::optional<double> label;
  std::string second = {};  ///< a pair table row's second sequence (empty for a single sequence)
  /// A multi-label table row's 0/1 value per label (empty otherwise; `label` is then empty).
  std::vector<std::uint8_t> multi_labels = {};  // = {}: initialisers that omit it stay warning-free
};

namespace detail {

/// Tells the format of the input `peeked` looked at: '>' means FASTA, a tab TSV, a comma CSV.
inline sequence_format format_of(const peeked_line& peeked) {
  const std::string& name = peeked.source->name();
  if (!peeked.found) throw format_error(name, "cannot tell the format of an empty or blank input");
  const std::string& line = peeked.line;
  if (line[line.find_first_not_of(" \t")] == '>') return sequence_format::fasta;
  if (const std::optional<table_format> table = table_format_of_header(line))
    return *table == table_format::dnabert_tsv ? sequence_format::dnabert_tsv : sequence_format::dnabert2_csv;
  throw format_error::at_line(name, peeked.line_number,
                              "cannot tell the format: expected a FASTA header ('>id'), a DNABERT TSV header "
                              "('sequence<TAB>label') or a DNABERT-2 CSV header ('sequence,label'), found " +
                                  quote_excerpt(line));
}

}  // namespace detail

/// Tells the format from the first non-blank line: '>' means FASTA, a tab TSV, a comma CSV.
inline sequence_format detect_sequence_format(std::unique_ptr<byte_source> source) {
  return detail::format_of(peek_first_line(std::move(source), default_max_table_line_length));
}

/// Tells the format of a file (plain or gzip) by its content.
inline sequence_format detect_sequence_format(const std::string& path) { return detect_sequence_format(open_input(path)); }

/// At most how many sequences a chunk holds: records, and nucleotides (a chunk holds at least one
/// record, however long, and ends with the record that reaches `max_nucleotides`).
struct chunk_limits {
  std::size_t max_records = 4096;
  std::size_t max_nucleotides = std::size_t{1} << 22;
};

/// Reads the sequences of one input (FASTA, DNABERT TSV or DNABERT-2 CSV, plain or gzip) one at a
/// time or a chunk at a time, in one pass: the format is told from a buffered prefix, so a pipe or
/// standard input reads as a file does. Memory holds one record or chunk, and FASTA's ids seen
/// unless fasta_options::unique_ids is off.
class sequence_reader {
 public:
  /// Reads `source` (FASTA with `fasta`'s limits); throws format_error when its format cannot be told.
  explicit sequence_reader(std::unique_ptr<byte_source> source, const fasta_options& fasta = {}) {
    peeked_line peeked = peek_first_line(std::move(source), default_max_table_line_length);
    format_ = detail::format_of(peeked);
    if (format_ == sequence_format::fasta) fasta_.emplace(std::move(peeked.source), fasta);
    else table_.emplace(std::move(peeked.source));
  }

  /// Opens `path`: a file, a pipe or "-" (standard input), plain or gzip.
  explicit sequence_reader(const std::string& path, const fasta_options& fasta = {})
      : sequence_reader(open_input(path), fasta) {}

  /// The format told from the input's content.
  [[nodiscard]] sequence_format format() const noexcept { return format_; }
  /// The input's name, for messages ("<stdin>" for standard input).
  [[nodiscard]] const std::string& name() const noexcept { return fasta_ ? fasta_->name() : table_->name(); }

  /// Reads the next sequence into `entry` (a table row's id is its 0-based row number); false
  /// after the last. Throws format_error on bad input.
  bool next(sequence_entry& entry) {
    if (fasta_) {
      if (!fasta_->next(record_)) return false;
      entry = {std::move(record_.id), std::move(record_.sequence), std::nullopt, {}, {}};
    } else {
      if (!table_->next(row_)) return false;
      entry = {std::to_string(rows_), std::move(row_.sequence),
               row_.multi_labels.empty() ? std::optional<double>(row_.label) : std::nullopt, std::move(row_.second),
               std::move(row_.multi_labels)};
    }
    ++rows_;
    return true;
  }

  /// Replaces `chunk` with the next sequences, within `limits`; false (and `chunk` empty) when
  /// the input is exhausted.
  bool next_chunk(std::vector<sequence_entry>& chunk, const chunk_limits& limits = {}) {
    chunk.clear();
    std::size_t nucleotides = 0;
    sequence_entry entry;
    while (chunk.size() < std::max<std::size_t>(limits.max_records, 1) && nucleotides < limits.max_nucleotides &&
           next(entry)) {
      nucleotides += entry.sequence.size();
      chunk.push_back(std::move(entry));
    }
    return !chunk.empty();
  }

  /// Sequences read so far.
  [[nodiscard]] std::uint64_t count() const noexcept { return rows_; }

 private:
  sequence_format format_ = sequence_format::fasta;
  std::optional<fasta_reader> fasta_;
  std::optional<labelled_table_reader> table_;
  fasta_record record_;
  labelled_row row_;
  std::uint64_t rows_ = 0;
};

namespace detail {

/// Every sequence `reader` reads.
inline std::vector<sequence_entry> read_all(sequence_reader reader) {
  std::vector<sequence_entry> entries;
  for (sequence_entry entry; reader.next(entry);) entries.push_back(std::move(entry));
  return entries;
}

/// The fields of one labels-file line, split on tabs, commas or runs of whitespace.
class label_columns {
 public:
  /// Picks the separator of a whole file from its first line: a tab, else a comma, else whitespace.
  explicit label_columns(std::string_view first_line)
      : separator_(first_line.find('\t') != std::string_view::npos ? '\t'
                   : first_line.find(',') != std::string_view::npos ? ','
                                                                     : ' ') {}

  /// The first two fields of a line, without surrounding spaces or tabs, and how many it has.
  struct fields {
    std::string_view first;
    std::string_view second;
    std::size_t count = 0;
  };

  /// Splits `line` without allocating, whatever its number of fields (a hostile line may have millions).
  [[nodiscard]] fields split(std::string_view line) const {
    fields found;
    std::size_t start = 0;
    for (;;) {
      const std::size_t end = separator_ == ' ' ? line.find_first_of(" \t", start) : line.find(separator_, start);
      const std::string_view field = trim(line.substr(start, end == std::string_view::npos ? end : end - start));
      if (separator_ != ' ' || !field.empty()) {
        if (found.count == 0) found.first = field;
        if (found.count == 1) found.second = field;
        ++found.count;
      }
      if (end == std::string_view::npos) return found;
      start = end + 1;
    }
  }

  /// How the separator is called in messages ("id<TAB>label").
  [[nodiscard]] std::string_view two_column_layout() const {
    return separator_ == '\t' ? "'id<TAB>label'" : separator_ == ',' ? "'id,label'" : "'id label'";
  }

 private:
  static std::string_view trim(std::string_view text) {
    const std::size_t first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
  }

  char separator_;
};

/// Labels by record id (`id<sep>label` lines, after an optional `id<sep>label` header): every
/// record gets exactly one, and every id names a record.
inline void attach_labels_by_id(std::vector<sequence_entry>& entries, line_reader& lines, std::string& line,
                                const label_columns& columns, std::string_view sequences_name) {
  const std::string& file = lines.name();
  std::unordered_map<std::string_view, std::size_t> record_of_id;
  for (std::size_t record = 0; record < entries.size(); ++record) record_of_id.emplace(entries[record].id, record);
  std::vector<std::uint64_t> label_line(entries.size(), 0);
  const std::uint64_t first_line = lines.line_number();
  do {
    const std::uint64_t number = lines.line_number();
    const label_columns::fields fields = columns.split(line);
    if (fields.count != 2)
      throw format_error::at_line(file, number,
                                  "expected 2 columns " + std::string(columns.two_column_layout()) + " as on line " +
                                      std::to_string(first_line) + ", found " + std::to_string(fields.count));
    if (number == first_line && fields.first == "id" && fields.second == "label") continue;
    const auto record = record_of_id.find(fields.first);
    if (record == record_of_id.end())
      throw format_error::at_line(file, number,
                                  "unknown id " + quote_excerpt(fields.first) + ": no record of " +
                                      std::string(sequences_name) + " has it");
    if (const std::uint64_t earlier = label_line[record->second]; earlier != 0)
      throw format_error::at_line(file, number,
                                  "duplicate label for " + quote_excerpt(fields.first) + " (first given on line " +
                                      std::to_string(earlier) + ")");
    entries[record->second].label = parse_label(fields.second, file, number);
    label_line[record->second] = number;
  } while (next_non_blank_line(lines, line));
  const auto unlabelled = std::find(label_line.begin(), label_line.end(), std::uint64_t{0});
  if (unlabelled != label_line.end())
    throw format_error(file, "no label for record " +
                                 quote_excerpt(entries[static_cast<std::size_t>(unlabelled - label_line.begin())].id) +
                                 " of " + std::string(sequences_name) + " (" +
                                 std::to_string(std::count(unlabelled, label_line.end(), std::uint64_t{0})) + " of " +
                                 std::to_string(entries.size()) + " records have none)");
}

/// Labels in record order, one per line: as many labels as records.
inline void attach_labels_in_order(std::vector<sequence_entry>& entries, line_reader& lines, std::string& line,
                                   const label_columns& columns, std::string_view sequences_name) {
  const std::string& file = lines.name();
  std::vector<double> labels;
  do {
    const std::uint64_t number = lines.line_number();
    const label_columns::fields fields = columns.split(line);
    if (fields.count != 1)
      throw format_error::at_line(file, number,
                                  "expected one label per line, as on the first line, found " +
                                      std::to_string(fields.count) + " columns");
    labels.push_back(parse_label(fields.first, file, number));
  } while (next_non_blank_line(lines, line));
  if (labels.size() != entries.size())
    throw format_error(file, "has " + std::to_string(labels.size()) + " labels (one per line) but " +
                                 std::string(sequences_name) + " has " + std::to_string(entries.size()) + " records");
  for (std::size_t record = 0; record < entries.size(); ++record) entries[record].label = labels[record];
}

}  // namespace detail

/// Reads every sequence of a FASTA, DNABERT TSV or DNABERT-2 CSV file, pipe or standard input
/// ("-"), plain or gzip.
inline std::vector<sequence_entry> read_sequences(const std::string& path) {
  return detail::read_all(sequence_reader(path));
}

/// Reads every sequence of such bytes in memory; `name` appears in messages.
inline std::vector<sequence_entry> read_sequences(std::span<const std::byte> bytes, const std::string& name) {
  return detail::read_all(sequence_reader(open_input(bytes, name)));
}

/// Gives unlabelled entries (read from `sequences_name`) the labels of a labels file: either
/// `id<sep>label` lines (tab, comma or whitespace; optional `id<sep>label` header) or one label per line.
inline void attach_labels(std::vector<sequence_entry>& entries, std::unique_ptr<byte_source> labels,
                          std::string_view sequences_name) {
  line_reader lines(std::move(labels), default_max_table_line_length);
  if (std::any_of(entries.begin(), entries.end(), [](const sequence_entry& entry) { return entry.label.has_value(); }))
    throw format_error(sequences_name, "has labels of its own (a table with a label column); labels from " +
                                           lines.name() + " as well would be two sources of labels: give one");
  std::string line;
  if (!detail::next_non_blank_line(lines, line))
    throw format_error(lines.name(), "no labels: the file is empty or blank");
  const detail::label_columns columns(line);
  const std::size_t first_columns = columns.split(line).count;
  if (first_columns == 2) return detail::attach_labels_by_id(entries, lines, line, columns, sequences_name);
  if (first_columns == 1) return detail::attach_labels_in_order(entries, lines, line, columns, sequences_name);
  throw format_error::at_line(lines.name(), lines.line_number(),
                              "expected " + std::string(columns.two_column_layout()) +
                                  " or one label per line, found " + std::to_string(first_columns) + " columns");
}

/// Reads the sequences of `path` (FASTA, plain or gzip) and their labels from `labels_path`.
inline std::vector<sequence_entry> read_sequences(const std::string& path, const std::string& labels_path) {
  std::vector<sequence_entry> entries = read_sequences(path);
  attach_labels(entries, open_input(labels_path), input_name(path));
  return entries;
}

}  // namespace dnabert::io
