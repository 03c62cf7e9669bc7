#pragma once
// Bert<Spec, Backend>: Hugging Face's BertModel with DNABERT's heads, composed from the nn
// blocks the spec's policies choose (DNABERT's BERT, DNABERT-2's MosaicBERT, or whichever the
// folder describes), with parameters named exactly as PyTorch names them. Loads and saves model folders.

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/io/model_folder.hpp"
#include "dnabert/model/bert_spec.hpp"
#include "dnabert/model/long_sequences.hpp"
#include "dnabert/model/packed_rows.hpp"
#include "dnabert/nn/embeddings.hpp"
#include "dnabert/nn/encoder_layer.hpp"
#include "dnabert/nn/heads.hpp"
#include "dnabert/nn/self_attention.hpp"
#include "dnabert/tokenizer/sequence_tokenizer.hpp"
#include "dnabert/tokenizer/token_batch.hpp"

namespace dnabert {

/// Extra outputs a forward pass can return (off by default so inference stays lean).
struct forward_options {
  bool hidden_states = false;  ///< embeddings output and every layer's output
  bool attentions = false;     ///< every layer's attention probabilities
  bool pooled = true;          ///< run the pooler (needed by classification and pooled embeddings)
  /// MLM head only: the rows of [batch*seq] to predict (e.g. the masked positions); empty means
  /// every row. Pre-training needs logits only where the loss looks, which spares most of the
  /// vocabulary-sized GEMM; the loss and its gradients are the same as over all rows.
  std::span<const std::int32_t> mlm_rows;
  /// Padding removal: when the batch has padding, the dense layers (embeddings, projections,
  /// feed-forward, LayerNorms, dropout, heads) run on its real tokens only and attention alone
  /// sees the padded layout. Results at real positions match the padded pass to rounding, but
  /// padded rows of sequence_output, hidden_states and full-row MLM logits hold zeros (not
  /// Hugging Face's values), `mlm_rows` on padding are refused, the pooler reads each sequence's
  /// first real token (its [CLS]; the padded pass reads position 0 even when it is padding), every
  /// sequence needs a token, and dropout draws by the packed sizes, so its masks differ from a
  /// padded pass's. Off by default, so padded positions match Hugging Face exactly.
  bool remove_padding = false;
  /// Run the encoder up to hidden state `last_hidden_state` only (0 the embeddings output, i encoder
  /// layer i's; -1, the default, every layer): sequence_output is that state, and the pooler and
  /// the head do not run. Embeddings of an inner layer then cost none of the layers above it.
  std::int64_t last_hidden_state = -1;
  /// DNABERT 2.5 compatibility (off by default): compute as DNABERT's released code, its fork of
  /// transformers 2.5.0, computes where that differs from Hugging Face today. The masked-LM head
  /// adds its bias twice (logits = E t(h) + 2b; transformers 2.5.0 bug #2957, so the bias gradient
  /// doubles too), and the attention mask is added as it stands (+1 for real tokens, +0 for padding,
  /// as DNABERT's get_extended_attention_mask has returned since June 2021, issue #102) instead
  /// of (1 - mask) * -10000, so padding is attended with weight e^-1 relative to tokens. Results
  /// then depend on how much padding a batch has: pad as DNABERT did (make_batch's pad_to), and
  /// remove_padding is ignored. [PAD] tokens, now attended, send no gradient to the word
  /// embeddings (torch.nn.Embedding's padding_idx, as in DNABERT's training).
  bool dnabert_2_5_compat = false;
};

/// What a forward pass produced. Tensors are [rows, width] with rows = batch * seq unless noted.
template <class B>
struct bert_output {
  std::int64_t batch = 0;
  std::int64_t seq = 0;
  autograd::var<B> sequence_output;            ///< last layer [batch*seq, hidden]
  autograd::var<B> pooled;                     ///< pooler output [batch, hidden] (empty if not run)
  /// MLM [batch*seq or mlm_rows, vocab] or classifier [batch, labels] ([sequences, labels] for a
  /// long-sequence classifier, whose batch rows are its sequences' pieces)
  autograd::var<B> logits;
  std::vector<tensor<B>> hidden_states;        ///< num_layers + 1 tensors [batch*seq, hidden]
  std::vector<tensor<B>> attentions;           ///< num_layers tensors [batch, heads, seq, seq]
};

/// What Bert::load makes of a folder's classifier (zero, nullopt: as the folder says).
struct classifier_request {
  std::int64_t num_labels = 0;               ///< classes
  std::optional<piece_pooling> long_pooling;  ///< how it reads long sequences
  std::int64_t split = 0;                     ///< pieces it reads (with long_pooling)
};


/// Pieces a classifier `config` becomes under `request` reads: the request's split, else the
/// config's own when it already reads long sequences, else 4 (2040 k-mers, DNABERT-XL's max_seq_length 2048).
inline std::int64_t long_pooling_split(const bert_config& config, const classifier_request& request) {
  if (request.split > 0) return request.split;
  return config.long_pooling != piece_pooling::none ? config.split : 4;
}

/// A BERT encoder with a head, shaped by Spec (sizes fixed or dynamic), running on backend B.
template <class Spec, class B>
class Bert {
 public:
  using backend_type = B;
  using spec = Spec;

