#pragma once
// The sequences a pre-training run draws from: FASTA records cut into pieces anew every epoch, or
// the lines of a DNABERT pre-training text file. Held either in memory (1 byte per nucleotide),
// or in a packed corpus (`dnabert corpus`: 2 bits per nucleotide) mapped read-only, decoded a
// piece at a time, so that memory per process does not grow with the genome.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/fasta.hpp"
#include "dnabert/io/kmer_sentence.hpp"
#include "dnabert/io/line_reader.hpp"
#include "dnabert/io/packed_corpus.hpp"
#include "dnabert/train/pretraining_pieces.hpp"

namespace dnabert::train {

/// A piece of the corpus: where it starts in the corpus and how many nucleotides it holds.
struct corpus_piece {
  std::uint64_t start = 0;
  std::uint64_t length = 0;
};

/// Where a walk over one epoch's pieces stands: the record, and where its cut stands.
struct piece_walk_state {
  std::uint64_t record = 0;
  cut_state cut;
};

/// The N runs of one record, from its letters in memory or from a packed corpus's index.
class corpus_n_runs {
 public:
  /// Scans `letters` (viewed, not copied).
  explicit corpus_n_runs(std::string_view letters) : text_(letters) {}
  /// Reads a packed corpus's index.
  explicit corpus_n_runs(const io::packed_n_runs& packed) : text_({}), packed_(packed) {}
  /// The record's length.
  [[nodiscard]] std::size_t size() const noexcept { return packed_ ? packed_->size() : text_.size(); }
  /// The first position at or after `position` that is not N (size() when none).
  std::size_t skip_n(std::size_t position) { return packed_ ? packed_->skip_n(position) : text_.skip_n(position); }
  /// The first position in [position, limit) that is N (limit when none).
  std::size_t next_n(std::size_t position, std::size_t limit) {
    return packed_ ? packed_->next_n(position, limit) : text_.next_n(position, limit);
  }

