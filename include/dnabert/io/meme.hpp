#pragma once
// MEME minimal motif format (version 4, ACGT): what Tomtom, FIMO and SEA read, and JASPAR serves.
// dnabert writes its discovered motifs in it and reads known motifs (e.g. JASPAR) from it.

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/line_reader.hpp"

namespace dnabert::io {

/// One motif for a MEME file: its name, site count, E-value, A/C/G/T probabilities per position
/// and the optional alternate name of its MOTIF line (JASPAR's "MA0004.1 Arnt").
struct meme_motif {
  std::string name;
  std::size_t sites = 0;
  double e_value = 1.0;
  std::vector<std::array<double, 4>> probabilities;  ///< rows sum to 1
  std::string alternate_name;
};

/// The motifs of a MEME file and its background letter frequencies (A, C, G, T; uniform if absent).
struct meme_file {
  std::vector<meme_motif> motifs;
  std::array<double, 4> background{0.25, 0.25, 0.25, 0.25};
};

/// Widest motif read from a MEME file: far wider than any real motif, and a cap a hostile "w="
/// cannot get past.
inline constexpr std::size_t max_meme_width = 10000;

/// Longest MEME line read (a row of four numbers, a MOTIF line with a long alternate name).
inline constexpr std::size_t max_meme_line = std::size_t{1} << 16;

namespace detail {

/// A number as MEME files print them ("0.250000", "1.2e-05").
inline std::string meme_number(double value, const char* format) {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

/// Throws input_error unless `motif` can be written: a name without blanks, rows that are
/// finite, non-negative and sum to 1 (within rounding).
inline void check_meme_motif(const meme_motif& motif) {
  if (motif.name.empty() || motif.name.find_first_of(" \t\r\n") != std::string::npos)
    throw input_error("MEME motif name '" + motif.name + "' must be non-empty and without blanks");
  const std::string_view alternate = motif.alternate_name;
  if (alternate.find_first_of("\r\n") != std::string_view::npos ||
      (!alternate.empty() && (alternate.front() == ' ' || alternate.front() == '\t' || alternate.back() == ' ' ||
                              alternate.back() == '\t')))
    throw input_error("MEME motif " + motif.name + ": its alternate name must be one line without surrounding blanks");
  if (motif.probabilities.empty()) throw input_error("MEME motif " + motif.name + " has no positions");
  for (std::size_t row = 0; row < motif.probabilities.size(); ++row) {
    double sum = 0;
    for (const double p : motif.probabilities[row]) {
      if (!(p >= 0 && std::isfinite(p)))
        throw input_error("MEME motif " + motif.name + " position " + std::to_string(row + 1) + " has a probability " +
                          std::to_string(p));
      sum += p;
    }
    if (std::abs(sum - 1.0) > 1e-6)
      throw input_error("MEME motif " + motif.name + " position " + std::to_string(row + 1) + " sums to " +
                        std::to_string(sum) + ", not 1");
  }
}

}  // namespace detail

/// The MEME text for `motifs` with background letter frequencies `background` (A, C, G, T).
inline std::string meme_text(const std::vector<meme_motif>& motifs, const std::array<double, 4>& background) {
  std::string text = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\n";
  for (std::size_t b = 0; b < 4; ++b)
    text += std::string(b ? " " : "") + "ACGT"[b] + " " + detail::meme_number(background[b], "%.6f");
  text += "\n";
  for (const auto& motif : motifs) {
    detail::check_meme_motif(motif);
    text += "\nMOTIF " + motif.name + (motif.alternate_name.empty() ? "" : " ") + motif.alternate_name +
            "\nletter-probability matrix: alength= 4 w= " +
            std::to_string(motif.probabilities.size()) + " nsites= " + std::to_string(motif.sites) +
            " E= " + detail::meme_number(motif.e_value, "%.3g") + "\n";
    for (const auto& row : motif.probabilities) {
      for (std::size_t b = 0; b < 4; ++b) text += (b ? "  " : " ") + detail::meme_number(row[b], "%.6f");
      text += "\n";
    }
  }
  return text;
}

/// Writes `motifs` as a MEME file at `path`, atomically.
inline void write_meme(const std::string& path, const std::vector<meme_motif>& motifs,
                       const std::array<double, 4>& background = {0.25, 0.25, 0.25, 0.25}) {
  write_file_atomically(path, meme_text(motifs, background));
}

namespace detail {

/// `text` without leading and trailing spaces and tabs.
inline std::string_view trim_blanks(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

/// Reads one MEME file line by line, as a small state machine: the header lines, then MOTIF
/// blocks, each with one letter-probability matrix whose rows follow its header line.
class meme_reader {
 public:
  /// Reads from `lines`, which name the file in errors.
  explicit meme_reader(line_reader& lines) : lines_(lines) {}

  /// The motifs and background of the whole file; throws format_error at the first bad line.
  meme_file read() {
    std::string line;
    if (!next_non_blank_line(lines_, line))
      throw format_error(name(), "is empty, expected a MEME motif file starting 'MEME version 4'");
    read_version(trim_blanks(line));
    while (lines_.next_line(line)) {
      const std::string_view text = trim_blanks(line);
      check_text(text);
      if (rows_open_ && read_row(text)) continue;
      if (text.empty()) continue;
      if (text.starts_with("ALPHABET")) read_alphabet(text);
      else if (text.starts_with("strands:")) read_strands(text);
      else if (text.starts_with("Background letter frequencies")) read_background();
      else if (starts_with_word(text, "MOTIF")) start_motif(text);
      else if (text.starts_with("letter-probability matrix:")) start_matrix(text);
      else if (looks_like_number(text)) fail("a row of numbers outside a letter-probability matrix");
      // Anything else (URL lines, comments, MEME's other text) carries nothing dnabert needs.
    }
    finish_motif();
    return std::move(file_);
  }

 private:
  [[nodiscard]] const std::string& name() const { return lines_.name(); }

  [[noreturn]] void fail(std::string_view what) const { throw format_error::at_line(name(), lines_.line_number(), what); }

  /// Refuses control bytes (binary junk), which no MEME line holds; UTF-8 in names is fine.
  void check_text(std::string_view text) const {
    for (const char c : text)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == '\x7f') fail(describe_byte(c) + " is not text");
  }

  static bool starts_with_word(std::string_view text, std::string_view word) {
    return text.starts_with(word) && (text.size() == word.size() || text[word.size()] == ' ' || text[word.size()] == '\t');
  }

  static bool looks_like_number(std::string_view text) {
    const char c = text.front();
    return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+';
  }

  /// A finite number; MEME prints E-values below the smallest double (1e-400): those read as 0.
  double number(std::string_view text, std::string_view what) const {
    double value = 0;
    const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (end != text.data() + text.size() || (status != std::errc() && status != std::errc::result_out_of_range))
      fail(std::string(what) + " " + quote_excerpt(text) + " is not a number");
    if (status == std::errc::result_out_of_range) {
      const bool underflow = text.find("e-") != std::string_view::npos || text.find("E-") != std::string_view::npos;
      if (!underflow) fail(std::string(what) + " " + quote_excerpt(text) + " is too large");
      value = 0;
    }
    if (!std::isfinite(value)) fail(std::string(what) + " " + quote_excerpt(text) + " is not a finite number");
    return value;
  }

  void read_version(std::string_view text) {
    if (!text.starts_with("MEME version"))
      fail("expected 'MEME version 4' first, found " + quote_excerpt(text));
    const std::string_view version = trim_blanks(text.substr(std::string_view("MEME version").size()));
    unsigned major = 0;
    const auto [end, status] = std::from_chars(version.data(), version.data() + version.size(), major);
    if (status != std::errc() || (end != version.data() + version.size() && *end != '.'))
      fail("expected a version number after 'MEME version', found " + quote_excerpt(version));
    if (major < 4) fail("MEME version " + std::to_string(major) + " files are not read; version 4 or later is");
  }

  void read_alphabet(std::string_view text) {
    if (!text.starts_with("ALPHABET="))
      fail("custom alphabet definitions are not read; only 'ALPHABET= ACGT' (DNA), found " + quote_excerpt(text));
    std::string letters(trim_blanks(text.substr(std::string_view("ALPHABET=").size())));
    for (char& c : letters) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    if (letters != "ACGT")
      fail("alphabet " + quote_excerpt(letters) + " is not DNA; dnabert reads only 'ALPHABET= ACGT' motifs" +
           (letters == "ACGU" ? " (this is RNA)" : letters.size() > 4 ? " (this looks like protein)" : ""));
  }

  void read_strands(std::string_view text) {
    const auto strands = split_blanks(text.substr(std::string_view("strands:").size()));
    if (strands.empty()) fail("'strands:' names no strand, expected '+', '-' or both");
    for (const auto strand : strands)
      if (strand != "+" && strand != "-") fail("strand " + quote_excerpt(strand) + " is not '+' or '-'");
  }

  void read_background() {
    std::string line;
    if (!next_non_blank_line(lines_, line))
      fail("'Background letter frequencies' is not followed by 'A p C p G p T p'");
    const auto words = split_blanks(line);
    if (words.size() != 8) fail("expected background frequencies 'A p C p G p T p', found " + quote_excerpt(line));
    std::array<bool, 4> seen{};
    double sum = 0;
    for (std::size_t i = 0; i < 8; i += 2) {
      const std::string_view letter = words[i];
      const std::size_t found = letter.size() == 1 ? std::string_view("ACGTacgt").find(letter[0]) : std::string_view::npos;
      const std::size_t base = found == std::string_view::npos ? 4 : found % 4;
      if (base == 4 || seen[base])
        fail("background letter " + quote_excerpt(letter) + " is not one of A, C, G, T (each once)");
      seen[base] = true;
      file_.background[base] = number(words[i + 1], "background frequency");
      if (file_.background[base] < 0) fail("background frequency of " + std::string(letter) + " is negative");
      sum += file_.background[base];
    }
    if (std::abs(sum - 1.0) > sum_tolerance)
      fail("background frequencies sum to " + std::to_string(sum) + ", not 1");
    normalise(file_.background, sum);
  }

  void start_motif(std::string_view text) {
    finish_motif();
    const std::string_view rest = trim_blanks(text.substr(std::string_view("MOTIF").size()));
    if (rest.empty()) fail("MOTIF line without a motif identifier");
    const std::size_t id_end = std::min(rest.find_first_of(" \t"), rest.size());
    meme_motif motif;
    motif.name = rest.substr(0, id_end);
    motif.alternate_name = trim_blanks(rest.substr(id_end));
    current_ = std::move(motif);
    matrix_seen_ = false;
    rows_open_ = false;
  }

  void start_matrix(std::string_view text) {
    if (!current_) fail("letter-probability matrix before any MOTIF line");
    if (matrix_seen_) fail("motif " + current_->name + " has a second letter-probability matrix");
    matrix_seen_ = true;
    rows_open_ = true;
    matrix_line_ = lines_.line_number();
    expected_rows_.reset();
    const auto words = split_blanks(text.substr(std::string_view("letter-probability matrix:").size()));
    for (std::size_t i = 0; i < words.size(); ++i) {
      // "key= value" as MEME writes it, or "key=value".
      const std::size_t equals = words[i].find('=');
      if (equals == std::string_view::npos) continue;
      const std::string_view key = words[i].substr(0, equals);
      std::string_view value = words[i].substr(equals + 1);
      if (value.empty()) {
        if (i + 1 == words.size()) fail("'" + std::string(key) + "=' has no value");
        value = words[++i];
      }
      if (key == "alength") {
        if (value != "4") fail("alength= " + quote_excerpt(value) + ": only the 4-letter DNA alphabet (ACGT) is read");
      } else if (key == "w") {
        std::size_t width = 0;
        const auto [end, status] = std::from_chars(value.data(), value.data() + value.size(), width);
        if (status == std::errc::result_out_of_range || (status == std::errc() && width > max_meme_width))
          fail("w= " + quote_excerpt(value) + " is wider than the " + std::to_string(max_meme_width) +
               " positions accepted");
        if (status != std::errc() || end != value.data() + value.size() || width == 0)
          fail("w= " + quote_excerpt(value) + " is not a positive whole number");
        expected_rows_ = width;
      } else if (key == "nsites") {
        const double sites = number(value, "nsites=");
        if (sites < 0 || sites > 1e15) fail("nsites= " + quote_excerpt(value) + " is not a site count");
        current_->sites = static_cast<std::size_t>(std::llround(sites));
      } else if (key == "E") {
        current_->e_value = number(value, "E=");
        if (current_->e_value < 0) fail("E= " + quote_excerpt(value) + " is negative");
      }
    }
  }

  /// Takes `text` as the next row of the open matrix; false (nothing read) when the matrix has no
  /// w= and `text` is not a row, which ends it.
  bool read_row(std::string_view text) {
    if (text.empty() || !looks_like_number(text)) {
      if (!expected_rows_) {
        rows_open_ = false;
        return false;
      }
      if (text.empty()) return true;  // blank lines inside a matrix are skipped
      fail("motif " + current_->name + ": expected row " + std::to_string(current_->probabilities.size() + 1) +
           " of " + std::to_string(*expected_rows_) + " (w= on line " + std::to_string(matrix_line_) +
           "), found " + quote_excerpt(text));
    }
    if (current_->probabilities.size() == max_meme_width)
      fail("motif " + current_->name + " is wider than the " + std::to_string(max_meme_width) + " positions accepted");
    const auto words = split_blanks(text);
    if (words.size() != 4)
      fail("motif " + current_->name + ": a row holds " + std::to_string(words.size()) +
           " numbers, expected 4 (A C G T)");
    std::array<double, 4> row{};
    double sum = 0;
    for (std::size_t b = 0; b < 4; ++b) {
      row[b] = number(words[b], "probability");
      if (row[b] < 0) fail("motif " + current_->name + ": probability " + quote_excerpt(words[b]) + " is negative");
      sum += row[b];
    }
    if (std::abs(sum - 1.0) > sum_tolerance)
      fail("motif " + current_->name + ": row " + std::to_string(current_->probabilities.size() + 1) + " sums to " +
           std::to_string(sum) + ", not 1");
    normalise(row, sum);
    current_->probabilities.push_back(row);
    rows_open_ = !expected_rows_ || current_->probabilities.size() < *expected_rows_;
    return true;
  }

  void finish_motif() {
    if (!current_) return;
    if (!matrix_seen_) fail("motif " + current_->name + " has no letter-probability matrix");
    if (expected_rows_ && current_->probabilities.size() < *expected_rows_)
      fail("motif " + current_->name + ": the file ends after " + std::to_string(current_->probabilities.size()) +
           " matrix rows, but w= " + std::to_string(*expected_rows_) + " (line " + std::to_string(matrix_line_) + ")");
    if (current_->probabilities.empty())
      fail("motif " + current_->name + ": its letter-probability matrix (line " + std::to_string(matrix_line_) +
           ") has no rows");
    file_.motifs.push_back(std::move(*current_));
    current_.reset();
  }

  /// Rows and backgrounds are printed rounded (3 decimals in some files): a sum within this of 1 is
  /// accepted, and divided out.
  static constexpr double sum_tolerance = 0.01;

  /// Divides `values` by their `sum`, unless it is 1 up to double rounding: numbers read back from a
  /// file dnabert wrote then stay bit for bit what was printed.
  static void normalise(std::array<double, 4>& values, double sum) {
    if (std::abs(sum - 1.0) > 1e-9)
      for (double& p : values) p /= sum;
  }

  line_reader& lines_;
  meme_file file_;
  std::optional<meme_motif> current_;
  bool matrix_seen_ = false;
  bool rows_open_ = false;
  std::optional<std::size_t> expected_rows_;
  std::uint64_t matrix_line_ = 0;
};

}  // namespace detail

/// Parses MEME minimal motif format text (version 4 or later, ALPHABET= ACGT); `name` appears in
/// error messages. Header lines are optional (background uniform when absent), rows are divided by
/// their sum (which must be 1 within 0.01), lines dnabert does not need (URL, comments) are skipped.
[[nodiscard]] inline meme_file parse_meme(std::string_view text, std::string_view name) {
  line_reader lines(std::make_unique<memory_source>(std::as_bytes(std::span(text)), std::string(name)), max_meme_line);
  return detail::meme_reader(lines).read();
}

/// Reads a MEME motif file (plain or gzip-compressed); see parse_meme.
[[nodiscard]] inline meme_file read_meme(const std::string& path) {
  line_reader lines(open_input(path), max_meme_line);
  return detail::meme_reader(lines).read();
}

}  // namespace dnabert::io
