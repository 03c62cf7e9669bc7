#pragma once
// `dnabert predict` and `dnabert embed`: inference with a fine-tuned model folder (embed with cls or
// mean pooling: with any folder, a pre-trained one too).

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

/// Registers `predict`.
inline void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<inference_cli_options>();
  auto* cmd = app.add_subcommand("predict", "Classify sequences (or score them, for a regression model); a table of "
                                            "pairs (seq1<TAB>seq2<TAB>label, sequence1,sequence2,label) classifies each "
                                            "pair as [CLS] a [SEP] b [SEP]");
  add_inference_options(cmd, *o);
  add_chunk_option(cmd, o->chunk);
  cmd->add_option("--long", o->long_rule, "combine the 510-k-mer pieces of long sequences: mean or max of logits")
      ->check(CLI::IsMember({"mean", "max"}));
  cmd->callback([o] { with_classifier(o->model, o->device, o->threads, [&](const auto& model) {
    std::optional<text_output> out;  // rank 0 writes for the job
    if (leads_job()) out.emplace(o->output);
    const auto labels = static_cast<std::size_t>(model.num_labels());
    const bool regression = labels == 1;
    if (out) {
      if (regression) {
        out->text() << "id\tscore\n";
      } else {
        out->text() << "id\tpredicted";
        for (std::size_t c = 0; c < labels; ++c) out->text() << "\tprob_" << c;
        for (std::size_t c = 0; c < labels; ++c) out->text() << "\tlogit_" << c;
        out->text() << '\n';
      }
    }
    chunked_progress progress("predict");
    const auto rows = [&](const input_chunk& chunk) {
      const auto result = model.predict(chunk.sequences, to_inference_options(*o, std::ref(progress)), chunk.ids, chunk.seconds);
      std::ostringstream text;
      text << std::setprecision(std::numeric_limits<float>::max_digits10);
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
      return std::move(text).str();
    };
    for_each_input_chunk_on_ranks(
        o->input, o->chunk, rows,
        [&](const std::string& part) {
          out->text() << part;
          out->flush_if_full();
        },
        true);
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
