#pragma once
// Genome scans (DNABERT's prom-scan over whole FASTA files): windows slid over each contig, streamed
// record by record, predicted in batches while the next batch is cut, written as bedGraph and BED peaks.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <future>
#include <iomanip>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/bed.hpp"
#include "dnabert/io/contig_names.hpp"
#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/fasta.hpp"
#include "dnabert/io/line_reader.hpp"
#include "dnabert/model/window_classification.hpp"
#include "dnabert/parallel/communicator.hpp"
#include "dnabert/parallel/ordered_work.hpp"

namespace dnabert::analysis {

using io::bed_region;
using io::bed_regions;
using io::read_bed_regions;

/// A contig's name and length, as a FASTA file lists them.
struct contig_extent {
  std::string name;
  std::int64_t length = 0;
};

/// The contigs of a FASTA file (plain or gzip) in file order, read one record at a time.
inline std::vector<contig_extent> fasta_contigs(const std::string& path) {
  io::fasta_reader reader(path);
  std::vector<contig_extent> contigs;
  io::fasta_record record;
  while (reader.next(record)) contigs.push_back({record.id, static_cast<std::int64_t>(record.sequence.size())});
  return contigs;
}

/// One window of a scan: the bases it reads, [start, end), and the bases its value stands for in
/// the bedGraph, [cell_start, cell_end) — those nearer its centre than any other window's.
struct scan_window {
  std::int64_t start = 0;
  std::int64_t end = 0;
  std::int64_t cell_start = 0;
  std::int64_t cell_end = 0;
};

/// The windows of `window` nt every `stride` nt over the span [start, end) of a contig, computed
/// on demand (a chromosome has millions). Windows start at `start`, `start + stride`, ... while
/// they fit; when the last one stops short of `end`, one more window ends exactly at `end`, so
/// every base is read. A span shorter than the window is one window of its own length.
///
/// Cells: where windows overlap (stride < window), each base goes to the window whose centre is
/// nearest (ties to the later one), so the cells tile the span without overlapping, as bedGraph
/// requires: with a regular stride an inner window's cell is the stride-wide bin around its
/// centre, and the first and last cells reach the span's ends. Bases no window reads (stride >
/// window) belong to no cell.
class window_layout {
 public:
  /// The layout of [start, end); throws input_error for a zero window or stride.
  window_layout(std::int64_t start, std::int64_t end, std::size_t window, std::size_t stride)
      : start_(start), end_(end), width_(static_cast<std::int64_t>(window)), step_(static_cast<std::int64_t>(stride)) {
    if (window == 0 || stride == 0) throw input_error("the scan's window and stride must be at least 1 nt");
    if (end <= start) return;
    if (end - start <= width_) {
      count_ = 1;
      return;
    }
    regular_ = static_cast<std::size_t>((end - start - width_) / step_) + 1;
    count_ = regular_ + (start_of(regular_ - 1) + width_ < end ? 1 : 0);
  }

  /// How many windows the span has.
  [[nodiscard]] std::size_t size() const noexcept { return count_; }

  /// Window `i` (< size()) with its cell.
  [[nodiscard]] scan_window operator[](std::size_t i) const {
    if (regular_ == 0) return {start_, end_, start_, end_};
    const std::int64_t s = start_of(i);
    return {s, s + width_, i == 0 ? start_ : std::max(s, boundary(i - 1)),
            i + 1 == count_ ? end_ : std::min(s + width_, boundary(i))};
  }

 private:
  // Start of window i: every stride, then the one flush with the end.
  [[nodiscard]] std::int64_t start_of(std::size_t i) const {
    return i < regular_ ? start_ + static_cast<std::int64_t>(i) * step_ : end_ - width_;
  }
  // The midpoint between the centres of windows i and i + 1, rounded down.
  [[nodiscard]] std::int64_t boundary(std::size_t i) const { return (start_of(i) + start_of(i + 1) + width_) / 2; }

