#pragma once
// The BERT hyper-parameters DNABERT uses (Hugging Face BertConfig fields) and the schema of
// parameter names and shapes: the single source of truth for loaders, savers and the model.

#include <cmath>
#include <cstdint>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dnabert/core/error.hpp"
#include "dnabert/core/vocabulary.hpp"

namespace dnabert {

/// Sanity bounds on sizes: far above any BERT, low enough that shape products cannot overflow.
namespace config_limits {
inline constexpr std::int64_t max_width = std::int64_t{1} << 20;  // hidden, intermediate, positions, labels
inline constexpr std::int64_t max_layers = 1024;
inline constexpr std::int64_t max_token_types = std::int64_t{1} << 16;
inline constexpr std::int64_t max_pieces = 4096;  // a long-sequence classifier's pieces: 2 Mb at 510 k-mers each
}  // namespace config_limits

/// How a sequence classifier reads a sequence longer than one piece of 510 k-mers (DNABERT-XL).
enum class piece_pooling {
  none,    ///< BertForSequenceClassification: one piece (training cuts to it; prediction combines logits)
  mean,    ///< the mean of the pieces' pooled vectors, then the classifier
  max,     ///< their element-wise max, then the classifier
  concat,  ///< DNABERT-XL's dnalongcat: `split` pooled vectors side by side, classifier1, ReLU, classifier2
};

/// The config.json spelling of a piece pooling ("none", "mean", "max", "concat").
constexpr std::string_view piece_pooling_name(piece_pooling pooling) {
  switch (pooling) {
    case piece_pooling::mean: return "mean";
    case piece_pooling::max: return "max";
    case piece_pooling::concat: return "concat";
    case piece_pooling::none: break;
  }
  return "none";
}

/// The piece pooling spelled `name`; throws config_error naming the choices.
inline piece_pooling piece_pooling_from_name(std::string_view name) {
  for (const auto pooling : {piece_pooling::none, piece_pooling::mean, piece_pooling::max, piece_pooling::concat})
    if (name == piece_pooling_name(pooling)) return pooling;
  throw config_error("long-sequence pooling '" + std::string(name) + "' is not one of none, mean, max, concat");
}

/// What a sequence-classification head is trained for: transformers' config.problem_type.
enum class classifier_problem {
  regression,    ///< one output, mean squared error
  single_label,  ///< "single_label_classification": softmax over num_labels classes, cross-entropy
  multi_label,   ///< "multi_label_classification": a sigmoid per label, BCEWithLogitsLoss on 0/1 targets
};

/// The config.json spelling of a problem ("regression", "single_label_classification", ...).
constexpr std::string_view problem_type_name(classifier_problem problem) {
  switch (problem) {
    case classifier_problem::regression: return "regression";
    case classifier_problem::single_label: return "single_label_classification";
    case classifier_problem::multi_label: return "multi_label_classification";
  }
  return "regression";
}

/// Where the encoder gets position information from.
enum class position_encoding {
  absolute,  ///< learned position embeddings added to the word embeddings (BERT, DNABERT)
  alibi,     ///< no position embeddings; attention adds -slope_h * |i - j| (ALiBi; DNABERT-2's MosaicBERT)
};

/// The feed-forward block of each encoder layer.
enum class feed_forward_kind {
  gelu_mlp,  ///< dense, GELU, dense (BERT's intermediate + output)
  geglu,     ///< one bias-free dense to [gate | value], GELU(gate) * value, dense (DNABERT-2's gated_layers + wo)
};

/// What the model's token ids stand for.
enum class token_kind {
  kmer,  ///< overlapping k-mers, DNABERT's 4^k + 5 vocabulary
  bpe,   ///< byte-pair encoding from the folder's tokenizer.json (DNABERT-2)
};

/// The config.json spelling of a position encoding ("absolute", "alibi").
constexpr std::string_view position_encoding_name(position_encoding position) {
  return position == position_encoding::alibi ? "alibi" : "absolute";
}

/// The config.json spelling of a feed-forward block ("gelu", "geglu").
constexpr std::string_view feed_forward_name(feed_forward_kind kind) {
  return kind == feed_forward_kind::geglu ? "geglu" : "gelu";
}

/// Largest BPE vocabulary accepted (DNABERT-2's has 4,096 tokens).
inline constexpr std::int64_t max_bpe_vocab_size = std::int64_t{1} << 22;

/// BertConfig as DNABERT uses it; the defaults are DNABERT-6 base
/// (https://github.com/jerryji1993/DNABERT/blob/master/src/transformers/dnabert-config/bert-config-6/config.json).
struct bert_config {
  std::int64_t vocab_size = 4101;
  std::int64_t hidden_size = 768;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t intermediate_size = 3072;
  /// Only "gelu" (the exact erf GELU) is supported.
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  std::int64_t max_position_embeddings = 512;
  std::int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  std::int64_t pad_token_id = 0;
  /// Classes of the sequence-classification head (Hugging Face's default is 2).
  std::int64_t num_labels = 2;
  /// Class names by id, from id2label; empty when the config gives none (then "LABEL_i").
  std::vector<std::string> label_names;
  /// config.json's problem_type; empty when unset (transformers' None): then regression for
  /// num_labels 1, single-label classification otherwise (problem()).
  std::string problem_type;
  std::vector<std::string> architectures = {"BertForMaskedLM"};
  std::string model_type = "bert";
  /// How the classifier reads a long sequence's pieces (config.json "long_sequence_pooling";
  /// DNABERT-XL's BertForLongSequenceClassificationCat is `concat`).
  piece_pooling long_pooling = piece_pooling::none;
  /// Pieces per sequence the classifier reads when long_pooling is set (DNABERT-XL's config.split,
  /// max_seq_length / 512): longer sequences are cut to their first `split` pieces.
  std::int64_t split = 1;
  /// Position information: DNABERT-2's config.json says so by its `alibi_starting_size`.
  position_encoding position = position_encoding::absolute;
  /// The feed-forward block (GEGLU with ALiBi in DNABERT-2's MosaicBERT).
  feed_forward_kind feed_forward = feed_forward_kind::gelu_mlp;
  /// What token ids stand for: the model folder decides (a tokenizer.json means BPE).
  token_kind tokens = token_kind::kmer;
  /// MosaicBERT's alibi_starting_size: the length its ALiBi bias is first built for (it is
  /// rebuilt for longer inputs, so it limits nothing); kept to write config.json back.
  std::int64_t alibi_starting_size = 512;
  /// config.json's auto_map as JSON text (DNABERT-2: its bert_layers.py classes for
  /// trust_remote_code), written back as it was read (Bert::save copies the *.py files it names
  /// from the folder the model came from); empty when there is none.
  std::string auto_map;

