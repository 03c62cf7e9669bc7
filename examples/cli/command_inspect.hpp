#pragma once
// `dnabert inspect`: read a model folder, check it, and list what it holds.

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>

#include <dnabert/dnabert.hpp>

namespace dnabert::cli {

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
    if (*head_name == "auto") head = head_for_architectures(io::read_config_json(*dir + "/config.json").architectures);
    const auto folder = io::read_model_folder(*dir, head);
    const auto& c = folder.config;
    std::cout << "model:      " << *dir << " (" << architecture_name(head) << ")\n"
              << "weights:    " << folder.weights_path << '\n'
              << "k:          " << folder.k << " (vocab " << c.vocab_size << ")\n"
              << "layers:     " << c.num_hidden_layers << ", hidden " << c.hidden_size << ", heads "
              << c.num_attention_heads << ", intermediate " << c.intermediate_size << ", positions "
              << c.max_position_embeddings << '\n'
              << "labels:     " << c.num_labels << '\n';
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
    for (const auto& warning : folder.warnings) std::cerr << "warning: " << warning << '\n';
  });
}

}  // namespace dnabert::cli
