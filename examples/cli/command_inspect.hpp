#pragma once
// `dnabert inspect`: read a model folder, check it, and list what it holds.

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>

#include <dnabert/dnabert.hpp>

#include "device.hpp"

namespace dnabert::cli {

/// What the folder's heads are good for: a trained classifier (its labels, by name when config.json
/// has id2label), a masked-LM head, both, or neither; a folder without a trained classifier says
/// what to do before the commands that need one.
inline std::string heads_summary(const io::model_folder& folder) {
  const auto& c = folder.config;
  const bool mlm = io::holds_head(folder, bert_head::masked_lm);
  if (io::holds_head(folder, bert_head::sequence_classification)) {
    std::string text = std::string(mlm ? "masked-LM and " : "") + "trained ";
    if (c.num_labels == 1) return text + "regression head (1 score)";
    text += "classifier, " + std::to_string(c.num_labels) + " labels";
    for (std::size_t i = 0; i < c.label_names.size(); ++i) text += (i ? ", " : ": ") + c.label_names[i];
    return text;
  }
  return std::string(mlm ? "masked-LM (pre-trained)" : "none (encoder only)") +
         "; no trained classifier: fine-tune it (dnabert finetune) before predict, evaluate, scan, variants, mutate "
         "or motifs";
}

/// Registers `inspect`.
inline void add_inspect_command(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto head_name = std::make_shared<std::string>("auto");
  auto* cmd = app.add_subcommand("inspect", "Check a Hugging Face model folder and list its tensors");
  cmd->add_option("-m,--model", *dir, "model folder (config.json, vocab.txt, weights)")->required();
  cmd->add_option("--head", *head_name, "auto (from config.json), mlm, classifier or none")
      ->check(CLI::IsMember({"auto", "mlm", "classifier", "none"}));
  cmd->callback([dir, head_name] {
    bert_head head = bert_head::none;
    if (*head_name == "mlm") head = bert_head::masked_lm;
    if (*head_name == "classifier") head = bert_head::sequence_classification;
    if (*head_name == "auto") head = head_for_architectures(io::read_folder_config(*dir).architectures);
    const auto folder = io::read_model_folder(*dir, head);
    const auto& c = folder.config;
    std::cout << "model:      " << *dir << " (" << architecture_name(head) << ")\n"
              << "weights:    " << folder.weights_path << '\n'
              << (folder.bpe ? "tokens:     BPE, tokenizer.json's " + std::to_string(folder.bpe->vocab_size()) + " (vocab "
                             : "k:          " + std::to_string(folder.k) + " (vocab ")
              << c.vocab_size << ")\n"
              << "blocks:     " << position_encoding_name(c.position) << " positions, " << feed_forward_name(c.feed_forward)
              << " feed-forward" << (c.mosaic_layout() ? " (DNABERT-2's MosaicBERT)" : "") << '\n'
              << "layers:     " << c.num_hidden_layers << ", hidden " << c.hidden_size << ", heads "
              << c.num_attention_heads << ", intermediate " << c.intermediate_size << ", positions "
              << c.max_position_embeddings << '\n'
              << "heads:      " << heads_summary(folder) << '\n';
    std::int64_t total = 0;
    for (const auto& [name, tensor] : folder.tensors) {
      std::int64_t count = 1;
      for (const auto d : tensor.shape) count *= d;
      total += count;
      std::cout << "  " << name << ' ' << shape_to_string(tensor.shape) << (folder.quantized.contains(name) ? " int8" : "")
                << '\n';
    }
    std::cout << "tensors:    " << folder.tensors.size() << ", " << total << " values (tied ones counted twice)\n";
    if (!folder.quantized.empty())
      std::cout << "int8:       " << folder.quantized.size()
                << " weights with a scale per output channel (a `dnabert quantize` folder: docs/precision.md)\n";
    for (const auto& name : folder.initialised) std::cout << "new:        " << name << " (absent; would be initialised)\n";
    print_warnings(folder.warnings);
  });
}

}  // namespace dnabert::cli
