#pragma once
// What a user runs: load a fine-tuned folder, predict classes (or a regression score) and
// compute embeddings for raw DNA sequences of any length. Long sequences are cut into
// 510-k-mer pieces; a sequence's result combines its pieces.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "dnabert/core/error.hpp"
#include "dnabert/core/softmax.hpp"
#include "dnabert/io/model_folder.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/model/piece_batches.hpp"
#include "dnabert/tokenizer/sequence_tokenizer.hpp"
#include "dnabert/tokenizer/token_batch.hpp"

namespace dnabert {

/// How the pieces of a sequence longer than 510 k-mers are combined.
enum class piece_rule {
  mean,  ///< mean of the pieces' logits (the default)
  max,   ///< per class, the largest logit of any piece
};

/// How a sequence becomes one embedding vector (from the hidden state inference_options::layer).
enum class pooling {
  cls,     ///< hidden state of [CLS]
  mean,    ///< mean of the hidden states of every non-pad token, [CLS] and [SEP] included
  pooler,  ///< BERT's pooler output, tanh(W h_[CLS] + b) on the last layer
};

/// What an inference reads beyond the encoder's layers, for untrained_parameters() and require_trained().
enum class inference_use {
  classification,    ///< the pooler and the classifier: predict and what is built on it (evaluate, scan, variants, mutate)
  pooled_embedding,  ///< the pooler: embed with pooling::pooler
  /// DNABERT's motif discovery: the attention of a model fine-tuned on the task, so its folder must
  /// hold a trained classifier (pooler and classifier, as classification)
  fine_tuned_attention,
};

/// A result asked of parameters that were initialised at load rather than read from the model
/// folder (e.g. predictions of a pre-trained masked-LM folder, whose classifier would be random).
class untrained_model_error : public error {
 public:
  /// `message` says what and why; `parameters` are the initialised ones, by Hugging Face name.
  untrained_model_error(const std::string& message, std::vector<std::string> parameters)
      : error(message), parameters_(std::move(parameters)) {}
  /// The parameters that were initialised at load.
  [[nodiscard]] const std::vector<std::string>& parameters() const noexcept { return parameters_; }

