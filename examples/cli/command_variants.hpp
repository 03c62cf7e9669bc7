#pragma once
// `dnabert variants`: variant effect scores (P(class 1) of reference vs alternative, diff, logOR)
// from a VCF and a reference FASTA (needs a build with htslib), or DNABERT's own --mut-file mode.

#include <CLI/CLI.hpp>

#include <array>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <dnabert/dnabert.hpp>

#include "device.hpp"
#include "inference_flags.hpp"
#include "progress.hpp"
#include "shared_flags.hpp"
#ifdef DNABERT_WITH_HTSLIB
#include "dnabert/io/hts/indexed_fasta.hpp"
#include "dnabert/io/hts/vcf.hpp"
#endif

namespace dnabert::cli {

/// The options of `dnabert variants`.
struct variants_cli_options {
  std::string model, fasta, vcf, input, mut_file, output;
  device_options device;
  std::size_t window = 0, batch_size = 32;
  io::chunk_limits chunk;
  int threads = 0;
  bool strict = false;
};

/// Prints the first warnings and a count of skipped variants by reason to stderr.
inline void print_variant_summary(const analysis::variant_report& report, std::size_t records, const std::string& output) {
  constexpr std::size_t shown = 10;
  for (std::size_t w = 0; w < std::min(shown, report.warnings.size()); ++w)
    std::cerr << "dnabert: warning: " << report.warnings[w].message << '\n';
  if (report.warnings.size() > shown) std::cerr << "dnabert: ... and " << report.warnings.size() - shown << " more warnings\n";
  std::map<analysis::variant_issue, std::size_t> skipped;
  for (const auto& warning : report.warnings)
    if (warning.issue != analysis::variant_issue::window_shifted) ++skipped[warning.issue];
  std::cerr << "variants: " << report.variants << " alleles in " << records << " records: " << report.scored << " scored, "
            << report.variants - report.scored << " skipped";
  const char* separator = " (";
  for (const auto& [issue, count] : skipped) {
    std::cerr << separator << count << ' ' << analysis::issue_name(issue);
    separator = ", ";
  }
  std::cerr << (skipped.empty() ? "" : ")");
  if (const std::size_t shifted = report.count(analysis::variant_issue::window_shifted))
    std::cerr << "; windows shifted at contig edges: " << shifted;
  std::cerr << "; written to " << output << '\n';
}

#ifdef DNABERT_WITH_HTSLIB
/// The k of mutations.tsv's k-mer sentences: the model's k, or 0 (plain sequences) for a BPE model.
template <class Model>
int sentence_k(const Model& model) {
  return model.tokenizer().is_bpe() ? 0 : model.tokenizer().k();
}

/// The VCF mode: every ALT allele of every record scored against the FASTA by `model` (on any
/// backend), written as VCF or TSV.
template <class Model>
void run_vcf_variants(const variants_cli_options& o, const Model& model) {
  const bool vcf_output = io::hts::is_vcf_path(o.output);
  if (!vcf_output && !o.output.ends_with(".tsv"))
    throw input_error("--output " + o.output + ": expected a name ending in .vcf, .vcf.gz, .bcf or .tsv");
  const io::hts::indexed_fasta fasta(o.fasta);
  std::vector<analysis::variant> variants;
  std::vector<std::size_t> first_variant{0};  // variants of record r: [first_variant[r], first_variant[r + 1])
  std::vector<std::string> record_ids;
  io::hts::vcf_reader reader(o.vcf);
  for (io::hts::vcf_record record; reader.next(record);) {
    if (record.alts.empty()) record.alts.emplace_back(".");  // reported as a missing ALT, not silently dropped
    for (std::size_t a = 0; a < record.alts.size(); ++a)
      variants.push_back({record.contig, record.pos0, record.ref, record.alts[a], record.index, a});
    first_variant.push_back(variants.size());
    record_ids.push_back(record.id);
  }
  const analysis::reference_genome reference{
      [&fasta](const std::string& contig) { return fasta.contig_length(contig); },
      [&fasta](const std::string& contig, std::int64_t start, std::int64_t end) { return fasta.fetch(contig, start, end); }};
  progress_line progress("variants", "variants");
  analysis::variant_options options;
  options.window = o.window;
  options.batch_size = o.batch_size;
  options.strict = o.strict;
  options.progress = std::ref(progress);
  options.ranks = &job();  // in an MPI job the ranks predict, rank 0 writes

  constexpr std::size_t score_count = 4;  // p_ref, p_alt, diff, logOR: the order of `info_fields`
  std::vector<std::array<float, score_count>> scores(variants.size(), {NAN, NAN, NAN, NAN});
  std::unique_ptr<analysis::mutations_tsv_writer> table;
  if (!vcf_output && leads_job()) table = std::make_unique<analysis::mutations_tsv_writer>(
      o.output, sentence_k(model), std::vector<std::string>{"chrom", "pos", "id", "ref", "alt"});
  const auto report = analysis::score_variants(
      model, std::span<const analysis::variant>(variants), reference, options,
      [&](std::size_t index, const analysis::variant_window& window, const analysis::variant_score& score) {
        const analysis::variant& v = variants[index];
        scores[index] = {static_cast<float>(score.p_ref), static_cast<float>(score.p_alt), static_cast<float>(score.diff),
                         static_cast<float>(score.log_odds_ratio)};
        if (table)
          table->add(std::to_string(v.record), window.reference, window.alternative, score,
                     std::vector<std::string>{v.contig, std::to_string(v.pos0 + 1), record_ids[v.record], v.ref, v.alt});
      });
  if (!leads_job()) return;
  if (table) {
    table->commit();
  } else {
    const std::array<io::hts::vcf_info_field, score_count> info_fields{{
        {"DNABERT_PREF", "DNABERT P(class 1) of the reference window"},
        {"DNABERT_PALT", "DNABERT P(class 1) of the alternative window"},
        {"DNABERT_DIFF", "DNABERT (PALT - PREF) * max(PREF, PALT)"},
        {"DNABERT_LOGOR", "DNABERT log2 odds(PREF) - log2 odds(PALT), probabilities clamped to [1e-7, 1 - 1e-7]"},
    }};
    io::hts::write_vcf_with_info(o.vcf, o.output, info_fields,
                                 [&](std::size_t record, std::size_t alleles, std::span<float> values) {
                                   for (std::size_t v = first_variant[record]; v < first_variant[record + 1]; ++v) {
                                     if (variants[v].allele >= alleles) continue;
                                     for (std::size_t f = 0; f < score_count; ++f)
                                       values[f * alleles + variants[v].allele] = scores[v][f];
                                   }
                                 });
  }
  print_variant_summary(report, record_ids.size(), o.output);
}
#endif

/// DNABERT's mode: the mutations of a --mut-file applied to the sequences of a DNABERT TSV, scored
/// by `model` (on any backend); the input is read, scored and written a chunk at a time.
template <class Model>
void run_mutation_file(const variants_cli_options& o, const Model& model) {
  if (!o.output.ends_with(".tsv"))
    throw input_error("--output " + o.output + ": --mut-file mode writes DNABERT's mutations.tsv: use a name ending in .tsv");
  if (job().size() > 1) throw input_error("--mut-file mode runs in one process: start it without mpirun (--vcf mode shares the work)");
  const auto mutations = io::read_mutation_file(o.mut_file);
  analysis::mutation_scorer scorer(mutations, o.mut_file);
  analysis::mutations_tsv_writer table(o.output, sentence_k(model));
  io::sequence_reader reader(o.input);
  std::vector<io::sequence_entry> chunk;
  std::size_t scored = 0;
  while (reader.next_chunk(chunk, o.chunk)) {
    scorer.score(model, std::span<const io::sequence_entry>(chunk), o.batch_size, [&](const analysis::scored_mutation& row) {
      const io::sequence_entry& original = chunk[row.sequence - (reader.count() - chunk.size())];
      table.add(original.id, original.sequence, row.mutated, row.score);
      ++scored;
    });
  }
  scorer.finish();
  table.commit();
  std::cerr << "variants: " << scored << " mutations of " << reader.count() << " sequences scored; written to "
            << o.output << '\n';
}

/// Registers `variants`.
inline void add_variants_command(CLI::App& app) {
  auto o = std::make_shared<variants_cli_options>();
  auto* cmd = app.add_subcommand(
      "variants",
      "Variant effects: P(class 1) of reference and alternative windows, diff and logOR, for a VCF against a FASTA "
      "(VCF or TSV out) or DNABERT's --mut-file on a DNABERT TSV");
  cmd->add_option("-m,--model", o->model, "fine-tuned 2-class model folder")->required();
  cmd->add_option("-o,--output", o->output, "OUT.vcf, OUT.vcf.gz, OUT.bcf (input records + INFO/DNABERT_*) or OUT.tsv "
                                            "(DNABERT's mutations.tsv columns)")->required();
  cmd->add_option("--fasta", o->fasta, "reference FASTA, plain or BGZF (.fai built beside it when missing)");
  cmd->add_option("--vcf", o->vcf, "variants: VCF, VCF.gz or BCF");
  cmd->add_option("-i,--input", o->input, "--mut-file mode: DNABERT TSV (or FASTA) of the original sequences");
  cmd->add_option("--mut-file", o->mut_file, "DNABERT's mutation file: idx<TAB>start<TAB>end<TAB>allele, 0-based half-open");
  cmd->add_option("--window", o->window, "window in nt (default: the model's longest input, 510 + k - 1)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  add_batch_size_option(cmd, o->batch_size, "sequences per forward pass");
  add_chunk_option(cmd, o->chunk);
  add_threads_option(cmd, o->threads);
  cmd->add_flag("--strict", o->strict, "stop at the first problem (REF mismatch, unknown contig, edge, ...) instead of warning");
  add_device_option(cmd, o->device);
  cmd->callback([o] {
    const bool vcf_mode = !o->fasta.empty() || !o->vcf.empty();
    const bool mutation_mode = !o->input.empty() || !o->mut_file.empty();
    if (vcf_mode == mutation_mode || (vcf_mode && (o->fasta.empty() || o->vcf.empty())) ||
        (mutation_mode && (o->input.empty() || o->mut_file.empty())))
      throw input_error("variants needs either --fasta and --vcf, or --input and --mut-file");
#ifndef DNABERT_WITH_HTSLIB
    if (vcf_mode)
      throw input_error("--vcf needs a dnabert built with htslib (install libhts-dev and configure with "
                        "-DDNABERT_WITH_HTSLIB=ON); --input with --mut-file works without it");
#endif
    with_classifier(o->model, o->device, o->threads, [&](const auto& model) {
      if (mutation_mode) return run_mutation_file(*o, model);
#ifdef DNABERT_WITH_HTSLIB
      run_vcf_variants(*o, model);
#endif
    });
  });
}

}  // namespace dnabert::cli