  /// A freshly initialised model (N(0, initializer_range) weights, as Hugging Face).
  Bert(B& backend, bert_config config, bert_head head, std::uint64_t seed = 42)
      : backend_(&backend), config_(std::move(config)), head_(head) {
    Spec::check(config_);
    build();
    params_.initialise(backend, config_.initializer_range, seed);
  }

  /// Loads a Hugging Face model folder for `head`; parameters the folder lacks for that head
  /// (a fresh classifier on a pre-trained checkpoint) are initialised from `seed` and listed in
  /// `new_parameters()`. A quantized folder (`dnabert quantize`, docs/precision.md) loads its int8
  /// weights as the float values they stand for, and keeps them for pack_weights().
  /// With `num_labels` > 0 the classifier gets that many classes; a folder that already holds
  /// a classifier of another size is refused.
  static Bert load(B& backend, const std::string& dir, bert_head head, std::uint64_t seed = 42,
                   std::int64_t num_labels = 0) {
    return load(backend, dir, head, seed, classifier_request{num_labels, std::nullopt, 0});
  }

  /// load() for a classifier shaped by `request`: a folder whose trained classifier has another
  /// shape (classes, concat's pieces, or concat against one input vector) is refused by name.
  static Bert load(B& backend, const std::string& dir, bert_head head, std::uint64_t seed,
                   const classifier_request& request) {
    io::model_folder folder = io::read_model_folder(dir, head);
    bert_config& config = folder.config;
    const bool holds_classifier = folder.tensors.contains("classifier.weight") || folder.tensors.contains("classifier2.weight");
    if (request.num_labels > 0 && request.num_labels != config.num_labels) {
      if (holds_classifier)
        throw config_error(dir + " holds a classifier for " + std::to_string(config.num_labels) + " labels, not " +
                           std::to_string(request.num_labels));
      config.num_labels = request.num_labels;
      config.label_names.clear();
    }
    if (request.long_pooling) {
      const bool concat_before = config.long_pooling == piece_pooling::concat;
      const bool concat_after = *request.long_pooling == piece_pooling::concat;
      const std::int64_t split = long_pooling_split(config, request);
      if (holds_classifier && (concat_before != concat_after || (concat_after && split != config.split)))
        throw config_error(dir + " holds a classifier trained " + describe_pooling(config) + ", not " +
                           describe_pooling(*request.long_pooling, split) + "; start from its encoder's folder");
      config.long_pooling = *request.long_pooling;
      config.split = split;
      config.validate();
      // The head's names follow the pooling: what the folder lacks now is what is initialised.
      folder.initialised.clear();
      for (const parameter_spec& spec : bert_parameters(config, head))
        if (spec.presence == parameter_presence::initialised && !folder.tensors.contains(spec.name))
          folder.initialised.push_back(spec.name);
    }
    Bert model(backend, config, head, parameters_unset{});
    model.assign(folder.tensors);
    model.params_.initialise(backend, model.config_.initializer_range, seed, &folder.initialised);
    model.new_parameters_ = std::move(folder.initialised);
    model.warnings_ = std::move(folder.warnings);
    model.source_ = dir;
    model.quantized_ = std::move(folder.quantized);
    model.bpe_ = std::move(folder.bpe);
    model.tokenizer_json_ = std::move(folder.tokenizer_json);
    return model;
  }

