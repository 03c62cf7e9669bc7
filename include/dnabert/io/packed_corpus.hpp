#pragma once
// A genome packed once for pre-training (`dnabert corpus`): 2 bits per nucleotide plus an index
// of its records, of the runs of letters other than A/C/G/T (N, IUPAC codes) and of its
// soft-masked (lower-case) stretches, so that decoding gives back exactly the letters read. It is
// memory-mapped read-only: processes on one machine share one copy in the page cache, and
// nothing a reader holds in its own memory grows with the genome.
//
// Layout, little-endian, sections in this order, each starting at a multiple of 8 bytes:
//   header      128 bytes: magic "\x89DNACRP\n", version, flags, counts, file size, CRC-32s
//   bases       ceil(n/4) bytes (padded to 8): base i in bits 2(i%4)..2(i%4)+1 of byte i/4, A0 C1 G2 T3
//               (0 under a letter run)
//   records     32 bytes each: start, length (nt), id offset, id length (bytes)
//   letter runs 16 bytes each: start, length (u32), letter (upper case, u8), 3 zero bytes
//   lower runs  16 bytes each: start, length
//   ids         the record ids back to back
// Runs are sorted and do not overlap; positions count from the first nucleotide of the first
// record. The index CRC-32 covers the tables after the bases, then the header's first 68 bytes;
// the bases' own CRC-32 is checked on request only (verify_bases), so opening the file never
// reads the genome. Packing again replaces the file by a rename, so running readers keep the copy
// they mapped; a file truncated in place under a running reader ends it (SIGBUS), as with any
// memory-mapped file.

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/mapped_file.hpp"
#include "dnabert/io/spill_file.hpp"

namespace dnabert::io {

namespace packed_corpus_format {
/// The first 8 bytes of every packed corpus (the 0x89 keeps it from reading as text or FASTA).
inline constexpr std::string_view magic{"\x89" "DNACRP\n", 8};
inline constexpr std::uint32_t version = 1;             ///< the layout described above
inline constexpr std::uint32_t text_lines = 1;          ///< flag: records are text lines, used as they stand
inline constexpr std::uint64_t header_size = 128;
inline constexpr std::uint64_t record_size = 32;
inline constexpr std::uint64_t run_size = 16;
inline constexpr std::uint64_t checked_header_bytes = 68;  ///< header bytes the index CRC covers
inline constexpr std::uint64_t longest_letter_run = 0xffffffffU;

/// Bytes of the bases section for `nucleotides`, padded to 8.
constexpr std::uint64_t bases_bytes(std::uint64_t nucleotides) { return (nucleotides / 4 + (nucleotides % 4 != 0) + 7) / 8 * 8; }

/// Stores `value` little-endian at `out`.
template <class T>
inline void store(char* out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<char>((static_cast<std::uint64_t>(value) >> (8 * i)) & 0xffU);
}

/// Loads a little-endian T from `in`.
template <class T>
inline T load(const std::byte* in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<std::uint64_t>(in[i]) << (8 * i);
  return static_cast<T>(value);
}

/// CRC-32 of `bytes` continued from `crc` (zlib's, in chunks that fit its length type).
inline std::uint32_t crc32_of(std::uint32_t crc, std::span<const std::byte> bytes) {
  constexpr std::size_t chunk = std::size_t{1} << 30;
  unsigned long value = crc;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    const auto length = static_cast<uInt>(std::min(chunk, bytes.size() - at));
    value = ::crc32(value, reinterpret_cast<const Bytef*>(bytes.data() + at), length);
  }
  return static_cast<std::uint32_t>(value);
}

/// 2-bit code of a letter: A0 C1 G2 T3 (either case), 4 for any other letter.
inline constexpr std::array<std::uint8_t, 256> base_code = [] {
  std::array<std::uint8_t, 256> table{};
  table.fill(4);
  table['A'] = table['a'] = 0;
  table['C'] = table['c'] = 1;
  table['G'] = table['g'] = 2;
  table['T'] = table['t'] = 3;
  return table;
}();
}  // namespace packed_corpus_format