  std::int64_t start_, end_, width_, step_;
  std::size_t regular_ = 0;  // windows at start + i·stride (0 for a span no longer than the window)
  std::size_t count_ = 0;
};

/// How a genome is scanned.
struct scan_options {
  std::size_t window = 0;  ///< nucleotides per window; 0 = the model's longest input (max k-mers + k − 1)
  std::size_t stride = 0;  ///< nucleotides between window starts; 0 = half the window
  /// Windows with more than this fraction of N (any letter but A, C, G, T) are skipped; at the
  /// default 1, only windows entirely of N are.
  double max_n_fraction = 1.0;
  std::size_t batch_size = 32;  ///< windows per forward pass
  /// Called after each chunk of windows with (windows done, windows in all), skipped ones included.
  std::function<void(std::size_t, std::size_t)> progress;
  /// The ranks of an MPI job to spread the chunks of windows over (null: one process); rank 0
  /// gets every window's value, in genome order, and alone writes.
  parallel::communicator* ranks = nullptr;
};

/// What a scan did.
struct scan_summary {
  std::size_t contigs = 0;        ///< FASTA records
  std::size_t windows = 0;        ///< windows laid out, scored or not
  std::size_t scored = 0;         ///< windows predicted
  std::size_t skipped_n = 0;      ///< windows skipped for N (see scan_options::max_n_fraction)
  std::size_t skipped_short = 0;  ///< spans shorter than one k-mer, not scored
  std::int64_t bases = 0;         ///< nucleotides in the spans scanned (contigs, or the merged regions)
  std::size_t window = 0;         ///< the window used, nt
  std::size_t stride = 0;         ///< the stride used, nt
};

namespace detail {

// The spans to scan on every contig: the whole contig, or the merged regions of it (sorted,
// overlapping and touching intervals joined). Regions are checked against the genome: an unknown
// contig (with a hint when only "chr" differs) or an end past the contig names the BED line.
inline std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> scan_spans(
    const std::vector<contig_extent>& contigs, const std::optional<bed_regions>& regions) {
  std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> spans(contigs.size());
  if (!regions) {
    for (std::size_t c = 0; c < contigs.size(); ++c) spans[c].emplace_back(0, contigs[c].length);
    return spans;
  }
  std::unordered_map<std::string_view, std::size_t> index_of;
  for (std::size_t c = 0; c < contigs.size(); ++c) index_of.emplace(contigs[c].name, c);
  for (const bed_region& region : regions->regions) {
    const auto found = index_of.find(region.contig);
    if (found == index_of.end()) {
      std::string what = "contig '" + region.contig + "' is not in the FASTA";
      const std::string other = io::other_chr_style(region.contig);
      if (index_of.contains(other)) {
        what += ", but '";
        what += other;
        what += "' is: the BED and the FASTA name contigs differently";
      }
      throw format_error::at_line(regions->file, region.line, what);
    }
    const contig_extent& contig = contigs[found->second];
    if (region.end > contig.length)
      throw format_error::at_line(regions->file, region.line,
                                  "end " + std::to_string(region.end) + " is past the end of contig '" + contig.name +
                                      "' (" + std::to_string(contig.length) + " nt)");
    if (region.end > region.start) spans[found->second].emplace_back(region.start, region.end);
  }
  for (auto& contig_spans : spans) {
    std::sort(contig_spans.begin(), contig_spans.end());
    std::vector<std::pair<std::int64_t, std::int64_t>> merged;
    for (const auto& span : contig_spans) {
      if (!merged.empty() && span.first <= merged.back().second) merged.back().second = std::max(merged.back().second, span.second);
      else merged.push_back(span);
    }
    contig_spans = std::move(merged);
  }
  return spans;
}

// What becomes of a window: scored, or skipped for N, or too short for one k-mer.
enum class window_fate { scored, skipped_n, too_short };

// A chunk of windows cut from the FASTA: every window and the sequences of those to score.
struct window_chunk {
  struct entry {
    std::size_t contig = 0;
    scan_window window;
    window_fate fate = window_fate::scored;
  };
  std::vector<entry> entries;
  std::vector<std::string> sequences;  // one per scored entry, in order
};

// Cuts the windows of a FASTA file chunk by chunk, holding one contig at a time.
class window_cutter {
 public:
  window_cutter(const std::string& fasta, const std::vector<contig_extent>& contigs,
                std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> spans, const scan_summary& geometry,
                double max_n_fraction, std::size_t k, std::size_t chunk_windows)
      : reader_(fasta), contigs_(contigs), spans_(std::move(spans)), window_(geometry.window), stride_(geometry.stride),
        max_n_fraction_(max_n_fraction), k_(k), chunk_windows_(chunk_windows) {}

