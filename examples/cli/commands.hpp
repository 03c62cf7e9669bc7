#pragma once
// Every command of the dnabert program, registered on one CLI::App: the program's main() and the
// Python module (python/src/commands.cpp) run the same set.

#include <CLI/CLI.hpp>

#include <string>

#include "command_attention.hpp"
#include "command_corpus.hpp"
#include "command_demo.hpp"
#include "command_evaluate.hpp"
#include "command_finetune.hpp"
#include "command_inspect.hpp"
#include "command_motifs.hpp"
#include "command_mutate.hpp"
#include "command_plot.hpp"
#include "command_predict.hpp"
#include "command_pretrain.hpp"
#include "command_quantize.hpp"
#include "command_scan.hpp"
#include "command_tokenize.hpp"
#include "command_variants.hpp"
#include "command_vocab.hpp"
#include "options_file.hpp"

namespace dnabert::cli {

/// Registers every command on `app` (each with --options FILE.json) and describes the program by
/// their names, so that a new command cannot be left out of the description.
inline void add_commands(CLI::App& app) {
  app.require_subcommand(1);
  add_demo_command(app);
  add_tokenize_command(app);
  add_vocab_command(app);
  add_inspect_command(app);
  add_predict_command(app);
  add_embed_command(app);
  add_attention_command(app);
  add_motifs_command(app);
  add_plot_command(app);
  add_variants_command(app);
  add_scan_command(app);
  add_mutate_command(app);
  add_evaluate_command(app);
  add_corpus_command(app);
  add_pretrain_command(app);
  add_finetune_command(app);
  add_quantize_command(app);
  add_options_file(app);  // after every command: each gets --options FILE.json
  std::string names;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; }))
    names += (names.empty() ? "" : ", ") + command->get_name();
  app.description("dnabert: DNABERT in C++ — " + names);
}

}  // namespace dnabert::cli
