// The dnabert command-line program: each subcommand is a thin layer over library calls.
#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.hpp"
#include "job.hpp"

int main(int argc, char** argv) {
  CLI::App app;
  dnabert::cli::add_commands(app);
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
