#pragma once
// VCF/BCF through htslib (plain, BGZF or BCF): reading records with their ALT alleles, and copying
// a VCF with per-allele Float INFO fields added, written atomically (temporary file, rename).

#include <fcntl.h>
#include <htslib/hfile.h>
#include <htslib/kstring.h>
#include <htslib/vcf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"

namespace dnabert::io::hts {

/// One VCF record: where it is and its alleles (INFO, FORMAT and samples are left alone).
struct vcf_record {
  std::size_t index = 0;  ///< 0-based record number in the file
  std::string contig;
  std::int64_t pos0 = 0;  ///< POS − 1 (−1 for the invalid POS 0)
  std::string id;         ///< "." when missing
  std::string ref;
  std::vector<std::string> alts;  ///< empty when ALT is "."
};

namespace detail {

struct hts_file_closer {
  void operator()(htsFile* file) const noexcept { hts_close(file); }
};
struct header_deleter {
  void operator()(bcf_hdr_t* header) const noexcept { bcf_hdr_destroy(header); }
};
struct record_deleter {
  void operator()(bcf1_t* record) const noexcept { bcf_destroy(record); }
};

using file_ptr = std::unique_ptr<htsFile, hts_file_closer>;
using header_ptr = std::unique_ptr<bcf_hdr_t, header_deleter>;
using record_ptr = std::unique_ptr<bcf1_t, record_deleter>;

// Opens a VCF or BCF and reads its header; throws format_error naming the file otherwise.
inline std::pair<file_ptr, header_ptr> open_vcf(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw file_error(path, "no such VCF file", std::filesystem::exists(path, ec) ? EISDIR : ENOENT);
  file_ptr file(hts_open(path.c_str(), "r"));
  if (!file) {
    const int reason = errno;
    throw file_error(path, std::string("cannot open: ") + std::strerror(reason), reason);
  }
  const htsExactFormat format = hts_get_format(file.get())->format;
  if (format != vcf && format != bcf)
    throw format_error(path, "is not a VCF or BCF file: a VCF starts with a '##fileformat=VCFv4.x' line and a "
                             "'#CHROM POS ID REF ALT ...' header line");
  header_ptr header(bcf_hdr_read(file.get()));
  if (!header)
    throw format_error(path, "cannot read the VCF header (it must start with '##fileformat=VCFv4.x' and end with the "
                             "'#CHROM POS ID REF ALT QUAL FILTER INFO' line)");
  return {std::move(file), std::move(header)};
}

// Reads the next record into `record`, unpacked up to `unpack`; false at the end; throws on a bad record.
inline bool read_record(htsFile* file, bcf_hdr_t* header, bcf1_t* record, int unpack, const std::string& path,
                        std::size_t index) {
  const int status = bcf_read(file, header, record);
  if (status == -1) return false;
  // An undeclared contig or tag is no error: htslib declares it in `header`, as bcftools does.
  // htslib reads a line cut short as missing fields; without REF there is no record to speak of.
  if (status < -1 || (record->errcode & ~(BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF)) != 0 || record->n_allele == 0 ||
      bcf_unpack(record, unpack) != 0)
    throw format_error(path, "record " + std::to_string(index + 1) +
                                 " (after the header) cannot be parsed: a data line needs at least 8 tab-separated "
                                 "columns CHROM POS ID REF ALT QUAL FILTER INFO (see htslib's message above)");
  return true;
}

// A temporary file beside the target, removed unless committed (renamed over the target).
class temporary_sibling {
 public:
  explicit temporary_sibling(const std::string& target) : target_(target) {
    const std::filesystem::path path(target);
    std::string name(1, '.');
    name += path.filename().string();
    name += ".tmp-XXXXXX";
    path_ = (path.parent_path() / name).string();
    fd_ = ::mkstemp(path_.data());
    if (fd_ < 0) throw error("cannot write " + target + ": cannot create a temporary file: " + std::strerror(errno));
  }
  temporary_sibling(const temporary_sibling&) = delete;
  temporary_sibling& operator=(const temporary_sibling&) = delete;
  ~temporary_sibling() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }

  // Hands the descriptor over (to htslib, which closes it).
  int release() noexcept { return std::exchange(fd_, -1); }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  // Flushes the finished file to disk and renames it over the target.
  void commit() {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!synced) throw error("cannot write " + target_ + ": cannot flush " + path_ + ": " + std::strerror(errno));
    if (std::rename(path_.c_str(), target_.c_str()) != 0)
      throw error("cannot write " + target_ + ": cannot rename " + path_ + " over it: " + std::strerror(errno));
    committed_ = true;
    const auto parent = std::filesystem::path(target_).parent_path();
    sync_directory(parent.empty() ? std::string(".") : parent.string());
  }

 private:
  std::string target_;
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// htslib's write mode for an output name: BGZF VCF, BCF or plain VCF.
inline const char* write_mode(std::string_view path) {
  if (path.ends_with(".vcf.gz") || path.ends_with(".vcf.bgz")) return "wz";
  if (path.ends_with(".bcf")) return "wb";
  return "w";
}

}  // namespace detail

/// True when `path` names a VCF or BCF output (.vcf, .vcf.gz, .vcf.bgz, .bcf).
inline bool is_vcf_path(std::string_view path) {
  return path.ends_with(".vcf") || path.ends_with(".vcf.gz") || path.ends_with(".vcf.bgz") || path.ends_with(".bcf");
}