  /// The k-mer size whose vocabulary has vocab_size tokens; throws config_error if none (a BPE model has none).
  [[nodiscard]] int k() const {
    if (tokens == token_kind::bpe)
      throw config_error("a BPE model (DNABERT-2) has no k-mer size: its tokens come from its tokenizer.json");
    const auto k = k_for_vocab_size(vocab_size);
    if (!k) throw config_error(describe_bad_vocab_size(vocab_size));
    return *k;
  }

  /// Whether the checkpoint stores MosaicBERT's tensors (fused Wqkv, mlp.*): DNABERT-2's layout,
  /// which goes with its ALiBi attention.
  [[nodiscard]] bool mosaic_layout() const noexcept { return position == position_encoding::alibi; }

  /// The problem the classification head solves: problem_type, or when unset what transformers
  /// infers from num_labels (it also infers multi-label from float labels, which dnabert writes out).
  [[nodiscard]] classifier_problem problem() const {
    for (const auto candidate : {classifier_problem::regression, classifier_problem::single_label,
                                 classifier_problem::multi_label})
      if (problem_type == problem_type_name(candidate)) return candidate;
    if (!problem_type.empty()) throw config_error(describe_bad_problem_type(problem_type));
    return num_labels == 1 ? classifier_problem::regression : classifier_problem::single_label;
  }

  /// Hidden units per attention head.
  [[nodiscard]] std::int64_t head_size() const { return hidden_size / num_attention_heads; }

