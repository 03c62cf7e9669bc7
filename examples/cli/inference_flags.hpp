#pragma once
// The options of the commands that run a model over an input file (predict, embed, attention,
// evaluate), and the library's inference_options made from them.

#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <dnabert/io/sequence_input.hpp>
#include <dnabert/model/classifier.hpp>

#include "device.hpp"
#include "progress.hpp"
#include "shared_flags.hpp"

namespace dnabert::cli {

/// Options predict and embed share.
struct inference_cli_options {
  std::string model, input, output, long_rule = "mean", pooling_name = "cls";
  std::vector<std::string> models;  ///< predict: one folder, or several for an ensemble
  device_options device;
  std::size_t batch_size = 32;
  std::int64_t layer = -1;  ///< embed's --layer
  io::chunk_limits chunk;
  int threads = 0;
  bool dnabert_2_5_compat = false;  ///< --dnabert-2.5-compat
  std::size_t max_seq_length = 0;   ///< --max-seq-length (0: the model's positions)
};

/// How many --model folders a command runs.
enum class model_count {
  one,      ///< into inference_cli_options::model
  several,  ///< repeated --model, into inference_cli_options::models (predict's ensembles)
};

/// Adds --model/--input/--output/--batch-size/--threads/--device to `cmd`.
inline void add_inference_options(CLI::App* cmd, inference_cli_options& o, model_count count = model_count::one) {
  if (count == model_count::one)
    cmd->add_option("-m,--model", o.model, "model folder (config.json, vocab.txt, weights)")->required();
  else
    cmd->add_option("-m,--model", o.models,
                    "model folder (config.json, vocab.txt, weights); repeat it for an ensemble (DNABERT's "
                    "--do_ensemble_pred): each model tokenizes the input with its own k, the prediction is the mean "
                    "of their class probabilities, and each model's probabilities follow as m<i>_prob_<c> columns")
        ->required();
  cmd->add_option("-i,--input", o.input, "FASTA (.gz), DNABERT TSV or DNABERT-2 CSV; '-' reads standard input")->required();
  cmd->add_option("-o,--output", o.output, "output file")->required();
  add_batch_size_option(cmd, o.batch_size);
  add_threads_option(cmd, o.threads);
  add_device_option(cmd, o.device);
}

/// Adds --chunk-size to a command that streams its input: at most that many sequences are held
/// at a time (results do not depend on it).
inline void add_chunk_option(CLI::App* cmd, io::chunk_limits& chunk) {
  cmd->add_option("--chunk-size", chunk.max_records,
                  "sequences read, run and written at a time (fewer when they pass " +
                      std::to_string(chunk.max_nucleotides >> 20) +
                      " M nt): memory holds one chunk whatever the input's size; results do not depend on it")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
}

/// Adds --dnabert-2.5-compat and --max-seq-length to a command that runs a classifier folder.
inline void add_inference_compat_options(CLI::App* cmd, inference_cli_options& o) {
  auto* flag = add_compat_flag(cmd, o.dnabert_2_5_compat,
                               "padding is attended (DNABERT's attention mask bug, issue #102: +1 on tokens, +0 on "
                               "padding instead of -10000), so each input is cut and padded to --max-seq-length "
                               "tokens as DNABERT's run_finetune.py pads it (a long sequence is not cut into pieces)");
  add_max_seq_length_option(cmd, o.max_seq_length, flag);
}

/// Library options from the command line, reporting progress through `progress`.
inline inference_options to_inference_options(const inference_cli_options& o,
                                              std::function<void(std::size_t, std::size_t)> progress) {
  inference_options options;
  options.batch_size = o.batch_size;
  options.long_sequences = o.long_rule == "max" ? piece_rule::max : piece_rule::mean;
  options.progress = std::move(progress);
  options.layer = o.layer;
  options.dnabert_2_5_compat = o.dnabert_2_5_compat;
  options.max_seq_length = o.max_seq_length;
  return options;
}

}  // namespace dnabert::cli
