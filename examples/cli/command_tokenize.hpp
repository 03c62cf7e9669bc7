#pragma once
// `dnabert tokenize`: sequences → DNABERT token ids, one row per 510-k-mer piece; or, with a
// DNABERT-2 folder, its BPE token ids, one row per sequence.

#include <CLI/CLI.hpp>

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include <dnabert/dnabert.hpp>
#include <dnabert/io/tokenizer_json.hpp>

#include "input.hpp"
#include "output.hpp"

namespace dnabert::cli {

namespace detail {

/// `tokenize` with a BPE tokenizer: one row per sequence, "id<TAB>ids" (or tokens), the ids in
/// [CLS] ... [SEP] as the tokenizers library gives them.
inline std::string bpe_rows(const bpe_tokenizer& tokenizer, const std::vector<io::sequence_entry>& entries, bool as_tokens) {
  std::ostringstream out;
  out << "id\t" << (as_tokens ? "tokens" : "ids") << '\n';
  for (const auto& entry : entries) {
    const auto ids = tokenizer.encode(entry.sequence);
    out << entry.id << '\t';
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i) out << ' ';
      if (as_tokens) out << tokenizer.token_text(ids[i]);
      else out << ids[i];
    }
    out << '\n';
  }
  return out.str();
}

/// The k of a DNABERT model folder: its vocab.txt's, else its config.json's vocabulary size.
inline int folder_k(const std::string& dir) {
  const auto vocab = std::filesystem::path(dir) / io::model_files::vocab;
  if (std::filesystem::exists(vocab)) return io::read_vocab_file(vocab.string());
  return io::read_config_json((std::filesystem::path(dir) / io::model_files::config).string()).k();
}

}  // namespace detail

/// Registers `tokenize`.
inline void add_tokenize_command(CLI::App& app) {
  struct options {
    std::string input, output, model, format = "ids";
    int k = 6;
  };
  auto opts = std::make_shared<options>();
  auto* cmd = app.add_subcommand("tokenize", "Turn DNA sequences into token ids: DNABERT's k-mers (one row per 510-k-mer piece), or "
                                             "the tokenizer of a model folder (DNABERT-2's BPE: one row per sequence)");
  cmd->add_option("-i,--input", opts->input, "FASTA (.gz), DNABERT TSV or DNABERT-2 CSV; '-' reads standard input; default: an embedded example");
  auto* k = cmd->add_option("-k,--k", opts->k, "k-mer size (DNABERT: 3, 4, 5 or 6)")->check(CLI::Range(1, max_k));
  cmd->add_option("-m,--model", opts->model,
                  "model folder whose tokenizer to use: its tokenizer.json (DNABERT-2's BPE; rows 'id<TAB>ids', [CLS] and "
                  "[SEP] included, case kept as DNABERT-2 keeps it), else the k of its vocab.txt or config.json")
      ->excludes(k);
  cmd->add_option("--format", opts->format, "ids or tokens")->check(CLI::IsMember({"ids", "tokens"}));
  cmd->add_option("-o,--output", opts->output, "output TSV (default: stdout)");
  cmd->callback([opts] {
    const auto tokenizer_json = std::filesystem::path(opts->model) / "tokenizer.json";
    if (!opts->model.empty() && io::is_bpe_tokenizer_file(tokenizer_json)) {
      const bpe_tokenizer tokenizer(io::read_tokenizer_json(tokenizer_json.string()));
      write_output(opts->output, detail::bpe_rows(tokenizer, read_input(opts->input), opts->format == "tokens"));
      return;
    }
    const kmer_tokenizer tokenizer(opts->model.empty() ? opts->k : detail::folder_k(opts->model));
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