/// True when `path` is a regular file that starts with the packed corpus magic. Anything else
/// (standard input, /dev/stdin, a FIFO) is not opened: reading its first bytes would consume them.
inline bool is_packed_corpus(const std::string& path) {
  std::error_code ignored;
  if (path == "-" || !std::filesystem::is_regular_file(path, ignored)) return false;
  std::ifstream in(path, std::ios::binary);
  char prefix[8] = {};
  if (!in.read(prefix, sizeof prefix)) return false;
  return std::string_view(prefix, sizeof prefix) == packed_corpus_format::magic;
}

/// Writes a packed corpus as records stream in (a line at a time is enough), holding one
/// megabyte of bases and of each table: the tables wait in unnamed scratch files beside the
/// output until commit() writes them after the bases and puts the file in place atomically.
class packed_corpus_writer {
 public:
  /// Starts `path` (a temporary file beside it until commit).
  explicit packed_corpus_writer(const std::string& path)
      : file_(path), records_(path), letter_runs_(path), lower_runs_(path), ids_(path) {
    file_.write(std::string(packed_corpus_format::header_size, '\0'));
  }

  /// Starts a record called `id` (empty for a text line).
  void begin_record(std::string_view id) {
    if (in_record_) throw error("cannot write " + file_.path() + ": a record began inside another");
    in_record_ = true;
    record_start_ = nucleotides_;
    std::string entry(packed_corpus_format::record_size, '\0');
    packed_corpus_format::store(&entry[0], record_start_);  // the length (at 8) is patched at the end
    packed_corpus_format::store(&entry[16], ids_.bytes);
    packed_corpus_format::store(&entry[24], static_cast<std::uint64_t>(id.size()));
    records_.add(entry);
    ids_.add(id);
  }

  /// Appends letters to the record: A/C/G/T in 2 bits, every other letter in a run, lower case in a run.
  void append(std::string_view letters) {
    if (!in_record_) throw error("cannot write " + file_.path() + ": letters outside a record");
    for (const char c : letters) {
      const std::uint8_t code = packed_corpus_format::base_code[static_cast<unsigned char>(c)];
      const bool lower = c >= 'a' && c <= 'z';
      const char letter = code < 4 ? '\0' : static_cast<char>(lower ? c - 'a' + 'A' : c);
      if (letter != run_letter_ || nucleotides_ - run_start_ == packed_corpus_format::longest_letter_run) {
        end_letter_run();
        run_letter_ = letter;
        run_start_ = nucleotides_;
      }
      if (lower != in_lower_) {
        end_lower_run();
        in_lower_ = lower;
        lower_start_ = nucleotides_;
      }
      packing_ |= static_cast<std::uint8_t>((code & 3U) << (2 * (nucleotides_ % 4)));
      if (++nucleotides_ % 4 == 0) push_packed_byte();
    }
  }

  /// Ends the current record (it must hold at least one letter).
  void end_record() {
    if (!in_record_ || nucleotides_ == record_start_)
      throw error("cannot write " + file_.path() + ": a record must hold at least one letter");
    end_letter_run();
    end_lower_run();
    run_letter_ = '\0';
    in_lower_ = false;
    // Entries go to the scratch file only before the next is added, so this one is still buffered.
    packed_corpus_format::store(records_.buffer.data() + records_.buffer.size() - 24, nucleotides_ - record_start_);
    in_record_ = false;
  }

