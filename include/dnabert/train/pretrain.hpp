#pragma once
// Masked-language-model pre-training as DNABERT's run_pretrain.py: pieces cut anew each epoch,
// shuffled, masked in k-mer spans, the loss over masked positions only; checkpoints and resume.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "dnabert/model/bert.hpp"
#include "dnabert/tokenizer/sequence_tokenizer.hpp"
#include "dnabert/train/dataset.hpp"
#include "dnabert/train/masking.hpp"
#include "dnabert/train/pretraining_corpus.hpp"
#include "dnabert/train/training_loop.hpp"

namespace dnabert::train {

/// Pre-training settings; the defaults are DNABERT's (the run_pretrain.py command in section 2.2 of
/// https://github.com/jerryji1993/DNABERT/blob/master/README.md) except where noted. eval_steps 0
/// evaluates (with an evaluation corpus) at the end only.
struct pretrain_options : run_settings {
  pretrain_options() { save_steps = 500; }  // DNABERT's --save_steps
  int epochs = 1;                                  ///< epochs when max_steps is 0
  std::int64_t max_steps = 0;                      ///< > 0: optimizer steps to run (DNABERT: 200000)
  std::int64_t batch_size = 10;                    ///< sequences per micro-batch (DNABERT: 10 per GPU, 25 accumulated, 8 GPUs)
  adamw_options optimizer = adamw_options::pretraining();
  std::int64_t warmup_steps = -1;                  ///< -1: DNABERT's 10000, at most 5 % of the steps
  std::size_t max_kmers = 0;                       ///< k-mers in a full piece; 0: the model's max_kmers() (DNABERT: 510)
  double mask_probability = 0;                     ///< span-centre probability p; 0: DNABERT's for k (default_mask_probability)
  n_run_handling n_runs = n_run_handling::drop;
  std::int64_t logging_steps = 1;
  /// DNABERT 2.5 compatibility (forward_options::dnabert_2_5_compat; off by default): the masked-LM
  /// bias added twice, and padding attended as a token, as DNABERT's run_pretrain.py passes no
  /// attention mask.
  bool dnabert_2_5_compat = false;
};

/// The masked batch of `pieces` (views of corpus text) for masking draw `draw`, and the rows of
/// [batch*seq] whose tokens are predicted, with their labels.
struct mlm_batch {
  token_batch inputs;
  std::vector<std::int32_t> rows;
  std::vector<std::int32_t> labels;
  std::int64_t tokens = 0;   ///< real tokens, [CLS]/[SEP] included
  std::int64_t masked = 0;   ///< tokens predicted
};

namespace detail {

/// Tokenizes `pieces` (each at most max_kmers tokens kept), masks them with draw `draw`, and keeps
/// only the predicted positions' rows and labels.
inline mlm_batch make_mlm_batch(const pretraining_corpus& corpus, std::span<const corpus_piece> pieces,
                                const sequence_tokenizer& tokenizer, std::size_t max_kmers,
                                const masking_options& masking, std::uint64_t draw) {
  std::vector<token_piece> tokens;
  tokens.reserve(pieces.size());
  mlm_batch out;
  std::string decoded;  // a packed corpus's piece, decoded
  for (const auto& piece : pieces) {
    auto encoded = tokenizer.encode(corpus.text(piece, decoded), "piece", 0, max_kmers);
    out.tokens += static_cast<std::int64_t>(encoded.front().ids.size());
    tokens.push_back(std::move(encoded.front()));
  }
  const token_batch plain = make_batch(tokens, 0, tokenizer.specials().pad);
  masked_batch masked = mask_tokens(plain, masking, draw);
  out.inputs = plain;
  out.inputs.input_ids = std::move(masked.input_ids);
  for (std::size_t i = 0; i < masked.labels.size(); ++i)
    if (masked.labels[i] != ignored_label) {
      out.rows.push_back(static_cast<std::int32_t>(i));
      out.labels.push_back(masked.labels[i]);
    }
  out.masked = static_cast<std::int64_t>(out.rows.size());
  if (out.rows.empty()) {  // nothing drawn (short pieces): one ignored row keeps the shapes valid, loss 0
    out.rows.push_back(0);
    out.labels.push_back(ignored_label);
  }
  return out;
}

/// Masked-LM loss of `model` on `batch`: logits only at the predicted rows. `compat`: DNABERT 2.5
/// compatibility, with no attention mask (every position, padding too, a token).
template <class Spec, class B>
autograd::var<B> mlm_loss(const Bert<Spec, B>& model, nn::forward_context<B>& ctx, const mlm_batch& batch,
                          bool compat = false) {
  forward_options options;
  options.pooled = false;
  options.mlm_rows = batch.rows;
  options.remove_padding = true;  // the loss reads masked real tokens only
  options.dnabert_2_5_compat = compat;
  token_batch unmasked;
  if (compat) {  // as attention_mask=None, which transformers turns into all ones
    unmasked = batch.inputs;
    std::fill(unmasked.attention_mask.begin(), unmasked.attention_mask.end(), 1);
  }
  const auto out = model.forward(ctx, compat ? unmasked : batch.inputs, options);
  autograd::id_tensor<B> labels(model.backend(), {static_cast<std::int64_t>(batch.labels.size())});
  upload(model.backend(), batch.labels.data(), labels.data(), labels.numel());
  return autograd::cross_entropy(ctx.tape, out.logits, labels);
}

/// Which epoch and batch a micro-batch index falls in: epochs differ in their piece counts, so
/// they are laid out one after the other from epoch 0 (cutting is cheap next to training). An
/// epoch's pieces are neither held nor is their shuffled order: the order is an
/// index_permutation, and a piece is found again by walking from the nearest of at most
/// `max_walk_states` saved walk states (24 bytes each), so the plan takes 1.5 MiB per process at
/// most, whatever the genome (a human genome has 7.4 million pieces of 510 6-mers: a piece is
/// then re-cut from at most 127 pieces before it, microseconds against a batch's training).
class epoch_plan {
 public:
  /// Walk states kept per epoch by default, at most.
  static constexpr std::size_t default_max_walk_states = std::size_t{1} << 16;