 private:
  std::vector<std::string> parameters_;
};

/// The parameters `use` reads that `model` initialised at load because its folder lacked them
/// (Bert::new_parameters()); empty when the folder's own weights serve `use`.
template <class Spec, class B>
std::vector<std::string> untrained_parameters(const Bert<Spec, B>& model, inference_use use) {
  std::vector<std::string> used;
  for (const std::string& name : model.new_parameters())  // pooled embeddings never read the classifier
    if (use != inference_use::pooled_embedding || !name.starts_with("classifier")) used.push_back(name);
  return used;
}

/// Throws untrained_model_error when `use` would read parameters that `model` initialised at load,
/// naming them and what to do instead: results computed with random weights would look like any
/// others (Hugging Face only warns). classifier::predict and embed call it; call it yourself to fail
/// before any work, or for a Bert you run directly.
template <class Spec, class B>
void require_trained(const Bert<Spec, B>& model, inference_use use) {
  std::vector<std::string> missing = untrained_parameters(model, use);
  if (missing.empty()) return;
  const std::string& folder = model.source();  // only a loaded model has new parameters
  const std::string finetune = "fine-tune it first: dnabert finetune --model " + folder +
                               " --train TRAIN --dev DEV --output OUT (library: dnabert::train::finetune), then use OUT";
  const std::string initialised = io::detail::name_list(missing) + (missing.size() == 1 ? " is" : " are") +
                                  " not in its weights, so " + (missing.size() == 1 ? "it was" : "they were") +
                                  " initialised at random when it was loaded";
  std::string message;
  switch (use) {
    case inference_use::classification:
      message = folder + " has no trained classifier head: " + initialised +
                ", and its predictions would be noise (a pre-trained masked-LM folder holds none); " + finetune;
      break;
    case inference_use::pooled_embedding:
      message = folder + " has no trained pooler: " + initialised +
                ", and pooler embeddings would be noise; embed with cls or mean pooling (the encoder's own outputs), "
                "or " + finetune;
      break;
    case inference_use::fine_tuned_attention:
      message = folder + " was not fine-tuned: " + initialised +
                "; motif discovery reads the attention of a model fine-tuned to tell positives from negatives, so " +
                finetune + " (or give attention scores computed beforehand, `dnabert motifs --scores`)";
      break;
  }
  throw untrained_model_error(message, std::move(missing));
}

/// Options shared by predict and embed.
struct inference_options {
  std::size_t batch_size = 32;  ///< pieces per forward pass
  piece_rule long_sequences = piece_rule::mean;
  /// Called after each batch with (pieces done, pieces in all); for progress displays.
  std::function<void(std::size_t, std::size_t)> progress;
  /// embed and embed_tokens: the hidden state read, numbered as Hugging Face's hidden_states: 0 the
  /// embeddings output, i encoder layer i's, negative counting from the end (-1, the last layer).
  std::int64_t layer = -1;
  /// DNABERT 2.5 compatibility (forward_options::dnabert_2_5_compat; off by default): each sequence
  /// (or pair) is cut to its first max_seq_length - 2 k-mers and padded to max_seq_length tokens, as
  /// DNABERT's run_finetune.py feeds it, and that padding is attended as DNABERT's code attends it.
  bool dnabert_2_5_compat = false;
  /// With dnabert_2_5_compat: DNABERT's --max_seq_length, tokens per input with [CLS] and [SEP];
  /// 0 means the model's max_position_embeddings.
  std::size_t max_seq_length = 0;
};

/// One sequence's per-token hidden states (classifier::embed_tokens): the tokens of its 510-k-mer
/// pieces one after another, each piece [CLS] k-mers [SEP] as the model saw it.
struct token_states {
  xt::xtensor<float, 2> states;        ///< [tokens, hidden]
  std::vector<token_id> tokens;        ///< each token's id ([CLS], a k-mer, [UNK], [SEP])
  std::vector<std::int64_t> starts;    ///< 0-based nucleotide where each token (k-mer, BPE token) starts; -1 for [CLS] and [SEP]
  std::vector<std::uint32_t> pieces;   ///< 0-based piece of the sequence each token belongs to
};

/// Per-sequence predictions: logits and softmax probabilities [N, C] (regression: C = 1,
/// probabilities hold the score; multi-label: a sigmoid per label), and the argmax class.
struct prediction {
  xt::xtensor<float, 2> logits;
  xt::xtensor<float, 2> probabilities;
  /// The most probable class (multi-label: the most probable label; each label is predicted on
  /// its own when its probability is above 0.5, as label_predicted says).
  std::vector<std::int64_t> predicted;
  /// True for a regression model (num_labels 1): `logits` is the score.
  bool regression = false;
  /// Sequences a long-sequence classifier read only the first config.split pieces of.
  std::size_t cut = 0;
  /// True for a multi-label model (problem_type multi_label_classification).
  bool multi_label = false;

  /// Whether a multi-label model predicts label `c` for sequence `s`: its probability is above 0.5.
  [[nodiscard]] bool label_predicted(std::size_t s, std::size_t c) const { return probabilities(s, c) > 0.5f; }
};

/// A sequence-classification model with its tokenizer, ready for inference. Any folder loads (a
/// pre-trained one for its embeddings), but predict() refuses one whose classifier was initialised
/// at load rather than read from the folder (require_trained).
template <class Spec, class B>
class classifier {
 public:
  /// Loads a fine-tuned folder (BertForSequenceClassification) onto `backend` (dnabert/cpu.hpp's
  /// load_classifier makes a CPU one), its weights packed for inference in the backend's
  /// precision (Bert::pack_weights).
  classifier(const std::string& dir, std::unique_ptr<B> backend)
      : backend_(std::move(backend)),
        model_(Bert<Spec, B>::load(*backend_, dir, bert_head::sequence_classification)),
        tokenizer_(model_.tokenizer()) {
    model_.pack_weights();
  }

