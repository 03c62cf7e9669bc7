#pragma once
// `dnabert motifs`: DNABERT's attention-driven motif discovery on labelled sequences, written as
// MEME (motifs.meme), a summary table (motifs.tsv) and one instance file per motif.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "command_attention.hpp"
#include "command_finetune.hpp"
#include "dnabert/analysis/motif_discovery.hpp"
#include "dnabert/io/meme.hpp"

namespace dnabert::cli {

/// A motif's position frequency matrix as MEME probabilities (each column divided by its count).
inline io::meme_motif to_meme(const analysis::discovered_motif& motif) {
  io::meme_motif out{motif.key, motif.windows.size(), motif.enrichment.adjusted_p_value, {}};
  for (const auto& column : motif.frequencies) {
    double total = 0;
    for (const auto count : column) total += static_cast<double>(count);
    std::array<double, 4> row{0.25, 0.25, 0.25, 0.25};
    if (total > 0)
      for (std::size_t b = 0; b < 4; ++b) row[b] = static_cast<double>(column[b]) / total;
    out.probabilities.push_back(row);
  }
  return out;
}

/// The most frequent base of each column.
inline std::string consensus(const analysis::position_frequency_matrix& frequencies) {
  std::string text;
  for (const auto& column : frequencies)
    text += "ACGT"[static_cast<std::size_t>(std::max_element(column.begin(), column.end()) - column.begin())];
  return text;
}

/// Registers `motifs`.
inline void add_motifs_command(CLI::App& app) {
  struct options {
    std::string model, input, labels, output;
    std::string layer = "last";
    std::size_t batch_size = 32;
    int threads = 0;
    analysis::motif_discovery_options discovery;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("motifs", "Find motifs in high-attention regions of positives (DNABERT's find_motifs), as MEME");
  cmd->add_option("-m,--model", o->model, "fine-tuned model folder whose attention is read")->required();
  cmd->add_option("-i,--input", o->input, "labelled sequences: DNABERT TSV, DNABERT-2 CSV, or FASTA with --labels")->required();
  cmd->add_option("--labels", o->labels, "labels of a FASTA input ('id<TAB>label' lines or one per record)");
  cmd->add_option("-o,--output", o->output, "folder for motifs.meme, motifs.tsv and motif_<KEY>_<N>.txt")->required();
  cmd->add_option("--window", o->discovery.window_size, "instance window (DNABERT: 24)")->check(CLI::Range(1, 10000));
  cmd->add_option("--min-len", o->discovery.min_len, "shortest high-attention region (DNABERT: 5)")->check(CLI::Range(1, 10000));
  cmd->add_option("--p-cutoff", o->discovery.p_value_cutoff, "largest BH-adjusted p kept (DNABERT: 0.005)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-instances", o->discovery.min_instances, "fewest windows a motif needs (DNABERT: 3)")
      ->check(CLI::Range(1, 1 << 30));
  cmd->add_flag("--align-all-ties", o->discovery.align_all_ties, "merge a motif into every best-scoring key");
  cmd->add_option("--layer", o->layer, "attention layer: 0-based index, last, or all")->check(index_or_words({"last", "all"}));
  cmd->add_option("-b,--batch-size", o->batch_size, "pieces per forward pass")->check(CLI::Range(1, 65536));
  cmd->add_option("-t,--threads", o->threads, "CPU threads (default: all)")->check(CLI::Range(0, 1024));
  cmd->callback([o] {
    std::vector<std::string> positives, negatives;
    for (auto& entry : read_labelled(o->input, o->labels)) {
      if (*entry.label == 1) positives.push_back(std::move(entry.sequence));
      else if (*entry.label == 0) negatives.push_back(std::move(entry.sequence));
      else throw input_error(o->input + ": sequence '" + entry.id + "' has label " + std::to_string(*entry.label) +
                             "; motif discovery needs 1 (positive) or 0 (negative)");
    }
    if (positives.empty()) throw input_error(o->input + " has no positive (label 1) sequence to find motifs in");
    backend::cpu cpu(o->threads);
    const auto config = io::read_config_json(o->model + "/config.json");
    const auto model = Bert<>::load(cpu, o->model, head_for_architectures(config.architectures));
    analysis::attention_options attention;
    attention.layer = parse_layer(o->layer);
    attention.batch_size = o->batch_size;
    progress_line progress("attention");
    attention.progress = std::ref(progress);
    std::vector<std::vector<double>> scores;
    for (const auto& row : analysis::attention_scores(model, positives, attention)) scores.emplace_back(row.begin(), row.end());
    const auto motifs = analysis::discover_motifs(positives, negatives, scores, o->discovery);

    std::filesystem::create_directories(o->output);
    std::vector<io::meme_motif> meme;
    std::ostringstream table;
    table << "motif\tinstances\tpositives_with\tsequences_with\tp\tadjusted_p\tconsensus\n";
    for (const auto& motif : motifs) {
      meme.push_back(to_meme(motif));
      table << motif.key << '\t' << motif.windows.size() << '\t' << motif.enrichment.positives_with_motif << '\t'
            << motif.enrichment.sequences_with_motif << '\t' << motif.enrichment.p_value << '\t'
            << motif.enrichment.adjusted_p_value << '\t' << consensus(motif.frequencies) << '\n';
      std::string instances;
      for (const auto& window : motif.windows) instances += window + '\n';
      io::write_file_atomically(o->output + "/motif_" + motif.key + "_" + std::to_string(motif.windows.size()) + ".txt",
                                instances);
    }
    io::write_meme(o->output + "/motifs.meme", meme);
    io::write_file_atomically(o->output + "/motifs.tsv", table.str());
    std::cout << motifs.size() << " motifs from " << positives.size() << " positives and " << negatives.size()
              << " negatives; written to " << o->output << "/motifs.meme and motifs.tsv\n";
  });
}

}  // namespace dnabert::cli
