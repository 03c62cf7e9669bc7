#pragma once
// The demo's classification task, drawn from two real genomes: short reads (windows on a random
// strand) from the nematode or from human — which genome did a read come from? The question a
// host-vs-contaminant screen asks, and one a model of the genome's own sequence can help with.

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <dnabert/dnabert.hpp>

namespace dnabert::cli {

/// A stretch of one genome record that reads are drawn from.
struct genome_region {
  std::string_view sequence;  ///< upper-case nucleotides of the record
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// The reverse complement of upper-case A/C/G/T `read`.
inline std::string reverse_complement(std::string_view read) {
  std::string out(read.rbegin(), read.rend());
  for (char& c : out) c = "TGCA"[std::string_view("ACGT").find(c)];
  return out;
}

/// `count` reads of `width` nt from `region` (reads with N are redrawn), each on a random strand,
/// labelled `label`; ids are `<prefix><n>:<start><strand>`.
inline std::vector<io::sequence_entry> draw_reads(const genome_region& region, std::size_t count, std::size_t width,
                                                  double label, std::mt19937_64& rng, const std::string& id_prefix) {
  if (region.end < region.begin + width)
    throw input_error("the genome region is shorter than one " + std::to_string(width) + "-nt read");
  std::vector<io::sequence_entry> reads;
  while (reads.size() < count) {
    const std::size_t start = region.begin + rng() % (region.end - region.begin - width + 1);
    std::string read(region.sequence.substr(start, width));
    if (read.find_first_not_of("ACGT") != std::string::npos) continue;
    const bool reverse = rng() % 2 == 1;
    if (reverse) read = reverse_complement(read);
    reads.push_back({id_prefix + std::to_string(reads.size()) + ":" + std::to_string(start) + (reverse ? "-" : "+"), read, label, {}});
  }
  return reads;
}

/// Reads of both classes, interleaved: `count` / 2 from `negatives` (label 0), the rest from
/// `positives` (label 1).
inline std::vector<io::sequence_entry> two_class_reads(const genome_region& negatives, const genome_region& positives,
                                                       std::size_t count, std::size_t width, std::mt19937_64& rng,
                                                       const std::string& id_prefix) {
  const auto zeros = draw_reads(negatives, count / 2, width, 0.0, rng, id_prefix + "neg");
  const auto ones = draw_reads(positives, count - count / 2, width, 1.0, rng, id_prefix + "pos");
  std::vector<io::sequence_entry> reads;
  for (std::size_t i = 0; i < ones.size(); ++i) {
    reads.push_back(ones[i]);
    if (i < zeros.size()) reads.push_back(zeros[i]);
  }
  return reads;
}

/// The reads as a DNABERT TSV (k-mer sentences, header `sequence<TAB>label`), for the CLI.
inline std::string dnabert_tsv(const std::vector<io::sequence_entry>& reads, int k) {
  std::string text = "sequence\tlabel\n";
  for (const auto& r : reads) text += io::sequence_to_kmer_sentence(r.sequence, k) + '\t' + (*r.label > 0 ? "1\n" : "0\n");
  return text;
}

}  // namespace dnabert::cli
