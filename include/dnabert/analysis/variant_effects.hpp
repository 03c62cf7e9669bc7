#pragma once
// Variant effect scores (DNABERT's SNP/mutate_seqs.py and SNP/SNP.py, https://github.com/jerryji1993/DNABERT):
// reference and alternative windows around
// each variant, checked against the genome, predicted in batches and scored as diff and logOR.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iomanip>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/byte_source.hpp"
#include "dnabert/io/kmer_sentence.hpp"
#include "dnabert/io/line_reader.hpp"
#include "dnabert/io/sequence_input.hpp"
#include "dnabert/model/classifier.hpp"

namespace dnabert::analysis {

/// One ALT allele of a VCF record (multi-allelic records give one each), 0-based.
struct variant {
  std::string contig;
  std::int64_t pos0 = 0;   ///< 0-based position of REF's first base (VCF POS − 1)
  std::string ref;         ///< REF as written in the VCF
  std::string alt;         ///< this ALT allele as written
  std::size_t record = 0;  ///< 0-based index of the VCF record
  std::size_t allele = 0;  ///< 0-based index among the record's ALT alleles
};

/// Why a variant was skipped (or, for window_shifted, flagged but still scored).
enum class variant_issue {
  unsupported_allele,  ///< symbolic (<DEL>, <*>), breakend, '*', or letters other than ACGTN
  unknown_contig,      ///< the contig is not in the reference
  contig_name_style,   ///< unknown, but the same name with/without "chr" is in the reference
  outside_contig,      ///< POS 0, or REF running past the contig's end
  ref_mismatch,        ///< REF differs from the reference (compared case-insensitively)
  allele_too_long,     ///< REF or ALT longer than half the window: no context left around it
  contig_too_short,    ///< the contig is shorter than the window
  window_shifted,      ///< near a contig edge: the window was moved to stay inside (scored)
};

/// A short name for an issue, as the CLI summary prints it ("REF mismatch").
inline std::string_view issue_name(variant_issue issue) {
  switch (issue) {
    case variant_issue::unsupported_allele: return "symbolic, breakend or non-ACGTN allele";
    case variant_issue::unknown_contig: return "unknown contig";
    case variant_issue::contig_name_style: return "contig named with/without 'chr'";
    case variant_issue::outside_contig: return "position outside the contig";
    case variant_issue::ref_mismatch: return "REF mismatch";
    case variant_issue::allele_too_long: return "allele longer than half the window";
    case variant_issue::contig_too_short: return "contig shorter than the window";
    case variant_issue::window_shifted: return "window shifted at a contig edge";
  }
  return "unknown issue";
}

/// One per-allele warning; the message starts with CHROM:POS.
struct variant_warning {
  variant_issue issue = variant_issue::unknown_contig;
  std::size_t variant = 0;  ///< index of the variant in the list scored
  std::string message;
};

/// What happened to a list of variants: how many were scored, and every warning in order.
struct variant_report {
  std::size_t variants = 0;  ///< alleles looked at
  std::size_t scored = 0;    ///< alleles predicted and scored
  std::vector<variant_warning> warnings;

