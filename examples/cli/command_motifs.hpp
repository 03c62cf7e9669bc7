#pragma once
// `dnabert motifs`: DNABERT's attention-driven motif discovery on labelled sequences, written as
// MEME (motifs.meme), a summary table (motifs.tsv), instance files and logos, matched to known motifs.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <dnabert/dnabert.hpp>

#include "attention_flags.hpp"
#include "attention_input.hpp"
#include "device.hpp"
#include "input.hpp"
#include "progress.hpp"
#include "shared_flags.hpp"

namespace dnabert::cli {

/// A motif's position frequency matrix as MEME probabilities (each column divided by its count).
inline io::meme_motif to_meme(const analysis::discovered_motif& motif) {
  return {motif.key, motif.windows.size(), motif.enrichment.adjusted_p_value,
          analysis::column_probabilities(motif.frequencies), {}};
}

/// "MA0004.1 (Arnt)": a known motif's identifier with its alternate name when it has one.
inline std::string known_motif_label(const analysis::motif_match& match) {
  return match.known_alternate_name.empty() ? match.known_id : match.known_id + " (" + match.known_alternate_name + ")";
}

/// The most frequent base of each column.
inline std::string consensus(const analysis::position_frequency_matrix& frequencies) {
  std::string text;
  for (const auto& column : frequencies)
    text += "ACGT"[static_cast<std::size_t>(std::max_element(column.begin(), column.end()) - column.begin())];
  return text;
}

/// What `dnabert motifs` was asked to do.
struct motifs_options {
  std::string model, scores, input, labels, output, known;
  std::string layer = "last";
  device_options device;
  std::size_t batch_size = 32;
  int threads = 0;
  analysis::motif_discovery_options discovery;
};

/// DNABERT-viz attention of each positive, from the model of `--model` or the rows of `--scores`.
inline std::vector<std::vector<double>> positive_attention(const motifs_options& o, std::span<const io::sequence_entry> entries,
                                                           std::span<const std::string> positives,
                                                           std::span<const std::size_t> positive_rows) {
  std::vector<std::vector<double>> scores;
  if (!o.scores.empty()) {
    std::vector<std::string> sequences, ids;
    for (const auto& entry : entries) {
      sequences.push_back(entry.sequence);
      ids.push_back(entry.id);
    }
    const auto all = scores_from_npy(o.scores, sequences, ids);
    for (const auto row : positive_rows) scores.emplace_back(all[row].begin(), all[row].end());
    return scores;
  }
  analysis::attention_options attention;
  attention.layer = parse_layer(o.layer);
  attention.batch_size = o.batch_size;
  progress_line progress("attention");
  attention.progress = std::ref(progress);
  with_attention_model(o.model, o.device, o.threads, [&](const auto& model) {
    for (const auto& row : analysis::attention_scores(model.model(), positives, attention)) scores.emplace_back(row.begin(), row.end());
  }, /*fine_tuned=*/true);
  return scores;
}

/// Registers `motifs`.
inline void add_motifs_command(CLI::App& app) {
  auto o = std::make_shared<motifs_options>();
  auto* cmd = app.add_subcommand("motifs", "Find motifs in high-attention regions of positives (DNABERT's find_motifs), as MEME");
  auto* model = cmd->add_option("-m,--model", o->model, "fine-tuned model folder whose attention is read");
  auto* scores = cmd->add_option("--scores", o->scores,
                                 "attention scores already computed over the same input (one row per sequence, in input "
                                 "order), instead of --model: `dnabert attention --format npy`'s float32 .npy, or "
                                 "DNABERT's float64 atten.npy")
                     ->check(CLI::ExistingFile);
  model->excludes(scores);
  cmd->add_option("-i,--input", o->input, "labelled sequences: DNABERT TSV, DNABERT-2 CSV, or FASTA with --labels")->required();
  cmd->add_option("--labels", o->labels, "labels of a FASTA input ('id<TAB>label' lines or one per record)");
  cmd->add_option("-o,--output", o->output, "folder for motifs.meme, motifs.tsv, motif_<KEY>_<N>.txt and logos/<KEY>.svg")
      ->required();
  cmd->add_option("--known", o->known,
                  "known motifs (MEME format, e.g. from JASPAR): the best match of each motif (column-wise Pearson "
                  "correlation, both strands) goes into motifs.tsv and onto the screen")
      ->check(CLI::ExistingFile);
  cmd->add_option("--window", o->discovery.window_size, "instance window (DNABERT: 24)")->check(CLI::Range(1, 10000));
  cmd->add_option("--min-len", o->discovery.min_len, "shortest high-attention region (DNABERT: 5)")->check(CLI::Range(1, 10000));
  cmd->add_option("--p-cutoff", o->discovery.p_value_cutoff, "largest BH-adjusted p kept (DNABERT: 0.005)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-instances", o->discovery.min_instances, "fewest windows a motif needs (DNABERT: 3)")
      ->check(CLI::Range(1, 1 << 30));
  cmd->add_flag("--align-all-ties", o->discovery.align_all_ties, "merge a motif into every best-scoring key");
  cmd->add_option("--layer", o->layer, "attention layer: 0-based index, last, or all")->check(index_or_words({"last", "all"}));
  add_batch_size_option(cmd, o->batch_size);
  add_threads_option(cmd, o->threads);
  add_device_option(cmd, o->device)->excludes(scores);  // --scores runs no model
  cmd->callback([o] {
    if (o->model.empty() == o->scores.empty()) throw input_error("motifs needs --model or --scores (one of them)");
    const io::output_lock lock(o->output);
    const auto entries = read_labelled(o->input, o->labels);
    std::vector<std::string> positives, negatives;
    std::vector<std::size_t> positive_rows;  // each positive's row in the input (and in --scores)
    for (std::size_t row = 0; row < entries.size(); ++row) {
      const auto& entry = entries[row];
      if (*entry.label == 1) {
        positives.push_back(entry.sequence);
        positive_rows.push_back(row);
      } else if (*entry.label == 0) {
        negatives.push_back(entry.sequence);
      } else {
        throw input_error(o->input + ": sequence '" + entry.id + "' has label " + std::to_string(*entry.label) +
                          "; motif discovery needs 1 (positive) or 0 (negative)");
      }
    }
    if (positives.empty()) throw input_error(o->input + " has no positive (label 1) sequence to find motifs in");
    std::vector<io::meme_motif> known;
    if (!o->known.empty()) {
      known = io::read_meme(o->known).motifs;
      if (known.empty()) throw input_error(o->known + " holds no motif to compare with");
    }
    const auto scores = positive_attention(*o, entries, positives, positive_rows);
    const auto motifs = analysis::discover_motifs(positives, negatives, scores, o->discovery);

    std::filesystem::create_directories(o->output + "/logos");
    std::vector<io::meme_motif> meme;
    std::ostringstream table;
    table << "motif\tinstances\tpositives_with\tsequences_with\tp\tadjusted_p\tconsensus"
          << (known.empty() ? "" : "\tknown_match\tknown_name\tcorrelation\tstrand\toffset") << '\n';
    for (const auto& motif : motifs) {
      meme.push_back(to_meme(motif));
      table << motif.key << '\t' << motif.windows.size() << '\t' << motif.enrichment.positives_with_motif << '\t'
            << motif.enrichment.sequences_with_motif << '\t' << motif.enrichment.p_value << '\t'
            << motif.enrichment.adjusted_p_value << '\t' << consensus(motif.frequencies);
      if (const auto match = analysis::best_match(meme.back().probabilities, known)) {
        const auto& alignment = match->alignment;
        table << '\t' << match->known_id << '\t' << match->known_alternate_name << '\t' << alignment.score << '\t'
              << alignment.strand << '\t' << alignment.offset;
        std::cout << "motif " << motif.key << ": best known match " << known_motif_label(*match) << ", correlation "
                  << alignment.score << " on strand " << alignment.strand << " at offset " << alignment.offset << '\n';
      }
      table << '\n';
      analysis::write_sequence_logo(o->output + "/logos/" + motif.key + ".svg", motif.frequencies,
                                    {.title = motif.key + " (" + std::to_string(motif.windows.size()) + " sites)"});
      std::string instances;
      for (const auto& window : motif.windows) instances += window + '\n';
      io::write_file_atomically(o->output + "/motif_" + motif.key + "_" + std::to_string(motif.windows.size()) + ".txt",
                                instances);
    }
    io::write_meme(o->output + "/motifs.meme", meme);
    io::write_file_atomically(o->output + "/motifs.tsv", table.str());
    std::cout << motifs.size() << " motifs from " << positives.size() << " positives and " << negatives.size()
              << " negatives; written to " << o->output << "/motifs.meme, motifs.tsv and logos/\n";
  });
}

}  // namespace dnabert::cli
