#pragma once
// DNABERT's pre-training pieces (`cut_no_overlap` in
// https://github.com/jerryji1993/DNABERT/blob/master/examples/data_process_template/process_pretrain_data.py):
// each genome sequence cut into consecutive non-overlapping pieces, re-drawn every epoch, streamed
// one FASTA record at a time.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "dnabert/core/rng.hpp"
#include "dnabert/core/vocabulary.hpp"
#include "dnabert/io/fasta.hpp"

namespace dnabert::train {

/// What happens to runs of N (either case) inside a sequence.
enum class n_run_handling {
  drop,  ///< default: N runs are removed and the stretches between them are cut independently
  keep,  ///< DNABERT's code as written: N stays inside pieces (the tokenizer turns it into [UNK])
};

/// How pieces are cut.
struct piece_options {
  int k = 6;                                     ///< the model's k-mer size (1..15)
  std::uint64_t seed = 42;                       ///< with the epoch, fixes every cut
  n_run_handling n_runs = n_run_handling::drop;  ///< see n_run_handling
  bool keep_short_pieces = false;                ///< keep pieces shorter than k (they hold no k-mer)
  std::size_t max_kmers = 510;                   ///< k-mers in a full piece (the model's max_kmers())
};

/// A full piece: 509 + k nt, i.e. exactly 510 k-mers (DNABERT's template makes L - k = 509 of
/// them, an off-by-one; dnabert's tokenizer makes L - k + 1), so [CLS] + 510 + [SEP] fills 512.
/// A model with fewer positions gets max_kmers + k - 1 nt.
constexpr std::size_t full_piece_length(int k, std::size_t max_kmers = 510) {
  return max_kmers + static_cast<std::size_t>(k) - 1;
}

/// Shortest random piece, as in DNABERT's max(int(U·(509+k)), 5).
inline constexpr std::size_t min_random_piece_length = 5;

/// One piece: a view into the sequence being cut, and where it came from.
struct pretraining_piece {
  std::string_view sequence;      ///< the nucleotides; valid until the next record is read
  std::string_view record_id;     ///< FASTA id of the source record (empty for bare sequences)
  std::uint64_t record_index = 0; ///< 0-based record number in the input
  std::uint64_t offset = 0;       ///< 0-based offset of the piece's first nucleotide in the record
};

namespace detail {

/// True for the letters an N run is made of.
constexpr bool is_n(char c) { return c == 'N' || c == 'n'; }

}  // namespace detail

/// The N runs of a sequence held as text, for basic_sequence_cutter: found by scanning letters.
class text_n_runs {
 public:
  /// Views `sequence` (not copied).
  explicit text_n_runs(std::string_view sequence) : sequence_(sequence) {}
  /// The sequence's length.
  [[nodiscard]] std::size_t size() const noexcept { return sequence_.size(); }
  /// The first position at or after `position` that is not N (size() when none).
  [[nodiscard]] std::size_t skip_n(std::size_t position) const {
    while (position < sequence_.size() && detail::is_n(sequence_[position])) ++position;
    return position;
  }
  /// The first position in [position, limit) that is N (limit when none; limit <= size()).
  [[nodiscard]] std::size_t next_n(std::size_t position, std::size_t limit) const {
    return static_cast<std::size_t>(std::find_if(sequence_.begin() + static_cast<std::ptrdiff_t>(position),
                                                 sequence_.begin() + static_cast<std::ptrdiff_t>(limit), detail::is_n) -
                                    sequence_.begin());
  }
  /// The sequence viewed.
  [[nodiscard]] std::string_view text() const noexcept { return sequence_; }

 private:
  std::string_view sequence_;
};

/// Where a cutter stands between two pieces: enough to go on cutting from there.
struct cut_state {
  std::uint64_t position = 0;  ///< where the next piece (or the N run before it) starts
  std::uint64_t cuts = 0;      ///< random cuts drawn so far: the draws' counter
};

/// Cuts one sequence as DNABERT's cut_no_overlap: while more than F = 509+k nt remain (F =
/// full_piece_length), a piece is F nt with probability 0.5, otherwise max(int(U·F), 5) nt; the
/// rest is the last piece.
/// Draws are uniform_from_counter(key, 2·cut + {0: full or random, 1: length}) with
/// key = mix64(mix64(seed + mix64(epoch)) + mix64(sequence_index)), so every (seed, epoch,
/// sequence) has its own cuts, independent of the other sequences. The cuts need only the
/// sequence's length and where its N runs are: `NRuns` gives them (size(), skip_n(p),
/// next_n(p, limit), asked for positions that only grow), from text or from a packed corpus's
/// index. Only the next F + 1 nt are looked at for an N (whether more than F remain is all a cut
/// needs), so a cutter resumed from its state() anywhere costs no more than one piece's scan.
template <class NRuns>
class basic_sequence_cutter {
 public:
  /// Prepares to cut the sequence `runs` describes for `epoch` (from `from`, a state() this cut
  /// reported); `sequence_index` picks its stream.
  basic_sequence_cutter(NRuns runs, const piece_options& options, std::uint64_t epoch, std::uint64_t sequence_index,
                        const cut_state& from = {})
      : runs_(std::move(runs)),
        options_(options),
        key_(mix64(mix64(options.seed + mix64(epoch)) + mix64(sequence_index))),
        full_(full_piece_length(options.k, options.max_kmers)),
        position_(static_cast<std::size_t>(from.position)),
        cuts_(from.cuts) {
    check_k(options.k);
    if (options.max_kmers == 0) throw config_error("pieces must hold at least one k-mer");
  }

