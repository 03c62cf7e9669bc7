#pragma once
// `dnabert scan`: a genome (FASTA, plain or gzip) scanned window by window with a 2-class model,
// P(class 1) written as bedGraph, windows above a threshold merged into narrowPeak peaks.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <dnabert/dnabert.hpp>

#include "device.hpp"
#include "progress.hpp"
#include "shared_flags.hpp"

namespace dnabert::cli {

/// The options of `dnabert scan`.
struct scan_cli_options {
  std::string model, fasta, output, regions, peaks;
  device_options device;
  std::size_t window = 0, stride = 0, batch_size = 32;
  double threshold = 0.5, max_n = 1.0;
  int threads = 0;
};

/// Prints what the scan did: windows scored and skipped, speed, where the files went.
inline void print_scan_summary(const analysis::scan_file_summary& result, double seconds, const scan_cli_options& o) {
  const analysis::scan_summary& s = result.scan;
  seconds = std::max(seconds, 1e-6);  // an empty scan takes no measurable time
  std::cerr << "scan: " << s.contigs << " contigs, " << s.bases << " nt in " << s.windows << " windows of " << s.window
            << " nt every " << s.stride << " nt: " << s.scored << " scored, " << s.skipped_n << " skipped for N";
  if (s.skipped_short) std::cerr << ", " << s.skipped_short << " shorter than one k-mer";
  std::cerr << "; " << detail::short_number(static_cast<double>(s.scored) / seconds) << " windows/s, "
            << detail::short_number(static_cast<double>(s.bases) / seconds) << " nt/s; written to " << o.output;
  if (!o.peaks.empty()) std::cerr << "; " << result.peaks << " peaks (P >= " << o.threshold << ") written to " << o.peaks;
  std::cerr << '\n';
}

/// Registers `scan`.
inline void add_scan_command(CLI::App& app) {
  auto o = std::make_shared<scan_cli_options>();
  auto* cmd = app.add_subcommand("scan", "Scan a genome with a 2-class model: P(class 1) per window as bedGraph, "
                                         "optional peaks above a threshold");
  cmd->add_option("-m,--model", o->model, "fine-tuned 2-class model folder")->required();
  cmd->add_option("--fasta", o->fasta, "genome FASTA, plain or gzip (read one contig at a time)")->required();
  cmd->add_option("-o,--output", o->output, "bedGraph: each window's value over the bases nearest its centre")->required();
  cmd->add_option("--window", o->window, "window in nt (default: the model's longest input, max k-mers + k - 1)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  cmd->add_option("--stride", o->stride, "nt between window starts (default: half the window)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  cmd->add_option("--regions", o->regions, "BED file: scan only these intervals (0-based half-open)");
  cmd->add_option("--peaks", o->peaks, "narrowPeak file of windows with P(class 1) >= --threshold, merged");
  cmd->add_option("--threshold", o->threshold, "P(class 1) a window needs to join a peak")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-n", o->max_n, "skip windows with more than this fraction of N (default 1: only all-N windows)")
      ->check(CLI::Range(0.0, 1.0));
  add_batch_size_option(cmd, o->batch_size, "windows per forward pass");
  add_threads_option(cmd, o->threads);
  add_device_option(cmd, o->device);
  cmd->callback([o] {
    std::optional<analysis::bed_regions> regions;
    if (!o->regions.empty()) regions = analysis::read_bed_regions(o->regions);
    with_classifier(o->model, o->device, o->threads, [&](const auto& model) {
      progress_line progress("scan", "windows");
      analysis::scan_options options;
      options.window = o->window;
      options.stride = o->stride;
      options.max_n_fraction = o->max_n;
      options.batch_size = o->batch_size;
      options.progress = std::ref(progress);
      options.ranks = &job();
      const detail::progress_output clock;
      const auto result = analysis::scan_to_files(model, o->fasta, regions, {o->output, o->peaks, o->threshold}, options);
      if (leads_job()) print_scan_summary(result, clock.elapsed(), *o);
    });
  });
}

}  // namespace dnabert::cli
