#pragma once
// BED intervals (UCSC BED, 0-based half-open): the first three columns of each line, for scans
// restricted to regions. Errors name the file and line.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/line_reader.hpp"

namespace dnabert::io {

/// One interval of a BED file: 0-based half-open [start, end) on `contig`, with its line.
struct bed_region {
  std::string contig;
  std::int64_t start = 0;
  std::int64_t end = 0;
  std::uint64_t line = 0;  ///< 1-based line in the BED file, for messages
};

/// A BED file's intervals and its name (for messages).
struct bed_regions {
  std::string file;
  std::vector<bed_region> regions;
};


/// Reads the intervals of a BED file (plain or gzip): the first three columns, tab- or
/// space-separated; blank, `track`, `browser` and `#` lines skipped. Throws format_error naming
/// the file and line for fewer than three columns, a coordinate that is not an integer or is
/// negative, and start > end. Contigs and lengths are checked against the genome by the scan.
inline bed_regions read_bed_regions(std::unique_ptr<byte_source> source) {
  line_reader lines(std::move(source), std::size_t{1} << 20);
  bed_regions out{lines.name(), {}};
  std::string line;
  while (detail::next_non_blank_line(lines, line)) {
    const auto fields = detail::split_blanks(line);
    if (fields.front().starts_with('#') || fields.front() == "track" || fields.front() == "browser") continue;
    const std::uint64_t number = lines.line_number();
    if (fields.size() < 3)
      throw format_error::at_line(out.file, number, "expected 'chrom<TAB>start<TAB>end' (at least 3 columns), found " +
                                                        detail::quote_excerpt(line));
    bed_region region{std::string(fields[0]), detail::parse_coordinate(fields[1], out.file, number, "start"),
                      detail::parse_coordinate(fields[2], out.file, number, "end"), number};
    if (region.start > region.end)
      throw format_error::at_line(out.file, number, "start " + std::to_string(region.start) + " is after end " +
                                                        std::to_string(region.end) + " (0-based half-open [start, end))");
    out.regions.push_back(std::move(region));
  }
  return out;
}

/// Reads the intervals of a BED file on disk (plain or gzip).
inline bed_regions read_bed_regions(const std::string& path) { return read_bed_regions(open_input(path)); }

}  // namespace dnabert::io