  /// How many warnings of one kind.
  [[nodiscard]] std::size_t count(variant_issue issue) const {
    return static_cast<std::size_t>(
        std::count_if(warnings.begin(), warnings.end(), [issue](const variant_warning& w) { return w.issue == issue; }));
  }
};

/// What the windows need from a reference genome (an indexed FASTA, or a string in a test).
struct reference_genome {
  /// The length of a contig, nullopt when the reference has no such contig.
  std::function<std::optional<std::int64_t>(const std::string& contig)> contig_length;
  /// The bases [start, end) of a contig, which the caller has checked to exist and be long enough.
  std::function<std::string(const std::string& contig, std::int64_t start, std::int64_t end)> fetch;
};

/// The reference and alternative sequences scored for one variant (upper case, same length).
struct variant_window {
  std::int64_t start = 0;  ///< 0-based contig position of the windows' first base
  std::int64_t shift = 0;  ///< how far the window moved from centred to stay inside the contig
  std::string reference;
  std::string alternative;
};

/// How variants are windowed, batched and checked.
struct variant_options {
  std::size_t window = 0;       ///< nucleotides per window; 0 = the model's longest input (510 + k − 1)
  std::size_t batch_size = 32;  ///< sequences per forward pass
  bool strict = false;          ///< throw input_error on the first warning instead of collecting it
  /// Called with (variants done, variants in all); for progress displays.
  std::function<void(std::size_t, std::size_t)> progress;
};

/// Probabilities are clamped to [probability_floor, 1 − probability_floor] inside logOR, so a
/// saturated model gives a large finite score (at most 2·log2(1e7) ≈ 46.5) instead of ±inf.
inline constexpr double probability_floor = 1e-7;

/// The scores of one variant (or mutation), for P(class 1) of a 2-class classifier.
struct variant_score {
  double p_ref = 0;           ///< P(class 1) of the reference (DNABERT's orig_pred)
  double p_alt = 0;           ///< P(class 1) of the alternative (DNABERT's mut_pred)
  double diff = 0;            ///< (p_alt − p_ref) · max(p_ref, p_alt)
  double log_odds_ratio = 0;  ///< log2(p_ref/(1−p_ref)) − log2(p_alt/(1−p_alt)), clamped probabilities
};

/// DNABERT's SNP.py scores: diff from the probabilities as given, logOR from clamped ones.
inline variant_score score_probabilities(double p_ref, double p_alt) {
  const auto log_odds = [](double p) {
    const double clamped = std::clamp(p, probability_floor, 1.0 - probability_floor);
    return std::log2(clamped / (1.0 - clamped));
  };
  return {p_ref, p_alt, (p_alt - p_ref) * std::max(p_ref, p_alt), log_odds(p_ref) - log_odds(p_alt)};
}

/// The default window: the longest sequence the model reads in one piece (max k-mers + k − 1 nt).
template <class Spec, class B>
std::size_t default_window(const classifier<Spec, B>& model) {
  return model.model().max_kmers() + static_cast<std::size_t>(model.model().k()) - 1;
}

/// P(class 1) of every sequence, batched; the model must be a 2-class classifier.
template <class Spec, class B>
std::vector<double> positive_class_probabilities(const classifier<Spec, B>& model, std::span<const std::string> sequences,
                                                 std::size_t batch_size) {
  if (model.num_labels() != 2)
    throw config_error("variant scores need a 2-class classifier (they compare P(class 1)); the model has " +
                       std::to_string(model.num_labels()) + (model.num_labels() == 1 ? " output (regression)" : " classes"));
  inference_options options;
  options.batch_size = batch_size;
  const prediction predicted = model.predict(sequences, options);
  std::vector<double> probabilities(sequences.size());
  for (std::size_t s = 0; s < sequences.size(); ++s) probabilities[s] = predicted.probabilities(s, 1);
  return probabilities;
}

namespace detail {

inline std::string upper_case(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

inline bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

inline bool is_nucleotide_string(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::string_view("ACGTNacgtn").find(c) != std::string_view::npos; });
}

// Why an ALT allele cannot be scored as a sequence change, or nullopt when it can.
inline std::optional<std::string> unsupported_allele_reason(std::string_view alt) {
  if (alt.starts_with('<')) return "symbolic allele " + std::string(alt) + " (only sequence alleles are scored)";
  if (alt.find_first_of("[]") != std::string_view::npos) return "breakend " + std::string(alt);
  if (alt == "*") return std::string("'*' (an allele deleted by an upstream variant)");
  if (alt.empty() || alt == ".") return std::string("missing ALT allele");
  if (!is_nucleotide_string(alt)) return "ALT '" + std::string(alt) + "' has letters other than A, C, G, T, N";
  return std::nullopt;
}

// The other spelling of a contig name: "chr1" <-> "1".
inline std::string other_chr_style(const std::string& contig) {
  if (contig.starts_with("chr")) return contig.substr(3);
  std::string prefixed = "chr";
  prefixed += contig;
  return prefixed;
}

// "CHROM:POS REF>ALT", the start of every warning about a variant (POS 1-based, as in the VCF).
inline std::string variant_place(const variant& v) {
  std::string place = v.contig;
  place += ':';
  place += std::to_string(v.pos0 + 1);
  place += ' ';
  place += v.ref;
  place += '>';
  place += v.alt;
  return place;
}

}  // namespace detail

