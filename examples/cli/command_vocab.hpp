#pragma once
// `dnabert vocab`: DNABERT's vocab.txt for k, byte-identical to DNABERT's own files.

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include <dnabert/dnabert.hpp>

namespace dnabert::cli {

/// Registers `vocab`.
inline void add_vocab_command(CLI::App& app) {
  auto k = std::make_shared<int>(6);
  auto output = std::make_shared<std::string>("vocab.txt");
  auto* cmd = app.add_subcommand("vocab", "Write DNABERT's vocab.txt for a k-mer size");
  cmd->add_option("-k,--k", *k, "k-mer size")->check(CLI::Range(1, 9));
  cmd->add_option("-o,--output", *output, "where to write it (default: vocab.txt)");
  cmd->callback([k, output] { io::write_vocab_file(*output, *k); });
}

}  // namespace dnabert::cli
