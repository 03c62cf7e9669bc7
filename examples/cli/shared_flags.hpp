#pragma once
// The flags most commands take, declared once so that their names, ranges and help read the same
// everywhere: -t,--threads and -b,--batch-size.

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>

namespace dnabert::cli {

/// Adds -t,--threads (CPU threads, 0: all) to `cmd`; `note` adds to the help's "(default: all)".
inline CLI::Option* add_threads_option(CLI::App* cmd, int& threads, const std::string& note = "") {
  return cmd
      ->add_option("-t,--threads", threads,
                   note.empty() ? "CPU threads (default: all)" : "CPU threads (default: all; " + note + ")")
      ->check(CLI::Range(0, 1024));
}

/// Adds -b,--batch-size (1 to 65536) to `cmd`; `help` says what one batch holds.
template <class Count>
CLI::Option* add_batch_size_option(CLI::App* cmd, Count& batch_size, const std::string& help = "pieces per forward pass") {
  return cmd->add_option("-b,--batch-size", batch_size, help)->check(CLI::Range(1, 65536));
}

/// Adds --dnabert-2.5-compat to `cmd`, bound to `compat`; `what` says what it changes there.
inline CLI::Option* add_compat_flag(CLI::App* cmd, bool& compat, const std::string& what) {
  return cmd->add_flag("--dnabert-2.5-compat", compat,
                       "compute as DNABERT's released code (its transformers 2.5.0 fork) computes where it differs from "
                       "Hugging Face today, to reproduce numbers of models trained or run with it (off by default: "
                       "modern transformers computes otherwise): " + what);
}

/// Adds --max-seq-length (DNABERT's --max_seq_length), which needs `compat_flag`.
inline CLI::Option* add_max_seq_length_option(CLI::App* cmd, std::size_t& length, CLI::Option* compat_flag) {
  return cmd
      ->add_option("--max-seq-length", length,
                   "with --dnabert-2.5-compat: tokens per input, [CLS] and [SEP] included (DNABERT's --max_seq_length: "
                   "give the value the model was trained or run with; DNABERT's README uses 100); each input is cut "
                   "to its first N-2 k-mers, as DNABERT cuts it, and padded to N tokens (default: the model's "
                   "max_position_embeddings)")
      ->check(CLI::Range(std::size_t{3}, std::size_t{1} << 20))
      ->needs(compat_flag);
}

}  // namespace dnabert::cli