/// Reads a VCF or BCF (plain or BGZF) record by record, in file order (sorted or not).
class vcf_reader {
 public:
  /// Opens `path` and reads its header; throws format_error naming the file when it is no VCF.
  explicit vcf_reader(std::string path) : path_(std::move(path)), record_(bcf_init()) {
    std::tie(file_, header_) = detail::open_vcf(path_);
  }

  /// Reads the next record; false at the end of the file.
  bool next(vcf_record& out) {
    if (!detail::read_record(file_.get(), header_.get(), record_.get(), BCF_UN_STR, path_, records_)) return false;
    bcf1_t* r = record_.get();
    out.index = records_++;
    out.contig = bcf_hdr_id2name(header_.get(), r->rid);
    out.pos0 = r->pos;
    out.id = r->d.id;
    out.ref = r->n_allele > 0 ? r->d.allele[0] : "";
    out.alts.clear();
    for (int a = 1; a < r->n_allele; ++a) out.alts.emplace_back(r->d.allele[a]);
    if (out.alts.size() == 1 && out.alts[0] == ".") out.alts.clear();
    return true;
  }

  /// The file's path.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  detail::file_ptr file_;
  detail::header_ptr header_;
  detail::record_ptr record_;
  std::size_t records_ = 0;
};

/// A Number=A, Type=Float INFO field to add to a VCF.
struct vcf_info_field {
  std::string id;
  std::string description;
};

/// Fills the values of one record: `values[f * alleles + a]` for field f and ALT allele a,
/// handed over as NaN (written as '.'); a field left all NaN is not written for that record.
using vcf_info_filler = std::function<void(std::size_t record, std::size_t alleles, std::span<float> values)>;

/// Copies the VCF `input` to `output` (.vcf, .vcf.gz / .vcf.bgz as BGZF, .bcf), keeping every
/// header line and record and adding the `fields`, declared in the header, with values from
/// `fill`. Written to a temporary file beside `output` and renamed over it at the end.
inline void write_vcf_with_info(const std::string& input, const std::string& output,
                                std::span<const vcf_info_field> fields, const vcf_info_filler& fill) {
  // A first pass declares, in the header, the contigs and tags the records use without declaring
  // them; the second then reads every record with that complete header, so the output's header
  // declares everything before the first record (a BCF must).
  auto [scan, in_header] = detail::open_vcf(input);
  detail::record_ptr record(bcf_init());
  std::size_t scanned = 0;
  while (detail::read_record(scan.get(), in_header.get(), record.get(), BCF_UN_STR, input, scanned)) ++scanned;
  scan.reset();
  auto in = detail::open_vcf(input).first;
  detail::header_ptr out_header(bcf_hdr_dup(in_header.get()));
  for (const auto& field : fields) {
    const int id = bcf_hdr_id2int(out_header.get(), BCF_DT_ID, field.id.c_str());
    if (bcf_hdr_idinfo_exists(out_header.get(), BCF_HL_INFO, id)) {
      if (bcf_hdr_id2type(out_header.get(), BCF_HL_INFO, id) != BCF_HT_REAL ||
          bcf_hdr_id2length(out_header.get(), BCF_HL_INFO, id) != BCF_VL_A)
        throw format_error(input, "declares INFO/" + field.id + " other than as Number=A,Type=Float: cannot add it");
      continue;  // already there (a file annotated before): its values are replaced
    }
    std::string line = "##INFO=<ID=";
    line += field.id;
    line += ",Number=A,Type=Float,Description=\"";
    line += field.description;
    line += "\">";
    if (bcf_hdr_append(out_header.get(), line.c_str()) != 0) throw error("cannot add " + line + " to the header of " + output);
  }
  if (bcf_hdr_sync(out_header.get()) != 0) throw error("cannot update the header for " + output);

  detail::temporary_sibling temporary(output);
  hFILE* handle = hdopen(temporary.release(), "w");
  if (handle == nullptr) throw error("cannot write " + output + ": " + std::strerror(errno));
  detail::file_ptr out(hts_hopen(handle, temporary.path().c_str(), detail::write_mode(output)));
  if (!out) {
    hclose_abruptly(handle);
    throw error("cannot write " + output + ": htslib cannot open it for writing");
  }
  if (bcf_hdr_write(out.get(), out_header.get()) != 0) throw error("cannot write the header of " + output);

  std::vector<float> values;
  for (std::size_t index = 0; detail::read_record(in.get(), in_header.get(), record.get(), BCF_UN_ALL, input, index);
       ++index) {
    const auto alleles = static_cast<std::size_t>(std::max(record->n_allele - 1, 0));
    values.assign(fields.size() * alleles, NAN);
    fill(index, alleles, values);
    for (std::size_t f = 0; f < fields.size(); ++f) {
      const std::span<float> field_values(values.data() + f * alleles, alleles);
      if (std::all_of(field_values.begin(), field_values.end(), [](float v) { return std::isnan(v); })) continue;
      for (float& v : field_values)
        if (std::isnan(v)) bcf_float_set_missing(v);
      if (bcf_update_info_float(out_header.get(), record.get(), fields[f].id.c_str(), field_values.data(),
                                static_cast<int>(alleles)) != 0)
        throw error("cannot set INFO/" + fields[f].id + " of record " + std::to_string(index + 1) + " of " + input);
    }
    if (bcf_write(out.get(), out_header.get(), record.get()) != 0)
      throw error("cannot write record " + std::to_string(index + 1) + " to " + output);
  }
  if (hts_close(out.release()) != 0) throw error("cannot write " + output + ": closing it failed");
  temporary.commit();
}

}  // namespace dnabert::io::hts
