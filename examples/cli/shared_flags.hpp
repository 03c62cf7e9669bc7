#pragma once
// The flags most commands take, declared once so that their names, ranges and help read the same
// everywhere: -t,--threads and -b,--batch-size.

#include <CLI/CLI.hpp>

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

}  // namespace dnabert::cli