/// Checks one variant against the reference and builds its windows of `window` nucleotides, or
/// returns nullopt after adding the reason to `report` (strict: throws input_error instead).
///
/// Centring: REF is centred, its first base at offset ⌊(window − |REF|)/2⌋ (an SNV in an odd
/// window sits exactly in the middle). Both windows start at the same contig position and share
/// the left flank; the alternative is left flank + ALT + the reference that follows REF, cut or
/// extended to the window's length (an insertion pushes bases out on the right, a deletion pulls
/// more in). Near a contig edge the window is shifted to stay inside the contig (a window_shifted
/// warning, still scored); a contig shorter than the window (plus a deletion's extra bases) is
/// skipped. Sequences are upper-cased, so soft-masked (lower-case) reference is scored as bases,
/// not as DNABERT's [UNK].
inline std::optional<variant_window> make_variant_window(const variant& v, std::size_t variant_index,
                                                         const reference_genome& reference, std::size_t window,
                                                         bool strict, variant_report& report) {
  const auto warn = [&](variant_issue issue, const std::string& what) {
    std::string message = detail::variant_place(v);
    message += ": ";
    message += what;
    if (strict) throw input_error(message);
    report.warnings.push_back({issue, variant_index, std::move(message)});
  };
  if (const auto reason = detail::unsupported_allele_reason(v.alt)) {
    warn(variant_issue::unsupported_allele, *reason + ", skipped");
    return std::nullopt;
  }
  const std::optional<std::int64_t> contig_length = reference.contig_length(v.contig);
  if (!contig_length) {
    const std::string other = detail::other_chr_style(v.contig);
    if (reference.contig_length(other)) {
      std::string what = "contig '" + v.contig + "' is not in the reference, but '";
      what += other;
      what += "' is: the VCF and the FASTA name contigs differently; rename the VCF's contigs "
              "(bcftools annotate --rename-chrs) or use a FASTA with matching names; skipped";
      warn(variant_issue::contig_name_style, what);
    } else {
      warn(variant_issue::unknown_contig, "contig '" + v.contig + "' is not in the reference, skipped");
    }
    return std::nullopt;
  }
  const auto ref_length = static_cast<std::int64_t>(v.ref.size());
  const auto alt_length = static_cast<std::int64_t>(v.alt.size());
  if (v.pos0 < 0 || ref_length == 0 || v.pos0 + ref_length > *contig_length) {
    warn(variant_issue::outside_contig, "REF lies outside contig '" + v.contig + "' of " +
                                            std::to_string(*contig_length) + " nt (POS must be 1.." +
                                            std::to_string(*contig_length) + "), skipped");
    return std::nullopt;
  }
  const std::string genome_ref = reference.fetch(v.contig, v.pos0, v.pos0 + ref_length);
  if (!detail::equal_ignoring_case(genome_ref, v.ref)) {
    warn(variant_issue::ref_mismatch, "REF '" + v.ref + "' does not match the reference '" + genome_ref + "', skipped");
    return std::nullopt;
  }
  const auto width = static_cast<std::int64_t>(window);
  if (2 * std::max(ref_length, alt_length) > width) {
    warn(variant_issue::allele_too_long, "REF or ALT is longer than half the " + std::to_string(window) +
                                             "-nt window, leaving no context around it, skipped");
    return std::nullopt;
  }
  // A deletion's alternative reads |REF| − |ALT| bases past the reference window's end.
  const std::int64_t span = width + std::max<std::int64_t>(0, ref_length - alt_length);
  if (*contig_length < span) {
    warn(variant_issue::contig_too_short, "contig '" + v.contig + "' has " + std::to_string(*contig_length) +
                                              " nt, fewer than the " + std::to_string(span) + " the window needs, skipped");
    return std::nullopt;
  }
  const std::int64_t centred = v.pos0 - (width - ref_length) / 2;
  variant_window result;
  result.start = std::clamp<std::int64_t>(centred, 0, *contig_length - span);
  result.shift = result.start - centred;
  if (result.shift != 0)
    warn(variant_issue::window_shifted, "within half a window of the contig's " +
                                            std::string(result.shift > 0 ? "start" : "end") + ": window shifted by " +
                                            std::to_string(result.shift) + " nt to stay inside it");
  const std::string bases = detail::upper_case(reference.fetch(v.contig, result.start, result.start + span));
  const auto left = static_cast<std::size_t>(v.pos0 - result.start);
  result.reference = bases.substr(0, window);
  result.alternative = bases.substr(0, left) + detail::upper_case(v.alt);
  const std::size_t right_start = left + v.ref.size();
  if (result.alternative.size() < window)
    result.alternative += bases.substr(right_start, window - result.alternative.size());
  result.alternative.resize(window);
  return result;
}

