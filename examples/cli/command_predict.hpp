#pragma once
// `dnabert predict` and `dnabert embed`: inference with a fine-tuned model folder, or for predict
// an ensemble of them (DNABERT's --do_ensemble_pred); embed with cls, mean or no pooling: with any
// folder, a pre-trained one too.

#include <CLI/CLI.hpp>

#include <algorithm>
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

/// The `predicted` column: the class, or for a multi-label model the 0/1 vector (a label's
/// probability above 0.5), space-separated as training tables hold it.
inline std::string predicted_text(bool multi_label, std::int64_t predicted, const xt::xtensor<float, 2>& probabilities,
                                  std::size_t s) {
  if (!multi_label) return std::to_string(predicted);
  std::string text;
  for (std::size_t c = 0; c < probabilities.shape()[1]; ++c) text += (c ? " " : "") + std::string(probabilities(s, c) > 0.5f ? "1" : "0");
  return text;
}

/// Registers `predict`.
inline void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<inference_cli_options>();
  auto* cmd = app.add_subcommand("predict", "Classify sequences (or score them, for a regression model); repeat "
                                            "--model for an ensemble over k; a table of pairs (seq1<TAB>seq2<TAB>label, "
                                            "sequence1,sequence2,label) classifies each pair as [CLS] a [SEP] b [SEP]; "
                                            "a multi-label model writes per-label sigmoid probabilities, its "
                                            "predicted column the space-separated 0/1 labels (probability > 0.5)");
  add_inference_options(cmd, *o, model_count::several);
  add_chunk_option(cmd, o->chunk);
  cmd->add_option("--long", o->long_rule,
                  "combine the 510-k-mer pieces of long sequences: mean or max of logits (a long-sequence classifier, "
                  "finetune --long-pooling, pools its own pieces instead)")
      ->check(CLI::IsMember({"mean", "max"}));
  add_inference_compat_options(cmd, *o);
  cmd->callback([o] { with_classifiers(o->models, o->device, o->threads, [&](const auto& models) {
    const std::size_t labels = ensemble_labels(models, o->models);
    const bool multi_label = models.front()->problem() == classifier_problem::multi_label;
    const bool regression = labels == 1 && !multi_label, ensemble = models.size() > 1;
    if (ensemble) {
      std::string members;
      for (std::size_t m = 0; m < models.size(); ++m)
        members += (m ? ", m" : "m") + std::to_string(m + 1) + " = " + o->models[m] + " (" + models[m]->tokenizer().describe() + ")";
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
    std::size_t cut = 0;  // sequences a long-sequence classifier read only the first pieces of
    const auto rows = [&](const input_chunk& chunk) {
      const auto options = to_inference_options(*o, std::ref(progress));
      std::vector<prediction> results;
      for (const auto& model : models) results.push_back(model->predict(chunk.sequences, options, chunk.ids, chunk.seconds));
      for (const auto& result : results) cut += result.cut;
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
          text << '\t' << predicted_text(multi_label, mean->predicted[s], mean->probabilities, s);
          for (std::size_t c = 0; c < labels; ++c) text << '\t' << mean->probabilities(s, c);
          for (const auto& member : results)
            for (std::size_t c = 0; c < labels; ++c) text << '\t' << member.probabilities(s, c);
        } else {
          text << '\t' << predicted_text(multi_label, result.predicted[s], result.probabilities, s);
          for (std::size_t c = 0; c < labels; ++c) text << '\t' << result.probabilities(s, c);
          for (std::size_t c = 0; c < labels; ++c) text << '\t' << result.logits(s, c);
        }
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
    if (cut > 0)
      print_notice(std::to_string(cut) + " sequence(s) longer than a long-sequence classifier reads (its config's split "
                   "of 510-k-mer pieces) were read up to there");
    if (out) out->commit();
  }); });
}