  /// Runs the model on a tokenized batch.
  bert_output<B> forward(nn::forward_context<B>& ctx, const token_batch& batch, const forward_options& options = {}) const {
    const auto rows = static_cast<std::int64_t>(batch.rows);
    const auto seq = static_cast<std::int64_t>(batch.length);
    const bool alibi = Spec::position(config_) == position_encoding::alibi;
    if (seq > config_.max_position_embeddings && !alibi)  // ALiBi has no position table to run out of
      throw input_error("batch of " + std::to_string(seq) + " tokens exceeds max_position_embeddings " +
                        std::to_string(config_.max_position_embeddings));
    const auto layer_count = static_cast<std::int64_t>(layers_.size());
    if (options.last_hidden_state < -1 || options.last_hidden_state > layer_count)
      throw input_error("hidden state " + std::to_string(options.last_hidden_state) + " does not exist: the model has " +
                        std::to_string(layer_count) + " layers, so hidden states 0 to " + std::to_string(layer_count));
    for (const token_id id : batch.input_ids)
      if (id < 0 || id >= config_.vocab_size)
        throw input_error("token id " + std::to_string(id) + " is outside the vocabulary of " +
                          std::to_string(config_.vocab_size) + " tokens");

    // Without padding, packing would change nothing: the batch takes the padded path unchanged.
    std::optional<packed_rows> packing;
    if (options.remove_padding && !options.dnabert_2_5_compat) {  // compat: padding changes the result
      packing = pack_rows(batch);
      if (!packing->has_padding) packing.reset();
    }
    nn::attention_input<B> in;
    in.shape = {rows, seq, config_.num_attention_heads, config_.head_size(), config_.hidden_size, alibi};
    in.key_bias = key_bias(batch, options.dnabert_2_5_compat);
    if (packing) {
      for (std::int64_t r = 0; r < rows; ++r)
        if (packing->first_rows[static_cast<std::size_t>(r)] < 0)
          throw input_error("sequence " + std::to_string(r) + " of the batch has no tokens (attention mask all 0), "
                            "which padding removal cannot pool or attend from");
      in.packed_rows = upload_ids(packing->rows);
    }
    // [PAD] tokens that are attended (DNABERT 2.5's mask, the all-[PAD] row of a long-sequence
    // batch) send no gradient to the word embeddings, as transformers' padding_idx.
    const bool attended_padding =
        options.dnabert_2_5_compat ||
        (ctx.tape.recording() && rows > 0 && batch.origins.size() == batch.rows &&
         batch.origins.back().sequence == empty_piece_sequence);
    nn::batch_ids<B> ids = packing ? packed_ids(batch, *packing)
                                   : nn::batch_ids<B>{upload_ids(batch.input_ids), position_ids(rows, seq),
                                                      upload_ids(token_types(batch)), std::nullopt};
    if (attended_padding) ids.padding_idx = padding_idx_rows(packing ? packing->words(batch) : batch.input_ids);

    bert_output<B> out;
    out.batch = rows;
    out.seq = seq;
    // Each part's marker is recorded before its ops, so backward reaches it once they are done.
    const auto part_starts = [&](int part) {
      if (ctx.gradients_ready) ctx.tape.on_backward([ready = ctx.gradients_ready, part] { ready(part); });
    };
    part_starts(0);
    autograd::var<B> h = embeddings_(ctx, ids);
    // Hidden states are outputs only (no gradient), so their expansion records nothing.
    auto keep_hidden = [&](const autograd::var<B>& x) {
      if (options.hidden_states) out.hidden_states.push_back(in.to_padded(ctx.tape, autograd::var<B>(x.value())).value());
    };
    keep_hidden(h);
    const auto layers_run = options.last_hidden_state < 0 ? layers_.size() : static_cast<std::size_t>(options.last_hidden_state);
    for (std::size_t i = 0; i < layers_run; ++i) {
      const auto& layer = layers_[i];
      tensor<B> probabilities;
      part_starts(static_cast<int>(i) + 1);
      h = layer(ctx, h, in, options.attentions ? &probabilities : nullptr);
      keep_hidden(h);
      if (options.attentions) out.attentions.push_back(probabilities);
    }
    part_starts(static_cast<int>(layers_.size()) + 1);
    out.sequence_output = in.to_padded(ctx.tape, h);
    if (options.last_hidden_state >= 0) return out;
    const bool need_pooled = options.pooled || head_ == bert_head::sequence_classification;
    if (need_pooled) out.pooled = packing ? pooler_(ctx, h, upload_ids(packing->first_rows)) : pooler_(ctx, h, rows, seq);
    if (head_ == bert_head::masked_lm) {
      const bool double_bias = options.dnabert_2_5_compat;
      if (options.mlm_rows.empty()) out.logits = in.to_padded(ctx.tape, mlm_(ctx, h, double_bias));
      else out.logits = mlm_(ctx, selected_rows(ctx, h, options.mlm_rows, packing ? &*packing : nullptr), double_bias);
    }
    if (head_ == bert_head::sequence_classification) {
      if (config_.long_pooling == piece_pooling::none) {
        out.logits = classifier_(ctx, out.pooled);
      } else {  // a batch of whole sequences (make_sequence_batch): one row of logits per sequence
        const piece_layout layout = layout_pieces(batch, config_);
        const auto slots = layout.slots.empty() ? autograd::id_tensor<B>() : upload_ids(layout.slots);
        out.logits = classifier_(ctx, out.pooled, upload_ids(layout.starts), slots);
      }
    }
    return out;
  }