  /// The underlying model.
  [[nodiscard]] const Bert<Spec, B>& model() const noexcept { return model_; }
  /// The model's tokenizer.
  [[nodiscard]] const sequence_tokenizer& tokenizer() const noexcept { return tokenizer_; }
  /// Classes (1 for regression; labels for a multi-label model).
  [[nodiscard]] std::int64_t num_labels() const { return model_.config().num_labels; }
  /// What the head was trained for (config.json's problem_type, or as transformers infers it).
  [[nodiscard]] classifier_problem problem() const { return model_.config().problem(); }

  /// Predicts every sequence (raw nucleotides, any length >= k); ids name them in errors. A
  /// long-sequence classifier (config long_pooling, DNABERT-XL) reads each sequence's first
  /// `split` pieces at once and pools them itself (options.long_sequences does not apply). With
  /// `pairs_with` (one per sequence) each sequence is the pair [CLS] a [SEP] b [SEP] with
  /// pairs_with's, cut to one piece as Hugging Face's longest_first. Throws
  /// untrained_model_error when the folder held no trained classifier (require_trained).
  prediction predict(std::span<const std::string> sequences, const inference_options& options = {},
                     std::span<const std::string> ids = {}, std::span<const std::string> pairs_with = {}) const {
    require_trained(model_, inference_use::classification);
    const auto labels = num_labels();
    prediction out;
    out.regression = model_.config().problem() == classifier_problem::regression;
    out.multi_label = model_.config().problem() == classifier_problem::multi_label;
    out.logits = xt::xtensor<float, 2>::from_shape({sequences.size(), static_cast<std::size_t>(labels)});
    out.probabilities = out.logits;
    if (model_.config().long_pooling != piece_pooling::none) {
      if (!pairs_with.empty())
        throw input_error(model_.source() + " is a long-sequence classifier, which reads single sequences, not pairs");
      if (options.dnabert_2_5_compat)
        throw input_error(model_.source() + " is a long-sequence classifier, which reads pieces, not the one padded "
                          "input of DNABERT 2.5 compatibility");
      predict_whole(sequences, options, ids, out);
      return out;
    }
    std::vector<std::size_t> piece_counts(sequences.size(), 0);
    const bool take_max = options.long_sequences == piece_rule::max;
    std::fill(out.logits.begin(), out.logits.end(), take_max ? -INFINITY : 0.0f);
    run_pieces(sequences, ids, pairs_with, options, inference_outputs(true),
               [&](const token_batch& batch, const bert_output<B>& result) {
                 const auto logits = host_floats(*backend_, result.logits.value());
                 for (std::size_t r = 0; r < batch.rows; ++r) {
                   const std::size_t s = batch.origins[r].sequence;
                   ++piece_counts[s];
                   for (std::int64_t c = 0; c < labels; ++c) {
                     const float value = logits[r * static_cast<std::size_t>(labels) + static_cast<std::size_t>(c)];
                     float& slot = out.logits(s, static_cast<std::size_t>(c));
                     slot = take_max ? std::max(slot, value) : slot + value;
                   }
                 }
               });
    out.predicted.resize(sequences.size());
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      if (!take_max)
        for (std::int64_t c = 0; c < labels; ++c)
          out.logits(s, static_cast<std::size_t>(c)) /= static_cast<float>(piece_counts[s]);
      finish_row(out, s, labels);
    }
    return out;
  }

