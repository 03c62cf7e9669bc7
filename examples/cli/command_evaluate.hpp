#pragma once
// `dnabert evaluate`: predict a labelled file and report DNABERT's metrics (printed, and as JSON);
// with --all-checkpoints, those of a training output folder and of each of its checkpoints, one
// row per folder (DNABERT's --eval_all_checkpoints).

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <dnabert/dnabert.hpp>

#include "inference_flags.hpp"
#include "input.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "shared_flags.hpp"

namespace dnabert::cli {

/// One folder that `evaluate --all-checkpoints` evaluates.
struct evaluated_folder {
  std::string name;                 ///< "." for the folder given, else checkpoint-<step>
  std::optional<std::int64_t> step; ///< the checkpoint's step; none for the folder given
  std::string path;
};

/// The folders `evaluate --all-checkpoints` evaluates, in this order: `dir` itself when it holds a
/// model (config.json), then its complete checkpoint-<step>/ folders (train::list_checkpoints) by
/// step. Throws input_error when there is neither.
inline std::vector<evaluated_folder> folders_to_evaluate(const std::string& dir) {
  std::vector<evaluated_folder> folders;
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(dir) / "config.json", ec)) folders.push_back({".", std::nullopt, dir});
  else print_notice(dir + " holds no model of its own (no config.json): only its checkpoints are evaluated");
  for (const auto& [step, path] : train::list_checkpoints(dir))
    folders.push_back({path.filename().string(), step, path.string()});
  if (folders.empty())
    throw input_error(dir + " holds neither a model (config.json) nor complete checkpoint-<step>/ folders to evaluate");
  if (folders.size() == 1 && !folders.front().step)
    print_notice(dir + " holds no complete checkpoint-<step>/ folder: only the model itself is evaluated");
  return folders;
}

/// `model`'s prediction of `entries` (single sequences or pairs), named by their ids.
template <class Model>
prediction predict_entries(const Model& model, const std::vector<io::sequence_entry>& entries,
                           const inference_options& options) {
  std::vector<std::string> sequences, ids, seconds;
  for (const auto& entry : entries) {
    sequences.push_back(entry.sequence);
    ids.push_back(entry.id);
    if (!entry.second.empty()) seconds.push_back(entry.second);
  }
  return model.predict(sequences, options, ids, seconds);
}

/// The multi-label metrics (train::multi_label_report, as JSON) of the multi-label classifier `model`
/// on `entries`, whose labels must be 0/1 vectors of the model's size (input_error naming `input` otherwise).
template <class Model>
nlohmann::json evaluate_multi_label(const Model& model, const std::string& input,
                                    const std::vector<io::sequence_entry>& entries, const inference_options& options) {
  const auto width = static_cast<std::size_t>(model.num_labels());
  std::vector<int> labels;
  for (const auto& entry : entries) {
    if (entry.multi_labels.size() != width)
      throw input_error(input + ": sequence '" + entry.id + "' needs a vector of " + std::to_string(width) +
                        " space-separated 0/1 labels for this multi-label model, found " +
                        (entry.multi_labels.empty() ? std::string("a single label") :
                                                      std::to_string(entry.multi_labels.size()) + " values"));
    labels.insert(labels.end(), entry.multi_labels.begin(), entry.multi_labels.end());
  }
  const auto result = predict_entries(model, entries, options);
  const std::vector<double> probabilities(result.probabilities.begin(), result.probabilities.end());
  return train::compute_multi_label_metrics(labels, probabilities, static_cast<int>(width)).to_json();
}

/// The metrics of the classifier `model` (`dir`) on `entries` (single sequences or pairs) as JSON:
/// DNABERT's (train::metrics_report), whose labels must be classes of the model (input_error naming
/// `input` and the sequence otherwise), or a multi-label model's (evaluate_multi_label).
template <class Model>
nlohmann::json evaluate_classifier(const Model& model, const std::string& dir, const std::string& input,
                                   const std::vector<io::sequence_entry>& entries, const inference_options& options) {
  if (model.problem() == classifier_problem::multi_label) return evaluate_multi_label(model, input, entries, options);
  const auto classes = static_cast<int>(model.num_labels());
  if (classes < 2) throw input_error("evaluate needs a classifier; " + dir + " is a regression model");
  std::vector<int> labels;
  for (const auto& entry : entries) {
    if (!entry.multi_labels.empty())
      throw input_error(input + ": sequence '" + entry.id + "' has a vector of " + std::to_string(entry.multi_labels.size()) +
                        " labels, but " + dir + " is a single-label classifier (not problem_type multi_label_classification)");
    if (!entry.label || *entry.label != std::floor(*entry.label) || *entry.label < 0 || *entry.label >= classes)
      throw input_error(input + ": sequence '" + entry.id + "' needs a class label in 0.." + std::to_string(classes - 1));
    labels.push_back(static_cast<int>(*entry.label));
  }
  const auto result = predict_entries(model, entries, options);
  const std::vector<int> predicted(result.predicted.begin(), result.predicted.end());
  const std::vector<double> probabilities(result.probabilities.begin(), result.probabilities.end());
  return train::compute_metrics(labels, predicted, probabilities, classes).to_json();
}