  /// Prepares the per-token linear layers' weights (encoder layers, masked-LM transform) for
  /// inference in the backend's precision (on the CPU: reordered for oneDNN, rounded to
  /// bfloat16, or quantized to int8 per output channel; the int8 weights of a quantized folder are
  /// used as they are, unless training changed them since); forwards whose tape does not record
  /// use them, training forwards never do. Weights changed afterwards (training, assign) need
  /// pack_weights() again, or unpack_weights().
  void pack_weights() {
    for_each_packable([this](auto& part) { part.pack(*backend_, quantized_); });
  }
  /// Drops packed weights: inference uses the float weights again.
  void unpack_weights() {
    for_each_packable([](auto& part) { part.unpack(); });
  }

  /// The configuration (as config.json).
  [[nodiscard]] const bert_config& config() const noexcept { return config_; }
  /// The head on the encoder.
  [[nodiscard]] bert_head head() const noexcept { return head_; }
  /// Sets config.json's problem_type ("" unsets it), which picks the fine-tuning loss and how
  /// predictions read the logits; the parameters are the same for every problem. config_error if invalid.
  void set_problem_type(const std::string& problem_type) {
    bert_config changed = config_;
    changed.problem_type = problem_type;
    changed.validate();
    config_ = std::move(changed);
  }

