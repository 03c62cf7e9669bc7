#pragma once
// `dnabert evaluate`: predict a labelled file and report DNABERT's metrics (printed, and as JSON).

#include <CLI/CLI.hpp>

#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <dnabert/dnabert.hpp>

#include "inference_flags.hpp"
#include "input.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "shared_flags.hpp"

namespace dnabert::cli {

/// Registers `evaluate`.
inline void add_evaluate_command(CLI::App& app) {
  auto o = std::make_shared<inference_cli_options>();
  auto* cmd = app.add_subcommand("evaluate", "Predict a labelled file and report accuracy, F1, MCC, AUROC, AUPRC");
  cmd->add_option("-m,--model", o->model, "fine-tuned classifier folder")->required();
  cmd->add_option("-i,--input", o->input, "DNABERT TSV, DNABERT-2 CSV (labels required), or such a table of pairs")->required();
  cmd->add_option("-o,--output", o->output, "metrics JSON (default: MODEL/eval_results.json)");
  add_batch_size_option(cmd, o->batch_size);
  add_threads_option(cmd, o->threads);
  add_device_option(cmd, o->device);
  cmd->callback([o] { with_classifier(o->model, o->device, o->threads, [&](const auto& model) {
    const auto classes = static_cast<int>(model.num_labels());
    if (classes < 2) throw input_error("evaluate needs a classifier; " + o->model + " is a regression model");
    std::vector<std::string> sequences, ids, seconds;
    std::vector<int> labels;
    for (auto& entry : read_input(o->input, true)) {
      if (!entry.label || *entry.label != std::floor(*entry.label) || *entry.label < 0 || *entry.label >= classes)
        throw input_error(o->input + ": sequence '" + entry.id + "' needs a class label in 0.." +
                          std::to_string(classes - 1));
      labels.push_back(static_cast<int>(*entry.label));
      sequences.push_back(std::move(entry.sequence));
      ids.push_back(std::move(entry.id));
      if (!entry.second.empty()) seconds.push_back(std::move(entry.second));
    }
    progress_line progress("evaluate");
    const auto result = model.predict(sequences, to_inference_options(*o, std::ref(progress)), ids, seconds);
    const std::vector<int> predicted(result.predicted.begin(), result.predicted.end());
    const std::vector<double> probabilities(result.probabilities.begin(), result.probabilities.end());
    const auto report = train::compute_metrics(labels, predicted, probabilities, classes);
    const auto text = report.to_json().dump(2) + "\n";
    std::cout << text;
    write_output(o->output.empty() ? o->model + "/eval_results.json" : o->output, text);
  }); });
}

}  // namespace dnabert::cli
