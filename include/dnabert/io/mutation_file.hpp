#pragma once
// DNABERT's mutation file (--mut-file): tab-separated `idx start end [allele]` rows, each
// replacing [start, end) of one input sequence by an allele.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/core/nucleotide_text.hpp"
#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/line_reader.hpp"

namespace dnabert::io {

/// One row of DNABERT's --mut-file: replace [start, end) of sequence `sequence_id` by `allele`
/// (start == end inserts, an empty allele deletes).
struct sequence_mutation {
  std::string sequence_id;  ///< DNABERT's idx: the 0-based row of the TSV (or a FASTA id)
  std::size_t start = 0;
  std::size_t end = 0;
  std::string allele;  ///< upper-cased
  std::uint64_t line = 0;  ///< line in the mutation file, for messages
};

/// Reads DNABERT's mutation file: tab-separated `idx start end [allele]`, no header, 0-based
/// half-open; an empty or missing allele is a deletion (DNABERT's fillna('')). Throws
/// format_error naming the file and line of the first bad row.
inline std::vector<sequence_mutation> read_mutation_file(std::unique_ptr<byte_source> source) {
  line_reader lines(std::move(source), std::size_t{1} << 20);
  const std::string file = lines.name();
  std::vector<sequence_mutation> mutations;
  std::string line;
  while (detail::next_non_blank_line(lines, line)) {
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
      const std::size_t tab = line.find('\t', start);
      fields.push_back(std::string_view(line).substr(start, tab == std::string::npos ? tab : tab - start));
      if (tab == std::string::npos || fields.size() > 4) break;
      start = tab + 1;
    }
    const std::uint64_t number = lines.line_number();
    if (fields.size() < 3 || fields.size() > 4)
      throw format_error::at_line(file, number, "expected 'idx<TAB>start<TAB>end<TAB>allele' (3 or 4 tab-separated "
                                                "columns), found " + detail::quote_excerpt(line));
    sequence_mutation m;
    m.sequence_id = std::string(fields[0]);
    m.start = static_cast<std::size_t>(detail::parse_coordinate(fields[1], file, number, "start"));
    m.end = static_cast<std::size_t>(detail::parse_coordinate(fields[2], file, number, "end"));
    m.allele = fields.size() == 4 ? upper_case(fields[3]) : std::string();
    m.line = number;
    if (m.sequence_id.empty()) throw format_error::at_line(file, number, "empty idx");
    if (m.start > m.end)
      throw format_error::at_line(file, number, "start " + std::to_string(m.start) + " is after end " +
                                                    std::to_string(m.end) + " (0-based half-open [start, end))");
    if (!is_acgtn(m.allele))
      throw format_error::at_line(file, number, "allele " + detail::quote_excerpt(m.allele) +
                                                    " has letters other than A, C, G, T, N");
    mutations.push_back(std::move(m));
  }
  return mutations;
}

/// Reads a mutation file from disk (plain or gzip).
inline std::vector<sequence_mutation> read_mutation_file(const std::string& path) {
  return read_mutation_file(open_input(path));
}

}  // namespace dnabert::io
