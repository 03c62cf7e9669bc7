#pragma once
// Compile-time model shapes. Each size may be `dynamic` (read from config.json at run time);
// sizes known at compile time are checked by static_assert, and a config.json that does not
// match them is refused at load time with the same wording.

#include <cstdint>
#include <string>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/vocabulary.hpp"

namespace dnabert {

/// The shape of a BERT: k-mer size, layers, hidden width, heads, FFN width, positions, labels.
template <int K = dynamic, int Layers = dynamic, int Hidden = dynamic, int Heads = dynamic, int Intermediate = dynamic,
          int MaxPositions = dynamic, int Labels = dynamic>
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

  static constexpr int k = K;
  static constexpr int layers = Layers;
  static constexpr int hidden = Hidden;
  static constexpr int heads = Heads;
  static constexpr int intermediate = Intermediate;
  static constexpr int max_positions = MaxPositions;
  static constexpr int labels = Labels;

  /// Throws config_error unless `config` agrees with every size fixed at compile time.
  static void check(const bert_config& config) {
    config.validate();
    expect("k-mer size (from vocab_size)", K, config.k());
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

/// Every size read from config.json.
using dynamic_bert = bert_spec<>;

/// DNABERT's released shape for k: 12 layers, hidden 768, 12 heads, FFN 3072, 512 positions.
template <int K>
using dnabert_base = bert_spec<K, 12, 768, 12, 3072, 512>;

using DNABERT3 = dnabert_base<3>;  ///< DNABERT-3 (vocab 69)
using DNABERT4 = dnabert_base<4>;  ///< DNABERT-4 (vocab 261)
using DNABERT5 = dnabert_base<5>;  ///< DNABERT-5 (vocab 1029)
using DNABERT6 = dnabert_base<6>;  ///< DNABERT-6 (vocab 4101)

}  // namespace dnabert
