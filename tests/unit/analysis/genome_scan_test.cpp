// Genome scans: window layout and bedGraph cells against a brute-force nearest-centre rule, the
// real classifier cls_k6 over a synthetic FASTA against predict() on windows cut here, N
// skipping, BED regions and their errors, and peaks merged from hand-made scores.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/analysis/genome_scan.hpp"
#include "test_paths.hpp"

namespace analysis_genome_scan_test {

namespace {

namespace analysis = dnabert::analysis;

constexpr double tolerance = 1e-5;

// The BED intervals of `text`, read as a file called regions.bed.
analysis::bed_regions bed(const std::string& text) {
  return analysis::read_bed_regions(
      dnabert::io::open_input(std::as_bytes(std::span<const char>(text.data(), text.size())), "regions.bed"));
}

// Random A/C/G/T of the given length.
std::string random_bases(std::size_t length, unsigned seed) {
  std::mt19937 generator(seed);
  std::string bases(length, 'A');
  for (char& c : bases) c = "ACGT"[generator() % 4];
  return bases;
}

// Every window of the span [start, end), in order.
std::vector<analysis::scan_window> windows_of(std::int64_t start, std::int64_t end, std::size_t window, std::size_t stride) {
  const analysis::window_layout layout(start, end, window, stride);
  std::vector<analysis::scan_window> windows;
  for (std::size_t w = 0; w < layout.size(); ++w) windows.push_back(layout[w]);
  return windows;
}

// The window of a span [start, end) that a brute-force search gives base p: among the windows
// reading p, the one whose centre is nearest (ties to the later); -1 when none reads it.
std::int64_t nearest_window(const std::vector<analysis::scan_window>& windows, std::int64_t p) {
  std::int64_t best = -1;
  double best_distance = 0;
  for (std::size_t w = 0; w < windows.size(); ++w) {
    if (p < windows[w].start || p >= windows[w].end) continue;
    const double distance = std::abs(p + 0.5 - (windows[w].start + windows[w].end) / 2.0);
    if (best < 0 || distance <= best_distance) {
      best = static_cast<std::int64_t>(w);
      best_distance = distance;
    }
  }
  return best;
}

// A scored window as the callback of scan_genome reports it.
struct reported {
  std::string contig;
  analysis::scan_window window;
  double probability = 0;
};

// Synthetic genome: random contigs, one with 150 N in its middle, one shorter than the window,
// one shorter than a 6-mer; soft-masked letters on the first.
struct synthetic_genome {
  std::string path;
  std::vector<std::pair<std::string, std::string>> contigs;
};

synthetic_genome write_genome(const std::string& name) {
  synthetic_genome genome;
  genome.path = (dnabert::test::scratch_dir(name) / "genome.fa").string();
  std::string masked = random_bases(400, 1);
  for (std::size_t p = 100; p < 160; ++p) masked[p] = static_cast<char>(masked[p] - 'A' + 'a');
  std::string gapped = random_bases(500, 2);
  for (std::size_t p = 180; p < 330; ++p) gapped[p] = 'N';
  genome.contigs = {{"chrA", masked}, {"chrB", gapped}, {"chrC", random_bases(40, 3)}, {"chrD", "ACGT"}};
  std::ofstream out(genome.path);
  for (const auto& [id, sequence] : genome.contigs) {
    out << '>' << id << " synthetic\n";
    for (std::size_t p = 0; p < sequence.size(); p += 60) out << sequence.substr(p, 60) << '\n';
  }
  return genome;
}

}  // namespace

TEST_CASE("genome scan: windows every stride, one more flush with the end, cells tile the span") {
  const auto windows = windows_of(0, 100, 30, 20);
  REQUIRE(windows.size() == 5);
  const std::int64_t starts[] = {0, 20, 40, 60, 70};
  const std::int64_t cells[] = {0, 25, 45, 65, 80, 100};
  for (std::size_t w = 0; w < windows.size(); ++w) {
    CAPTURE(w);
    CHECK(windows[w].start == starts[w]);
    CHECK(windows[w].end == starts[w] + 30);
    CHECK(windows[w].cell_start == cells[w]);
    CHECK(windows[w].cell_end == cells[w + 1]);
  }
  // A span no longer than the window is one window of its own length.
  const auto short_span = windows_of(5, 12, 30, 20);
  REQUIRE(short_span.size() == 1);
  CHECK(short_span[0].start == 5);
  CHECK(short_span[0].end == 12);
  CHECK(short_span[0].cell_start == 5);
  CHECK(short_span[0].cell_end == 12);
  CHECK(windows_of(7, 7, 30, 20).empty());
  CHECK(windows_of(9, 7, 30, 20).empty());
  CHECK_THROWS_AS(analysis::window_layout(0, 10, 5, 0), dnabert::input_error);
}

TEST_CASE("genome scan: each base's cell is the window whose centre is nearest, for any stride") {
  for (const std::size_t window : {1, 2, 7, 10, 67})
    for (const std::size_t stride : {1, 2, 3, 5, 10, 33, 80})
      for (const std::int64_t length : {1, 9, 10, 11, 67, 68, 100, 251}) {
        CAPTURE(window);
        CAPTURE(stride);
        CAPTURE(length);
        const std::int64_t start = 13;
        const auto windows = windows_of(start, start + length, window, stride);
        for (std::size_t w = 1; w < windows.size(); ++w) {
          CHECK(windows[w].start > windows[w - 1].start);
          CHECK(windows[w].cell_start >= windows[w - 1].cell_end);
        }
        CHECK(windows.back().end == start + length);  // every base is read
        for (std::int64_t p = start; p < start + length; ++p) {
          std::int64_t owner = -1;
          for (std::size_t w = 0; w < windows.size(); ++w)
            if (p >= windows[w].cell_start && p < windows[w].cell_end) owner = static_cast<std::int64_t>(w);
          CHECK(owner == nearest_window(windows, p));
        }
      }
}

TEST_CASE("genome scan: cls_k6 over a synthetic FASTA gives predict()'s P(class 1) for every window") {
  const auto genome = write_genome("genome_scan");
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  analysis::scan_options options;
  options.stride = 25;
  options.batch_size = 7;
  std::vector<std::pair<std::size_t, std::size_t>> progress;
  options.progress = [&](std::size_t done, std::size_t total) { progress.emplace_back(done, total); };
  std::vector<reported> seen;
  const auto summary = analysis::scan_genome(model, genome.path, std::nullopt, options,
                                             [&](const std::string& contig, const analysis::scan_window& w, double p) {
                                               seen.push_back({contig, w, p});
                                             });
  const std::size_t window = 67;  // the model's 62 k-mers + 5
  CHECK(summary.window == window);
  CHECK(summary.stride == 25);
  CHECK(summary.contigs == 4);
  CHECK(summary.bases == 400 + 500 + 40 + 4);

  // The windows, cut here: starts every 25 nt while they fit, then one ending at the contig's end.
  std::vector<reported> expected;
  std::vector<std::string> sequences;
  std::size_t all_n = 0;
  for (const auto& [id, sequence] : genome.contigs) {
    const auto length = static_cast<std::int64_t>(sequence.size());
    std::vector<std::int64_t> starts;
    if (length <= 67) starts.push_back(0);
    for (std::int64_t s = 0; length > 67 && s + 67 <= length; s += 25) starts.push_back(s);
    if (starts.back() + 67 < length) starts.push_back(length - 67);
    for (const std::int64_t s : starts) {
      const std::string bases = sequence.substr(static_cast<std::size_t>(s), 67);
      if (bases.size() < 6) continue;
      if (bases.find_first_not_of('N') == std::string::npos) {
        ++all_n;
        continue;
      }
      expected.push_back({id, {s, s + static_cast<std::int64_t>(bases.size()), 0, 0}, 0});
      sequences.push_back(bases);
    }
  }
  CHECK(all_n == 3);  // chrB's N run [180, 330) holds the windows at 200, 225 and 250 whole
  CHECK(summary.skipped_n == all_n);
  CHECK(summary.skipped_short == 1);  // chrD
  CHECK(summary.scored == expected.size());
  CHECK(summary.windows == expected.size() + all_n + 1);
  const auto predicted = model.predict(sequences);
  REQUIRE(seen.size() == expected.size());
  for (std::size_t w = 0; w < seen.size(); ++w) {
    CAPTURE(w);
    CHECK(seen[w].contig == expected[w].contig);
    CHECK(seen[w].window.start == expected[w].window.start);
    CHECK(seen[w].window.end == expected[w].window.end);
    CHECK(seen[w].probability == doctest::Approx(predicted.probabilities(w, 1)).epsilon(tolerance));
  }
  REQUIRE(!progress.empty());
  CHECK(progress.back().first == summary.windows);
  CHECK(progress.back().second == summary.windows);

  // More than 10 % N skips the windows that only touch the run, too.
  options.max_n_fraction = 0.1;
  const auto strict = analysis::scan_genome(model, genome.path, std::nullopt, options,
                                            [](const std::string&, const analysis::scan_window&, double) {});
  CHECK(strict.skipped_n == 8);  // starts 125 .. 300 of chrB overlap the run [180, 330) by at least 7 nt
  CHECK(strict.scored == summary.scored - 5);
}

TEST_CASE("genome scan: bedGraph cells and narrowPeak peaks written for the scan") {
  const auto genome = write_genome("genome_scan_files");
  const auto dir = dnabert::test::scratch_dir("genome_scan_out");
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  analysis::scan_options options;
  options.stride = 10;
  std::vector<reported> seen;
  (void)analysis::scan_genome(model, genome.path, std::nullopt, options,
                              [&](const std::string& contig, const analysis::scan_window& w, double p) {
                                seen.push_back({contig, w, p});
                              });
  std::vector<double> sorted;
  for (const auto& r : seen) sorted.push_back(r.probability);
  std::sort(sorted.begin(), sorted.end());
  const double threshold = sorted[sorted.size() * 3 / 4];  // a quarter of the windows pass

  const analysis::scan_outputs outputs{(dir / "scan.bedGraph").string(), (dir / "peaks.bed").string(), threshold};
  const auto result = analysis::scan_to_files(model, genome.path, std::nullopt, outputs, options);
  std::ifstream bedgraph(outputs.bedgraph);
  std::string line;
  REQUIRE(std::getline(bedgraph, line));
  CHECK(line.starts_with("track type=bedGraph name=\"dnabert scan\" description=\"P(class 1) of 67-nt windows every 10 nt"));
  std::size_t row = 0;
  for (; std::getline(bedgraph, line); ++row) {
    REQUIRE(row < seen.size());
    std::istringstream fields(line);
    std::string contig;
    std::int64_t start = 0, end = 0;
    double value = 0;
    fields >> contig >> start >> end >> value;
    CAPTURE(line);
    CHECK(contig == seen[row].contig);
    CHECK(start == seen[row].window.cell_start);
    CHECK(end == seen[row].window.cell_end);
    CHECK(value == doctest::Approx(seen[row].probability).epsilon(1e-6));
    if (row > 0 && seen[row - 1].contig == contig) CHECK(start >= seen[row - 1].window.cell_end);  // no overlap
  }
  CHECK(row == seen.size());

  // Peaks: the union of the extents of the windows at or above the threshold, computed here.
  std::vector<analysis::scan_peak> expected;
  for (const auto& r : seen) {
    if (r.probability < threshold) continue;
    if (!expected.empty() && expected.back().contig == r.contig && r.window.start <= expected.back().end) {
      expected.back().end = std::max(expected.back().end, r.window.end);
      expected.back().max_probability = std::max(expected.back().max_probability, r.probability);
    } else {
      expected.push_back({r.contig, r.window.start, r.window.end, r.probability, 0});
    }
  }
  CHECK(result.peaks == expected.size());
  std::ifstream peaks(outputs.peaks);
  std::size_t peak = 0;
  for (; std::getline(peaks, line); ++peak) {
    REQUIRE(peak < expected.size());
    std::istringstream fields(line);
    std::string contig, name, strand;
    std::int64_t start = 0, end = 0, score = 0, summit = 0;
    double signal = 0, p_value = 0, q_value = 0;
    fields >> contig >> start >> end >> name >> score >> strand >> signal >> p_value >> q_value >> summit;
    CAPTURE(line);
    CHECK(contig == expected[peak].contig);
    CHECK(start == expected[peak].start);
    CHECK(end == expected[peak].end);
    CHECK(name == "peak" + std::to_string(peak + 1));
    CHECK(score == std::lround(1000 * expected[peak].max_probability));
    CHECK(signal == doctest::Approx(expected[peak].max_probability).epsilon(1e-6));
    CHECK(p_value == -1);
    CHECK(summit >= 0);
    CHECK(summit < end - start);
  }
  CHECK(peak == expected.size());
}

TEST_CASE("genome scan: --regions restricts the windows to merged BED intervals") {
  const auto genome = write_genome("genome_scan_regions");
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  const auto regions = bed("browser position chrA:1-100\ntrack name=test\n# a comment\n\n"
                           "chrB\t0\t100\tfirst\nchrB 90 150\nchrA\t300\t320\nchrA\t10\t10\n");
  REQUIRE(regions.regions.size() == 4);
  CHECK(regions.regions[1].line == 6);
  analysis::scan_options options;
  options.stride = 20;
  std::vector<reported> seen;
  const auto summary = analysis::scan_genome(model, genome.path, regions, options,
                                             [&](const std::string& contig, const analysis::scan_window& w, double p) {
                                               seen.push_back({contig, w, p});
                                             });
  CHECK(summary.bases == 20 + 150);
  // chrA [300, 320) is one 20-nt window; chrB [0, 150) (two intervals merged): 0, 20, 40, 60, 80, then 83.
  REQUIRE(seen.size() == 7);
  CHECK(seen[0].contig == "chrA");
  CHECK(seen[0].window.start == 300);
  CHECK(seen[0].window.end == 320);
  const std::int64_t starts[] = {0, 20, 40, 60, 80, 83};
  for (std::size_t w = 0; w < 6; ++w) {
    CHECK(seen[w + 1].contig == "chrB");
    CHECK(seen[w + 1].window.start == starts[w]);
  }
  CHECK(seen[1].window.cell_start == 0);
  CHECK(seen.back().window.cell_end == 150);
  const std::string& chrA = genome.contigs[0].second;
  CHECK(seen[0].probability ==
        doctest::Approx(model.predict(std::vector<std::string>{chrA.substr(300, 20)}).probabilities(0, 1)).epsilon(tolerance));
}

TEST_CASE("genome scan: bad BED regions name the file and line") {
  const auto genome = write_genome("genome_scan_bad_regions");
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  const auto scan = [&](const std::string& text) {
    (void)analysis::scan_genome(model, genome.path, bed(text), {}, [](const std::string&, const analysis::scan_window&, double) {});
  };
  CHECK_THROWS_WITH_AS(scan("chrA\t0\t10\nchrA\t20\t10\n"),
                       "regions.bed:2: start 20 is after end 10 (0-based half-open [start, end))", dnabert::format_error);
  CHECK_THROWS_WITH_AS(scan("track x\nchrA\t-5\t10\n"),
                       "regions.bed:2: start -5 is negative (coordinates are 0-based and start at 0)",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(scan("chrA\t0\t1e3\n"), "regions.bed:1: end must be a non-negative integer, found '1e3'",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(scan("chrA\t0\n"), "regions.bed:1: expected 'chrom<TAB>start<TAB>end' (at least 3 columns), found 'chrA?0'",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(scan("chrA\t0\t10\nchrB\t450\t501\n"),
                       "regions.bed:2: end 501 is past the end of contig 'chrB' (500 nt)", dnabert::format_error);
  CHECK_THROWS_WITH_AS(scan("chrZ\t0\t10\n"), "regions.bed:1: contig 'chrZ' is not in the FASTA", dnabert::format_error);
  CHECK_THROWS_WITH_AS(scan("\nA\t0\t10\n"),
                       "regions.bed:2: contig 'A' is not in the FASTA, but 'chrA' is: the BED and the FASTA name contigs "
                       "differently",
                       dnabert::format_error);
}

TEST_CASE("genome scan: bad options and inputs are refused") {
  const auto genome = write_genome("genome_scan_bad_options");
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  const auto ignore = [](const std::string&, const analysis::scan_window&, double) {};
  analysis::scan_options options;
  options.batch_size = 0;
  CHECK_THROWS_WITH_AS((void)analysis::scan_genome(model, genome.path, std::nullopt, options, ignore),
                       "batch size must be at least 1", dnabert::input_error);
  options.batch_size = 4;
  options.max_n_fraction = 1.5;
  CHECK_THROWS_WITH_AS((void)analysis::scan_genome(model, genome.path, std::nullopt, options, ignore),
                       "the largest fraction of N in a window must be between 0 and 1", dnabert::input_error);
  const auto dir = dnabert::test::scratch_dir("genome_scan_bad_fasta");
  std::ofstream((dir / "bad.fa").string()) << ">x\nACGT>ACGT\n";
  CHECK_THROWS_AS((void)analysis::scan_genome(model, (dir / "bad.fa").string(), std::nullopt, {}, ignore),
                  dnabert::format_error);
  // A failed scan leaves no output behind.
  CHECK_THROWS_AS((void)analysis::scan_to_files(model, (dir / "bad.fa").string(), std::nullopt,
                                                {(dir / "out.bedGraph").string(), "", 0.5}, {}),
                  dnabert::format_error);
  CHECK(!std::filesystem::exists(dir / "out.bedGraph"));
}

TEST_CASE("genome scan: peaks merge overlapping and touching windows above the threshold") {
  analysis::peak_merger merger(0.5);
  std::vector<analysis::scan_peak> peaks;
  const auto add = [&](const std::string& contig, std::int64_t start, std::int64_t end, double p) {
    if (auto closed = merger.add(contig, {start, end, start, end}, p)) peaks.push_back(*closed);
  };
  add("c1", 0, 10, 0.6);
  add("c1", 5, 15, 0.4);   // below: neither joins nor ends the peak
  add("c1", 8, 18, 0.9);   // overlaps [0, 10): best window, summit 13
  add("c1", 18, 28, 0.5);  // touches [.., 18): joins (threshold inclusive)
  add("c1", 29, 39, 0.7);  // a gap of one base: a new peak
  add("c2", 0, 10, 0.8);   // another contig: a new peak
  add("c2", 20, 30, 0.2);
  if (auto last = merger.finish()) peaks.push_back(*last);
  CHECK(!merger.finish());
  REQUIRE(peaks.size() == 3);
  CHECK(peaks[0].contig == "c1");
  CHECK(peaks[0].start == 0);
  CHECK(peaks[0].end == 28);
  CHECK(peaks[0].max_probability == 0.9);
  CHECK(peaks[0].summit == 13);
  CHECK(peaks[1].start == 29);
  CHECK(peaks[1].end == 39);
  CHECK(peaks[2].contig == "c2");
  CHECK(peaks[2].end == 10);
  CHECK(analysis::peak_line(peaks[0], 1) == "c1\t0\t28\tpeak1\t900\t.\t0.899999976\t-1\t-1\t13\n");
}

TEST_CASE("genome scan: the C. elegans sample in BED regions matches transformers window by window") {
  // tests/reference/make_scan_goldens.py: windows, cells and P(class 1) from transformers.
  const std::string fasta = "/usr/share/htslib-test/test/ce.fa";  // Debian htslib-test
  REQUIRE_MESSAGE(std::filesystem::exists(fasta), "install the Debian package htslib-test");
  const auto model = dnabert::load_classifier(dnabert::test::data_path("parity/cls_k6"), 1);
  analysis::scan_options options;
  options.stride = 25;
  std::vector<reported> seen;
  const auto summary = analysis::scan_genome(model, fasta, analysis::read_bed_regions(dnabert::test::data_path("scan/ce_regions.bed")),
                                             options, [&](const std::string& contig, const analysis::scan_window& w, double p) {
                                               seen.push_back({contig, w, p});
                                             });
  CHECK(summary.bases == 2500 + 150 + 200);
  std::ifstream golden(dnabert::test::data_path("scan/ce_regions.bedGraph"));
  std::string line;
  std::size_t row = 0;
  while (std::getline(golden, line)) {
    if (line.starts_with('#')) continue;
    std::istringstream fields(line);
    reported expected;
    fields >> expected.contig >> expected.window.cell_start >> expected.window.cell_end >> expected.probability >>
        expected.window.start >> expected.window.end;
    CAPTURE(line);
    REQUIRE(row < seen.size());
    CHECK(seen[row].contig == expected.contig);
    CHECK(seen[row].window.start == expected.window.start);
    CHECK(seen[row].window.end == expected.window.end);
    CHECK(seen[row].window.cell_start == expected.window.cell_start);
    CHECK(seen[row].window.cell_end == expected.window.cell_end);
    CHECK(seen[row].probability == doctest::Approx(expected.probability).epsilon(tolerance));
    ++row;
  }
  CHECK(row == 111);
  CHECK(seen.size() == row);
}

}  // namespace analysis_genome_scan_test