namespace detail {

/// Length-prefixed records in one string: how a chunk's embeddings travel from the rank that
/// computed them to rank 0, which writes them.
class record_string {
 public:
  /// Appends `bytes` as the next record.
  void add(std::string_view bytes) {
    const std::uint64_t size = bytes.size();
    text_.append(reinterpret_cast<const char*>(&size), sizeof size);
    text_.append(bytes);
  }
  /// Appends floats as the next record.
  void add(std::span<const float> values) {
    add(std::string_view(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  }
  /// The records, to send.
  [[nodiscard]] std::string take() && { return std::move(text_); }

 private:
  std::string text_;
};

/// Reads the records of a record_string's text back in order.
class record_reader {
 public:
  /// Reads `text` (kept by the caller).
  explicit record_reader(std::string_view text) : text_(text) {}
  /// The next record's bytes.
  std::string_view next() {
    std::uint64_t size = 0;
    if (text_.size() < sizeof size) throw error("embed: a chunk's result ends early");
    std::memcpy(&size, text_.data(), sizeof size);
    if (text_.size() - sizeof size < size) throw error("embed: a chunk's result ends early");
    const auto record = text_.substr(sizeof size, size);
    text_.remove_prefix(sizeof size + size);
    return record;
  }
  /// The next record as floats.
  std::vector<float> floats() {
    const auto bytes = next();
    std::vector<float> values(bytes.size() / sizeof(float));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
    return values;
  }

 private:
  std::string_view text_;
};

/// The lines of OUT.tokens.tsv for one sequence: id, token (row in the .npy), piece, k-mer, start.
inline void append_token_lines(std::string& text, const std::string& id, const token_states& states,
                               const sequence_tokenizer& tokenizer) {
  for (std::size_t t = 0; t < states.tokens.size(); ++t)
    text += id + '\t' + std::to_string(t) + '\t' + std::to_string(states.pieces[t]) + '\t' + tokenizer.token_text(states.tokens[t]) +
            '\t' + std::to_string(states.starts[t]) + '\n';
}

/// The header line of OUT.tokens.tsv.
inline constexpr std::string_view tokens_tsv_header = "id\ttoken\tpiece\tkmer\tstart\n";

/// What `embed` writes: OUT.npy ([N, hidden], or [N, L_max, hidden] with NaN tails per token),
/// OUT.ids.txt and, per token, OUT.tokens.tsv.
class embedding_files {
 public:
  /// Starts the files of `path` for vectors of `hidden` floats, per token when `per_token`.
  embedding_files(const std::string& path, std::uint64_t hidden, bool per_token) : ids_(analysis::ids_file_path(path)) {
    if (!per_token) {
      vectors_.emplace(path, hidden);
      return;
    }
    tokens_.emplace(io::npy_side_path(path, ".tokens.tsv"));
    tokens_->text() << tokens_tsv_header;
    per_token_.emplace(path, scratch_directory(path), std::vector{hidden});
  }

  /// Adds a chunk's result: a record with the sequence count, one record of floats per
  /// sequence, the lines of OUT.tokens.tsv, the ids one a line.
  void add(std::string_view result) {
    record_reader records(result);
    std::uint64_t count = 0;
    const auto head = records.next();
    if (head.size() != sizeof count) throw error("embed: a chunk's result has no sequence count");
    std::memcpy(&count, head.data(), sizeof count);
    for (std::uint64_t s = 0; s < count; ++s) {
      const auto values = records.floats();
      if (vectors_) vectors_->add_rows(values);
      else per_token_->add(values);
    }
    const auto token_lines = records.next();
    if (tokens_) {
      tokens_->text() << token_lines;
      tokens_->flush_if_full();
    }
    ids_.text() << records.next();
    ids_.flush_if_full();
  }

  /// Puts every file in place.
  void commit() {
    if (vectors_) vectors_->commit();
    else per_token_->commit();
    if (tokens_) tokens_->commit();
    ids_.commit();
  }

 private:
  std::optional<io::npy_matrix_writer> vectors_;
  std::optional<io::npy_ragged_writer> per_token_;
  std::optional<io::streamed_text_file> tokens_;
  io::streamed_text_file ids_;
};

}  // namespace detail

/// Registers `embed`.
inline void add_embed_command(CLI::App& app) {
  auto o = std::make_shared<inference_cli_options>();
  auto* cmd = app.add_subcommand(
      "embed", "Embed sequences as float32 .npy [N, hidden], or per token [N, L_max, hidden] (ids in OUT.ids.txt)");
  add_inference_options(cmd, *o);
  add_chunk_option(cmd, o->chunk);
  add_inference_compat_options(cmd, *o);
  cmd->add_option("-p,--pooling", o->pooling_name,
                  "cls, mean (all non-pad tokens), pooler, or none: every token's vector, [N, L_max, hidden] with NaN "
                  "rows past each sequence's tokens, and OUT.tokens.tsv (id, token, piece, kmer, 0-based start; -1 for "
                  "[CLS]/[SEP]); a sequence longer than one 510-k-mer piece has its pieces' tokens one after another")
      ->check(CLI::IsMember({"cls", "mean", "pooler", "none"}));
  cmd->add_option("--layer", o->layer,
                  "hidden state embedded, as Hugging Face's hidden_states: 0 the embeddings output, 1..L the encoder "
                  "layers, negative from the end (default -1, the last; pooler reads the last only)");
  cmd->callback([o] {
    if (is_stdout(o->output)) throw input_error("embed writes .npy: --output needs a file name, not stdout");
    const bool per_token = o->pooling_name == "none";
    with_classifier(o->model, o->device, o->threads, [&](const auto& model) {
    const pooling how = o->pooling_name == "mean" ? pooling::mean : o->pooling_name == "pooler" ? pooling::pooler : pooling::cls;
    (void)model.hidden_state(o->layer, how);  // a --layer that cannot be read fails before any input is
    std::optional<detail::embedding_files> files;  // rank 0 writes for the job
    if (leads_job()) files.emplace(o->output, static_cast<std::uint64_t>(model.model().config().hidden_size), per_token);
    chunked_progress progress("embed");
    const auto options = to_inference_options(*o, std::ref(progress));
    const auto embedded = [&](const input_chunk& chunk) {
      detail::record_string records;
      const std::uint64_t count = chunk.ids.size();
      records.add(std::string_view(reinterpret_cast<const char*>(&count), sizeof count));
      std::string token_lines, ids;
      if (per_token) {
        const auto states = model.embed_tokens(chunk.sequences, options, chunk.ids);
        for (std::size_t s = 0; s < states.size(); ++s) {
          records.add(std::span<const float>(states[s].states.data(), states[s].states.size()));
          detail::append_token_lines(token_lines, chunk.ids[s], states[s], model.tokenizer());
        }
      } else {
        const auto rows = model.embed(chunk.sequences, how, options, chunk.ids);
        for (std::size_t s = 0; s < rows.shape(0); ++s) records.add(std::span<const float>(&rows(s, 0), rows.shape(1)));
      }
      for (const auto& id : chunk.ids) ids += id + '\n';
      records.add(token_lines);
      records.add(ids);
      return std::move(records).take();
    };
    io::chunk_limits limits = o->chunk;
    if (per_token) {  // a chunk's token vectors are held twice (result, bytes): about 256 MiB, not 4 M nt x hidden
      const std::size_t vector_bytes = static_cast<std::size_t>(model.model().config().hidden_size) * sizeof(float);
      limits.max_nucleotides = std::min(limits.max_nucleotides, std::max<std::size_t>(1, (std::size_t{256} << 20) / vector_bytes));
    }
    for_each_input_chunk_on_ranks(o->input, limits, embedded, [&](const std::string& result) { files->add(result); });
    progress.finish();
    if (files) files->commit();
  }, o->pooling_name == "pooler" ? std::optional(inference_use::pooled_embedding) : std::nullopt); });  // cls, mean, none: the encoder only
}

}  // namespace dnabert::cli