/// Checks, windows, predicts (batched) and scores every variant, calling
/// `on_scored(variant index, window, score)` in input order for each one scored; the rest are in
/// `report`. Windows are built a chunk at a time, so memory stays bounded for any VCF.
template <class Spec, class B, class OnScored>
variant_report score_variants(const classifier<Spec, B>& model, std::span<const variant> variants,
                              const reference_genome& reference, const variant_options& options, OnScored&& on_scored) {
  const std::size_t window = options.window == 0 ? default_window(model) : options.window;
  if (window < static_cast<std::size_t>(model.model().k()))
    throw input_error("the window (" + std::to_string(window) + " nt) is shorter than one " +
                      std::to_string(model.model().k()) + "-mer");
  if (options.batch_size == 0) throw input_error("batch size must be at least 1");
  variant_report report;
  report.variants = variants.size();
  const std::size_t chunk = std::max<std::size_t>(256, options.batch_size * 8);
  for (std::size_t first = 0; first < variants.size(); first += chunk) {
    const std::size_t last = std::min(variants.size(), first + chunk);
    std::vector<std::size_t> indices;
    std::vector<variant_window> windows;
    for (std::size_t i = first; i < last; ++i)
      if (auto built = make_variant_window(variants[i], i, reference, window, options.strict, report)) {
        indices.push_back(i);
        windows.push_back(std::move(*built));
      }
    // The alleles of a multi-allelic record share their reference window: predict it once.
    std::vector<std::string> sequences;
    std::vector<std::size_t> reference_slot(windows.size());
    for (std::size_t w = 0; w < windows.size(); ++w) {
      if (w == 0 || windows[w].reference != windows[w - 1].reference) sequences.push_back(windows[w].reference);
      reference_slot[w] = sequences.size() - 1;
    }
    const std::size_t first_alternative = sequences.size();
    for (const auto& built : windows) sequences.push_back(built.alternative);
    const std::vector<double> p = positive_class_probabilities(model, sequences, options.batch_size);
    for (std::size_t w = 0; w < windows.size(); ++w)
      on_scored(indices[w], windows[w], score_probabilities(p[reference_slot[w]], p[first_alternative + w]));
    report.scored += windows.size();
    if (options.progress) options.progress(last, variants.size());
  }
  return report;
}

