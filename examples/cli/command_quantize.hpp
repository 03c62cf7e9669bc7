#pragma once
// `dnabert quantize`: a model folder rewritten with int8 linear weights (io::quantize_model_folder,
// docs/precision.md), which `--precision int8` then loads without quantizing again.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <dnabert/dnabert.hpp>

#include "device.hpp"

namespace dnabert::cli {

/// "12345678 bytes (11.8 MiB)".
inline std::string byte_size_text(std::uintmax_t bytes) {
  std::ostringstream text;
  text << bytes << " bytes (" << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / (1024.0 * 1024.0)
       << " MiB)";
  return text.str();
}

/// Registers `quantize`.
inline void add_quantize_command(CLI::App& app) {
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "quantize", "Write a model folder whose per-token linear weights are int8 per output channel, for --precision int8");
  cmd->add_option("-m,--model", *from, "float32 model folder (config.json, vocab.txt, weights)")->required();
  cmd->add_option("-o,--output", *to,
                  "folder to write: config.json, vocab.txt and model.safetensors with int8 weights and their "
                  "float32 scales (docs/precision.md); --precision int8 uses them as they are, fp32 and bf16 "
                  "the float values they stand for")
      ->required();
  cmd->callback([from, to] {
    const auto report = io::quantize_model_folder(*from, *to);
    print_warnings(report.warnings);
    std::cout << "quantized " << report.weights.size() << " linear weights to int8 (symmetric, per output channel): "
              << report.written_weights << '\n'
              << "weights: " << byte_size_text(report.source_bytes) << " -> " << byte_size_text(report.written_bytes)
              << ", " << std::fixed << std::setprecision(1)
              << 100.0 * static_cast<double>(report.written_bytes) / static_cast<double>(report.source_bytes)
              << " % of " << report.source_weights << '\n';
  });
}

}  // namespace dnabert::cli
