#pragma once
// A reference genome read through htslib's faidx: plain or BGZF FASTA with its .fai (built when
// missing and the directory is writable), contig names and lengths, and [start, end) fetches.

#include <htslib/faidx.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dnabert/core/error.hpp"

namespace dnabert::io::hts {

/// A contig of a reference genome.
struct contig {
  std::string name;
  std::int64_t length = 0;
};

namespace detail {

struct fai_deleter {
  void operator()(faidx_t* index) const noexcept { fai_destroy(index); }
};

struct malloc_deleter {
  void operator()(char* bytes) const noexcept { std::free(bytes); }
};

// How a FASTA file is compressed, from its first bytes: BGZF is gzip with a "BC" extra field.
enum class compression { none, gzip, bgzf };

inline compression compression_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, 18> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got < 2 || head[0] != 0x1f || head[1] != 0x8b) return compression::none;
  const bool has_extra = got >= 4 && (head[3] & 0x04) != 0;
  return has_extra && got >= 14 && head[12] == 'B' && head[13] == 'C' ? compression::bgzf : compression::gzip;
}

// True when `index` is missing or older than `data` (a FASTA edited after it was indexed).
inline bool missing_or_stale(const std::filesystem::path& index, const std::filesystem::path& data) {
  std::error_code ec;
  if (!std::filesystem::exists(index, ec)) return true;
  return std::filesystem::last_write_time(index, ec) < std::filesystem::last_write_time(data, ec);
}

}  // namespace detail

/// A FASTA file read by random access through its faidx index (REF.fa or BGZF REF.fa.gz).
class indexed_fasta {
 public:
  /// Opens `path`, building REF.fai (and REF.gzi for BGZF) when missing or older than the FASTA;
  /// throws format_error naming the file when that is impossible or the index cannot be read.
  explicit indexed_fasta(std::string path) : path_(std::move(path)) {
    const std::filesystem::path fasta(path_);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(fasta, ec)) throw format_error(path_, "no such FASTA file");
    const detail::compression compressed = detail::compression_of(path_);
    if (compressed == detail::compression::gzip)
      throw format_error(path_, "is compressed with plain gzip, which cannot be indexed: recompress it with bgzip "
                                "(zcat FILE | bgzip > FILE.bgz) or decompress it");
    const bool needs_index = detail::missing_or_stale(path_ + ".fai", fasta) ||
                             (compressed == detail::compression::bgzf && detail::missing_or_stale(path_ + ".gzi", fasta));
    if (needs_index) build_index();
    index_.reset(fai_load3(path_.c_str(), nullptr, nullptr, 0));
    if (!index_) throw format_error(path_, "cannot load its index " + path_ + ".fai");
  }

  /// The FASTA file's path.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  /// Every contig in file order.
  [[nodiscard]] std::vector<contig> contigs() const {
    std::vector<contig> all;
    const int count = faidx_nseq(index_.get());
    for (int i = 0; i < count; ++i) {
      const char* name = faidx_iseq(index_.get(), i);
      all.push_back({name, faidx_seq_len(index_.get(), name)});
    }
    return all;
  }

  /// The length of a contig, nullopt when the FASTA has none of that name.
  [[nodiscard]] std::optional<std::int64_t> contig_length(const std::string& name) const {
    if (!faidx_has_seq(index_.get(), name.c_str())) return std::nullopt;
    return faidx_seq_len(index_.get(), name.c_str());
  }

  /// The bases [start, end) of contig `name`, as written (soft-masked bases stay lower case).
  [[nodiscard]] std::string fetch(const std::string& name, std::int64_t start, std::int64_t end) const {
    const std::optional<std::int64_t> length = contig_length(name);
    if (!length) throw format_error(path_, "has no contig '" + name + "'");
    if (start < 0 || start > end || end > *length)
      throw input_error(path_ + ": region [" + std::to_string(start) + ", " + std::to_string(end) + ") is outside contig '" +
                        name + "' of " + std::to_string(*length) + " nt");
    if (start == end) return {};
    hts_pos_t fetched = 0;
    const std::unique_ptr<char, detail::malloc_deleter> bases(
        faidx_fetch_seq64(index_.get(), name.c_str(), start, end - 1, &fetched));
    if (!bases || fetched != end - start)
      throw format_error(path_, "cannot read [" + std::to_string(start) + ", " + std::to_string(end) + ") of contig '" +
                                    name + "' (got " + std::to_string(bases ? fetched : 0) +
                                    " bases; is the .fai index stale or the file truncated?)");
    return std::string(bases.get(), static_cast<std::size_t>(fetched));
  }

 private:
  void build_index() const {
    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    const std::string directory = parent.empty() ? std::string(".") : parent.string();
    if (::access(directory.c_str(), W_OK) != 0)
      throw format_error(path_, "has no up-to-date index " + path_ + ".fai and its directory is not writable: "
                                "index it where it can be written (samtools faidx FILE)");
    if (fai_build3(path_.c_str(), nullptr, nullptr) != 0)
      throw format_error(path_, "cannot build the faidx index: every line of a record but its last must have the "
                                "same length, and names must be unique (see htslib's message above)");
  }

  std::string path_;
  std::unique_ptr<faidx_t, detail::fai_deleter> index_;
};

}  // namespace dnabert::io::hts