/// `evaluate --all-checkpoints`' table: a JSON array of {"folder", "step", the metrics as
/// evaluate's JSON has them} when `path` ends in .json, else TSV with a header row (folder, step,
/// samples, then train::metric_names as evaluate's JSON writes them, or train::multi_label_metric_names
/// for a multi-label model; NA where there is no value).
inline std::string checkpoint_table(const std::vector<evaluated_folder>& folders,
                                    const std::vector<nlohmann::json>& reports, const std::string& path) {
  if (path.ends_with(".json")) {
    nlohmann::json rows = nlohmann::json::array();
    for (std::size_t i = 0; i < reports.size(); ++i) {
      nlohmann::json row = {{"folder", folders[i].name},
                            {"step", folders[i].step ? nlohmann::json(*folders[i].step) : nlohmann::json(nullptr)}};
      row.update(reports[i]);
      rows.push_back(row);
    }
    return rows.dump(2) + "\n";
  }
  const bool multi_label = reports.front().contains("problem_type");
  const std::span<const std::string_view> names =
      multi_label ? std::span<const std::string_view>(train::multi_label_metric_names) : std::span<const std::string_view>(train::metric_names);
  std::ostringstream text;
  text << "folder\tstep\tsamples";
  for (const auto name : names) text << '\t' << name;
  text << '\n';
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& json = reports[i];
    if (json.contains("problem_type") != multi_label)
      throw input_error(folders[i].path + " is " + (multi_label ? "not " : "") + "multi-label but " + folders[0].path +
                        (multi_label ? " is" : " is not") + ": one table cannot hold both");
    text << folders[i].name << '\t' << (folders[i].step ? std::to_string(*folders[i].step) : "NA") << '\t'
         << json.at("samples").dump();
    for (const auto name : names) {
      const auto& value = json.at(std::string(name));
      text << '\t' << (value.is_null() ? "NA" : value.dump());  // the shortest text that reads back as the double
    }
    text << '\n';
  }
  return std::move(text).str();
}

/// Registers `evaluate`.
inline void add_evaluate_command(CLI::App& app) {
  auto o = std::make_shared<inference_cli_options>();
  auto all_checkpoints = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "evaluate", "Predict a labelled file and report accuracy, F1, MCC, AUROC, AUPRC (of every checkpoint: --all-checkpoints); "
                  "a multi-label model (0/1 label vectors) reports per-label AUROC, AUPRC and F1 with macro and micro averages");
  cmd->add_option("-m,--model", o->model, "fine-tuned classifier folder")->required();
  cmd->add_option("-i,--input", o->input, "DNABERT TSV, DNABERT-2 CSV (labels required), or such a table of pairs")->required();
  cmd->add_option("-o,--output", o->output,
                  "metrics JSON (default: MODEL/eval_results.json); with --all-checkpoints a TSV, or JSON when the "
                  "name ends in .json (default: MODEL/eval_all_checkpoints.tsv)");
  cmd->add_flag("--all-checkpoints", *all_checkpoints,
                "evaluate MODEL (a finetune output folder) and each of its checkpoint-<step>/ folders, one row per "
                "folder in step order (DNABERT's --eval_all_checkpoints)");
  add_batch_size_option(cmd, o->batch_size);
  add_threads_option(cmd, o->threads);
  add_device_option(cmd, o->device);
  add_inference_compat_options(cmd, *o);
  cmd->callback([o, all_checkpoints] {
    if (!*all_checkpoints) {
      const auto entries = read_input(o->input, true);
      with_classifier(o->model, o->device, o->threads, [&](const auto& model) {
        progress_line progress("evaluate");
        const auto report = evaluate_classifier(model, o->model, o->input, entries, to_inference_options(*o, std::ref(progress)));
        const auto text = report.dump(2) + "\n";
        std::cout << text;
        write_output(o->output.empty() ? o->model + "/eval_results.json" : o->output, text);
      });
      return;
    }
    const auto folders = folders_to_evaluate(o->model);
    const auto entries = read_input(o->input, true);
    std::vector<nlohmann::json> reports;
    for (const auto& folder : folders) {
      with_classifier(folder.path, o->device, o->threads, [&](const auto& model) {
        progress_line progress("evaluate " + folder.name + " (" + std::to_string(reports.size() + 1) + "/" +
                               std::to_string(folders.size()) + ")");
        reports.push_back(evaluate_classifier(model, folder.path, o->input, entries, to_inference_options(*o, std::ref(progress))));
      });
    }
    const std::string path = o->output.empty() ? o->model + "/eval_all_checkpoints.tsv" : o->output;
    const auto text = checkpoint_table(folders, reports, path);
    std::cout << text;
    write_output(path, text);
  });
}

}  // namespace dnabert::cli