  /// Plans `corpus`'s micro-batches of `batch_size` pieces, keeping at most `max_walk_states`
  /// (at least 1) walk states.
  epoch_plan(const pretraining_corpus& corpus, const piece_options& pieces, std::int64_t batch_size,
             std::size_t max_walk_states = default_max_walk_states)
      : corpus_(&corpus), pieces_(pieces), batch_size_(batch_size), max_walk_states_(std::max<std::size_t>(max_walk_states, 1)),
        order_(0, 0, 0) {
    load(0);
  }

  /// The pieces of micro-batch `index`, and whether it ends its epoch; indices only grow. The
  /// view is valid until the next call.
  std::span<const corpus_piece> batch(std::int64_t index, std::int64_t& epoch, bool& ends_epoch) {
    while (index >= first_ + batches_) {
      first_ += batches_;
      load(epoch_ + 1);
    }
    const auto begin = static_cast<std::uint64_t>(index - first_) * static_cast<std::uint64_t>(batch_size_);
    const auto end = std::min(begin + static_cast<std::uint64_t>(batch_size_), order_.size());
    batch_.clear();
    for (std::uint64_t i = begin; i < end; ++i) batch_.push_back(piece(order_(i)));
    epoch = epoch_;
    ends_epoch = index == first_ + batches_ - 1;
    return batch_;
  }

  /// Micro-batches in each of the first `epochs` epochs, summed.
  static std::int64_t micro_batches(const pretraining_corpus& corpus, const piece_options& pieces,
                                    std::int64_t batch_size, int epochs) {
    std::int64_t total = 0;
    for (int e = 0; e < epochs; ++e) {
      const auto n = static_cast<std::int64_t>(corpus.epoch_piece_count(pieces, static_cast<std::uint64_t>(e)));
      total += (n + batch_size - 1) / batch_size;
    }
    return total;
  }

 private:
  // Walks the epoch once, keeping the walk state before every stride_-th piece; when the states
  // fill up, every other one goes and the stride doubles.
  void load(std::int64_t epoch) {
    epoch_ = epoch;
    states_.clear();
    stride_ = 1;
    pretraining_corpus::piece_walker walker(*corpus_, pieces_, static_cast<std::uint64_t>(epoch));
    std::uint64_t count = 0;
    for (corpus_piece piece;; ++count) {
      if (count % stride_ == 0 && states_.size() == max_walk_states_) {
        for (std::size_t i = 0; 2 * i < states_.size(); ++i) states_[i] = states_[2 * i];
        states_.resize((states_.size() + 1) / 2);
        stride_ *= 2;
      }
      if (count % stride_ == 0) states_.push_back(walker.state());
      if (!walker.next(piece)) break;
    }
    if (count == 0) throw input_error("the pre-training input has no sequence of at least k nucleotides");
    order_ = index_permutation(count, pieces_.seed, static_cast<std::uint64_t>(epoch));
    batches_ = static_cast<std::int64_t>((count + static_cast<std::uint64_t>(batch_size_) - 1) /
                                         static_cast<std::uint64_t>(batch_size_));
  }

  // The epoch's piece `index` in corpus order, re-cut from the nearest state before it.
  [[nodiscard]] corpus_piece piece(std::uint64_t index) const {
    pretraining_corpus::piece_walker walker(*corpus_, pieces_, static_cast<std::uint64_t>(epoch_), states_[index / stride_]);
    corpus_piece found;
    for (std::uint64_t skip = index % stride_; skip-- > 0;) walker.next(found);
    walker.next(found);
    return found;
  }