  // The next chunk of windows; empty at the end of the genome.
  window_chunk next() {
    window_chunk chunk;
    while (chunk.entries.size() < chunk_windows_) {
      if (next_window_ == layout_.size() && !advance()) break;
      const scan_window w = layout_[next_window_++];
      const std::string_view bases = std::string_view(record_.sequence).substr(static_cast<std::size_t>(w.start),
                                                                              static_cast<std::size_t>(w.end - w.start));
      const window_fate fate = bases.size() < k_ ? window_fate::too_short
                               : mostly_n(bases) ? window_fate::skipped_n
                                                 : window_fate::scored;
      chunk.entries.push_back({contig_, w, fate});
      if (fate == window_fate::scored) chunk.sequences.emplace_back(bases);
    }
    return chunk;
  }

 private:
  // Moves to the next span with windows, reading the next contig when this one is done; false at the end.
  bool advance() {
    for (;;) {
      if (has_record_ && next_span_ < spans_[contig_].size()) {
        const auto [start, end] = spans_[contig_][next_span_++];
        layout_ = window_layout(start, end, window_, stride_);
        next_window_ = 0;
        if (layout_.size() > 0) return true;
        continue;
      }
      if (has_record_) ++contig_;
      has_record_ = false;
      while (contig_ < contigs_.size() && spans_[contig_].empty()) {
        if (!reader_.next(record_)) return false;
        ++contig_;
      }
      if (contig_ >= contigs_.size() || !reader_.next(record_)) return false;
      if (record_.id != contigs_[contig_].name)
        throw format_error(reader_.name(), "changed while it was scanned (record '" + record_.id + "' where '" +
                                               contigs_[contig_].name + "' was read before)");
      has_record_ = true;
      next_span_ = 0;
    }
  }

  // Whether the window has too much N to be worth scoring.
  [[nodiscard]] bool mostly_n(std::string_view bases) const {
    const auto n = static_cast<std::size_t>(std::count_if(bases.begin(), bases.end(), [](char c) {
      return (io::detail::fasta_byte_table[static_cast<unsigned char>(c)] & io::detail::fasta_byte::non_acgt) != 0;
    }));
    return n == bases.size() || static_cast<double>(n) > max_n_fraction_ * static_cast<double>(bases.size());
  }

