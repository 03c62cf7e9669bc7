#pragma once
// `dnabert plot attention|heads|landscape|context`: DNABERT's attention pictures as SVG, from a
// model folder (or, for the nucleotide pictures, scores written by `dnabert attention`).

#include <CLI/CLI.hpp>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <dnabert/dnabert.hpp>

#include "attention_flags.hpp"
#include "attention_input.hpp"
#include "device.hpp"
#include "input.hpp"
#include "progress.hpp"
#include "shared_flags.hpp"

namespace dnabert::cli {

/// Options the plot subcommands share.
struct plot_cli_options {
  std::string model, scores, input, labels, output, id, layer = "last";
  device_options device;
  bool all = false;
  std::size_t token = 0, row_length = 100, batch_size = 32;
  double threshold = 0.05;
  int threads = 0;
};

namespace detail {

/// DNABERT-viz scores of `sequences` from `model` at `layer`, with a progress line.
template <class B>
analysis::nucleotide_scores scores_from_model(const attention_model<B>& model, std::span<const std::string> sequences,
                                              std::span<const std::string> ids, const plot_cli_options& o) {
  progress_line progress("attention");
  analysis::attention_options options;
  options.layer = parse_layer(o.layer);
  options.batch_size = o.batch_size;
  options.progress = std::ref(progress);
  return analysis::attention_scores(model.model(), sequences, options, ids);
}

/// A file name for `id`'s picture: characters other than letters, digits, '.', '-' and '_'
/// replaced by '_', and a numeric suffix when another sequence already took the name.
inline std::string picture_name(const std::string& id, std::set<std::string>& used) {
  std::string stem = id.empty() ? "sequence" : id;
  for (char& c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  if (stem.front() == '.') stem.front() = '_';  // no hidden files, no ".."
  std::string name = stem;
  for (int copy = 2; !used.insert(name).second; ++copy) name = stem + "_" + std::to_string(copy);
  return name + ".svg";
}

/// A landscape line's name for a label: positives (1), negatives (0), or "label <value>".
inline std::string label_group_name(double label) {
  if (label == 1) return "positives";
  if (label == 0) return "negatives";
  std::ostringstream name;
  name << "label " << label;
  return name.str();
}

/// A strip title: the id, and the model's prediction when there is one.
inline std::string strip_title(const std::string& id, const std::string& note) { return note.empty() ? id : id + ": " + note; }

/// Adds --input, --output, --batch-size and --threads to a plot subcommand.
inline void add_plot_io_options(CLI::App* cmd, plot_cli_options& o, const std::string& output_help) {
  cmd->add_option("-i,--input", o.input, "FASTA (.gz), DNABERT TSV or DNABERT-2 CSV; '-' reads standard input")->required();
  cmd->add_option("-o,--output", o.output, output_help)->required();
  add_batch_size_option(cmd, o.batch_size);
  add_threads_option(cmd, o.threads);
}

/// Adds --model or --scores (one of them), --layer and --device, for the nucleotide-score pictures.
inline void add_score_source_options(CLI::App* cmd, plot_cli_options& o) {
  auto* model = cmd->add_option("-m,--model", o.model, "model folder whose attention is scored");
  auto* scores =
      cmd->add_option("--scores", o.scores, "scores written by `dnabert attention` (.npy; OUT.ids.txt beside it is checked)")
          ->excludes(model);
  add_device_option(cmd, o.device)->excludes(scores);  // --scores runs no model
  cmd->add_option("--layer", o.layer, "layer scored with --model: 0-based index, last, or all")->check(index_or_words({"last", "all"}));
}

/// Adds --id, the sequence to draw.
inline CLI::Option* add_id_option(CLI::App* cmd, plot_cli_options& o) {
  return cmd->add_option("--id", o.id, "the sequence to draw (may be left out when the input holds one)");
}

/// Adds --model (required), --id, --layer (one layer) and --device, for the token-level pictures.
inline void add_token_plot_options(CLI::App* cmd, plot_cli_options& o) {
  cmd->add_option("-m,--model", o.model, "model folder whose attention is drawn")->required();
  add_device_option(cmd, o.device);
  add_id_option(cmd, o);
  cmd->add_option("--layer", o.layer, "layer: 0-based index or last")->check(index_or_words({"last"}));
}

/// Throws unless exactly one of --model and --scores was given.
inline void require_score_source(const plot_cli_options& o) {
  if (o.model.empty() == o.scores.empty()) throw input_error("give --model DIR to compute the scores or --scores FILE.npy");
}

/// The attention map of the sequence --id names (or the only one) and that sequence's id.
inline std::pair<analysis::token_attention_map, std::string> chosen_token_attention(const plot_cli_options& o) {
  std::vector<std::string> sequences, ids;  // not a structured binding: the lambda below captures them
  std::tie(sequences, ids) = sequences_and_ids(o.input);
  const std::size_t s = chosen_sequence(ids, o.id, o.input);
  analysis::token_attention_map attention;
  with_attention_model(o.model, o.device, o.threads, [&](const auto& model) {
    attention = analysis::token_attention(model.model(), sequences[s], parse_layer(o.layer), ids[s]);
  });
  return {std::move(attention), ids[s]};
}

}  // namespace detail

/// Registers `plot` and its subcommands.
inline void add_plot_command(CLI::App& app) {
  auto* plot = app.add_subcommand("plot", "Attention pictures as SVG: nucleotide strips, heads × tokens, landscapes, context links");
  plot->require_subcommand(1);

  auto strip = std::make_shared<plot_cli_options>();
  auto* attention = plot->add_subcommand("attention", "Nucleotide attention strip of a sequence (--id) or of each (--all)");
  detail::add_plot_io_options(attention, *strip, "SVG file, or a folder of ID.svg with --all");
  detail::add_score_source_options(attention, *strip);
  attention->add_flag("--all", strip->all, "draw every sequence into the --output folder")
      ->excludes(detail::add_id_option(attention, *strip));
  attention->add_option("--row-length", strip->row_length, "nucleotides per row of the strip")->check(CLI::Range(10, 100000));
  attention->callback([strip] {
    const auto& o = *strip;
    detail::require_score_source(o);
    const auto [all_sequences, all_ids] = sequences_and_ids(o.input);
    std::vector<std::size_t> chosen;  // the sequences drawn, by input index
    if (o.all)
      for (std::size_t s = 0; s < all_sequences.size(); ++s) chosen.push_back(s);
    else
      chosen.push_back(chosen_sequence(all_ids, o.id, o.input));
    std::vector<std::string> sequences, ids;
    for (const std::size_t s : chosen) {
      sequences.push_back(all_sequences[s]);
      ids.push_back(all_ids[s]);
    }
    analysis::nucleotide_scores scores;
    std::vector<std::string> notes(sequences.size());
    if (o.model.empty()) {
      const auto every = scores_from_npy(o.scores, all_sequences, all_ids);  // rows in input order
      for (const std::size_t s : chosen) scores.push_back(every[s]);
    } else {
      with_attention_model(o.model, o.device, o.threads, [&](const auto& model) {
        scores = detail::scores_from_model(model, sequences, ids, o);
        notes = model.prediction_notes(sequences, ids, o.batch_size);
      });
    }
    analysis::strip_options options;
    options.row_length = o.row_length;
    if (!o.all) {
      options.title = detail::strip_title(ids[0], notes[0]);
      analysis::write_attention_strip(o.output, sequences[0], scores[0], options);
      std::cout << "attention strip of " << ids[0] << " written to " << o.output << '\n';
      return;
    }
    std::filesystem::create_directories(o.output);
    std::set<std::string> used;
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      options.title = detail::strip_title(ids[s], notes[s]);
      analysis::write_attention_strip(o.output + "/" + detail::picture_name(ids[s], used), sequences[s], scores[s], options);
    }
    std::cout << sequences.size() << " attention strips written to " << o.output << '\n';
  });

