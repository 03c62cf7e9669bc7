// The dnabert command-line program: each subcommand is a thin layer over library calls.
#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>
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
#include "job.hpp"
#include "options_file.hpp"

namespace {

/// The top-level description, naming every registered command (so a new one cannot be left out).
std::string program_description(const CLI::App& app) {
  std::string names;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; }))
    names += (names.empty() ? "" : ", ") + command->get_name();
  return "dnabert: DNABERT in C++ — " + names;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app;
  app.require_subcommand(1);
  dnabert::cli::add_demo_command(app);
  dnabert::cli::add_tokenize_command(app);
  dnabert::cli::add_vocab_command(app);
  dnabert::cli::add_inspect_command(app);
  dnabert::cli::add_predict_command(app);
  dnabert::cli::add_embed_command(app);
  dnabert::cli::add_attention_command(app);
  dnabert::cli::add_motifs_command(app);
  dnabert::cli::add_plot_command(app);
  dnabert::cli::add_variants_command(app);
  dnabert::cli::add_scan_command(app);
  dnabert::cli::add_mutate_command(app);
  dnabert::cli::add_evaluate_command(app);
  dnabert::cli::add_corpus_command(app);
  dnabert::cli::add_pretrain_command(app);
  dnabert::cli::add_finetune_command(app);
  dnabert::cli::add_quantize_command(app);
  dnabert::cli::add_options_file(app);  // after every command: each gets --options FILE.json
  app.description(program_description(app));
  dnabert::cli::invocation.assign(argv, argv + argc);
  const dnabert::cli::job_scope job(argc, argv);
  try {
    dnabert::cli::check_command_shares_work(argc > 1 ? argv[1] : "");
    app.parse(argc, argv);
  } catch (const dnabert::cli::training_interrupted& stopped) {
    return stopped.status;
  } catch (const CLI::ParseError& e) {
    return job.failed(app.exit(e));
  } catch (const dnabert::error& e) {
    std::cerr << "dnabert: error: " << e.what() << '\n';
    return job.failed(1);
  } catch (const std::exception& e) {
    std::cerr << "dnabert: internal error: " << e.what() << '\n';
    return job.failed(2);
  }
  return 0;
}