  /// Throws config_error with a plain-words reason when the configuration is unusable.
  void validate() const {
    if (tokens == token_kind::bpe) {
      check_size("vocab_size", vocab_size, max_bpe_vocab_size);
    } else {
      check_size("vocab_size", vocab_size, vocab_size_for_k(max_k));
      if (!k_for_vocab_size(vocab_size)) throw config_error(describe_bad_vocab_size(vocab_size));
    }
    if (position == position_encoding::alibi) check_size("alibi_starting_size", alibi_starting_size, config_limits::max_width);
    check_size("hidden_size", hidden_size, config_limits::max_width);
    check_size("num_hidden_layers", num_hidden_layers, config_limits::max_layers);
    check_size("num_attention_heads", num_attention_heads, config_limits::max_width);
    if (hidden_size % num_attention_heads != 0)
      throw config_error("hidden size " + std::to_string(hidden_size) + " is not a multiple of the " +
                         std::to_string(num_attention_heads) + " attention heads");
    check_size("intermediate_size", intermediate_size, config_limits::max_width);
    check_size("max_position_embeddings", max_position_embeddings, config_limits::max_width);
    check_size("type_vocab_size", type_vocab_size, config_limits::max_token_types);
    check_size("num_labels", num_labels, config_limits::max_width);
    if (hidden_act != "gelu")
      throw config_error("hidden_act '" + hidden_act +
                         "' is not supported; supported: 'gelu' (the exact erf GELU that DNABERT uses)");
    check_probability("hidden_dropout_prob", hidden_dropout_prob);
    check_probability("attention_probs_dropout_prob", attention_probs_dropout_prob);
    if (!(initializer_range >= 0 && std::isfinite(initializer_range)))
      throw config_error("initializer_range must be a finite number >= 0, found " + number_text(initializer_range));
    if (!(layer_norm_eps > 0 && std::isfinite(layer_norm_eps)))
      throw config_error("layer_norm_eps must be a finite number > 0, found " + number_text(layer_norm_eps));
    if (pad_token_id < 0 || pad_token_id >= vocab_size)
      throw config_error("pad_token_id " + std::to_string(pad_token_id) + " is outside the vocabulary of " +
                         std::to_string(vocab_size) + " tokens");
    if (!label_names.empty() && std::ssize(label_names) != num_labels)
      throw config_error(std::to_string(label_names.size()) + " label names given for " + std::to_string(num_labels) +
                         " labels");
    if (long_pooling != piece_pooling::none) check_size("split", split, config_limits::max_pieces);
    const classifier_problem task = problem();
    if (task == classifier_problem::regression && num_labels != 1)
      throw config_error("problem_type 'regression' with " + std::to_string(num_labels) +
                         " labels is not supported: dnabert's regression has one output (num_labels 1)");
    if (task == classifier_problem::single_label && num_labels < 2)
      throw config_error("problem_type 'single_label_classification' needs num_labels >= 2, found " +
                         std::to_string(num_labels));
    if (!model_type.empty() && model_type != "bert")
      throw config_error("model_type '" + model_type + "' is not supported; expected 'bert'");
  }

 private:
  static std::string describe_bad_vocab_size(std::int64_t size) {
    return "vocab_size " + std::to_string(size) +
           " is not a DNABERT vocabulary size 4^k+5 (69, 261, 1029, 4101 for k=3..6), and there is no tokenizer.json "
           "beside it for a BPE vocabulary (DNABERT-2)";
  }

  static std::string describe_bad_problem_type(const std::string& name) {
    return "problem_type '" + name +
           "' is not supported; supported: 'regression', 'single_label_classification', 'multi_label_classification'";
  }

  static void check_size(std::string_view name, std::int64_t value, std::int64_t limit) {
    if (value <= 0) throw config_error(std::string(name) + " must be positive, found " + std::to_string(value));
    if (value > limit)
      throw config_error(std::string(name) + " " + std::to_string(value) + " exceeds the limit of " +
                         std::to_string(limit));
  }

  static void check_probability(std::string_view name, double value) {
    if (!(value >= 0 && value < 1))
      throw config_error(std::string(name) + " must be in [0, 1), found " + number_text(value));
  }