  /// The part of the model parameter `name` belongs to, as forward() numbers them for
  /// forward_context::gradients_ready: 0 the embeddings, 1 + i encoder layer i, and the number
  /// of layers + 1 the rest (pooler and head).
  [[nodiscard]] int parameter_part(std::string_view name) const {
    constexpr std::string_view embeddings = "bert.embeddings.", layer = "bert.encoder.layer.";
    if (name.starts_with(embeddings)) return 0;
    if (name.starts_with(layer)) return 1 + std::stoi(std::string(name.substr(layer.size())));
    return static_cast<int>(layers_.size()) + 1;
  }
  /// The k-mer size (config_error for a BPE model).
  [[nodiscard]] int k() const { return config_.k(); }
  /// The tokenizer the model reads DNA with: its k-mers, or its folder's BPE tokenizer.json.
  [[nodiscard]] sequence_tokenizer tokenizer() const {
    if (config_.tokens == token_kind::bpe && !bpe_)
      throw config_error("this BPE model was made from a config.json alone and has no tokenizer.json; load it from its "
                         "model folder (with the tokenizer.json) instead");
    return bpe_ ? sequence_tokenizer(bpe_) : sequence_tokenizer(kmer_tokenizer(k()));
  }
  /// A BPE model's tokenizer (from the folder's tokenizer.json); null for a k-mer model.
  [[nodiscard]] const std::shared_ptr<const bpe_tokenizer>& bpe() const noexcept { return bpe_; }
  /// Tokens (k-mers, BPE pieces) one input may hold: 510, fewer when the model has fewer than 512 positions.
  [[nodiscard]] std::size_t max_kmers() const {
    return static_cast<std::size_t>(
        std::min<std::int64_t>(static_cast<std::int64_t>(max_kmers_per_piece), config_.max_position_embeddings - 2));
  }
  /// Nucleotides of the shortest sequence with a token: k for k-mers, 1 for BPE.
  [[nodiscard]] std::size_t min_sequence_length() const {
    return config_.tokens == token_kind::bpe ? 1 : static_cast<std::size_t>(k());
  }
  /// Nucleotides of the longest sequence that always fits one input: max_kmers() + k - 1 for
  /// k-mers; max_kmers() for BPE, whose tokens hold at least one nucleotide (most hold four or more).
  [[nodiscard]] std::size_t max_piece_nucleotides() const { return max_kmers() + min_sequence_length() - 1; }
  /// Every parameter by Hugging Face name, tied ones listed under both names.
  [[nodiscard]] const nn::parameter_list<B>& parameters() const noexcept { return params_; }
  /// Parameters that were initialised because the loaded folder lacked them.
  [[nodiscard]] const std::vector<std::string>& new_parameters() const noexcept { return new_parameters_; }
  /// Warnings from loading (unused tensors, missing vocab.txt, ...).
  [[nodiscard]] const std::vector<std::string>& warnings() const noexcept { return warnings_; }
  /// The folder the model was loaded from (empty for a model made in memory), for messages.
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  /// The backend the model runs on.
  [[nodiscard]] B& backend() const noexcept { return *backend_; }
  /// The int8 weights of the quantized folder the model was loaded from, by name (empty otherwise).
  [[nodiscard]] const int8_weight_map& quantized_weights() const noexcept { return quantized_; }

  /// Host copies of every parameter by name (tied ones under both names).
  [[nodiscard]] io::tensor_map state_dict() const {
    io::tensor_map out;
    for (const auto& item : params_.items()) {
      const auto& value = item.value.value();
      std::vector<float> host(static_cast<std::size_t>(value.numel()));
      if constexpr (std::is_same_v<typename B::value_type, float>) {
        download(*backend_, value.data(), host.data(), value.numel());
      } else {
        std::vector<typename B::value_type> raw(host.size());
        download(*backend_, value.data(), raw.data(), value.numel());
        std::copy(raw.begin(), raw.end(), host.begin());
      }
      out.emplace(item.name, io::make_owned_tensor(value.shape(), std::move(host)));
    }
    return out;
  }

  /// Writes config.json, vocab.txt (a BPE model: tokenizer.json) and model.safetensors into `dir`,
  /// each atomically, in float32 (a model loaded from a quantized folder too:
  /// io::quantize_model_folder makes int8 again); a model whose config.json names remote code
  /// (DNABERT-2's auto_map) gets the folder it was loaded from's *.py files beside it.
  void save(const std::string& dir) const {
    bert_config config = config_;
    config.architectures = {std::string(architecture_of(config, head_))};
    io::write_model_folder(dir, config, state_dict(), {}, tokenizer_json_);
    if (!config.auto_map.empty() && !source_.empty()) io::copy_remote_code(source_, dir);
  }

  /// Sets parameters from host tensors by name (shapes must match); tied aliases follow. On a
  /// host backend float tensors are viewed in place (a memory-mapped checkpoint stays mapped).
  void assign(const io::tensor_map& tensors) {
    for (const auto& item : params_.items()) {
      if (item.alias) continue;
      const auto found = tensors.find(item.name);
      if (found == tensors.end()) continue;
      const auto& source = found->second;
      const auto& target = item.value.value();
      if (source.shape != target.shape()) throw shape_error(item.name, target.shape(), source.shape);
      if constexpr (B::host_memory && std::is_same_v<typename B::value_type, float>) {
        // Zero copy: view the checkpoint's memory map (copy-on-write, so training may modify it).
        if (source.storage != nullptr) {
          item.value.rebind(tensor<B>::view(const_cast<float*>(source.values.data()), target.shape(),
                                            std::const_pointer_cast<void>(source.storage)));
          continue;
        }
        upload(*backend_, source.values.data(), target.data(), target.numel());
      } else if constexpr (std::is_same_v<typename B::value_type, float>) {
        upload(*backend_, source.values.data(), target.data(), target.numel());
      } else {
        std::vector<typename B::value_type> converted(source.values.begin(), source.values.end());
        upload(*backend_, converted.data(), target.data(), target.numel());
      }
    }
  }