  /// Writes the tables and the header and puts the file in place; `text_lines` marks records
  /// that are lines used as they stand rather than FASTA records cut each epoch.
  void commit(bool text_lines) {
    if (in_record_) throw error("cannot write " + file_.path() + ": the last record was not ended");
    if (nucleotides_ % 4 != 0) push_packed_byte();
    write_bases();
    const auto written = nucleotides_ / 4 + (nucleotides_ % 4 != 0);
    file_.write(std::string(packed_corpus_format::bases_bytes(nucleotides_) - written, '\0'));
    std::uint32_t index_crc = 0;
    std::uint64_t size = packed_corpus_format::header_size + packed_corpus_format::bases_bytes(nucleotides_);
    for (auto* part : {&records_, &letter_runs_, &lower_runs_, &ids_}) {
      if (!part->buffer.empty()) part->spill.write(part->buffer);
      std::string block;
      while (part->spill.read(block)) {
        index_crc = packed_corpus_format::crc32_of(index_crc, std::as_bytes(std::span(block.data(), block.size())));
        size += block.size();
        file_.write(block);
      }
    }
    std::string header(packed_corpus_format::header_size, '\0');
    using packed_corpus_format::store;
    header.replace(0, 8, packed_corpus_format::magic);
    store(&header[8], packed_corpus_format::version);
    store(&header[12], text_lines ? packed_corpus_format::text_lines : std::uint32_t{0});
    store(&header[16], nucleotides_);
    store(&header[24], records_.entries);
    store(&header[32], letter_runs_.entries);
    store(&header[40], lower_runs_.entries);
    store(&header[48], ids_.bytes);
    store(&header[56], size);
    store(&header[64], bases_crc_);
    index_crc = packed_corpus_format::crc32_of(
        index_crc, std::as_bytes(std::span(header.data(), packed_corpus_format::checked_header_bytes)));
    store(&header[68], index_crc);
    file_.write_at(0, header);
    file_.commit();
  }

  /// Nucleotides written so far.
  [[nodiscard]] std::uint64_t nucleotides() const noexcept { return nucleotides_; }
  /// Records begun so far.
  [[nodiscard]] std::uint64_t records() const noexcept { return records_.entries; }

 private:
  static constexpr std::size_t block_size = std::size_t{1} << 20;

  // A table: entries gather in a megabyte buffer, full buffers wait in a scratch file.
  struct table {
    explicit table(const std::string& path) : spill(std::filesystem::path(path).parent_path().string()) {}
    void add(std::string_view entry) {
      if (buffer.size() >= block_size) {
        spill.write(buffer);
        buffer.clear();
      }
      buffer += entry;
      bytes += entry.size();
      ++entries;
    }
    spill_file spill;
    std::string buffer;
    std::uint64_t bytes = 0, entries = 0;
  };

  void push_packed_byte() {
    bases_buffer_.push_back(static_cast<char>(packing_));
    packing_ = 0;
    if (bases_buffer_.size() >= block_size) write_bases();
  }

  void write_bases() {
    bases_crc_ = packed_corpus_format::crc32_of(bases_crc_, std::as_bytes(std::span(bases_buffer_.data(), bases_buffer_.size())));
    file_.write(bases_buffer_);
    bases_buffer_.clear();
  }

  void end_letter_run() {
    if (run_letter_ == '\0' || nucleotides_ == run_start_) return;
    std::string entry(packed_corpus_format::run_size, '\0');
    packed_corpus_format::store(&entry[0], run_start_);
    packed_corpus_format::store(&entry[8], static_cast<std::uint32_t>(nucleotides_ - run_start_));
    entry[12] = run_letter_;
    letter_runs_.add(entry);
  }

  void end_lower_run() {
    if (!in_lower_ || nucleotides_ == lower_start_) return;
    std::string entry(packed_corpus_format::run_size, '\0');
    packed_corpus_format::store(&entry[0], lower_start_);
    packed_corpus_format::store(&entry[8], nucleotides_ - lower_start_);
    lower_runs_.add(entry);
  }

  atomic_file_writer file_;
  table records_, letter_runs_, lower_runs_, ids_;
  std::string bases_buffer_;
  std::uint64_t nucleotides_ = 0, record_start_ = 0, run_start_ = 0, lower_start_ = 0;
  std::uint32_t bases_crc_ = 0;
  std::uint8_t packing_ = 0;
  char run_letter_ = '\0';  // letter of the open letter run; '\0' when none is open
  bool in_lower_ = false;
  bool in_record_ = false;
};

