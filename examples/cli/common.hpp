#pragma once
// Pieces every CLI command shares: reading the input sequences (or the embedded example),
// writing to a file or stdout, and a progress line on stderr.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <dnabert/dnabert.hpp>

#include "example_fasta.hpp"

namespace dnabert::cli {

/// Sequences from `path` (FASTA/.gz, DNABERT TSV or DNABERT-2 CSV, told apart by content), or
/// the embedded example FASTA when `path` is empty.
inline std::vector<io::sequence_entry> read_input(const std::string& path) {
  if (!path.empty()) return io::read_sequences(path);
  const auto bytes = std::as_bytes(std::span<const char>(example_fasta.data(), example_fasta.size()));
  return io::read_sequences(bytes, std::string(example_fasta_name));
}

/// Writes `text` to `path` atomically, or to stdout when `path` is empty or "-".
inline void write_output(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    std::cout.flush();
    return;
  }
  io::write_file_atomically(path, text);
}

/// A progress line on stderr ("predict: 1200/4000 pieces, 310 pieces/s, ETA 9 s"), redrawn at
/// most every half second, once the job has run for a second.
class progress_line {
 public:
  /// Starts the clock for a job called `label` counting `unit`s.
  explicit progress_line(std::string label, std::string unit = "pieces")
      : label_(std::move(label)), unit_(std::move(unit)), start_(clock::now()), last_(start_) {}

  /// Reports `done` of `total` units.
  void operator()(std::size_t done, std::size_t total) {
    const auto now = clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    if (!shown_ && seconds < 1.0) return;  // short jobs stay quiet
    shown_ = true;
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
    std::fprintf(stderr, "\r%s: %zu/%zu %s, %.1f %s/s, ETA %.0f s   ", label_.c_str(), done, total, unit_.c_str(), rate,
                 unit_.c_str(), eta);
    if (done == total) std::fputc('\n', stderr);
  }

 private:
  using clock = std::chrono::steady_clock;
  std::string label_;
  std::string unit_;
  clock::time_point start_;
  clock::time_point last_;
  bool shown_ = false;
};

}  // namespace dnabert::cli
