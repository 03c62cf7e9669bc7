#pragma once
// `dnabert finetune`: fine-tune a pre-trained (or fine-tuned) folder on labelled sequences.

#include <CLI/CLI.hpp>

#include "common.hpp"

namespace dnabert::cli {

/// Registers `finetune`.
inline void add_finetune_command(CLI::App& app) {
  struct options {
    std::string model, train, dev, output;
    std::int64_t num_labels = 0;
    int threads = 0;
    train::finetune_options run;
  };
  auto o = std::make_shared<options>();
  auto* cmd = app.add_subcommand("finetune", "Fine-tune a DNABERT folder on labelled sequences (best model saved)");
  cmd->add_option("-m,--model", o->model, "pre-trained (MLM) or fine-tuned folder")->required();
  cmd->add_option("--train", o->train, "training set: DNABERT TSV or DNABERT-2 CSV")->required();
  cmd->add_option("--dev", o->dev, "dev set evaluated during training")->required();
  cmd->add_option("-o,--output", o->output, "folder for the best model, log.jsonl and curves.svg")->required();
  cmd->add_option("--epochs", o->run.epochs, "epochs (DNABERT: 5)")->check(CLI::Range(1, 100000));
  cmd->add_option("--max-steps", o->run.max_steps, "stop after N steps (overrides --epochs)")->check(CLI::Range(0, 1 << 30));
  cmd->add_option("-b,--batch-size", o->run.batch_size, "sequences per step (DNABERT: 32)")->check(CLI::Range(1, 65536));
  cmd->add_option("--lr", o->run.optimizer.lr, "peak learning rate (DNABERT: 2e-4)")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", o->run.warmup_fraction, "warmup fraction of the steps (DNABERT: 0.1)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--eval-steps", o->run.eval_steps, "evaluate every N steps (default: each epoch)")->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--metric", o->run.best_metric, "metric that picks the best model (DNABERT: auc)");
  cmd->add_option("--num-labels", o->num_labels, "classes (1 = regression); default: from config.json")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--seed", o->run.seed, "seed for initialisation, order and dropout");
  cmd->add_option("-t,--threads", o->threads, "CPU threads (default: all)")->check(CLI::Range(0, 1024));
  cmd->callback([o] {
    backend::cpu cpu(o->threads);
    auto model = Bert<>::load(cpu, o->model, bert_head::sequence_classification, o->run.seed, o->num_labels);
    for (const auto& name : model.new_parameters()) std::cerr << "new (initialised): " << name << '\n';
    const auto max_kmers = model.max_kmers();
    const train::labelled_dataset train_set(read_input(o->train), model.k(), max_kmers);
    const train::labelled_dataset dev_set(read_input(o->dev), model.k(), max_kmers);
    for (const auto* set : {&train_set, &dev_set})
      if (set->truncated() > 0)
        std::cerr << "note: " << set->truncated() << " sequences longer than " << max_kmers
                  << " k-mers were cut to their first piece, as DNABERT's max_seq_length does\n";
    auto line = std::make_shared<progress_line>("finetune", "steps");
    o->run.progress = [line](const train::step_report& r) {
      (*line)(static_cast<std::size_t>(r.step), static_cast<std::size_t>(r.total_steps));
    };
    const auto result = train::finetune(model, train_set, dev_set, o->run, o->output);
    std::cout << "best at step " << result.best->step << ": " << o->run.best_metric << " " << result.best->score
              << ", dev loss " << result.best->loss << "; model in " << o->output << '\n';
  });
}

}  // namespace dnabert::cli