/// A record of a packed corpus: where its letters start and how many there are, and its id.
struct packed_record {
  std::uint64_t start = 0;
  std::uint64_t length = 0;
  std::string_view id;
};

/// A run of one letter other than A/C/G/T (upper case; lower case is in the lower runs).
struct letter_run {
  std::uint64_t start = 0;
  std::uint64_t length = 0;
  char letter = 'N';
};

/// A packed corpus mapped read-only. Opening checks the header, the sizes, the index CRC and
/// every table entry, so that no later access reads outside the file, whatever the file holds.
class packed_corpus {
 public:
  /// Maps and checks `path`; throws format_error naming the file and what is wrong.
  explicit packed_corpus(const std::string& path)
      : map_(std::make_shared<const mapped_file>(path, mapped_file::mode::read_only)), bytes_(map_->bytes()), name_(path) {
    check();
  }

  /// Checks a packed corpus held in memory (viewed, not copied: `bytes` must outlive it); `name`
  /// appears in messages.
  packed_corpus(std::span<const std::byte> bytes, std::string name) : bytes_(bytes), name_(std::move(name)) { check(); }

  /// The path it was opened with (or the name it was given).
  [[nodiscard]] const std::string& path() const noexcept { return name_; }
  /// Whether records are text lines used as they stand (not FASTA records cut each epoch).
  [[nodiscard]] bool text_lines() const noexcept { return (flags_ & packed_corpus_format::text_lines) != 0; }
  /// Total nucleotides.
  [[nodiscard]] std::uint64_t nucleotides() const noexcept { return nucleotides_; }
  /// Number of records.
  [[nodiscard]] std::uint64_t records() const noexcept { return records_; }
  /// Number of runs of letters other than A/C/G/T.
  [[nodiscard]] std::uint64_t letter_runs() const noexcept { return letter_runs_; }

  /// Record `index` (< records()).
  [[nodiscard]] packed_record record(std::uint64_t index) const {
    if (index >= records_) throw error(path() + ": record " + std::to_string(index) + " asked for, it has " + std::to_string(records_));
    const std::byte* entry = at(records_offset_ + index * packed_corpus_format::record_size);
    using packed_corpus_format::load;
    const auto id_offset = load<std::uint64_t>(entry + 16);
    return {load<std::uint64_t>(entry), load<std::uint64_t>(entry + 8),
            std::string_view(reinterpret_cast<const char*>(at(ids_offset_ + id_offset)),
                             load<std::uint64_t>(entry + 24))};
  }

  /// Letter run `index` (< letter_runs()).
  [[nodiscard]] letter_run run(std::uint64_t index) const {
    const std::byte* entry = at(letter_runs_offset_ + index * packed_corpus_format::run_size);
    return {packed_corpus_format::load<std::uint64_t>(entry), packed_corpus_format::load<std::uint32_t>(entry + 8),
            static_cast<char>(entry[12])};
  }

  /// Index of the first letter run that ends after `position` (letter_runs() when none does).
  [[nodiscard]] std::uint64_t first_run_ending_after(std::uint64_t position) const {
    return first_ending_after(letter_runs_offset_, letter_runs_, position, 8, 4);
  }

