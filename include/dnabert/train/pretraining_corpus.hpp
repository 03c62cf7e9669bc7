#pragma once
// The sequences a pre-training run draws from, held once in memory (1 byte per nucleotide): FASTA
// records cut into pieces anew every epoch, or the lines of a DNABERT pre-training text file.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/fasta.hpp"
#include "dnabert/io/kmer_sentence.hpp"
#include "dnabert/io/line_reader.hpp"
#include "dnabert/train/pretraining_pieces.hpp"

namespace dnabert::train {

/// A piece of the corpus: where it starts in the corpus and how many nucleotides it holds.
struct corpus_piece {
  std::uint64_t start = 0;
  std::uint64_t length = 0;
};

/// Pre-training sequences, all records back to back in one buffer. A FASTA record is cut into
/// pieces each epoch as DNABERT's cut_no_overlap does; a line of a text file (a k-mer sentence,
/// as DNABERT's 6_3k.txt, or plain nucleotides) is one example as it stands, cut to the model's
/// length, as DNABERT's LineByLineTextDataset does.
class pretraining_corpus {
 public:
  /// Reads a FASTA file (plain or gzip), pipe or standard input ("-"), or a text file of one
  /// sequence per line; the first non-blank line tells which ('>' means FASTA).
  static pretraining_corpus read(const std::string& path) { return read_from(io::open_input(path)); }

  /// Reads FASTA or text held in memory; `name` appears in messages.
  static pretraining_corpus read(std::span<const std::byte> bytes, const std::string& name) {
    return read_from(io::open_input(bytes, name));
  }

  /// Whether records are cut into fresh pieces every epoch (FASTA) or used as they are (text lines).
  [[nodiscard]] bool cut_each_epoch() const noexcept { return cut_each_epoch_; }
  /// Number of records (FASTA records or text lines).
  [[nodiscard]] std::size_t records() const noexcept { return starts_.size() - 1; }
  /// Total nucleotides held.
  [[nodiscard]] std::uint64_t nucleotides() const noexcept { return bases_.size(); }
  /// Record `index`'s nucleotides.
  [[nodiscard]] std::string_view record(std::size_t index) const {
    return std::string_view(bases_).substr(starts_[index], starts_[index + 1] - starts_[index]);
  }
  /// The nucleotides of `piece`.
  [[nodiscard]] std::string_view text(const corpus_piece& piece) const {
    return std::string_view(bases_).substr(piece.start, piece.length);
  }

  /// The pieces of `epoch` in corpus order: FASTA records cut with (options.seed, epoch), text
  /// lines cut to options.max_kmers k-mers. Pieces shorter than k (no k-mer) are left out.
  [[nodiscard]] std::vector<corpus_piece> epoch_pieces(const piece_options& options, std::uint64_t epoch) const {
    std::vector<corpus_piece> pieces;
    const std::size_t full = full_piece_length(options.k, options.max_kmers);
    for (std::size_t r = 0; r < records(); ++r) {
      const std::string_view sequence = record(r);
      if (!cut_each_epoch_) {
        if (sequence.size() >= static_cast<std::size_t>(options.k))
          pieces.push_back({starts_[r], std::min<std::uint64_t>(sequence.size(), full)});
        continue;
      }
      sequence_cutter cutter(sequence, options, epoch, r);
      std::string_view piece;
      std::uint64_t offset = 0;
      while (cutter.next(piece, offset)) pieces.push_back({starts_[r] + offset, piece.size()});
    }
    return pieces;
  }

 private:
  // Reads the input in one pass: its first non-blank line is looked at from a replayed prefix.
  static pretraining_corpus read_from(std::unique_ptr<io::byte_source> source) {
    pretraining_corpus corpus;
    io::peeked_line peeked = io::peek_first_line(std::move(source), io::default_max_line_length);
    const std::string name = peeked.source->name();
    if (!peeked.found) throw format_error(name, "no sequences to pre-train on: the input is empty or blank");
    corpus.cut_each_epoch_ = peeked.line[peeked.line.find_first_not_of(" \t")] == '>';
    if (corpus.cut_each_epoch_) {
      io::fasta_reader reader(std::move(peeked.source));
      io::fasta_record record;
      while (reader.next(record)) corpus.append(record.sequence);
    } else {
      io::line_reader lines(std::move(peeked.source));
      std::string line;
      while (lines.next_line(line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (io::detail::is_blank(line)) continue;
        corpus.append(line.find(' ') == std::string::npos
                          ? check_plain_sequence(line, lines.name(), lines.line_number())
                          : io::kmer_sentence_to_sequence(line, lines.name(), lines.line_number()));
      }
    }
    if (corpus.records() == 0) throw format_error(name, "holds no sequences to pre-train on");
    return corpus;
  }

  // A line without spaces must be nucleotides (letters); anything else is a broken file.
  static const std::string& check_plain_sequence(const std::string& line, const std::string& file, std::uint64_t number) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
        throw format_error::at_line(file, number,
                                    "expected nucleotides or a k-mer sentence, found " + io::detail::describe_byte(line[i]) +
                                        " at column " + std::to_string(i + 1));
    }
    return line;
  }

  void append(std::string_view sequence) {
    bases_.append(sequence);
    starts_.push_back(bases_.size());
  }

  std::string bases_;
  std::vector<std::uint64_t> starts_{0};
  bool cut_each_epoch_ = false;
};

}  // namespace dnabert::train
