#pragma once
// `dnabert mutate`: saturation mutagenesis of one input sequence (every position to each other
// base) as a TSV and, optionally, an SVG heat map with the attention track above.

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <span>
#include <sstream>
#include <string>

#include <dnabert/dnabert.hpp>

#include "device.hpp"
#include "input.hpp"
#include "progress.hpp"
#include "shared_flags.hpp"

namespace dnabert::cli {

/// The options of `dnabert mutate`.
struct mutate_cli_options {
  std::string model, input, id, output, svg;
  device_options device;
  std::size_t batch_size = 32;
  int threads = 0;
  bool attention = false;
};

/// Registers `mutate`.
inline void add_mutate_command(CLI::App& app) {
  auto o = std::make_shared<mutate_cli_options>();
  auto* cmd = app.add_subcommand("mutate", "Saturation mutagenesis of one sequence: every position x 3 other bases, "
                                           "change of P(class 1) as TSV and SVG heat map");
  cmd->add_option("-m,--model", o->model, "fine-tuned 2-class model folder")->required();
  cmd->add_option("-i,--input", o->input, "FASTA (.gz), DNABERT TSV or DNABERT-2 CSV; '-' reads standard input")->required();
  cmd->add_option("--id", o->id, "the sequence to mutate: FASTA id or 0-based table row (default: the only one)");
  cmd->add_option("-o,--output", o->output, "TSV: id, position (0-based), ref, alt, p_ref, p_alt, delta, diff, logOR")
      ->required();
  cmd->add_option("--svg", o->svg, "heat map: rows A/C/G/T, columns positions, wild type marked");
  cmd->add_flag("--attention", o->attention, "draw the DNABERT-viz attention track above the heat map (needs --svg)");
  add_batch_size_option(cmd, o->batch_size, "sequences per forward pass");
  add_threads_option(cmd, o->threads);
  add_device_option(cmd, o->device);
  cmd->callback([o] {
    if (o->attention && o->svg.empty()) throw input_error("--attention draws a track on the heat map: add --svg OUT.svg");
    with_classifier(o->model, o->device, o->threads, [&](const auto& model) {
      const auto [sequences, ids] = sequences_and_ids(o->input);
      const std::size_t chosen = chosen_sequence(ids, o->id, o->input);
      progress_line progress("mutate", "mutants");
      analysis::mutagenesis_options options;
      options.batch_size = o->batch_size;
      options.progress = std::ref(progress);
      const auto map = analysis::saturation_mutagenesis(model, sequences[chosen], ids[chosen], options);
      analysis::write_mutation_map_tsv(o->output, map);
      if (!o->svg.empty()) {
        analysis::nucleotide_scores attention;
        if (o->attention) {
          analysis::attention_options attention_options;
          attention_options.batch_size = o->batch_size;
          attention = analysis::attention_scores(model.model(), std::span<const std::string>(&map.sequence, 1), attention_options);
        }
        std::ostringstream title;
        title << "Mutation map of " << map.id << " (wild type P(class 1) = " << map.p_wild_type << ")";
        analysis::write_mutation_map_svg(o->svg, map, attention.empty() ? std::span<const float>() : attention.front(),
                                         {title.str()});
      }
      std::cerr << "mutate: " << map.mutations.size() << " mutants of " << map.id << " (" << map.sequence.size()
                << " nt, wild type P(class 1) " << map.p_wild_type << "); written to " << o->output
                << (o->svg.empty() ? "" : " and " + o->svg) << '\n';
    });
  });
}

}  // namespace dnabert::cli