  /// Writes the `length` letters from `start` (start + length <= nucleotides()) into `out`,
  /// exactly as they were read.
  void decode(std::uint64_t start, std::uint64_t length, char* out) const {
    if (start > nucleotides_ || length > nucleotides_ - start)
      throw error(path() + ": letters " + std::to_string(start) + ".." + std::to_string(start + length) +
                  " asked for, past the last of " + std::to_string(nucleotides_));
    const std::byte* bases = at(packed_corpus_format::header_size);
    for (std::uint64_t i = 0; i < length; ++i) {
      const std::uint64_t p = start + i;
      out[i] = "ACGT"[(static_cast<unsigned>(bases[p / 4]) >> (2 * (p % 4))) & 3U];
    }
    const std::uint64_t end = start + length;
    for (std::uint64_t r = first_run_ending_after(start); r < letter_runs_; ++r) {
      const letter_run found = run(r);
      if (found.start >= end) break;
      const std::uint64_t from = std::max(found.start, start), to = std::min(found.start + found.length, end);
      std::fill(out + (from - start), out + (to - start), found.letter);
    }
    for (std::uint64_t r = first_ending_after(lower_runs_offset_, lower_runs_, start, 8, 8); r < lower_runs_; ++r) {
      const std::byte* entry = at(lower_runs_offset_ + r * packed_corpus_format::run_size);
      const auto run_start = packed_corpus_format::load<std::uint64_t>(entry);
      if (run_start >= end) break;
      const std::uint64_t from = std::max(run_start, start);
      const std::uint64_t to = std::min(run_start + packed_corpus_format::load<std::uint64_t>(entry + 8), end);
      for (std::uint64_t p = from; p < to; ++p) {
        char& c = out[p - start];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
    }
  }

  /// Reads every base and compares its CRC-32 with the header's; throws format_error when they differ.
  void verify_bases() const {
    const std::uint64_t bytes = nucleotides_ / 4 + (nucleotides_ % 4 != 0);
    if (packed_corpus_format::crc32_of(0, bytes_.subspan(packed_corpus_format::header_size, bytes)) != bases_crc_)
      throw format_error(path(), "the bases do not match their checksum: the file is damaged");
  }

 private:
  [[nodiscard]] const std::byte* at(std::uint64_t offset) const { return bytes_.data() + offset; }

  // Binary search over a table whose entries hold (start, length) with ends increasing.
  [[nodiscard]] std::uint64_t first_ending_after(std::uint64_t offset, std::uint64_t count, std::uint64_t position,
                                                 std::size_t length_at, std::size_t length_bytes) const {
    std::uint64_t low = 0, high = count;
    while (low < high) {
      const std::uint64_t middle = low + (high - low) / 2;
      const std::byte* entry = at(offset + middle * packed_corpus_format::run_size);
      const std::uint64_t length = length_bytes == 4 ? packed_corpus_format::load<std::uint32_t>(entry + length_at)
                                                     : packed_corpus_format::load<std::uint64_t>(entry + length_at);
      if (packed_corpus_format::load<std::uint64_t>(entry) + length > position) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  [[noreturn]] void fail(const std::string& what) const { throw format_error(path(), what); }

  // The size a section of `count` entries of `size` bytes needs, refused when the file cannot hold it.
  [[nodiscard]] std::uint64_t section(std::uint64_t count, std::uint64_t size, const char* what) const {
    if (count > bytes_.size() / size)
      fail("the header counts " + std::to_string(count) + " " + what + ", more than the file's " +
           std::to_string(bytes_.size()) + " bytes can hold (truncated or damaged)");
    return count * size;
  }

  void check() {
    using packed_corpus_format::load;
    const auto bytes = bytes_;
    if (bytes.size() < 8 || std::memcmp(bytes.data(), packed_corpus_format::magic.data(), 8) != 0)
      fail("not a dnabert packed corpus (no \\x89DNACRP magic at its start)");
    if (bytes.size() < packed_corpus_format::header_size)
      fail("truncated: " + std::to_string(bytes.size()) + " bytes, shorter than the " +
           std::to_string(packed_corpus_format::header_size) + "-byte header");
    const std::byte* header = bytes.data();
    const auto version = load<std::uint32_t>(header + 8);
    if (version != packed_corpus_format::version)
      fail("packed corpus format version " + std::to_string(version) + "; this dnabert reads version " +
           std::to_string(packed_corpus_format::version) + " (pack the genome again with `dnabert corpus`)");
    flags_ = load<std::uint32_t>(header + 12);
    if ((flags_ & ~packed_corpus_format::text_lines) != 0) fail("unknown flags " + std::to_string(flags_) + " in the header");
    nucleotides_ = load<std::uint64_t>(header + 16);
    records_ = load<std::uint64_t>(header + 24);
    letter_runs_ = load<std::uint64_t>(header + 32);
    lower_runs_ = load<std::uint64_t>(header + 40);
    const auto id_bytes = load<std::uint64_t>(header + 48);
    const auto stated_size = load<std::uint64_t>(header + 56);
    bases_crc_ = load<std::uint32_t>(header + 64);
    if (stated_size != bytes.size())
      fail(stated_size > bytes.size() ? "truncated: " + std::to_string(bytes.size()) + " bytes, the header says " +
                                            std::to_string(stated_size)
                                      : std::to_string(bytes.size() - stated_size) +
                                            " bytes after the end the header gives (" + std::to_string(stated_size) + ")");
    if (records_ == 0) fail("holds no records");
    if (nucleotides_ / 4 > bytes.size()) fail("the header counts more nucleotides than the file can hold (damaged)");
    records_offset_ = packed_corpus_format::header_size + packed_corpus_format::bases_bytes(nucleotides_);
    letter_runs_offset_ = records_offset_ + section(records_, packed_corpus_format::record_size, "records");
    lower_runs_offset_ = letter_runs_offset_ + section(letter_runs_, packed_corpus_format::run_size, "letter runs");
    ids_offset_ = lower_runs_offset_ + section(lower_runs_, packed_corpus_format::run_size, "lower-case runs");
    if (id_bytes > bytes.size() || ids_offset_ > bytes.size() || ids_offset_ + id_bytes != bytes.size())
      fail("the sections the header describes do not add up to the file's " + std::to_string(bytes.size()) +
           " bytes (damaged)");
    const std::uint32_t index_crc = packed_corpus_format::crc32_of(
        packed_corpus_format::crc32_of(0, bytes.subspan(records_offset_)),
        bytes.first(packed_corpus_format::checked_header_bytes));
    if (index_crc != load<std::uint32_t>(header + 68)) fail("the index does not match its checksum: the file is damaged");
    check_records(id_bytes);
    check_letter_runs();
    check_lower_runs();
  }

  void check_records(std::uint64_t id_bytes) const {
    std::uint64_t next_start = 0, next_id = 0;
    for (std::uint64_t r = 0; r < records_; ++r) {
      const std::byte* entry = at(records_offset_ + r * packed_corpus_format::record_size);
      using packed_corpus_format::load;
      const auto start = load<std::uint64_t>(entry), length = load<std::uint64_t>(entry + 8);
      const auto id_offset = load<std::uint64_t>(entry + 16), id_length = load<std::uint64_t>(entry + 24);
      const std::string which = "record " + std::to_string(r + 1) + " of the index ";
      if (start != next_start) fail(which + "starts at " + std::to_string(start) + ", expected " + std::to_string(next_start));
      if (length == 0 || length > nucleotides_ - start)
        fail(which + "has length " + std::to_string(length) + ", outside the " + std::to_string(nucleotides_ - start) +
             " nucleotides left");
      if (id_offset != next_id || id_length > id_bytes - id_offset) fail(which + "has its id outside the id table");
      next_start = start + length;
      next_id = id_offset + id_length;
    }
    if (next_start != nucleotides_ || next_id != id_bytes)
      fail("the records hold " + std::to_string(next_start) + " nucleotides, the header says " + std::to_string(nucleotides_));
  }

  void check_letter_runs() const {
    std::uint64_t previous_end = 0;
    for (std::uint64_t r = 0; r < letter_runs_; ++r) {
      const letter_run found = run(r);
      const auto letter = static_cast<unsigned char>(found.letter);
      const std::string which = "letter run " + std::to_string(r + 1) + " ";
      if (found.start < previous_end || found.start >= nucleotides_ || found.length == 0 ||
          found.length > nucleotides_ - found.start)
        fail(which + "(" + std::to_string(found.start) + ", " + std::to_string(found.length) +
             ") overlaps the one before, is empty or ends past the last nucleotide");
      if (letter <= ' ' || letter >= 0x7f || (letter >= 'a' && letter <= 'z') ||
          packed_corpus_format::base_code[letter] < 4)
        fail(which + "has letter byte " + std::to_string(letter) + ", not an upper-case letter other than A/C/G/T");
      previous_end = found.start + found.length;
    }
  }

  void check_lower_runs() const {
    std::uint64_t previous_end = 0;
    for (std::uint64_t r = 0; r < lower_runs_; ++r) {
      const std::byte* entry = at(lower_runs_offset_ + r * packed_corpus_format::run_size);
      const auto start = packed_corpus_format::load<std::uint64_t>(entry);
      const auto length = packed_corpus_format::load<std::uint64_t>(entry + 8);
      if (start < previous_end || length == 0 || start >= nucleotides_ || length > nucleotides_ - start)
        fail("lower-case run " + std::to_string(r + 1) + " (" + std::to_string(start) + ", " + std::to_string(length) +
             ") overlaps the one before, is empty or ends past the last nucleotide");
      previous_end = start + length;
    }
  }

  std::shared_ptr<const mapped_file> map_;  // none for bytes in memory
  std::span<const std::byte> bytes_;
  std::string name_;
  std::uint32_t flags_ = 0, bases_crc_ = 0;
  std::uint64_t nucleotides_ = 0, records_ = 0, letter_runs_ = 0, lower_runs_ = 0;
  std::uint64_t records_offset_ = 0, letter_runs_offset_ = 0, lower_runs_offset_ = 0, ids_offset_ = 0;
};

/// Finds the N runs of one record of a packed corpus for a piece cutter, as offsets in the
/// record; positions asked for only grow, so a cursor walks the runs once.
class packed_n_runs {
 public:
  /// The N runs of `corpus`'s record `index`, asked about from position `from` on.
  packed_n_runs(const packed_corpus& corpus, std::uint64_t index, std::size_t from = 0)
      : corpus_(&corpus), record_(corpus.record(index)), run_(corpus.first_run_ending_after(record_.start + from)) {}

  /// The record's length.
  [[nodiscard]] std::size_t size() const noexcept { return static_cast<std::size_t>(record_.length); }

  /// The first position at or after `position` that is not N (size() when none).
  std::size_t skip_n(std::size_t position) {
    for (;;) {
      if (position >= size()) return size();
      pass_runs_before(position);
      if (run_ == corpus_->letter_runs()) return position;
      const letter_run found = corpus_->run(run_);
      if (found.letter != 'N' || found.start > record_.start + position) return position;
      position = static_cast<std::size_t>(std::min(found.start + found.length, record_.start + record_.length) - record_.start);
    }
  }

  /// The first position in [position, limit) that is N (limit when none; limit <= size()).
  std::size_t next_n(std::size_t position, std::size_t limit) {
    pass_runs_before(position);
    const std::uint64_t end = record_.start + limit;
    for (std::uint64_t r = run_; r < corpus_->letter_runs(); ++r) {
      const letter_run found = corpus_->run(r);
      if (found.start >= end) break;
      if (found.letter == 'N') return static_cast<std::size_t>(std::max(found.start, record_.start + position) - record_.start);
    }
    return limit;
  }

 private:
  void pass_runs_before(std::size_t position) {
    while (run_ < corpus_->letter_runs()) {
      const letter_run found = corpus_->run(run_);
      if (found.start + found.length > record_.start + position) break;
      ++run_;
    }
  }

  const packed_corpus* corpus_;
  packed_record record_;
  std::uint64_t run_;
};

}  // namespace dnabert::io
