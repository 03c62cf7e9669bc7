#pragma once
// `dnabert predict` and `dnabert embed`: inference with a fine-tuned model folder, or for predict
// an ensemble of them (DNABERT's --do_ensemble_pred); embed with cls or mean pooling: with any
// folder, a pre-trained one too.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstring>
#include <functional>
#include <iomanip>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <dnabert/dnabert.hpp>

#include "device.hpp"
#include "inference_flags.hpp"
#include "input.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "sharded_input.hpp"

namespace dnabert::cli {

/// The class count the models of an ensemble share; throws input_error naming the folders (in
/// `dirs`' order) when they differ or when one of several is a regression model.
template <class Models>
std::size_t ensemble_labels(const Models& models, const std::vector<std::string>& dirs) {
  const auto labels = models.front()->num_labels();
  for (std::size_t m = 1; m < models.size(); ++m)
    if (models[m]->num_labels() != labels)
      throw input_error("an ensemble's models must have the same labels: " + dirs.front() + " has " +
                        std::to_string(labels) + ", " + dirs[m] + " has " + std::to_string(models[m]->num_labels()));
  if (models.size() > 1 && labels == 1)
    throw input_error("an ensemble averages class probabilities: " + dirs.front() + " is a regression model");
  return static_cast<std::size_t>(labels);
}

/// Registers `predict`.
inline void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<inference_cli_options>();
  auto* cmd = app.add_subcommand(
      "predict", "Classify sequences (or score them, for a regression model); repeat --model for an ensemble over k");
  add_inference_options(cmd, *o, model_count::several);
  add_chunk_option(cmd, o->chunk);
  cmd->add_option("--long", o->long_rule, "combine the 510-k-mer pieces of long sequences: mean or max of logits")
      ->check(CLI::IsMember({"mean", "max"}));
  cmd->callback([o] { with_classifiers(o->models, o->device, o->threads, [&](const auto& models) {
    const std::size_t labels = ensemble_labels(models, o->models);
    const bool regression = labels == 1, ensemble = models.size() > 1;
    if (ensemble) {
      std::string members;
      for (std::size_t m = 0; m < models.size(); ++m)
        members += (m ? ", m" : "m") + std::to_string(m + 1) + " = " + o->models[m] + " (k = " +
                   std::to_string(models[m]->model().k()) + ")";
      print_notice("ensemble of " + std::to_string(models.size()) + " models, probabilities averaged: " + members);
    }
    std::optional<text_output> out;  // rank 0 writes for the job
    if (leads_job()) out.emplace(o->output);
    if (out) {
      if (regression) {
        out->text() << "id\tscore\n";
      } else {
        out->text() << "id\tpredicted";
        for (std::size_t c = 0; c < labels; ++c) out->text() << "\tprob_" << c;
        if (ensemble)  // DNABERT's per-model columns
          for (std::size_t m = 0; m < models.size(); ++m)
            for (std::size_t c = 0; c < labels; ++c) out->text() << "\tm" << m + 1 << "_prob_" << c;
        else
          for (std::size_t c = 0; c < labels; ++c) out->text() << "\tlogit_" << c;
        out->text() << '\n';
      }
    }
    chunked_progress progress("predict");
    const auto rows = [&](const input_chunk& chunk) {
      const auto options = to_inference_options(*o, std::ref(progress));
      std::vector<prediction> results;
      for (const auto& model : models) results.push_back(model->predict(chunk.sequences, options, chunk.ids));
      std::ostringstream text;
      text << std::setprecision(std::numeric_limits<float>::max_digits10);
      const auto& result = results.front();
      const auto mean = ensemble ? std::optional(average_probabilities(results)) : std::nullopt;
      for (std::size_t s = 0; s < chunk.ids.size(); ++s) {
        text << chunk.ids[s];
        if (regression) {
          text << '\t' << result.logits(s, 0) << '\n';
          continue;
        }
        if (mean) {
          text << '\t' << mean->predicted[s];
          for (std::size_t c = 0; c < labels; ++c) text << '\t' << mean->probabilities(s, c);
          for (const auto& member : results)
            for (std::size_t c = 0; c < labels; ++c) text << '\t' << member.probabilities(s, c);
        } else {
          text << '\t' << result.predicted[s];
          for (std::size_t c = 0; c < labels; ++c) text << '\t' << result.probabilities(s, c);
          for (std::size_t c = 0; c < labels; ++c) text << '\t' << result.logits(s, c);
        }
        text << '\n';
      }
      return std::move(text).str();
    };
    for_each_input_chunk_on_ranks(o->input, o->chunk, rows, [&](const std::string& part) {
      out->text() << part;
      out->flush_if_full();
    });
    progress.finish();
    if (out) out->commit();
  }); });
}

/// Registers `embed`.
inline void add_embed_command(CLI::App& app) {
  auto o = std::make_shared<inference_cli_options>();
  auto* cmd = app.add_subcommand("embed", "Embed sequences as float32 .npy [N, hidden] (ids in OUT.ids.txt)");
  add_inference_options(cmd, *o);
  add_chunk_option(cmd, o->chunk);
  cmd->add_option("-p,--pooling", o->pooling_name, "cls, mean (all non-pad tokens) or pooler")
      ->check(CLI::IsMember({"cls", "mean", "pooler"}));
  cmd->callback([o] {
    if (is_stdout(o->output)) throw input_error("embed writes .npy: --output needs a file name, not stdout");
    with_classifier(o->model, o->device, o->threads, [&](const auto& model) {
    const pooling how = o->pooling_name == "mean" ? pooling::mean : o->pooling_name == "pooler" ? pooling::pooler : pooling::cls;
    const auto hidden = static_cast<std::uint64_t>(model.model().config().hidden_size);
    std::optional<io::npy_matrix_writer> vectors;  // rank 0 writes for the job
    std::optional<io::streamed_text_file> ids;
    if (leads_job()) {
      vectors.emplace(o->output, hidden);
      ids.emplace(analysis::ids_file_path(o->output));
    }
    chunked_progress progress("embed");
    // A chunk's result: its row count, its float32 rows, then its ids, one per line.
    const auto embedded = [&](const input_chunk& chunk) {
      const auto rows = model.embed(chunk.sequences, how, to_inference_options(*o, std::ref(progress)), chunk.ids);
      const std::uint64_t count = chunk.ids.size();
      std::string bytes(sizeof count, '\0');
      std::memcpy(bytes.data(), &count, sizeof count);
      bytes.append(reinterpret_cast<const char*>(rows.data()), rows.size() * sizeof(float));
      for (const auto& id : chunk.ids) bytes += id + '\n';
      return bytes;
    };
    for_each_input_chunk_on_ranks(o->input, o->chunk, embedded, [&](const std::string& bytes) {
      std::uint64_t count = 0;
      std::memcpy(&count, bytes.data(), sizeof count);
      std::vector<float> rows(count * hidden);
      std::memcpy(rows.data(), bytes.data() + sizeof count, rows.size() * sizeof(float));
      vectors->add_rows(std::span<const float>(rows));
      ids->text() << std::string_view(bytes).substr(sizeof count + rows.size() * sizeof(float));
      ids->flush_if_full();
    });
    progress.finish();
    if (vectors) {
      vectors->commit();
      ids->commit();
    }
  }, o->pooling_name == "pooler" ? std::optional(inference_use::pooled_embedding) : std::nullopt); });  // cls, mean: the encoder only
}

}  // namespace dnabert::cli