  const pretraining_corpus* corpus_;
  piece_options pieces_;
  std::int64_t batch_size_;
  std::size_t max_walk_states_;
  std::int64_t epoch_ = 0;
  std::int64_t first_ = 0;
  std::int64_t batches_ = 0;
  std::vector<piece_walk_state> states_;  // the walk state before pieces 0, stride_, 2·stride_, ...
  std::uint64_t stride_ = 1;
  index_permutation order_;               // the shuffled order: batch position -> piece index
  std::vector<corpus_piece> batch_;       // the batch last asked for
};

/// Masking draws of evaluation batches: a stream no training step reaches.
inline constexpr std::uint64_t evaluation_draws = std::uint64_t{1} << 62;

}  // namespace detail

/// Pre-trains `model` (a BertForMaskedLM) on `corpus`; with `eval_corpus` non-empty, scores the
/// masked-LM loss on its epoch-0 pieces (fixed masking) every options.eval_steps. Writes
/// checkpoint-<step>/ folders, log.jsonl, curves.svg and the final model into `output_dir`.
template <class Spec, class B>
training_summary pretrain(Bert<Spec, B>& model, const pretraining_corpus& corpus, const pretrain_options& options,
                          const std::string& output_dir, const pretraining_corpus* eval_corpus = nullptr) {
  if (model.head() != bert_head::masked_lm) throw config_error("pre-training needs a BertForMaskedLM model");
  if (options.batch_size < 1) throw config_error("batch size must be at least 1");
  options.check();
  const sequence_tokenizer tokenizer = model.tokenizer();
  // DNABERT-2's BPE: each token masked on its own (a span of 1, 15 %, as BERT), pieces of 4 nt per
  // token allowed (its tokens average about 4.5 nt; tokens past max_kmers are cut).
  const int k = tokenizer.is_bpe() ? 1 : tokenizer.k();
  if (options.max_kmers > model.max_kmers())
    throw config_error("pieces of " + std::to_string(options.max_kmers) + " k-mers do not fit the model's " +
                       std::to_string(model.max_kmers()) + " (max_position_embeddings " +
                       std::to_string(model.config().max_position_embeddings) + " less [CLS] and [SEP])");
  const auto max_kmers = options.max_kmers > 0 ? options.max_kmers : model.max_kmers();
  piece_options pieces{k, options.seed, options.n_runs, false, tokenizer.is_bpe() ? 4 * max_kmers : max_kmers};
  masking_options masking = default_masking_options(k, options.seed);
  masking.vocab_size = static_cast<token_id>(model.config().vocab_size);
  masking.specials = tokenizer.specials();
  if (options.mask_probability > 0) masking.centre_probability = options.mask_probability;

  training_options loop;
  static_cast<run_settings&>(loop) = options;
  loop.kind = "pretrain";
  loop.batch_size = options.batch_size;
  loop.total_steps = options.max_steps > 0
                         ? options.max_steps
                         : (detail::epoch_plan::micro_batches(corpus, pieces, options.batch_size, options.epochs) +
                            options.micro_batches_per_step() - 1) / options.micro_batches_per_step();
  loop.optimizer = options.optimizer;
  loop.warmup_steps = options.warmup_steps >= 0 ? options.warmup_steps : std::min<std::int64_t>(10000, loop.total_steps / 20);
  loop.logging_steps = options.logging_steps;
  if (options.eval_steps <= 0) loop.eval_steps = loop.total_steps;

  detail::epoch_plan plan(corpus, pieces, options.batch_size);
  auto micro_batch = [&](nn::forward_context<B>& ctx, std::int64_t index) {
    micro_batch_loss<B> part;
    const auto batch = detail::make_mlm_batch(corpus, plan.batch(index, part.epoch, part.ends_epoch), tokenizer,
                                              max_kmers, masking, static_cast<std::uint64_t>(index));
    part.tokens = batch.tokens;
    part.loss = detail::mlm_loss(model, ctx, batch, options.dnabert_2_5_compat);
    return part;
  };

  std::function<evaluation(std::int64_t)> evaluate;
  std::vector<corpus_piece> held_out;
  if (eval_corpus != nullptr) {
    held_out = eval_corpus->epoch_pieces(pieces, 0);
    evaluate = [&](std::int64_t step) {
      double weighted = 0, predicted = 0;
      const auto size = static_cast<std::size_t>(options.batch_size);
      for (std::size_t start = 0; start < held_out.size(); start += size) {
        const std::span<const corpus_piece> part(held_out.data() + start, std::min(size, held_out.size() - start));
        const auto batch = detail::make_mlm_batch(*eval_corpus, part, tokenizer, max_kmers, masking,
                                                  detail::evaluation_draws + start);
        autograd::tape<B> tape(model.backend());
        nn::forward_context<B> ctx{tape};
        typename B::value_type loss{};
        download(model.backend(), detail::mlm_loss(model, ctx, batch, options.dnabert_2_5_compat).value().data(), &loss, 1);
        weighted += static_cast<double>(loss) * static_cast<double>(batch.masked);
        predicted += static_cast<double>(batch.masked);
      }
      const double loss = predicted > 0 ? weighted / predicted : 0.0;
      return evaluation{step, loss, {{"perplexity", std::exp(loss)}, {"masked_tokens", predicted}}, -loss};
    };
  }
  return run_training(model, loop, output_dir, micro_batch, evaluate);
}

}  // namespace dnabert::train