  /// One embedding per sequence [N, hidden] from hidden state options.layer; a long sequence
  /// averages its pieces (for `mean`, over all its tokens). `cls` and `mean` read the encoder only,
  /// so a pre-trained folder serves them; `pooler` reads the last layer only (input_error for
  /// another) and throws untrained_model_error when the folder held no pooler (require_trained).
  xt::xtensor<float, 2> embed(std::span<const std::string> sequences, pooling how, const inference_options& options = {},
                              std::span<const std::string> ids = {}) const {
    const std::int64_t state = hidden_state(options.layer, how);
    if (how == pooling::pooler) require_trained(model_, inference_use::pooled_embedding);
    const auto hidden = static_cast<std::size_t>(model_.config().hidden_size);
    xt::xtensor<float, 2> out = xt::zeros<float>({sequences.size(), hidden});
    std::vector<double> weight(sequences.size(), 0.0);
    run_pieces(sequences, ids, {}, options,
               inference_outputs(how == pooling::pooler, how == pooling::pooler ? -1 : state),
               [&](const token_batch& batch, const bert_output<B>& result) {
                 const auto states = host_floats(*backend_, result.sequence_output.value());
                 const auto pooled = how == pooling::pooler ? host_floats(*backend_, result.pooled.value()) : std::vector<float>{};
                 for (std::size_t r = 0; r < batch.rows; ++r) {
                   const std::size_t s = batch.origins[r].sequence;
                   const int* mask = batch.attention_mask.data() + r * batch.length;
                   if (how == pooling::mean) {
                     for (std::size_t t = 0; t < batch.length; ++t) {
                       if (!mask[t]) continue;
                       const float* row = states.data() + (r * batch.length + t) * hidden;
                       for (std::size_t j = 0; j < hidden; ++j) out(s, j) += row[j];
                       weight[s] += 1;
                     }
                     continue;
                   }
                   const float* row = how == pooling::cls ? states.data() + r * batch.length * hidden
                                                          : pooled.data() + r * hidden;
                   for (std::size_t j = 0; j < hidden; ++j) out(s, j) += row[j];
                   weight[s] += 1;
                 }
               });
    for (std::size_t s = 0; s < sequences.size(); ++s)
      for (std::size_t j = 0; j < hidden; ++j) out(s, j) = static_cast<float>(out(s, j) / weight[s]);
    return out;
  }

  /// Hidden state `layer` (negative: from the end) as an index 0..num_layers, for `how` (pooler
  /// reads the last layer only); throws input_error naming the choices when there is none.
  [[nodiscard]] std::int64_t hidden_state(std::int64_t layer, pooling how = pooling::cls) const {
    const std::int64_t layers = model_.config().num_hidden_layers;
    if (layer > layers || layer < -layers - 1)
      throw input_error("layer " + std::to_string(layer) + " does not exist: " + model_.source() + " has " +
                        std::to_string(layers) + " layers, so hidden states 0 (the embeddings output) to " +
                        std::to_string(layers) + ", or -" + std::to_string(layers + 1) + " to -1 from the end");
    const std::int64_t state = layer < 0 ? layer + layers + 1 : layer;
    if (how == pooling::pooler && state != layers)
      throw input_error("pooler pooling reads the last layer (" + std::to_string(layers) +
                        "), the one the pooler was trained on, not layer " + std::to_string(layer) +
                        "; use cls or mean pooling for another layer");
    return state;
  }

  /// Tokens per input in DNABERT 2.5 compatibility: options.max_seq_length, or the model's
  /// positions when it is 0; throws input_error when the model cannot take it.
  [[nodiscard]] std::size_t compat_length(const inference_options& options) const {
    const auto positions = static_cast<std::size_t>(model_.config().max_position_embeddings);
    const std::size_t length = options.max_seq_length > 0 ? options.max_seq_length : positions;
    if (length < 3 || length > positions)
      throw input_error("max_seq_length " + std::to_string(length) + " does not fit " + model_.source() +
                        ": it takes 3 to " + std::to_string(positions) + " tokens ([CLS], at least one k-mer, [SEP])");
    return length;
  }

