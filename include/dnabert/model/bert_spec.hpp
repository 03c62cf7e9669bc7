#pragma once
// Compile-time model shapes and architecture policies. Each size may be `dynamic` (read from
// config.json at run time), and so may each policy (model/policies.hpp); sizes known at compile
// time are checked by static_assert, and a config.json that does not match the spec is refused at
// load time with the same wording.

#include <cstdint>
#include <string>
#include <type_traits>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/vocabulary.hpp"
#include "dnabert/model/policies.hpp"

namespace dnabert {

/// The shape of a BERT: k-mer size, layers, hidden width, heads, FFN width, positions, labels; and
/// its architecture: Position (policy::absolute_positions | alibi | dynamic_positions),
/// FeedForward (policy::gelu_mlp | geglu | dynamic_feed_forward), Tokens (policy::kmer_tokens |
/// bpe_tokens | dynamic_tokens). Left out, the policies are DNABERT's when K is fixed (k-mers,
/// absolute positions, GELU MLP: the specs written before the policies existed keep their meaning),
/// and read from the model folder when K is dynamic.
template <int K = dynamic, int Layers = dynamic, int Hidden = dynamic, int Heads = dynamic, int Intermediate = dynamic,
          int MaxPositions = dynamic, int Labels = dynamic,
          class Position = std::conditional_t<K == dynamic, policy::dynamic_positions, policy::absolute_positions>,
          class FeedForward = std::conditional_t<K == dynamic, policy::dynamic_feed_forward, policy::gelu_mlp>,
          class Tokens = std::conditional_t<K == dynamic, policy::dynamic_tokens, policy::kmer_tokens>>
struct bert_spec {
  static_assert(K == dynamic || (K >= 1 && K <= max_k), "k-mer size must be between 1 and 15");
  static_assert(Layers == dynamic || Layers > 0, "layer count must be positive");
  static_assert(Hidden == dynamic || Hidden > 0, "hidden size must be positive");
  static_assert(Heads == dynamic || Heads > 0, "head count must be positive");
  static_assert(Hidden == dynamic || Heads == dynamic || Hidden % Heads == 0,
                "hidden size must be a multiple of the head count");
  static_assert(Intermediate == dynamic || Intermediate > 0, "intermediate size must be positive");
  static_assert(MaxPositions == dynamic || MaxPositions >= 3, "max positions must leave room for [CLS], a k-mer, [SEP]");
  static_assert(Labels == dynamic || Labels > 0, "label count must be positive");
  static_assert(K == dynamic || Tokens::fixed != token_kind::bpe, "a k-mer size makes no sense with BPE tokens");

  static constexpr int k = K;
  static constexpr int layers = Layers;
  static constexpr int hidden = Hidden;
  static constexpr int heads = Heads;
  static constexpr int intermediate = Intermediate;
  static constexpr int max_positions = MaxPositions;
  static constexpr int labels = Labels;
  using position_policy = Position;
  using feed_forward_policy = FeedForward;
  using token_policy = Tokens;
  /// The feed-forward block of each layer on backend B.
  template <class B>
  using feed_forward_block = typename FeedForward::template block<B>;

  /// The position encoding a model of this spec uses: the compiled one, or config's.
  static constexpr position_encoding position(const bert_config& config) {
    return Position::fixed ? *Position::fixed : config.position;
  }

  /// Throws config_error unless `config` agrees with every size fixed at compile time.
  static void check(const bert_config& config) {
    config.validate();
    policy::expect_choice("position encoding", Position::fixed, config.position,
                          Position::fixed ? position_encoding_name(*Position::fixed) : "", position_encoding_name(config.position));
    policy::expect_choice("feed-forward block", FeedForward::fixed, config.feed_forward,
                          FeedForward::fixed ? feed_forward_name(*FeedForward::fixed) : "", feed_forward_name(config.feed_forward));
    const auto token_name = [](token_kind kind) { return kind == token_kind::bpe ? "BPE (tokenizer.json)" : "k-mers"; };
    policy::expect_choice("tokenizer", Tokens::fixed, config.tokens, Tokens::fixed ? token_name(*Tokens::fixed) : "",
                          token_name(config.tokens));
    if (K != dynamic) expect("k-mer size (from vocab_size)", K, config.k());
    expect("num_hidden_layers", Layers, config.num_hidden_layers);
    expect("hidden_size", Hidden, config.hidden_size);
    expect("num_attention_heads", Heads, config.num_attention_heads);
    expect("intermediate_size", Intermediate, config.intermediate_size);
    expect("max_position_embeddings", MaxPositions, config.max_position_embeddings);
    expect("num_labels", Labels, config.num_labels);
  }

 private:
  static void expect(const char* field, int compiled, std::int64_t found) {
    if (compiled != dynamic && compiled != found)
      throw config_error("config.json says " + std::string(field) + " " + std::to_string(found) +
                         " but the model is compiled for " + std::to_string(compiled));
  }
};

/// Every size and every architecture choice read from the model folder: DNABERT and DNABERT-2 folders load.
using dynamic_bert = bert_spec<>;

/// BERT's architecture as DNABERT uses it, sizes as given (k-mers, absolute positions, GELU MLP).
template <int K = dynamic, int Layers = dynamic, int Hidden = dynamic, int Heads = dynamic, int Intermediate = dynamic,
          int MaxPositions = dynamic, int Labels = dynamic>
using dnabert_spec = bert_spec<K, Layers, Hidden, Heads, Intermediate, MaxPositions, Labels, policy::absolute_positions,
                               policy::gelu_mlp, policy::kmer_tokens>;

/// DNABERT-2's architecture (MosaicBERT: BPE tokens, ALiBi, GEGLU), sizes as given.
template <int Layers = dynamic, int Hidden = dynamic, int Heads = dynamic, int Intermediate = dynamic,
          int MaxPositions = dynamic, int Labels = dynamic>
using dnabert2_spec = bert_spec<dynamic, Layers, Hidden, Heads, Intermediate, MaxPositions, Labels, policy::alibi,
                                policy::geglu, policy::bpe_tokens>;

/// DNABERT's released shape for k: 12 layers, hidden 768, 12 heads, FFN 3072, 512 positions.
template <int K>
using dnabert_base = dnabert_spec<K, 12, 768, 12, 3072, 512>;

using DNABERT3 = dnabert_base<3>;  ///< DNABERT-3 (vocab 69)
using DNABERT4 = dnabert_base<4>;  ///< DNABERT-4 (vocab 261)
using DNABERT5 = dnabert_base<5>;  ///< DNABERT-5 (vocab 1029)
using DNABERT6 = dnabert_base<6>;  ///< DNABERT-6 (vocab 4101)
/// DNABERT-2-117M's shape: 12 layers, hidden 768, 12 heads, GEGLU width 3072, BPE vocabulary 4096.
using DNABERT2_117M = dnabert2_spec<12, 768, 12, 3072, 512>;

}  // namespace dnabert
