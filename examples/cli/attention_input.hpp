#pragma once
// Where the attention commands (attention, motifs, plot) get their input: a model folder loaded
// whatever its head, or scores that `dnabert attention` wrote to .npy.

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "device.hpp"
#include "dnabert/analysis/attention_scores.hpp"
#include "dnabert/io/config_json.hpp"
#include "dnabert/io/npy.hpp"
#include "dnabert/model/classifier.hpp"

namespace dnabert::cli {

/// A model folder loaded for its attention on backend B: the encoder, and the classifier when the
/// folder is one (its predictions go into plot titles).
template <class B>
class attention_model {
 public:
  /// Loads `dir` as it was saved (pre-trained or fine-tuned: the head plays no part in attention),
  /// printing its loading warnings; with `fine_tuned`, as a classifier that the folder must hold
  /// trained (motif discovery reads a fine-tuned model's attention), else untrained_model_error.
  attention_model(const std::string& dir, std::unique_ptr<B> backend, bool fine_tuned = false) {
    const bert_head head = head_for_architectures(io::read_folder_config(dir).architectures);
    if (fine_tuned || head == bert_head::sequence_classification) {
      classifier_.emplace(dir, std::move(backend));
    } else {
      backend_ = std::move(backend);
      encoder_.emplace(Bert<dynamic_bert, B>::load(*backend_, dir, head));
      encoder_->pack_weights();
    }
    print_warnings(model().warnings());
    if (fine_tuned) require_trained(model(), inference_use::fine_tuned_attention);
  }

  /// The encoder whose attention is drawn.
  [[nodiscard]] const Bert<dynamic_bert, B>& model() const { return classifier_ ? classifier_->model() : *encoder_; }

  /// Each sequence's prediction for its title ("P(class 1) = 0.731"); empty without a classifier
  /// head, or with one initialised at load (said on stderr: the pictures need no prediction).
  [[nodiscard]] std::vector<std::string> prediction_notes(std::span<const std::string> sequences,
                                                          std::span<const std::string> ids, std::size_t batch_size) const {
    std::vector<std::string> notes(sequences.size());
    if (!classifier_) return notes;
    if (const auto untrained = untrained_parameters(model(), inference_use::classification); !untrained.empty()) {
      print_notice(model().source() + " has no trained classifier head (" + io::detail::name_list(untrained) +
                   " initialised at load): the titles show no prediction");
      return notes;
    }
    inference_options options;
    options.batch_size = batch_size;
    const auto result = classifier_->predict(sequences, options, ids);
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      char text[64];
      const auto predicted = static_cast<std::size_t>(result.predicted[s]);
      if (result.regression) std::snprintf(text, sizeof text, "score %.4g", static_cast<double>(result.logits(s, 0)));
      else if (classifier_->num_labels() == 2)
        std::snprintf(text, sizeof text, "P(class 1) = %.3f", static_cast<double>(result.probabilities(s, 1)));
      else
        std::snprintf(text, sizeof text, "class %zu, p = %.3f", predicted, static_cast<double>(result.probabilities(s, predicted)));
      notes[s] = text;
    }
    return notes;
  }

 private:
  std::optional<classifier<dynamic_bert, B>> classifier_;
  std::unique_ptr<B> backend_;  // before encoder_: the model needs its backend until destroyed
  std::optional<Bert<dynamic_bert, B>> encoder_;
};

/// Loads `dir` for its attention on the chosen device (`--device`), a trained classifier if
/// `fine_tuned` (see attention_model), and calls use(model) with it.
template <class Use>
void with_attention_model(const std::string& dir, const device_options& device, int threads, Use&& use,
                          bool fine_tuned = false) {
  with_backend(device, threads, [&](auto backend) {
    using B = typename decltype(backend)::element_type;
    use(attention_model<B>(dir, std::move(backend), fine_tuned));
  });
}

/// Nucleotide scores of `sequences` (in input order) read from a `dnabert attention` .npy: row s
/// cut to sequence s's length; OUT.ids.txt beside it, when present, must name the same sequences.
inline analysis::nucleotide_scores scores_from_npy(const std::string& path, std::span<const std::string> sequences,
                                                   std::span<const std::string> ids) {
  const auto matrix = io::read_npy_matrix(path);
  if (matrix.rows != sequences.size())
    throw input_error(path + " holds scores of " + std::to_string(matrix.rows) + " sequences but the input has " +
                      std::to_string(sequences.size()));
  if (std::ifstream id_file(analysis::ids_file_path(path)); id_file) {
    std::string line;
    for (std::size_t s = 0; std::getline(id_file, line); ++s)
      if (s >= ids.size() || line != ids[s])
        throw input_error(analysis::ids_file_path(path) + " line " + std::to_string(s + 1) + " names '" + line +
                          "' but the input's sequence " + std::to_string(s + 1) + " is " +
                          (s < ids.size() ? "'" + ids[s] + "'" : "missing"));
  }
  analysis::nucleotide_scores scores(sequences.size());
  for (std::size_t s = 0; s < sequences.size(); ++s) {
    if (sequences[s].size() > matrix.columns)
      throw input_error(path + " has " + std::to_string(matrix.columns) + " scores per row but sequence '" + ids[s] +
                        "' is " + std::to_string(sequences[s].size()) + " nt long");
    const auto* row = matrix.values.data() + s * matrix.columns;
    scores[s].assign(row, row + sequences[s].size());
  }
  return scores;
}

}  // namespace dnabert::cli