 private:
  struct parameters_unset {};

  // "on one piece", "on the mean of up to 4 pieces", ...: a classifier's pooling, for messages.
  static std::string describe_pooling(piece_pooling pooling, std::int64_t split) {
    if (pooling == piece_pooling::none) return "on one piece";
    return "on the " + std::string(piece_pooling_name(pooling)) + " of up to " + std::to_string(split) + " pieces";
  }
  static std::string describe_pooling(const bert_config& config) { return describe_pooling(config.long_pooling, config.split); }
  using layer_type = nn::encoder_layer<B, typename Spec::template feed_forward_block<B>>;
  // A static Spec's layers are held in place, Spec::layers of them; a dynamic one's are as many as
  // config.json says. (Fixed hidden and head sizes in the kernels measured no faster: docs/architecture.md.)
  using layer_stack = std::conditional_t<Spec::layers == dynamic, std::vector<layer_type>,
                                         std::array<layer_type, Spec::layers == dynamic ? 0 : Spec::layers>>;

  // A model with allocated but unset parameters (load() fills them).
  Bert(B& backend, bert_config config, bert_head head, parameters_unset) : backend_(&backend), config_(std::move(config)), head_(head) {
    Spec::check(config_);
    build();
  }

  void build() {
    B& be = *backend_;
    embeddings_ = nn::embeddings<B>(be, params_, config_);
    for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i) {
      if constexpr (Spec::layers == dynamic) layers_.emplace_back(be, params_, i, config_);
      else layers_[static_cast<std::size_t>(i)] = layer_type(be, params_, i, config_);
    }
    pooler_ = nn::pooler<B>(be, params_, config_);
    if (head_ == bert_head::masked_lm) mlm_ = nn::masked_lm_head<B>(be, params_, config_, embeddings_.word);
    if (head_ == bert_head::sequence_classification) classifier_ = nn::classification_head<B>(be, params_, config_);
  }

  // Calls visit on every layer that packs weights: the per-token GEMMs (encoder layers, the
  // masked-LM transform). The pooler and classifier run once per sequence, a negligible share of
  // the work, so they stay unpacked: float32 in int8 mode (as ONNX Runtime's quantize_dynamic
  // leaves their Gemm nodes), saving the accuracy int8 would cost the logits directly.
  template <class Visit>
  void for_each_packable(Visit&& visit) {
    for (auto& layer : layers_) visit(layer);
    if (head_ == bert_head::masked_lm) visit(mlm_.transform);
  }

  autograd::id_tensor<B> upload_ids(const std::vector<token_id>& host) const {
    autograd::id_tensor<B> ids(*backend_, {static_cast<std::int64_t>(host.size())});
    upload(*backend_, host.data(), ids.data(), ids.numel());
    return ids;
  }

  // Rows of h picked by index (a gather whose backward scatters back), after checking them;
  // with `packing`, h holds packed rows and the padded indices are mapped to them.
  autograd::var<B> selected_rows(nn::forward_context<B>& ctx, const autograd::var<B>& h,
                                 std::span<const std::int32_t> rows, const packed_rows* packing) const {
    if (packing != nullptr) return autograd::embedding(ctx.tape, upload_ids(packing->packed_indices(rows, "MLM row")), h);
    const std::int64_t available = h.value().rows();
    for (const std::int32_t r : rows)
      if (r < 0 || r >= available)
        throw input_error("MLM row " + std::to_string(r) + " is outside the batch of " + std::to_string(available) +
                          " token rows");
    return autograd::embedding(ctx.tape, upload_ids(std::vector<token_id>(rows.begin(), rows.end())), h);
  }

