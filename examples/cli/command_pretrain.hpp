#pragma once
// `dnabert pretrain`: masked-LM pre-training from a FASTA genome or DNABERT's k-mer text files,
// from scratch (--config), from a model folder (--model) or continuing a checkpoint (--resume).

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <dnabert/dnabert.hpp>

#include "training_run.hpp"

namespace dnabert::cli {

/// Registers `pretrain`.
inline void add_pretrain_command(CLI::App& app) {
  struct options : trainer_cli_options<train::pretrain_options> {
    std::string input, eval_input;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("pretrain", "Pre-train DNABERT by masked language modelling (checkpoints, exact resume)");
  cmd->add_option("-i,--input", o->input, "FASTA (.gz) genome, a packed corpus (dnabert corpus), or a text file of one k-mer sentence / sequence per line")
      ->required();
  cmd->add_option("-o,--output", o->output, "folder for checkpoint-<step>/, log.jsonl, curves.svg and the final model")
      ->required();
  auto* config = cmd->add_option("-c,--config", o->config, "BertConfig (config.json) of a model trained from scratch");
  auto* model = cmd->add_option("-m,--model", o->model, "model folder whose weights training starts from");
  config->excludes(model);
  cmd->add_option("--eval-input", o->eval_input, "held-out FASTA, packed corpus or text: masked-LM loss and perplexity at each evaluation");
  cmd->add_option("--max-kmers", o->run.max_kmers,
                  "k-mers in a full piece (default: the model's max_position_embeddings - 2); shorter pieces, more of them a batch")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--mask-probability", o->run.mask_probability,
                  "span-centre probability (default: DNABERT's for k, 0.025 for k=6)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--warmup-steps", o->run.warmup_steps, "warmup steps (default: 10000, at most 5 % of the run)")
      ->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--logging-steps", o->run.logging_steps, "a log.jsonl line every N steps")->check(CLI::Range(1, 1 << 30));
  cmd->add_flag("--keep-n", [o](std::int64_t) { o->run.n_runs = train::n_run_handling::keep; },
                "keep N runs inside pieces as DNABERT's code does (default: drop them)");
  add_compat_flag(cmd, o->run.dnabert_2_5_compat,
                  "the masked-LM logits add the bias twice (E h + 2b, transformers 2.5.0 bug #2957; its gradient "
                  "doubles too) and padding is attended as a token (DNABERT's run_pretrain.py passes no attention mask)");
  add_training_flags(cmd, *o);
  cmd->callback([o] {
    const auto read_config = [](const std::string& path) { return io::read_config_json(path); };
    run_training("pretrain", *o, bert_head::masked_lm, {}, read_config, [&](auto& model, auto progress) {
      const auto corpus = train::pretraining_corpus::read(o->input);
      if (leads_job())
        std::cerr << "pretrain: " << corpus.records() << (corpus.cut_each_epoch() ? " FASTA records, " : " lines, ")
                  << (corpus.packed() ? "memory-mapped, " : "") << corpus.nucleotides() << " nt; " << model.tokenizer().describe() << ", "
                  << model.config().num_hidden_layers << " layers, hidden " << model.config().hidden_size
                  << (job().size() > 1 ? "; " + std::to_string(job().size()) + " ranks" : std::string()) << '\n';
      std::optional<train::pretraining_corpus> held_out;
      if (!o->eval_input.empty()) held_out.emplace(train::pretraining_corpus::read(o->eval_input));
      const auto result =
          progress([&] { return train::pretrain(model, corpus, o->run, o->output, held_out ? &*held_out : nullptr); });
      std::cout << "pre-trained " << result.steps << " steps";
      if (!result.train_loss.empty()) std::cout << ", last masked-LM loss " << result.train_loss.back().second;
      if (result.skipped_steps > 0) std::cout << ", " << result.skipped_steps << " skipped (non-finite)";
      std::cout << "; model in " << o->output << '\n';
    });
  });
}

}  // namespace dnabert::cli
