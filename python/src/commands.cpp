// dnabert._core.run_command: the command-line program's commands run in this process, so that
// dnabert.finetune(epochs=3, ...) takes exactly the options `dnabert finetune --epochs 3 ...`
// takes, checks them the same way and computes the same results. Each optimizer step can be
// reported to a Python callable instead of the progress line on stderr.

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "commands.hpp"
#include "training_run.hpp"

namespace dnabert::python {

namespace {

// Runs `dnabert ARGS...`; returns the text of --help, else nothing. Commands run one at a time:
// the command layer keeps process-wide state (the invocation a resume message repeats).
std::string run_command(const std::vector<std::string>& args, nb::object on_step) {
  static std::mutex one_command;
  nb::gil_scoped_release unlocked;
  const std::lock_guard running(one_command);
  CLI::App app;
  cli::add_commands(app);
  cli::invocation = {"dnabert"};
  cli::invocation.insert(cli::invocation.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& word : cli::invocation) argv.push_back(word.data());
  if (on_step.is_none()) {
    cli::step_listener = nullptr;
  } else {
    cli::step_listener = [&on_step](const train::step_report& report) {
      nb::gil_scoped_acquire locked;
      on_step(report.step, report.total_steps, report.loss, report.learning_rate, report.tokens_seen);
    };
  }
  struct listener_reset {
    ~listener_reset() { cli::step_listener = nullptr; }
  } reset;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    return app.help();  // the subcommand's own help when one was named (CLI11 keeps it)
  } catch (const CLI::CallForAllHelp&) {
    return app.help("", CLI::AppFormatMode::All);
  } catch (const CLI::ParseError& e) {
    throw input_error(std::string(args.empty() ? "" : args.front() + ": ") + e.what());
  } catch (const cli::training_interrupted& stopped) {
    nb::gil_scoped_acquire locked;
    PyErr_SetString(PyExc_KeyboardInterrupt,
                    ("training stopped by a signal after writing its checkpoint (exit status " + std::to_string(stopped.status) +
                     " in the command-line program); see stderr for how to resume")
                        .c_str());
    throw nb::python_error();
  }
  return {};
}

}  // namespace

void bind_commands(nb::module_& m) {
  m.def("run_command", &run_command, nb::arg("args"), nb::arg("on_step") = nb::none(),
        "Runs `dnabert ARGS...` in this process (the GIL released); returns the text of --help, else ''. "
        "on_step(step, total_steps, loss, learning_rate, tokens_seen) is called after each optimizer step "
        "of a training command, in place of the progress line on stderr.");
}

}  // namespace dnabert::python