  io::fasta_reader reader_;
  const std::vector<contig_extent>& contigs_;
  std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> spans_;
  std::size_t window_;
  std::size_t stride_;
  double max_n_fraction_;
  std::size_t k_;
  std::size_t chunk_windows_;
  io::fasta_record record_;
  bool has_record_ = false;
  std::size_t contig_ = 0;
  std::size_t next_span_ = 0;
  window_layout layout_{0, 0, 1, 1};
  std::size_t next_window_ = 0;
};

}  // namespace detail

/// The window and stride a scan with `options` uses (0 means the defaults), as a summary to fill.
template <class Spec, class B>
scan_summary scan_geometry(const classifier<Spec, B>& model, const scan_options& options) {
  scan_summary summary;
  summary.window = options.window == 0 ? default_window(model) : options.window;
  summary.stride = options.stride == 0 ? std::max<std::size_t>(1, summary.window / 2) : options.stride;
  return summary;
}

/// Scans every contig of a FASTA file (plain or gzip), or only the `regions`, with `model`
/// (a 2-class classifier): windows laid out by window_layout, windows with too much N skipped,
/// the rest predicted in batches (through classifier::predict, so windows longer than one model
/// piece combine their pieces as `predict` does), and `on_window(contig, window, P(class 1))`
/// called for each scored window in genome order. The FASTA is read twice, one record at a time:
/// first for the contigs' names and lengths (to check the regions and count the windows), then to
/// cut the windows; the next chunk is cut on a second thread while the model runs. With
/// options.ranks, the chunks are scored on the ranks of an MPI job and on_window is called on
/// rank 0 only (its summary alone is complete).
template <class Spec, class B, class OnWindow>
scan_summary scan_genome(const classifier<Spec, B>& model, const std::string& fasta, const std::optional<bed_regions>& regions,
                         const scan_options& options, OnWindow&& on_window) {
  if (options.batch_size == 0) throw input_error("batch size must be at least 1");
  if (!(options.max_n_fraction >= 0 && options.max_n_fraction <= 1))
    throw input_error("the largest fraction of N in a window must be between 0 and 1");
  scan_summary summary = scan_geometry(model, options);
  const std::vector<contig_extent> contigs = fasta_contigs(fasta);
  auto spans = detail::scan_spans(contigs, regions);
  summary.contigs = contigs.size();
  for (const auto& contig_spans : spans)
    for (const auto& [start, end] : contig_spans) {
      summary.windows += window_layout(start, end, summary.window, summary.stride).size();
      summary.bases += end - start;
    }

  const std::size_t chunk_windows = std::max<std::size_t>(256, options.batch_size * 8);
  detail::window_cutter cutter(fasta, contigs, std::move(spans), summary, options.max_n_fraction,
                               model.model().min_sequence_length(), chunk_windows);
  std::size_t done = 0;
  // A chunk's values travel as bytes (positive_class_probability_bytes of its scored windows).
  const auto report = [&](const detail::window_chunk& chunk, const std::string& values) {
    std::size_t scored = 0;
    for (const auto& entry : chunk.entries) {
      if (entry.fate == detail::window_fate::scored) {
        on_window(contigs[entry.contig].name, entry.window, probability_at(values, scored++));
      } else {
        ++(entry.fate == detail::window_fate::skipped_n ? summary.skipped_n : summary.skipped_short);
      }
    }
    summary.scored += scored;
    done += chunk.entries.size();
    if (options.progress) options.progress(done, summary.windows);
  };
  // In an MPI job every rank cuts every chunk (cheap next to the model) and scores its share;
  // rank 0 reports them in genome order.
  parallel::ordered_work<detail::window_chunk, decltype(report)> work(
      options.ranks != nullptr ? *options.ranks : parallel::one_process(), report);
  const auto score = [&](const detail::window_chunk& chunk) {
    return positive_class_probability_bytes(model, chunk.sequences, options.batch_size);
  };
  for (detail::window_chunk chunk = cutter.next(); !chunk.entries.empty();) {
    auto next = std::async(std::launch::async, [&cutter] { return cutter.next(); });
    work.add(std::move(chunk), score);
    chunk = next.get();
  }
  work.finish();
  return summary;
}

/// Writes scan results as bedGraph: a `track type=bedGraph` line, then `contig cell_start
/// cell_end P(class 1)` per window (the cell, not the window: see window_layout), streamed to a
/// temporary file and put in place on commit.
class bedgraph_writer {
 public:
  /// Starts `path`; `description` goes into the track line.
  bedgraph_writer(const std::string& path, const std::string& description) : file_(path) {
    file_.text() << std::setprecision(std::numeric_limits<float>::max_digits10)
                 << "track type=bedGraph name=\"dnabert scan\" description=\"" << description << "\"\n";
  }

  /// Appends the value of one window.
  void add(const std::string& contig, const scan_window& window, double probability) {
    file_.text() << contig << '\t' << window.cell_start << '\t' << window.cell_end << '\t' << static_cast<float>(probability)
                 << '\n';
    file_.flush_if_full();
  }

  /// Writes what is left and puts the file in place.
  void commit() { file_.commit(); }

 private:
  io::streamed_text_file file_;
};

/// A run of windows scoring at least the threshold: the union of their extents on one contig.
struct scan_peak {
  std::string contig;
  std::int64_t start = 0;
  std::int64_t end = 0;
  double max_probability = 0;  ///< the best window's P(class 1)
  std::int64_t summit = 0;     ///< centre of the best window (the first, on ties), a contig position
};

/// Merges windows scoring at least a threshold into peaks as they arrive in genome order: windows
/// that overlap or touch join one peak, however the windows between them scored.
class peak_merger {
 public:
  /// Peaks of windows with P(class 1) >= `threshold`.
  explicit peak_merger(double threshold) : threshold_(threshold) {}

