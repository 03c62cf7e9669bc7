#pragma once
// `dnabert predict` and `dnabert embed`: inference with a fine-tuned model folder (embed with cls or
// mean pooling: with any folder, a pre-trained one too).

#include <CLI/CLI.hpp>

#include <iomanip>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>

#include <dnabert/dnabert.hpp>

#include "device.hpp"
#include "inference_flags.hpp"
#include "input.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace dnabert::cli {

/// Registers `predict`.
inline void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<inference_cli_options>();
  auto* cmd = app.add_subcommand("predict", "Classify sequences (or score them, for a regression model)");
  add_inference_options(cmd, *o);
  cmd->add_option("--long", o->long_rule, "combine the 510-k-mer pieces of long sequences: mean or max of logits")
      ->check(CLI::IsMember({"mean", "max"}));
  cmd->callback([o] { with_classifier(o->model, o->device, o->threads, [&](const auto& model) {
    const auto [sequences, ids] = sequences_and_ids(o->input);
    progress_line progress("predict");
    const auto result = model.predict(sequences, to_inference_options(*o, progress), ids);
    std::ostringstream out;
    out << std::setprecision(std::numeric_limits<float>::max_digits10);
    const auto labels = static_cast<std::size_t>(model.num_labels());
    if (result.regression) {
      out << "id\tscore\n";
      for (std::size_t s = 0; s < ids.size(); ++s) out << ids[s] << '\t' << result.logits(s, 0) << '\n';
    } else {
      out << "id\tpredicted";
      for (std::size_t c = 0; c < labels; ++c) out << "\tprob_" << c;
      for (std::size_t c = 0; c < labels; ++c) out << "\tlogit_" << c;
      out << '\n';
      for (std::size_t s = 0; s < ids.size(); ++s) {
        out << ids[s] << '\t' << result.predicted[s];
        for (std::size_t c = 0; c < labels; ++c) out << '\t' << result.probabilities(s, c);
        for (std::size_t c = 0; c < labels; ++c) out << '\t' << result.logits(s, c);
        out << '\n';
      }
    }
    write_output(o->output, out.str());
  }); });
}

/// Registers `embed`.
inline void add_embed_command(CLI::App& app) {
  auto o = std::make_shared<inference_cli_options>();
  auto* cmd = app.add_subcommand("embed", "Embed sequences as float32 .npy [N, hidden] (ids in OUT.ids.txt)");
  add_inference_options(cmd, *o);
  cmd->add_option("-p,--pooling", o->pooling_name, "cls, mean (all non-pad tokens) or pooler")
      ->check(CLI::IsMember({"cls", "mean", "pooler"}));
  cmd->callback([o] { with_classifier(o->model, o->device, o->threads, [&](const auto& model) {
    const auto [sequences, ids] = sequences_and_ids(o->input);
    progress_line progress("embed");
    const pooling how = o->pooling_name == "mean" ? pooling::mean : o->pooling_name == "pooler" ? pooling::pooler : pooling::cls;
    const auto vectors = model.embed(sequences, how, to_inference_options(*o, progress), ids);
    io::write_npy(o->output, {vectors.shape()[0], vectors.shape()[1]}, std::span<const float>(vectors.data(), vectors.size()));
    std::string id_text;
    for (const auto& id : ids) id_text += id + '\n';
    std::string ids_path = o->output;
    if (ids_path.size() > 4 && ids_path.ends_with(".npy")) ids_path.resize(ids_path.size() - 4);
    io::write_file_atomically(ids_path + ".ids.txt", id_text);
  }, o->pooling_name == "pooler" ? std::optional(inference_use::pooled_embedding) : std::nullopt); });  // cls, mean: the encoder only
}

}  // namespace dnabert::cli