/// One row of DNABERT's --mut-file: replace [start, end) of sequence `sequence_id` by `allele`
/// (start == end inserts, an empty allele deletes).
struct sequence_mutation {
  std::string sequence_id;  ///< DNABERT's idx: the 0-based row of the TSV (or a FASTA id)
  std::size_t start = 0;
  std::size_t end = 0;
  std::string allele;  ///< upper-cased
  std::uint64_t line = 0;  ///< line in the mutation file, for messages
};

/// Reads DNABERT's mutation file: tab-separated `idx start end [allele]`, no header, 0-based
/// half-open; an empty or missing allele is a deletion (DNABERT's fillna('')).
inline std::vector<sequence_mutation> read_mutation_file(std::unique_ptr<io::byte_source> source) {
  io::line_reader lines(std::move(source), std::size_t{1} << 20);
  const std::string file = lines.name();
  std::vector<sequence_mutation> mutations;
  std::string line;
  while (io::detail::next_non_blank_line(lines, line)) {
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
      const std::size_t tab = line.find('\t', start);
      fields.push_back(std::string_view(line).substr(start, tab == std::string::npos ? tab : tab - start));
      if (tab == std::string::npos || fields.size() > 4) break;
      start = tab + 1;
    }
    const std::uint64_t number = lines.line_number();
    if (fields.size() < 3 || fields.size() > 4)
      throw format_error::at_line(file, number, "expected 'idx<TAB>start<TAB>end<TAB>allele' (3 or 4 tab-separated "
                                                "columns), found " + io::detail::quote_excerpt(line));
    sequence_mutation m;
    m.sequence_id = std::string(fields[0]);
    m.start = static_cast<std::size_t>(io::detail::parse_coordinate(fields[1], file, number, "start"));
    m.end = static_cast<std::size_t>(io::detail::parse_coordinate(fields[2], file, number, "end"));
    m.allele = fields.size() == 4 ? detail::upper_case(std::string(fields[3])) : std::string();
    m.line = number;
    if (m.sequence_id.empty()) throw format_error::at_line(file, number, "empty idx");
    if (m.start > m.end)
      throw format_error::at_line(file, number, "start " + std::to_string(m.start) + " is after end " +
                                                    std::to_string(m.end) + " (0-based half-open [start, end))");
    if (!detail::is_nucleotide_string(m.allele))
      throw format_error::at_line(file, number, "allele " + io::detail::quote_excerpt(m.allele) +
                                                    " has letters other than A, C, G, T, N");
    mutations.push_back(std::move(m));
  }
  return mutations;
}

/// Reads a mutation file from disk (plain or gzip).
inline std::vector<sequence_mutation> read_mutation_file(const std::string& path) {
  return read_mutation_file(io::open_input(path));
}

/// `sequence[:start] + allele + sequence[end:]`, as DNABERT's mutate_seqs.py; `file` names the
/// mutation file in the error when [start, end) runs past the sequence.
inline std::string apply_mutation(std::string_view sequence, const sequence_mutation& m, const std::string& file) {
  if (m.end > sequence.size())
    throw format_error::at_line(file, m.line, "mutation [" + std::to_string(m.start) + ", " + std::to_string(m.end) +
                                                  ") runs past the end of sequence " + m.sequence_id + " (" +
                                                  std::to_string(sequence.size()) + " nt)");
  std::string mutated(sequence.substr(0, m.start));
  mutated += m.allele;
  mutated += sequence.substr(m.end);
  return mutated;
}

/// One scored mutation of DNABERT's --mut-file mode.
struct scored_mutation {
  std::size_t sequence = 0;  ///< index of the original sequence
  std::size_t mutation = 0;  ///< index of the mutation in the file
  std::string mutated;
  variant_score score;
};

