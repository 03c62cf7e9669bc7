#pragma once
// Variant effect scores (DNABERT's SNP/mutate_seqs.py and SNP/SNP.py, https://github.com/jerryji1993/DNABERT):
// reference and alternative windows around
// each variant, checked against the genome, predicted in batches and scored as diff and logOR.

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/analysis/effect_scores.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/nucleotide_text.hpp"
#include "dnabert/io/contig_names.hpp"
#include "dnabert/model/window_classification.hpp"
#include "dnabert/parallel/communicator.hpp"
#include "dnabert/parallel/ordered_work.hpp"

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
  /// The ranks of an MPI job to spread the chunks of variants over (null: one process); rank 0
  /// gets every score, in input order.
  parallel::communicator* ranks = nullptr;
};

namespace detail {

inline bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

// Why an ALT allele cannot be scored as a sequence change, or nullopt when it can.
inline std::optional<std::string> unsupported_allele_reason(std::string_view alt) {
  if (alt.starts_with('<')) return "symbolic allele " + std::string(alt) + " (only sequence alleles are scored)";
  if (alt.find_first_of("[]") != std::string_view::npos) return "breakend " + std::string(alt);
  if (alt == "*") return std::string("'*' (an allele deleted by an upstream variant)");
  if (alt.empty() || alt == ".") return std::string("missing ALT allele");
  if (!is_acgtn(alt)) return "ALT '" + std::string(alt) + "' has letters other than A, C, G, T, N";
  return std::nullopt;
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
    const std::string other = io::other_chr_style(v.contig);
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
  const std::string bases = upper_case(reference.fetch(v.contig, result.start, result.start + span));
  const auto left = static_cast<std::size_t>(v.pos0 - result.start);
  result.reference = bases.substr(0, window);
  result.alternative = bases.substr(0, left) + upper_case(v.alt);
  const std::size_t right_start = left + v.ref.size();
  if (result.alternative.size() < window)
    result.alternative += bases.substr(right_start, window - result.alternative.size());
  result.alternative.resize(window);
  return result;
}

namespace detail {

/// The windows of one chunk of variants, and the sequences to predict for them: each distinct
/// reference window once (the alleles of a multi-allelic record share it), then every alternative.
struct variant_chunk {
  std::size_t last = 0;                     ///< one past the chunk's last variant
  std::vector<std::size_t> indices;         ///< the variants with a window
  std::vector<variant_window> windows;
  std::vector<std::size_t> reference_slot;  ///< each window's reference sequence in `sequences`
  std::size_t first_alternative = 0;        ///< where the alternatives start in `sequences`
  std::vector<std::string> sequences;
};

}  // namespace detail

/// Checks, windows, predicts (batched) and scores every variant, calling
/// `on_scored(variant index, window, score)` in input order for each one scored; the rest are in
/// `report`. Windows are built a chunk at a time, so memory stays bounded for any VCF. With
/// options.ranks the chunks are predicted on the ranks of an MPI job and on_scored runs on rank 0
/// only (every rank's report has the warnings; rank 0's has the count scored).
template <class Spec, class B, class OnScored>
variant_report score_variants(const classifier<Spec, B>& model, std::span<const variant> variants,
                              const reference_genome& reference, const variant_options& options, OnScored&& on_scored) {
  const std::size_t window = options.window == 0 ? default_window(model) : options.window;
  if (window < model.model().min_sequence_length())
    throw input_error("the window (" + std::to_string(window) + " nt) is shorter than one token of the model (" +
                      std::to_string(model.model().min_sequence_length()) + " nt)");
  if (options.batch_size == 0) throw input_error("batch size must be at least 1");
  variant_report report;
  report.variants = variants.size();
  // A chunk's probabilities travel as bytes (positive_class_probability_bytes of its sequences).
  const auto use = [&](const detail::variant_chunk& chunk, const std::string& p) {
    for (std::size_t w = 0; w < chunk.windows.size(); ++w)
      on_scored(chunk.indices[w], chunk.windows[w],
                score_probabilities(probability_at(p, chunk.reference_slot[w]), probability_at(p, chunk.first_alternative + w)));
    report.scored += chunk.windows.size();
    if (options.progress) options.progress(chunk.last, variants.size());
  };
  parallel::ordered_work<detail::variant_chunk, decltype(use)> work(
      options.ranks != nullptr ? *options.ranks : parallel::one_process(), use);
  const auto predict = [&](const detail::variant_chunk& chunk) {
    return positive_class_probability_bytes(model, chunk.sequences, options.batch_size);
  };
  const std::size_t chunk_size = std::max<std::size_t>(256, options.batch_size * 8);
  for (std::size_t first = 0; first < variants.size(); first += chunk_size) {
    detail::variant_chunk chunk;
    chunk.last = std::min(variants.size(), first + chunk_size);
    for (std::size_t i = first; i < chunk.last; ++i)
      if (auto built = make_variant_window(variants[i], i, reference, window, options.strict, report)) {
        chunk.indices.push_back(i);
        chunk.windows.push_back(std::move(*built));
      }
    chunk.reference_slot.resize(chunk.windows.size());
    for (std::size_t w = 0; w < chunk.windows.size(); ++w) {
      if (w == 0 || chunk.windows[w].reference != chunk.windows[w - 1].reference)
        chunk.sequences.push_back(chunk.windows[w].reference);
      chunk.reference_slot[w] = chunk.sequences.size() - 1;
    }
    chunk.first_alternative = chunk.sequences.size();
    for (const auto& built : chunk.windows) chunk.sequences.push_back(built.alternative);
    work.add(std::move(chunk), predict);
  }
  work.finish();
  return report;
}

}  // namespace dnabert::analysis
