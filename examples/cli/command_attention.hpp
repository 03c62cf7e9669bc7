#pragma once
// `dnabert attention`: DNABERT-viz nucleotide attention scores of every input sequence, as
// float32 .npy [N, L_max] (NaN tails, ids beside it), TSV or bedGraph.

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <dnabert/dnabert.hpp>

#include "attention_flags.hpp"
#include "attention_input.hpp"
#include "inference_flags.hpp"
#include "input.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace dnabert::cli {

/// Registers `attention`.
inline void add_attention_command(CLI::App& app) {
  auto o = std::make_shared<inference_cli_options>();
  auto layer = std::make_shared<std::string>("last");
  auto head = std::make_shared<std::string>("sum");
  auto format = std::make_shared<std::string>("npy");
  auto combined = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand(
      "attention", "DNABERT-viz attention scores per nucleotide: .npy [N, L_max] with NaN tails (ids in OUT.ids.txt), TSV or bedGraph");
  add_inference_options(cmd, *o);
  cmd->add_option("--layer", *layer, "layer whose [CLS] attention is scored: 0-based index, last, or all (summed)")
      ->check(index_or_words({"last", "all"}));
  cmd->add_option("--head", *head, "head: 0-based index or sum (every head)")->check(index_or_words({"sum"}));
  cmd->add_option("--combine-with", *combined,
                  "more model folders (e.g. the other k of DNABERT 3..6) whose normalised scores are added, as DNABERT "
                  "combines its k-mer models; repeat or list several");
  cmd->add_option("--format", *format, "npy (with OUT.ids.txt), tsv (id, position, score) or bedgraph (0-based)")
      ->check(CLI::IsMember({"npy", "tsv", "bedgraph"}));
  cmd->callback([o, layer, head, format, combined] {
    std::vector<std::string> sequences, ids;  // not a structured binding: the lambdas below capture them
    std::tie(sequences, ids) = sequences_and_ids(o->input);
    progress_line progress("attention");
    analysis::attention_options options;
    options.layer = parse_layer(*layer);
    options.head = parse_head(*head);
    options.batch_size = o->batch_size;
    options.progress = std::ref(progress);
    std::vector<std::string> dirs{o->model};
    dirs.insert(dirs.end(), combined->begin(), combined->end());
    std::vector<analysis::nucleotide_scores> per_model;
    for (const auto& dir : dirs)  // one model loaded at a time: each is freed once its scores are read
      with_attention_model(dir, o->device, o->threads, [&](const auto& model) {
        per_model.push_back(analysis::attention_scores(model.model(), sequences, options, ids));
      });
    const auto scores = analysis::combine(per_model);
    if (*format == "npy") {
      if (o->output == "-") throw input_error("--format npy needs a file for --output (use tsv or bedgraph for stdout)");
      analysis::write_scores_npy(o->output, scores, ids);
    } else {
      write_output(o->output, *format == "tsv" ? analysis::scores_tsv(scores, ids) : analysis::scores_bedgraph(scores, ids));
    }
  });
}

}  // namespace dnabert::cli