  auto heads = std::make_shared<plot_cli_options>();
  auto* matrix = plot->add_subcommand("heads", "Heads × k-mer tokens: each head's [CLS] attention in one layer");
  detail::add_plot_io_options(matrix, *heads, "SVG file");
  detail::add_token_plot_options(matrix, *heads);
  matrix->callback([heads] {
    const auto [attention, id] = detail::chosen_token_attention(*heads);
    analysis::heads_matrix_options options;
    options.title = id + ": layer " + heads->layer + ", [CLS] attention by head";
    analysis::write_heads_matrix(heads->output, attention, options);
    std::cout << "heads × tokens of " << id << " written to " << heads->output << '\n';
  });

  auto context = std::make_shared<plot_cli_options>();
  auto* links = plot->add_subcommand("context", "Attention of one token to every other, per head, above a threshold");
  detail::add_plot_io_options(links, *context, "SVG file");
  detail::add_token_plot_options(links, *context);
  links->add_option("--token", context->token, "token whose attention is drawn: 0 is [CLS], 1 the first k-mer")->required();
  links->add_option("--threshold", context->threshold, "draw links with weight above this")->check(CLI::Range(0.0, 1.0));
  links->callback([context] {
    const auto [attention, id] = detail::chosen_token_attention(*context);
    analysis::context_options options;
    options.threshold = context->threshold;
    options.title = id + ": layer " + context->layer + ", token " + std::to_string(context->token);
    analysis::write_context_plot(context->output, attention, context->token, options);
    std::cout << "context of token " << context->token << " of " << id << " written to " << context->output << '\n';
  });

  auto landscape = std::make_shared<plot_cli_options>();
  auto* groups = plot->add_subcommand("landscape", "Mean attention by position, one line per label (positives vs negatives)");
  detail::add_plot_io_options(groups, *landscape, "SVG file");
  detail::add_score_source_options(groups, *landscape);
  groups->add_option("--labels", landscape->labels, "labels of a FASTA input ('id<TAB>label' lines or one per record)");
  groups->callback([landscape] {
    const auto& o = *landscape;
    detail::require_score_source(o);
    std::vector<std::string> sequences, ids;
    std::vector<double> labels;
    for (auto& entry : read_labelled(o.input, o.labels)) {
      if (!entry.label) throw input_error(o.input + ": sequence '" + entry.id + "' has no label (a FASTA input needs --labels)");
      labels.push_back(*entry.label);
      sequences.push_back(std::move(entry.sequence));
      ids.push_back(std::move(entry.id));
    }
    analysis::nucleotide_scores scores;
    if (o.model.empty())
      scores = scores_from_npy(o.scores, sequences, ids);
    else
      with_attention_model(o.model, o.device, o.threads,
                           [&](const auto& model) { scores = detail::scores_from_model(model, sequences, ids, o); });
    std::map<double, analysis::landscape_group> by_label;  // label 0 before 1: negatives, then positives
    for (std::size_t s = 0; s < scores.size(); ++s) {
      auto& group = by_label[labels[s]];
      if (group.name.empty()) group.name = detail::label_group_name(labels[s]);
      group.scores.push_back(scores[s]);
    }
    std::vector<analysis::landscape_group> lines;
    for (auto& [label, group] : by_label) lines.push_back(std::move(group));
    analysis::write_attention_landscape(o.output, lines);
    std::cout << "attention landscape of " << scores.size() << " sequences in " << lines.size() << " groups written to "
              << o.output << '\n';
  });
}

}  // namespace dnabert::cli
