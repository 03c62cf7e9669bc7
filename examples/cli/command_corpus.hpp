#pragma once
// `dnabert corpus`: packs a genome once (2 bits per nucleotide plus an index of records, N runs
// and soft-masked stretches) for `pretrain --input`, which maps it instead of reading the FASTA.

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>

#include <dnabert/dnabert.hpp>

#include "progress.hpp"

namespace dnabert::cli {

/// Registers `corpus`.
inline void add_corpus_command(CLI::App& app) {
  struct options {
    std::string fasta, output;
    bool check = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand(
      "corpus", "Pack a genome for pre-training: 2 bits per base, memory-mapped and shared by every process that trains on it");
  cmd->add_option("-f,--fasta", o->fasta,
                  "FASTA (.gz) genome, or a pre-training text file of one k-mer sentence / sequence per line; - for stdin")
      ->required();
  cmd->add_option("-o,--output", o->output, "the packed corpus to write (e.g. genome.dna), for pretrain --input")->required();
  cmd->add_flag("--check", o->check, "read the packed file back and check every base against its checksum");
  cmd->callback([o] {
    if (io::is_packed_corpus(o->fasta)) throw input_error(o->fasta + " is already a packed corpus");
    progress_line progress("corpus", "nt");
    const auto summary = train::pack_pretraining_corpus(
        o->fasta, o->output, [&progress](std::uint64_t done) { progress.running(static_cast<std::size_t>(done)); });
    if (o->check) io::packed_corpus(o->output).verify_bases();
    std::cerr << "corpus: " << summary.nucleotides << " nt in " << summary.records
              << (summary.text_lines ? " text lines" : " FASTA records") << " packed into " << o->output
              << (o->check ? " (checked)" : "") << '\n';
  });
}

}  // namespace dnabert::cli