  static std::string number_text(double value) {
    std::ostringstream text;
    text << value;
    return text.str();
  }
};

/// Which task head sits on the encoder.
enum class bert_head {
  none,                     ///< bare encoder (BertModel, with pooler)
  masked_lm,                ///< BertForMaskedLM (pre-training)
  sequence_classification,  ///< BertForSequenceClassification (fine-tuning)
};

/// The Hugging Face class name of a head ("BertForMaskedLM", ...), as in config.json's architectures.
constexpr std::string_view architecture_name(bert_head head) {
  switch (head) {
    case bert_head::masked_lm: return "BertForMaskedLM";
    case bert_head::sequence_classification: return "BertForSequenceClassification";
    case bert_head::none: break;
  }
  return "BertModel";
}

/// DNABERT-XL's class names: its `dnalongcat` head (concatenated pieces) and its `dnalong` head (a
/// BiLSTM/GRU over the pieces, which dnabert does not implement).
inline constexpr std::string_view concat_architecture = "BertForLongSequenceClassificationCat";
inline constexpr std::string_view rnn_architecture = "BertForLongSequenceClassification";

/// What config.json's architectures says of a model `config` with `head`: DNABERT-XL's class for a
/// concat classifier, else architecture_name(head).
inline std::string_view architecture_of(const bert_config& config, bert_head head) {
  if (head == bert_head::sequence_classification && config.long_pooling == piece_pooling::concat) return concat_architecture;
  return architecture_name(head);
}

/// Why dnabert refuses DNABERT-XL's dnalong folders, for errors that name what they found.
inline std::string rnn_head_refusal(const std::string& found) {
  return found + ": DNABERT-XL's dnalong head (" + std::string(rnn_architecture) +
         ", a BiLSTM/GRU over the pieces, rnn.* tensors) is not supported; fine-tune the encoder again with "
         "--long-pooling mean, max or concat (DNABERT-XL's dnalongcat, which loads as it is)";
}

/// The head named by a config's architectures (the first one dnabert knows); an empty list means
/// the bare encoder. Throws config_error when no listed architecture is supported.
inline bert_head head_for_architectures(const std::vector<std::string>& architectures) {
  if (architectures.empty()) return bert_head::none;
  for (const std::string& name : architectures) {
    for (const bert_head head : {bert_head::none, bert_head::masked_lm, bert_head::sequence_classification})
      if (name == architecture_name(head)) return head;
    if (name == concat_architecture) return bert_head::sequence_classification;
    if (name == rnn_architecture) throw config_error(rnn_head_refusal("architecture '" + name + "'"));
  }
  throw config_error("architecture '" + architectures.front() +
                     "' is not supported; supported: BertModel, BertForMaskedLM, BertForSequenceClassification, " +
                     std::string(concat_architecture));
}

/// What a loader does when a parameter is absent from a checkpoint.
enum class parameter_presence {
  required,     ///< must be in the checkpoint
  tied,         ///< shares its values with `tied_to`; filled from it when absent
  initialised,  ///< may be absent (a head saved for another task, or transformers >= 4 dropping
                ///< BertForMaskedLM's unused pooler); then freshly initialised
};

/// One named parameter exactly as PyTorch's state_dict names it, with its shape.
struct parameter_spec {
  std::string name;
  std::vector<std::int64_t> shape;
  parameter_presence presence = parameter_presence::required;
  /// For tied parameters: the name whose values this one shares.
  std::string tied_to;
  /// The weight [out, in] of a linear layer applied to every token (the encoder layers' and the MLM
  /// transform's): what inference packs (Bert::pack_weights) and `dnabert quantize` makes int8. The
  /// pooler and the classifier run once per sequence and stay float32.
  bool per_token_linear = false;
};

namespace detail {

/// Appends "PREFIX.weight" [rows, columns] and "PREFIX.bias" [rows] (a torch.nn.Linear: [out, in]).
inline void add_linear(std::vector<parameter_spec>& out, const std::string& prefix, std::int64_t rows,
                       std::int64_t columns, bool per_token, parameter_presence presence = parameter_presence::required) {
  out.push_back({prefix + ".weight", {rows, columns}, presence, {}, per_token});
  out.push_back({prefix + ".bias", {rows}, presence, {}});
}

/// Appends "PREFIX.weight" and "PREFIX.bias", both [width] (a torch.nn.LayerNorm).
inline void add_layer_norm(std::vector<parameter_spec>& out, const std::string& prefix, std::int64_t width) {
  out.push_back({prefix + ".weight", {width}, parameter_presence::required, {}});
  out.push_back({prefix + ".bias", {width}, parameter_presence::required, {}});
}

}  // namespace detail

/// Every parameter of the model with `head`, in state_dict order, named as Hugging Face names them
/// (for DNABERT-2's layout, as dnabert holds them: its fused Wqkv is split into query, key and value
/// and its decoder bias is cls.predictions.bias; io/model_folder.hpp converts).
/// Tied parameters (the MLM decoder) are listed with `tied_to`; the pooler and the classifier are
/// `initialised`, since checkpoints saved for another head (or by transformers >= 4 for MLM) lack them.
inline std::vector<parameter_spec> bert_parameters(const bert_config& config, bert_head head) {
  config.validate();
  const std::int64_t hidden = config.hidden_size;
  const std::int64_t vocab = config.vocab_size;
  std::vector<parameter_spec> out;
  out.push_back({"bert.embeddings.word_embeddings.weight", {vocab, hidden}, parameter_presence::required, {}});
  if (config.position == position_encoding::absolute)
    out.push_back({"bert.embeddings.position_embeddings.weight",
                   {config.max_position_embeddings, hidden},
                   parameter_presence::required,
                   {}});
  out.push_back({"bert.embeddings.token_type_embeddings.weight",
                 {config.type_vocab_size, hidden},
                 parameter_presence::required,
                 {}});
  detail::add_layer_norm(out, "bert.embeddings.LayerNorm", hidden);
  for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    const std::string prefix = "bert.encoder.layer." + std::to_string(layer) + ".";
    detail::add_linear(out, prefix + "attention.self.query", hidden, hidden, true);
    detail::add_linear(out, prefix + "attention.self.key", hidden, hidden, true);
    detail::add_linear(out, prefix + "attention.self.value", hidden, hidden, true);
    detail::add_linear(out, prefix + "attention.output.dense", hidden, hidden, true);
    detail::add_layer_norm(out, prefix + "attention.output.LayerNorm", hidden);
    if (config.feed_forward == feed_forward_kind::geglu) {
      out.push_back({prefix + "mlp.gated_layers.weight", {2 * config.intermediate_size, hidden}, parameter_presence::required,
                     {}, true});
      detail::add_linear(out, prefix + "mlp.wo", hidden, config.intermediate_size, true);
      detail::add_layer_norm(out, prefix + "mlp.layernorm", hidden);
    } else {
      detail::add_linear(out, prefix + "intermediate.dense", config.intermediate_size, hidden, true);
      detail::add_linear(out, prefix + "output.dense", hidden, config.intermediate_size, true);
      detail::add_layer_norm(out, prefix + "output.LayerNorm", hidden);
    }
  }
  detail::add_linear(out, "bert.pooler.dense", hidden, hidden, false, parameter_presence::initialised);
  switch (head) {
    case bert_head::masked_lm:
      out.push_back({"cls.predictions.bias", {vocab}, parameter_presence::required, {}});
      detail::add_linear(out, "cls.predictions.transform.dense", hidden, hidden, true);
      detail::add_layer_norm(out, "cls.predictions.transform.LayerNorm", hidden);
      out.push_back({"cls.predictions.decoder.weight",
                     {vocab, hidden},
                     parameter_presence::tied,
                     "bert.embeddings.word_embeddings.weight"});
      out.push_back({"cls.predictions.decoder.bias", {vocab}, parameter_presence::tied, "cls.predictions.bias"});
      break;
    case bert_head::sequence_classification:
      if (config.long_pooling == piece_pooling::concat) {  // DNABERT-XL's dnalongcat names
        detail::add_linear(out, "classifier1", hidden, config.split * hidden, false, parameter_presence::initialised);
        detail::add_linear(out, "classifier2", config.num_labels, hidden, false, parameter_presence::initialised);
      } else {
        detail::add_linear(out, "classifier", config.num_labels, hidden, false, parameter_presence::initialised);
      }
      break;
    case bert_head::none: break;
  }
  return out;
}

}  // namespace dnabert