  /// Sets `offset` and `length` to the next piece's; false after the last.
  bool next(std::uint64_t& offset, std::size_t& length) {
    for (;;) {
      if (options_.n_runs == n_run_handling::drop) position_ = runs_.skip_n(position_);
      if (position_ == runs_.size()) return false;
      const std::size_t look_ahead = std::min(runs_.size(), position_ + full_ + 1);
      const std::size_t stretch_end =
          options_.n_runs == n_run_handling::drop ? runs_.next_n(position_, look_ahead) : look_ahead;
      length = next_cut_length(stretch_end - position_);
      offset = position_;
      position_ += length;
      if (options_.keep_short_pieces || length >= static_cast<std::size_t>(options_.k)) return true;
    }
  }

  /// Where the cut stands: a cutter made with it gives the pieces this one would give next.
  [[nodiscard]] cut_state state() const noexcept { return {position_, cuts_}; }

 protected:
  NRuns runs_;

 private:
  /// Length of the next piece when `remaining` nt (or more than F) are left in the stretch.
  std::size_t next_cut_length(std::size_t remaining) {
    if (remaining <= full_) return remaining;
    const std::uint64_t counter = 2 * cuts_++;
    if (uniform_from_counter(key_, counter) < 0.5) return full_;
    const double u = uniform_from_counter(key_, counter + 1);
    return std::max(static_cast<std::size_t>(u * static_cast<double>(full_)), min_random_piece_length);
  }

  piece_options options_;
  std::uint64_t key_;
  std::size_t full_;
  std::size_t position_ = 0;
  std::uint64_t cuts_ = 0;
};

/// Cuts a sequence held as text; pieces are views into it.
class sequence_cutter : public basic_sequence_cutter<text_n_runs> {
 public:
  /// Prepares to cut `sequence` (viewed, not copied) for `epoch`; `sequence_index` picks its stream.
  sequence_cutter(std::string_view sequence, const piece_options& options, std::uint64_t epoch,
                  std::uint64_t sequence_index)
      : basic_sequence_cutter(text_n_runs(sequence), options, epoch, sequence_index) {}

  using basic_sequence_cutter::next;

  /// Sets `piece` to the next piece and `offset` to its start; false after the last.
  bool next(std::string_view& piece, std::uint64_t& offset) {
    std::size_t length = 0;
    if (!next(offset, length)) return false;
    piece = runs_.text().substr(offset, length);
    return true;
  }
};

/// Streams the pieces of every record of a FASTA input for one epoch, holding one record at a
/// time: pieces are views into that record, never copies.
class fasta_piece_stream {
 public:
  /// Cuts the records `reader` yields, with the cuts of (options.seed, epoch).
  fasta_piece_stream(io::fasta_reader reader, const piece_options& options, std::uint64_t epoch)
      : reader_(std::move(reader)), options_(options), epoch_(epoch), cutter_({}, options, epoch, 0) {}

  /// Sets `piece` to the next piece, reading records as needed; false after the last record.
  bool next(pretraining_piece& piece) {
    std::string_view text;
    std::uint64_t offset = 0;
    while (!cutter_.next(text, offset)) {
      if (!reader_.next(record_)) return false;
      cutter_ = sequence_cutter(record_.sequence, options_, epoch_, records_read_++);
    }
    piece = {text, record_.id, records_read_ - 1, offset};
    return true;
  }

  /// The record the latest pieces view.
  [[nodiscard]] const io::fasta_record& current_record() const noexcept { return record_; }

 private:
  io::fasta_reader reader_;
  piece_options options_;
  std::uint64_t epoch_;
  io::fasta_record record_;
  std::uint64_t records_read_ = 0;
  sequence_cutter cutter_;
};

}  // namespace dnabert::train
