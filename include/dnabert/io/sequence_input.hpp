#pragma once
// One entry point for sequences to tokenize or predict on: FASTA, DNABERT TSV or DNABERT-2 CSV,
// plain or gzip, told apart by content (never by file name).

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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
};

/// Tells the format from the first non-blank line: '>' means FASTA, a tab TSV, a comma CSV.
inline sequence_format detect_sequence_format(std::unique_ptr<byte_source> source) {
  line_reader lines(std::move(source), default_max_table_line_length);
  std::string line;
  if (!detail::next_non_blank_line(lines, line))
    throw format_error(lines.name(), "cannot tell the format of an empty or blank input");
  if (line[line.find_first_not_of(" \t")] == '>') return sequence_format::fasta;
  if (const std::optional<table_format> table = table_format_of_header(line))
    return *table == table_format::dnabert_tsv ? sequence_format::dnabert_tsv : sequence_format::dnabert2_csv;
  throw format_error::at_line(lines.name(), lines.line_number(),
                              "cannot tell the format: expected a FASTA header ('>id'), a DNABERT TSV header "
                              "('sequence<TAB>label') or a DNABERT-2 CSV header ('sequence,label'), found " +
                                  detail::quote_excerpt(line));
}

/// Tells the format of a file (plain or gzip) by its content.
inline sequence_format detect_sequence_format(const std::string& path) { return detect_sequence_format(open_input(path)); }

namespace detail {

/// Detects the format on one opening of the input and reads it from a second.
template <class OpenInput>
std::vector<sequence_entry> read_sequences_from(OpenInput open) {
  std::vector<sequence_entry> entries;
  if (detect_sequence_format(open()) == sequence_format::fasta) {
    fasta_reader reader(open());
    fasta_record record;
    while (reader.next(record)) entries.push_back({std::move(record.id), std::move(record.sequence), std::nullopt});
    return entries;
  }
  labelled_table table = read_labelled_table(open());
  entries.reserve(table.rows.size());
  for (std::size_t row = 0; row < table.rows.size(); ++row)
    entries.push_back({std::to_string(row), std::move(table.rows[row].sequence), table.rows[row].label});
  return entries;
}

}  // namespace detail

/// Reads every sequence of a FASTA, DNABERT TSV or DNABERT-2 CSV file (plain or gzip).
inline std::vector<sequence_entry> read_sequences(const std::string& path) {
  return detail::read_sequences_from([&] { return open_input(path); });
}

/// Reads every sequence of such bytes in memory; `name` appears in messages.
inline std::vector<sequence_entry> read_sequences(std::span<const std::byte> bytes, const std::string& name) {
  return detail::read_sequences_from([&] { return open_input(bytes, name); });
}

}  // namespace dnabert::io
