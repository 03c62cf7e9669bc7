#pragma once
// The architecture policies of a model spec: where position information comes from, which
// feed-forward block each layer has, and what token ids stand for. Each is fixed at compile time
// (the layers are then built for it, and a config.json that says otherwise is refused at load) or
// `dynamic_*`, read from the model folder at run time. See docs/architecture.md, "Composing an
// architecture".

#include <optional>
#include <string>
#include <string_view>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/nn/feed_forward.hpp"
#include "dnabert/nn/feed_forward_choice.hpp"
#include "dnabert/nn/gated_feed_forward.hpp"

namespace dnabert::policy {

/// A choice fixed at compile time: `fixed` holds it.
template <auto Value>
struct chosen {
  static constexpr std::optional<decltype(Value)> fixed = Value;
};
/// A choice of type E read from the model folder at run time: `fixed` is empty.
template <class E>
struct from_folder {
  static constexpr std::optional<E> fixed = std::nullopt;
};

/// Learned absolute position embeddings (BERT, DNABERT).
struct absolute_positions : chosen<position_encoding::absolute> {};
/// ALiBi: no position embeddings, a distance bias in attention (DNABERT-2).
struct alibi : chosen<position_encoding::alibi> {};
/// Whichever config.json describes.
struct dynamic_positions : from_folder<position_encoding> {};

/// BERT's feed-forward: dense, GELU, dense.
struct gelu_mlp : chosen<feed_forward_kind::gelu_mlp> {
  template <class B>
  using block = nn::feed_forward<B>;
};
/// DNABERT-2's GEGLU feed-forward.
struct geglu : chosen<feed_forward_kind::geglu> {
  template <class B>
  using block = nn::gated_feed_forward<B>;
};
/// Whichever config.json describes (one branch per layer call).
struct dynamic_feed_forward : from_folder<feed_forward_kind> {
  template <class B>
  using block = nn::feed_forward_choice<B>;
};

/// DNABERT's overlapping k-mers.
struct kmer_tokens : chosen<token_kind::kmer> {};
/// Byte-pair encoding from the folder's tokenizer.json (DNABERT-2).
struct bpe_tokens : chosen<token_kind::bpe> {};
/// Whichever the folder holds: tokenizer.json means BPE, otherwise k-mers.
struct dynamic_tokens : from_folder<token_kind> {};

/// Throws config_error when `compiled` is fixed and differs from `found`; `what` names the choice.
template <class Choice>
void expect_choice(std::string_view what, const std::optional<Choice>& compiled, Choice found, std::string_view compiled_name,
                   std::string_view found_name) {
  if (compiled && *compiled != found)
    throw config_error("the model folder's " + std::string(what) + " is " + std::string(found_name) +
                       " but the model is compiled for " + std::string(compiled_name));
}

}  // namespace dnabert::policy
