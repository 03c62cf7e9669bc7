#pragma once
// `dnabert predict` and `dnabert embed`: inference with a fine-tuned model folder (embed with cls or
// mean pooling: with any folder, a pre-trained one too).

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <iomanip>
#include <limits>
#include <memory>
#include <optional>
#include <span>
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
  add_chunk_option(cmd, o->chunk);
  cmd->add_option("--long", o->long_rule, "combine the 510-k-mer pieces of long sequences: mean or max of logits")
      ->check(CLI::IsMember({"mean", "max"}));
  cmd->callback([o] { with_classifier(o->model, o->device, o->threads, [&](const auto& model) {
    text_output out(o->output);
    auto& text = out.text();
    text << std::setprecision(std::numeric_limits<float>::max_digits10);
    const auto labels = static_cast<std::size_t>(model.num_labels());
    const bool regression = labels == 1;
    if (regression) {
      text << "id\tscore\n";
    } else {
      text << "id\tpredicted";
      for (std::size_t c = 0; c < labels; ++c) text << "\tprob_" << c;
      for (std::size_t c = 0; c < labels; ++c) text << "\tlogit_" << c;
      text << '\n';
    }
    chunked_progress progress("predict");
    for_each_input_chunk(o->input, o->chunk, [&](const input_chunk& chunk) {
      const auto result = model.predict(chunk.sequences, to_inference_options(*o, std::ref(progress)), chunk.ids);
      for (std::size_t s = 0; s < chunk.ids.size(); ++s) {
        text << chunk.ids[s];
        if (regression) {
          text << '\t' << result.logits(s, 0) << '\n';
          continue;
        }
        text << '\t' << result.predicted[s];
        for (std::size_t c = 0; c < labels; ++c) text << '\t' << result.probabilities(s, c);
        for (std::size_t c = 0; c < labels; ++c) text << '\t' << result.logits(s, c);
        text << '\n';
      }
      out.flush_if_full();
    });
    progress.finish();
    out.commit();
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
    io::npy_matrix_writer vectors(o->output, static_cast<std::uint64_t>(model.model().config().hidden_size));
    io::streamed_text_file ids(analysis::ids_file_path(o->output));
    chunked_progress progress("embed");
    for_each_input_chunk(o->input, o->chunk, [&](const input_chunk& chunk) {
      const auto rows = model.embed(chunk.sequences, how, to_inference_options(*o, std::ref(progress)), chunk.ids);
      vectors.add_rows(std::span<const float>(rows.data(), rows.size()));
      for (const auto& id : chunk.ids) ids.text() << id << '\n';
      ids.flush_if_full();
    });
    progress.finish();
    vectors.commit();
    ids.commit();
  }, o->pooling_name == "pooler" ? std::optional(inference_use::pooled_embedding) : std::nullopt); });  // cls, mean: the encoder only
}

}  // namespace dnabert::cli