 private:
  text_n_runs text_;
  std::optional<io::packed_n_runs> packed_;
};

/// Reads a pre-training input into `sink` a line at a time: sink.begin_record(id),
/// sink.append(letters) (as often as needed), sink.end_record(). The first non-blank line tells
/// FASTA ('>') from text (one k-mer sentence or plain sequence per line, ids empty). Returns
/// whether it was FASTA; throws format_error naming the input when it holds no sequence.
template <class Sink>
bool read_pretraining_records(std::unique_ptr<io::byte_source> source, Sink& sink) {
  io::peeked_line peeked = io::peek_first_line(std::move(source), io::default_max_line_length);
  const std::string name = peeked.source->name();
  if (!peeked.found) throw format_error(name, "no sequences to pre-train on: the input is empty or blank");
  if (peeked.line.starts_with(io::packed_corpus_format::magic.substr(0, 7)))  // the line ends at the magic's '\n'
    throw format_error(name, "is a packed corpus: it is memory-mapped, so give it as a regular file, uncompressed, not a pipe");
  const bool fasta = peeked.line[peeked.line.find_first_not_of(" \t")] == '>';
  std::uint64_t records = 0;
  if (fasta) {
    io::fasta_reader reader(std::move(peeked.source));
    io::fasta_record record;
    while (reader.next_header(record)) {
      sink.begin_record(record.id);
      while (reader.next_sequence_line(record)) {
        sink.append(record.sequence);
        record.sequence.clear();
      }
      sink.end_record();
      ++records;
    }
  } else {
    io::line_reader lines(std::move(peeked.source));
    std::string line;
    while (lines.next_line(line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (io::detail::is_blank(line)) continue;
      sink.begin_record({});
      if (line.find(' ') == std::string::npos) {
        for (std::size_t i = 0; i < line.size(); ++i) {
          const auto c = static_cast<unsigned char>(line[i]);
          if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            throw format_error::at_line(lines.name(), lines.line_number(),
                                        "expected nucleotides or a k-mer sentence, found " +
                                            io::detail::describe_byte(line[i]) + " at column " + std::to_string(i + 1));
        }
        sink.append(line);
      } else {
        sink.append(io::kmer_sentence_to_sequence(line, lines.name(), lines.line_number()));
      }
      sink.end_record();
      ++records;
    }
  }
  if (records == 0) throw format_error(name, "holds no sequences to pre-train on");
  return fasta;
}

/// What pack_pretraining_corpus packed.
struct packing_summary {
  std::uint64_t records = 0;
  std::uint64_t nucleotides = 0;
  bool text_lines = false;  ///< records are text lines (used as they stand), not FASTA records
};

/// Packs the pre-training input `input` (FASTA plain or gzip, or text lines; "-" for standard
/// input) into the packed corpus `output`, streaming: memory holds a line and a few megabytes of
/// buffers, whatever the genome's size. `progress(nucleotides)` is called after each line.
inline packing_summary pack_pretraining_corpus(const std::string& input, const std::string& output,
                                               const std::function<void(std::uint64_t)>& progress = {}) {
  std::error_code ignored;  // the packed file replaces `output` at the end: never the input itself
  if (std::filesystem::equivalent(input, output, ignored))
    throw input_error("cannot pack " + input + " into itself: give another --output");
  io::packed_corpus_writer writer(output);
  struct sink {
    io::packed_corpus_writer& writer;
    const std::function<void(std::uint64_t)>& progress;
    void begin_record(std::string_view id) { writer.begin_record(id); }
    void append(std::string_view letters) {
      writer.append(letters);
      if (progress) progress(writer.nucleotides());
    }
    void end_record() { writer.end_record(); }
  } packing{writer, progress};
  const bool fasta = read_pretraining_records(io::open_input(input), packing);
  writer.commit(!fasta);
  return {writer.records(), writer.nucleotides(), !fasta};
}

/// Pre-training sequences. A FASTA record is cut into pieces each epoch as DNABERT's
/// cut_no_overlap does; a line of a text file (a k-mer sentence, as DNABERT's 6_3k.txt, or plain
/// nucleotides) is one example as it stands, cut to the model's length, as DNABERT's
/// LineByLineTextDataset does. Either way the same pieces and letters, from memory or from a
/// packed corpus.
class pretraining_corpus {
 public:
  /// Maps a packed corpus (told by its magic), or reads a FASTA file (plain or gzip), pipe or
  /// standard input ("-"), or a text file of one sequence per line ('>' first means FASTA).
  static pretraining_corpus read(const std::string& path) {
    pretraining_corpus corpus;
    if (io::is_packed_corpus(path)) {
      corpus.packed_ = std::make_shared<const io::packed_corpus>(path);
      corpus.cut_each_epoch_ = !corpus.packed_->text_lines();
      return corpus;
    }
    corpus.read_from(io::open_input(path));
    return corpus;
  }

  /// Reads FASTA or text held in memory; `name` appears in messages.
  static pretraining_corpus read(std::span<const std::byte> bytes, const std::string& name) {
    pretraining_corpus corpus;
    corpus.read_from(io::open_input(bytes, name));
    return corpus;
  }

  /// Whether the letters come from a memory-mapped packed corpus.
  [[nodiscard]] bool packed() const noexcept { return packed_ != nullptr; }
  /// Whether records are cut into fresh pieces every epoch (FASTA) or used as they are (text lines).
  [[nodiscard]] bool cut_each_epoch() const noexcept { return cut_each_epoch_; }
  /// Number of records (FASTA records or text lines).
  [[nodiscard]] std::size_t records() const noexcept {
    return packed_ ? static_cast<std::size_t>(packed_->records()) : starts_.size() - 1;
  }
  /// Total nucleotides.
  [[nodiscard]] std::uint64_t nucleotides() const noexcept { return packed_ ? packed_->nucleotides() : bases_.size(); }
  /// Record `index`'s nucleotides (a copy).
  [[nodiscard]] std::string record(std::size_t index) const {
    std::string letters;
    return std::string(text(record_piece(index), letters));
  }
  /// The nucleotides of `piece`: a view into the corpus held in memory, or decoded into `buffer`
  /// (and viewed there) from a packed corpus.
  [[nodiscard]] std::string_view text(const corpus_piece& piece, std::string& buffer) const {
    if (!packed_) return std::string_view(bases_).substr(piece.start, piece.length);
    buffer.resize(piece.length);
    packed_->decode(piece.start, piece.length, buffer.data());
    return buffer;
  }

  /// Walks the pieces of one epoch in corpus order: FASTA records cut with (options.seed, epoch),
  /// text lines cut to options.max_kmers k-mers; pieces shorter than k (no k-mer) are left out.
  /// A walk resumed from a state() it reported goes on exactly as it would have: an epoch's
  /// pieces are found again from a few such states, never held.
  class piece_walker {
   public:
    /// Starts walking `corpus`'s pieces of `epoch` at `from`.
    piece_walker(const pretraining_corpus& corpus, const piece_options& options, std::uint64_t epoch,
                 const piece_walk_state& from = {})
        : corpus_(&corpus), options_(options), epoch_(epoch), record_(from.record) {
      start_record(from.cut);
    }

    /// Sets `piece` to the next piece; false after the last.
    bool next(corpus_piece& piece) {
      for (; record_ < corpus_->records(); start_record({})) {
        const corpus_piece whole = corpus_->record_piece(static_cast<std::size_t>(record_));
        if (cutter_) {
          std::uint64_t offset = 0;
          std::size_t length = 0;
          if (cutter_->next(offset, length)) {
            piece = {whole.start + offset, length};
            return true;
          }
          ++record_;
          continue;
        }
        ++record_;  // a text line is one piece
        if (whole.length >= static_cast<std::uint64_t>(options_.k)) {
          piece = {whole.start, std::min<std::uint64_t>(whole.length, full_piece_length(options_.k, options_.max_kmers))};
          return true;
        }
      }
      return false;
    }

    /// Where the walk stands: a walker made with it gives the pieces this one would give next.
    [[nodiscard]] piece_walk_state state() const noexcept { return {record_, cutter_ ? cutter_->state() : cut_state{}}; }

   private:
    // Prepares to cut record_ (when records are cut) from `from`.
    void start_record(const cut_state& from) {
      cutter_.reset();
      if (record_ >= corpus_->records() || !corpus_->cut_each_epoch_) return;
      const auto r = static_cast<std::size_t>(record_);
      const corpus_piece whole = corpus_->record_piece(r);
      corpus_n_runs runs = corpus_->packed_ ? corpus_n_runs(io::packed_n_runs(*corpus_->packed_, r, static_cast<std::size_t>(from.position)))
                                            : corpus_n_runs(std::string_view(corpus_->bases_).substr(whole.start, whole.length));
      cutter_.emplace(std::move(runs), options_, epoch_, record_, from);
    }

    const pretraining_corpus* corpus_;
    piece_options options_;
    std::uint64_t epoch_;
    std::uint64_t record_;
    std::optional<basic_sequence_cutter<corpus_n_runs>> cutter_;
  };

  /// Calls visit(piece) for each piece of `epoch` in corpus order (see piece_walker).
  template <class Visit>
  void for_each_piece(const piece_options& options, std::uint64_t epoch, Visit&& visit) const {
    piece_walker walker(*this, options, epoch);
    for (corpus_piece piece; walker.next(piece);) visit(piece);
  }

  /// The pieces of `epoch` in corpus order (see for_each_piece).
  [[nodiscard]] std::vector<corpus_piece> epoch_pieces(const piece_options& options, std::uint64_t epoch) const {
    std::vector<corpus_piece> pieces;
    for_each_piece(options, epoch, [&pieces](const corpus_piece& piece) { pieces.push_back(piece); });
    return pieces;
  }

  /// How many pieces `epoch` has, without holding them.
  [[nodiscard]] std::uint64_t epoch_piece_count(const piece_options& options, std::uint64_t epoch) const {
    std::uint64_t count = 0;
    for_each_piece(options, epoch, [&count](const corpus_piece&) { ++count; });
    return count;
  }

 private:
  [[nodiscard]] corpus_piece record_piece(std::size_t index) const {
    if (packed_) {
      const io::packed_record record = packed_->record(index);
      return {record.start, record.length};
    }
    return {starts_[index], starts_[index + 1] - starts_[index]};
  }

  // Reads FASTA or text lines into memory, a line at a time.
  void read_from(std::unique_ptr<io::byte_source> source) {
    struct sink {
      pretraining_corpus& corpus;
      void begin_record(std::string_view) {}
      void append(std::string_view letters) { corpus.bases_.append(letters); }
      void end_record() { corpus.starts_.push_back(corpus.bases_.size()); }
    } in_memory{*this};
    cut_each_epoch_ = read_pretraining_records(std::move(source), in_memory);
  }

  std::string bases_;                             // in memory: every record back to back
  std::vector<std::uint64_t> starts_{0};          // in memory: where each record starts, and the end
  std::shared_ptr<const io::packed_corpus> packed_;  // or the packed corpus mapped
  bool cut_each_epoch_ = false;
};

}  // namespace dnabert::train