  // Word, position (the column) and token-type ids of the real tokens only, in packed order.
  nn::batch_ids<B> packed_ids(const token_batch& batch, const packed_rows& packing) const {
    std::vector<std::int32_t> positions, types;
    positions.reserve(packing.rows.size());
    types.reserve(packing.rows.size());
    const auto all_types = token_types(batch);
    for (const std::int32_t r : packing.rows) {
      positions.push_back(static_cast<std::int32_t>(r % packing.seq));
      types.push_back(all_types[static_cast<std::size_t>(r)]);
    }
    return {upload_ids(packing.words(batch)), upload_ids(positions), upload_ids(types), std::nullopt};
  }

  // The batch's token type ids ([rows * length]; zeros when it has none), checked against the
  // model's type_vocab_size.
  std::vector<token_id> token_types(const token_batch& batch) const {
    const std::size_t count = batch.rows * batch.length;
    if (batch.token_type_ids.empty()) return std::vector<token_id>(count, 0);
    if (batch.token_type_ids.size() != count)
      throw input_error("token_type_ids hold " + std::to_string(batch.token_type_ids.size()) + " ids for a batch of " +
                        std::to_string(count) + " tokens");
    for (const std::int32_t type : batch.token_type_ids)
      if (type < 0 || type >= config_.type_vocab_size)
        throw input_error("token type " + std::to_string(type) + " is outside the model's type_vocab_size " +
                          std::to_string(config_.type_vocab_size));
    return batch.token_type_ids;
  }

  // The word lookups `looked_up` (in the order the embeddings read them) split by whether they are
  // pad_token_id (nn::padding_idx_rows); none when none is, so that the plain lookup runs.
  std::optional<nn::padding_idx_rows<B>> padding_idx_rows(const std::vector<token_id>& looked_up) const {
    std::vector<token_id> rows, words, pad_rows, pad_words;
    for (std::size_t i = 0; i < looked_up.size(); ++i) {
      const bool pad = looked_up[i] == config_.pad_token_id;
      (pad ? pad_rows : rows).push_back(static_cast<token_id>(i));
      (pad ? pad_words : words).push_back(looked_up[i]);
    }
    if (pad_rows.empty()) return std::nullopt;
    return nn::padding_idx_rows<B>{upload_ids(rows), upload_ids(words), upload_ids(pad_rows), upload_ids(pad_words)};
  }

  autograd::id_tensor<B> position_ids(std::int64_t rows, std::int64_t seq) const {
    std::vector<std::int32_t> host(static_cast<std::size_t>(rows * seq));
    for (std::size_t i = 0; i < host.size(); ++i) host[i] = static_cast<std::int32_t>(static_cast<std::int64_t>(i) % seq);
    return upload_ids(host);
  }

  // Hugging Face's extended attention mask: (1 - mask) * -10000 added to every query's scores;
  // with `raw_mask` (DNABERT 2.5 compatibility) the 0/1 mask itself, as DNABERT's HEAD adds it.
  tensor<B> key_bias(const token_batch& batch, bool raw_mask) const {
    std::vector<typename B::value_type> host(batch.attention_mask.size());
    for (std::size_t i = 0; i < host.size(); ++i)
      host[i] = raw_mask ? (batch.attention_mask[i] ? 1 : 0) : (batch.attention_mask[i] ? 0 : -10000);
    tensor<B> bias(*backend_, {static_cast<std::int64_t>(batch.rows), static_cast<std::int64_t>(batch.length)});
    upload(*backend_, host.data(), bias.data(), bias.numel());
    return bias;
  }

  B* backend_;
  bert_config config_;
  bert_head head_;
  nn::parameter_list<B> params_;
  nn::embeddings<B> embeddings_;
  layer_stack layers_;
  nn::pooler<B> pooler_;
  nn::masked_lm_head<B> mlm_;
  nn::classification_head<B> classifier_;
  std::vector<std::string> new_parameters_;
  std::vector<std::string> warnings_;
  std::string source_;
  int8_weight_map quantized_;
  std::shared_ptr<const bpe_tokenizer> bpe_;
  std::string tokenizer_json_;  // a BPE model's tokenizer.json, saved with it
};

}  // namespace dnabert