  /// Every token's hidden state options.layer, one token_states per sequence: a sequence of T
  /// tokens (L - k + 1 k-mers of L nucleotides; its BPE tokens) cut into P pieces has T + 2P rows.
  /// Reads the encoder only (any folder).
  std::vector<token_states> embed_tokens(std::span<const std::string> sequences, const inference_options& options = {},
                                         std::span<const std::string> ids = {}) const {
    const std::int64_t state = hidden_state(options.layer);
    const auto hidden = static_cast<std::size_t>(model_.config().hidden_size);
    const std::size_t max_kmers = piece_kmers(options);
    const std::size_t piece_tokens = max_kmers + 2;  // a whole piece's; only a sequence's last is shorter
    std::vector<token_states> out(sequences.size());
    std::vector<std::vector<text_span>> spans(sequences.size());  // BPE only: each token's nucleotides
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      if (tokenizer_.is_bpe()) spans[s] = tokenizer_.token_spans(sequences[s]);
      std::size_t kmers = tokenizer_.is_bpe() ? spans[s].size() : tokenizer_.token_count(sequences[s]);
      if (options.dnabert_2_5_compat) kmers = std::min(kmers, max_kmers);  // cut to the first piece
      const std::size_t tokens = kmers + 2 * ((kmers + max_kmers - 1) / max_kmers);
      out[s].states = xt::xtensor<float, 2>::from_shape({tokens, hidden});
      out[s].tokens.resize(tokens);
      out[s].starts.resize(tokens);
      out[s].pieces.resize(tokens);
    }
    run_pieces(sequences, ids, {}, options, inference_outputs(false, state),
               [&](const token_batch& batch, const bert_output<B>& result) {
                 const auto states = host_floats(*backend_, result.sequence_output.value());
                 for (std::size_t r = 0; r < batch.rows; ++r) {
                   const piece_origin& origin = batch.origins[r];
                   token_states& sequence = out[origin.sequence];
                   const int* mask = batch.attention_mask.data() + r * batch.length;
                   const std::size_t length = static_cast<std::size_t>(std::count(mask, mask + batch.length, 1));
                   const std::size_t first = origin.piece * piece_tokens;
                   std::copy_n(states.data() + r * batch.length * hidden, length * hidden, &sequence.states(first, 0));
                   for (std::size_t t = 0; t < length; ++t) {
                     sequence.tokens[first + t] = batch.input_ids[r * batch.length + t];
                     const bool special = t == 0 || t + 1 == length;  // the piece's [CLS] and [SEP]
                     const std::size_t token = origin.piece * max_kmers + t - 1;  // in the whole sequence
                     sequence.starts[first + t] =
                         special ? -1
                                 : static_cast<std::int64_t>(tokenizer_.is_bpe() ? spans[origin.sequence][token].begin : token);
                     sequence.pieces[first + t] = static_cast<std::uint32_t>(origin.piece);
                   }
                 }
               });
    return out;
  }

 private:
  // predict() for a long-sequence classifier: sequences sorted by length, batched whole (as many
  // as fit in options.batch_size pieces, one at least), one row of logits each.
  void predict_whole(std::span<const std::string> sequences, const inference_options& options,
                     std::span<const std::string> ids, prediction& out) const {
    if (options.batch_size == 0) throw input_error("batch size must be at least 1");
    const bert_config& config = model_.config();
    const auto split = static_cast<std::size_t>(config.split);
    out.predicted.resize(sequences.size());
    std::vector<std::vector<token_piece>> pieces(sequences.size());
    std::size_t total = 0;
    for (std::size_t s = 0; s < sequences.size(); ++s) {
      bool cut = false;
      pieces[s] = long_sequence_pieces(tokenizer_, config.long_pooling, split, sequences[s],
                                       s < ids.size() ? std::string_view(ids[s]) : std::string_view("sequence"), s,
                                       model_.max_kmers(), &cut);
      out.cut += cut ? 1 : 0;
      total += pieces[s].size();
    }
    std::vector<std::size_t> order(sequences.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::pair(pieces[a].size(), pieces[a].back().ids.size()) < std::pair(pieces[b].size(), pieces[b].back().ids.size());
    });
    const auto labels = static_cast<std::size_t>(config.num_labels);
    autograd::tape<B> tape(*backend_);
    std::size_t done = 0;
    for (std::size_t first = 0; first < order.size();) {
      std::vector<token_piece> batch_pieces;
      std::size_t end = first;
      while (end < order.size() && (end == first || batch_pieces.size() + pieces[order[end]].size() <= options.batch_size)) {
        const auto& own = pieces[order[end++]];
        batch_pieces.insert(batch_pieces.end(), own.begin(), own.end());
      }
      const token_batch batch =
          make_sequence_batch(batch_pieces, config.long_pooling, split, model_.max_kmers() + 2, tokenizer_.specials().pad);
      nn::forward_context<B> ctx{tape};
      const auto logits = host_floats(*backend_, model_.forward(ctx, batch, inference_outputs(true)).logits.value());
      for (std::size_t row = 0; first + row < end; ++row) {
        const std::size_t s = order[first + row];
        std::copy_n(logits.begin() + static_cast<std::ptrdiff_t>(row * labels), labels, &out.logits(s, 0));
        finish_row(out, s, static_cast<std::int64_t>(labels));
      }
      done += batch_pieces.size();
      first = end;
      if (options.progress) options.progress(done, total);
    }
  }

  // What predict and embed ask of a forward pass: they read real tokens only ([CLS], the masked
  // mean, every token), so padding is removed rather than computed; `state` >= 0 stops there.
  static forward_options inference_outputs(bool pooled, std::int64_t state = -1) {
    forward_options outputs;
    outputs.pooled = pooled;
    outputs.remove_padding = true;
    outputs.last_hidden_state = state;
    return outputs;
  }

  // Runs every sequence's pieces in batches of similar length and hands each result to `consume`.
  template <class Consume>
  void run_pieces(std::span<const std::string> sequences, std::span<const std::string> ids,
                  std::span<const std::string> pairs_with, const inference_options& options,
                  const forward_options& outputs, Consume&& consume) const {
    if (options.batch_size == 0) throw input_error("batch size must be at least 1");
    auto pieces = sorted_pieces(tokenizer_, sequences, ids, piece_kmers(options), pairs_with);
    forward_options run = outputs;
    std::size_t pad_to = 0;
    if (options.dnabert_2_5_compat) {  // DNABERT keeps a sequence's first max_seq_length - 2 k-mers, padded
      std::erase_if(pieces, [](const token_piece& piece) { return piece.origin.piece > 0; });
      run.dnabert_2_5_compat = true;
      pad_to = compat_length(options);
    }
    for_each_piece_batch(model_, std::span<const token_piece>(pieces), run,
                         [&](std::size_t) { return options.batch_size; }, consume, options.progress, pad_to);
  }

  // K-mers per piece: the model's max_kmers(), or max_seq_length - 2 in DNABERT 2.5 compatibility.
  [[nodiscard]] std::size_t piece_kmers(const inference_options& options) const {
    return options.dnabert_2_5_compat ? compat_length(options) - 2 : model_.max_kmers();
  }

  // Probabilities and the predicted class of sequence s (regression: the score itself).
  static void finish_row(prediction& out, std::size_t s, std::int64_t labels) {
    if (out.multi_label) {
      for (std::size_t c = 0; c < static_cast<std::size_t>(labels); ++c)
        out.probabilities(s, c) = static_cast<float>(sigmoid(out.logits(s, c)));
      const float* row = &out.logits(s, 0);
      out.predicted[s] = std::max_element(row, row + labels) - row;
      return;
    }
    if (out.regression) {
      out.probabilities(s, 0) = out.logits(s, 0);
      out.predicted[s] = 0;
      return;
    }
    const auto n = static_cast<std::size_t>(labels);
    const auto summary = softmax_row(std::span<const float>(&out.logits(s, 0), n), std::span<float>(&out.probabilities(s, 0), n));
    out.predicted[s] = static_cast<std::int64_t>(summary.argmax);
  }

  std::unique_ptr<B> backend_;
  Bert<Spec, B> model_;
  sequence_tokenizer tokenizer_;
};

}  // namespace dnabert
