#pragma once
// The --layer and --head flags of the attention commands (attention, motifs, plot): their
// validator and their values as the library's attention_options take them.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <dnabert/analysis/attention_scores.hpp>

namespace dnabert::cli {

/// `--layer` text (an index, "last" or "all") as `attention_options::layer`.
inline int parse_layer(const std::string& text) {
  if (text == "last") return analysis::last_layer;
  if (text == "all") return analysis::all_layers;
  return std::stoi(text);
}

/// `--head` text (an index or "sum") as `attention_options::head`.
inline int parse_head(const std::string& text) { return text == "sum" ? analysis::all_heads : std::stoi(text); }

/// Accepts a 0-based index (a few digits) or one of `words`.
inline CLI::Validator index_or_words(std::vector<std::string> words) {
  std::string name = "INDEX", choices = "a 0-based index";
  for (const auto& word : words) {
    name += "|" + word;
    choices += ", " + word;
  }
  return CLI::Validator(
      [words, choices](const std::string& text) -> std::string {
        const bool index = !text.empty() && text.size() < 6 && text.find_first_not_of("0123456789") == std::string::npos;
        if (index || std::find(words.begin(), words.end(), text) != words.end()) return {};
        return "expected " + choices + "; found '" + text + "'";
      },
      name);
}

}  // namespace dnabert::cli