  /// Adds the next window of the scan; returns the peak it closes, if any.
  std::optional<scan_peak> add(const std::string& contig, const scan_window& window, double probability) {
    if (probability < threshold_) return std::nullopt;
    std::optional<scan_peak> closed;
    if (open_ && (open_->contig != contig || window.start > open_->end)) closed = std::exchange(open_, std::nullopt);
    const std::int64_t centre = window.start + (window.end - window.start) / 2;
    if (!open_) {
      open_ = scan_peak{contig, window.start, window.end, probability, centre};
      return closed;
    }
    open_->end = std::max(open_->end, window.end);
    if (probability > open_->max_probability) {
      open_->max_probability = probability;
      open_->summit = centre;
    }
    return closed;
  }

  /// Closes the last peak, if one is open.
  std::optional<scan_peak> finish() { return std::exchange(open_, std::nullopt); }

 private:
  double threshold_;
  std::optional<scan_peak> open_;
};

/// Peak number `number` as a line of ENCODE narrowPeak (BED6+4): contig, start, end, name
/// `peak<N>`, score round(1000 · max P) (BED's 0–1000), strand '.', signalValue max P, pValue and
/// qValue −1 (none), and the summit's offset from start.
inline std::string peak_line(const scan_peak& peak, std::size_t number) {
  std::ostringstream line;
  line << std::setprecision(std::numeric_limits<float>::max_digits10) << peak.contig << '\t' << peak.start << '\t'
       << peak.end << "\tpeak" << number << '\t' << std::lround(1000 * peak.max_probability) << "\t.\t"
       << static_cast<float>(peak.max_probability) << "\t-1\t-1\t" << peak.summit - peak.start << '\n';
  return line.str();
}

/// Where a scan writes: the bedGraph, and optionally peaks above a threshold.
struct scan_outputs {
  std::string bedgraph;
  std::string peaks;       ///< narrowPeak file; empty for none
  double threshold = 0.5;  ///< P(class 1) a window needs to join a peak
};

/// What scan_to_files did: the scan, and how many peaks it wrote.
struct scan_file_summary {
  scan_summary scan;
  std::size_t peaks = 0;
};

/// Scans `fasta` (see scan_genome) and writes the bedGraph and, when asked, the peaks; both
/// files appear only once the whole scan succeeded.
template <class Spec, class B>
scan_file_summary scan_to_files(const classifier<Spec, B>& model, const std::string& fasta,
                                const std::optional<bed_regions>& regions, const scan_outputs& outputs,
                                const scan_options& options) {
  const scan_summary geometry = scan_geometry(model, options);
  std::string description = "P(class 1) of ";
  description += std::to_string(geometry.window);
  description += "-nt windows every ";
  description += std::to_string(geometry.stride);
  description += " nt; each value covers the bases nearest its window's centre";
  const bool writes = options.ranks == nullptr || options.ranks->writes_files();  // rank 0 writes for an MPI job
  std::optional<bedgraph_writer> bedgraph;
  if (writes) bedgraph.emplace(outputs.bedgraph, description);
  std::optional<io::atomic_file_writer> peaks_file;
  if (writes && !outputs.peaks.empty()) peaks_file.emplace(outputs.peaks);
  peak_merger merger(outputs.threshold);
  scan_file_summary out;
  const auto write_peak = [&](const std::optional<scan_peak>& peak) {
    if (peak) peaks_file->write(peak_line(*peak, ++out.peaks));
  };
  out.scan = scan_genome(model, fasta, regions, options,
                         [&](const std::string& contig, const scan_window& w, double probability) {
                           bedgraph->add(contig, w, probability);
                           if (peaks_file) write_peak(merger.add(contig, w, probability));
                         });
  if (bedgraph) bedgraph->commit();
  if (peaks_file) {
    write_peak(merger.finish());
    peaks_file->commit();
  }
  return out;
}

}  // namespace dnabert::analysis