/// Applies each mutation to its sequence (matched by id: the TSV row number), predicts originals
/// and mutants in batches and scores them, in DNABERT's mutations.tsv order (SNP.py's inner join
/// on idx: by original sequence, then mutation-file order). `file` names the mutation file.
template <class Spec, class B>
std::vector<scored_mutation> score_mutations(const classifier<Spec, B>& model, std::span<const io::sequence_entry> sequences,
                                             std::span<const sequence_mutation> mutations, const std::string& file,
                                             std::size_t batch_size) {
  std::unordered_map<std::string_view, std::size_t> index_of_id;
  for (std::size_t s = 0; s < sequences.size(); ++s) index_of_id.emplace(sequences[s].id, s);
  std::vector<scored_mutation> rows;
  rows.reserve(mutations.size());
  for (std::size_t m = 0; m < mutations.size(); ++m) {
    const auto found = index_of_id.find(mutations[m].sequence_id);
    if (found == index_of_id.end())
      throw format_error::at_line(file, mutations[m].line, "idx " + io::detail::quote_excerpt(mutations[m].sequence_id) +
                                                               " names no sequence of the input (" +
                                                               std::to_string(sequences.size()) + " sequences)");
    rows.push_back({found->second, m, apply_mutation(sequences[found->second].sequence, mutations[m], file), {}});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const scored_mutation& a, const scored_mutation& b) { return a.sequence < b.sequence; });
  std::vector<std::string> originals;
  for (const auto& entry : sequences) originals.push_back(detail::upper_case(entry.sequence));
  std::vector<std::string> mutated;
  for (const auto& row : rows) mutated.push_back(detail::upper_case(row.mutated));
  const std::vector<double> p_original = positive_class_probabilities(model, originals, batch_size);
  const std::vector<double> p_mutated = positive_class_probabilities(model, mutated, batch_size);
  for (std::size_t r = 0; r < rows.size(); ++r)
    rows[r].score = score_probabilities(p_original[rows[r].sequence], p_mutated[r]);
  return rows;
}

/// Writes DNABERT's mutations.tsv: pandas' unnamed index column, then idx, orig_seq, orig_pred,
/// mut_seq, mut_pred, diff, logOR (sequences as k-mer sentences), then any extra columns;
/// buffered and committed atomically.
class mutations_tsv_writer {
 public:
  /// Starts `path` (written on commit) for k-mers of size `k`, with `extra_columns` after logOR.
  mutations_tsv_writer(const std::string& path, int k, std::vector<std::string> extra_columns = {})
      : file_(path), k_(k), extra_columns_(std::move(extra_columns)) {
    auto& text = file_.text();
    text << std::setprecision(std::numeric_limits<double>::max_digits10);
    text << "\tidx\torig_seq\torig_pred\tmut_seq\tmut_pred\tdiff\tlogOR";
    for (const auto& column : extra_columns_) text << '\t' << column;
    text << '\n';
  }

  /// Appends one row; `extra` holds one value per extra column.
  void add(std::string_view idx, std::string_view original, std::string_view mutated, const variant_score& score,
           std::span<const std::string> extra = {}) {
    if (extra.size() != extra_columns_.size())
      throw error("mutations table " + file_.path() + ": row has " + std::to_string(extra.size()) + " extra values for " +
                  std::to_string(extra_columns_.size()) + " extra columns");
    auto& text = file_.text();
    text << rows_++ << '\t' << idx << '\t' << io::sequence_to_kmer_sentence(original, k_) << '\t' << score.p_ref << '\t'
         << io::sequence_to_kmer_sentence(mutated, k_) << '\t' << score.p_alt << '\t' << score.diff << '\t'
         << score.log_odds_ratio;
    for (const auto& value : extra) text << '\t' << value;
    text << '\n';
    file_.flush_if_full();
  }

  /// Writes what is left and puts the file in place.
  void commit() { file_.commit(); }

 private:
  io::streamed_text_file file_;
  int k_;
  std::vector<std::string> extra_columns_;
  std::size_t rows_ = 0;
};

}  // namespace dnabert::analysis
