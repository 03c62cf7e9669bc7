#pragma once
// `dnabert tokenize`: sequences → DNABERT token ids, one row per 510-k-mer piece.

#include <CLI/CLI.hpp>

#include <memory>
#include <sstream>
#include <string>

#include <dnabert/dnabert.hpp>

#include "input.hpp"
#include "output.hpp"

namespace dnabert::cli {

/// Registers `tokenize`.
inline void add_tokenize_command(CLI::App& app) {
  struct options {
    std::string input, output, format = "ids";
    int k = 6;
  };
  auto opts = std::make_shared<options>();
  auto* cmd = app.add_subcommand("tokenize", "Turn DNA sequences into DNABERT token ids (one row per 510-k-mer piece)");
  cmd->add_option("-i,--input", opts->input, "FASTA (.gz), DNABERT TSV or DNABERT-2 CSV; '-' reads standard input; default: an embedded example");
  cmd->add_option("-k,--k", opts->k, "k-mer size (DNABERT: 3, 4, 5 or 6)")->check(CLI::Range(1, max_k));
  cmd->add_option("--format", opts->format, "ids or tokens")->check(CLI::IsMember({"ids", "tokens"}));
  cmd->add_option("-o,--output", opts->output, "output TSV (default: stdout)");
  cmd->callback([opts] {
    const kmer_tokenizer tokenizer(opts->k);
    std::ostringstream out;
    out << "id\tpiece\tfirst_kmer\t" << opts->format << '\n';
    const auto entries = read_input(opts->input);
    for (std::size_t s = 0; s < entries.size(); ++s) {
      for (const auto& piece : tokenizer.encode(entries[s].sequence, entries[s].id, s)) {
        out << entries[s].id << '\t' << piece.origin.piece << '\t' << piece.origin.first_kmer << '\t';
        if (opts->format == "tokens") {
          out << tokenizer.decode(piece.ids);
        } else {
          for (std::size_t i = 0; i < piece.ids.size(); ++i) out << (i ? " " : "") << piece.ids[i];
        }
        out << '\n';
      }
    }
    write_output(opts->output, out.str());
  });
}

}  // namespace dnabert::cli
