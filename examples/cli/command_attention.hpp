#pragma once
// `dnabert attention`: DNABERT-viz nucleotide attention scores of every input sequence, as
// float32 .npy [N, L_max] (NaN tails, ids beside it), TSV or bedGraph.

#include <CLI/CLI.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <dnabert/dnabert.hpp>

#include "attention_flags.hpp"
#include "attention_input.hpp"
#include "inference_flags.hpp"
#include "input.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace dnabert::cli {

namespace detail {

/// Where the scores of the last model go as chunks finish: .npy (with its ids file), TSV or bedGraph.
class attention_output {
 public:
  /// Starts `path` in `format` (npy, tsv or bedgraph).
  attention_output(const std::string& path, const std::string& format) {
    if (format == "npy") {
      if (is_stdout(path)) throw input_error("--format npy needs a file for --output (use tsv or bedgraph for stdout)");
      npy_.emplace(path, scratch_directory(path));
      return;
    }
    bedgraph_ = format == "bedgraph";
    text_.emplace(path);
    text_->text() << (bedgraph_ ? analysis::scores_bedgraph_header : analysis::scores_tsv_header);
  }

  /// Adds the scores of a chunk of sequences named by `ids`.
  void add(const analysis::nucleotide_scores& scores, std::span<const std::string> ids) {
    if (npy_) return npy_->add(scores, ids);
    if (bedgraph_) analysis::append_scores_bedgraph(text_->text(), scores, ids);
    else analysis::append_scores_tsv(text_->text(), scores, ids);
    text_->flush_if_full();
  }

  /// Puts the output in place.
  void commit() {
    if (npy_) npy_->commit();
    else text_->commit();
  }

 private:
  std::optional<analysis::scores_npy_writer> npy_;
  std::optional<text_output> text_;
  bool bedgraph_ = false;
};

/// The next chunk of the sequences kept in `kept` (id and sequence records), within `limits`; false at the end.
inline bool next_kept_chunk(io::spill_file& kept, const io::chunk_limits& limits, input_chunk& chunk) {
  chunk.sequences.clear();
  chunk.ids.clear();
  std::size_t nucleotides = 0;
  std::string id, sequence;
  while (chunk.ids.size() < limits.max_records && nucleotides < limits.max_nucleotides && kept.read(id)) {
    if (!kept.read(sequence)) throw error("the scratch copy of the input ends inside a record");
    nucleotides += sequence.size();
    chunk.ids.push_back(std::move(id));
    chunk.sequences.push_back(std::move(sequence));
  }
  return !chunk.ids.empty();
}

}  // namespace detail

/// Registers `attention`.
inline void add_attention_command(CLI::App& app) {
  auto o = std::make_shared<inference_cli_options>();
  auto layer = std::make_shared<std::string>("last");
  auto head = std::make_shared<std::string>("sum");
  auto format = std::make_shared<std::string>("npy");
  auto combined = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand(
      "attention", "DNABERT-viz attention scores per nucleotide: .npy [N, L_max] with NaN tails (ids in OUT.ids.txt), TSV or bedGraph");
  add_inference_options(cmd, *o);
  add_chunk_option(cmd, o->chunk);
  cmd->add_option("--layer", *layer, "layer whose [CLS] attention is scored: 0-based index, last, or all (summed)")
      ->check(index_or_words({"last", "all"}));
  cmd->add_option("--head", *head, "head: 0-based index or sum (every head)")->check(index_or_words({"sum"}));
  cmd->add_option("--combine-with", *combined,
                  "more model folders (e.g. the other k of DNABERT 3..6) whose normalised scores are added, as DNABERT "
                  "combines its k-mer models; repeat or list several");
  cmd->add_option("--format", *format, "npy (with OUT.ids.txt), tsv (id, position, score) or bedgraph (0-based)")
      ->check(CLI::IsMember({"npy", "tsv", "bedgraph"}));
  cmd->callback([o, layer, head, format, combined] {
    detail::attention_output output(o->output, *format);
    chunked_progress progress("attention");
    analysis::attention_options options;
    options.layer = parse_layer(*layer);
    options.head = parse_head(*head);
    options.batch_size = o->batch_size;
    options.progress = std::ref(progress);
    std::vector<std::string> dirs{o->model};
    dirs.insert(dirs.end(), combined->begin(), combined->end());
    // One model loaded at a time, each over the whole input in chunks. With several, the input is
    // kept in a scratch file for the next ones (a pipe cannot be read again), and the running sum
    // of the scores (in DNABERT's order: first model's, plus the second's, ...) in another.
    const std::string scratch = scratch_directory(o->output);
    std::unique_ptr<io::spill_file> kept_input, sum_so_far;
    if (dirs.size() > 1) kept_input = std::make_unique<io::spill_file>(scratch);
    for (std::size_t m = 0; m < dirs.size(); ++m) {
      const bool last = m + 1 == dirs.size();
      auto sum = last ? nullptr : std::make_unique<io::spill_file>(scratch);
      with_attention_model(dirs[m], o->device, o->threads, [&](const auto& model) {
        std::vector<float> earlier;
        const auto score = [&](const input_chunk& chunk) {
          auto scores = analysis::attention_scores(model.model(), chunk.sequences, options, chunk.ids);
          for (auto& row : scores) {
            if (sum_so_far) {
              if (!sum_so_far->read(earlier) || earlier.size() != row.size())
                throw error("the scratch copy of the scores does not match the input");
              for (std::size_t p = 0; p < row.size(); ++p) row[p] = earlier[p] + row[p];
            }
            if (sum) sum->write(std::span<const float>(row));
          }
          if (last) output.add(scores, chunk.ids);
        };
        if (m == 0) {
          for_each_input_chunk(o->input, o->chunk, [&](const input_chunk& chunk) {
            if (kept_input)
              for (std::size_t s = 0; s < chunk.ids.size(); ++s) {
                kept_input->write(chunk.ids[s]);
                kept_input->write(chunk.sequences[s]);
              }
            score(chunk);
          });
        } else {
          kept_input->rewind();
          for (input_chunk chunk; detail::next_kept_chunk(*kept_input, o->chunk, chunk);) score(chunk);
        }
      });
      sum_so_far = std::move(sum);
    }
    progress.finish();
    output.commit();
  });
}

}  // namespace dnabert::cli
