// Pre-training a DNABERT from a genome with the library: a model shaped at compile time,
// masked-LM training on a FASTA file, progress lines, checkpoints and the final model folder.
#include <dnabert/dnabert.hpp>

#include <cstdio>
#include <iostream>
#include <string>

// A small DNABERT-6 (2 layers, hidden 64, 4 heads, FFN 256, 130 positions = 128 k-mers per
// piece) so the example runs in seconds; dnabert::DNABERT6 is the paper's 12-layer, 768-wide shape.
using Spec = dnabert::bert_spec<6, 2, 64, 4, 256, 130>;
using Model = dnabert::cpu_bert<Spec>;

// The config.json the model will be saved with, filled from the Spec so the two agree (the
// model checks them anyway and throws a config_error naming the field that differs).
dnabert::bert_config small_config() {
  dnabert::bert_config config;
  config.vocab_size = dnabert::vocab_size_for_k(Spec::k);  // 4^6 k-mers + 5 special tokens
  config.num_hidden_layers = Spec::layers;
  config.hidden_size = Spec::hidden;
  config.num_attention_heads = Spec::heads;
  config.intermediate_size = Spec::intermediate;
  config.max_position_embeddings = Spec::max_positions;
  return config;
}

int main(int argc, char** argv) try {
  if (argc < 3 || argc > 4) return std::cerr << "usage: dnabert_pretrain_example GENOME.fa OUT_DIR [STEPS]\n", 2;
  const std::string out_dir = argv[2];

  dnabert::backend::cpu cpu;  // all cores; cpu(n) for n threads
  Model model(cpu, small_config(), dnabert::bert_head::masked_lm, /*seed=*/42);

  // Held once in memory and cut into fresh pieces every epoch, as DNABERT's cut_no_overlap.
  const auto corpus = dnabert::train::pretraining_corpus::read(argv[1]);
  std::cout << "corpus: " << corpus.records() << " records, " << corpus.nucleotides() << " nt\n";

  dnabert::train::pretrain_options options;  // DNABERT's defaults: AdamW 4e-4, span masking
  options.max_steps = argc == 4 ? std::stoll(argv[3]) : 200;
  options.batch_size = 8;
  options.optimizer.lr = 1e-3;  // a small model learns faster than DNABERT's 4e-4 suits
  options.warmup_steps = options.max_steps / 10;
  options.save_steps = options.max_steps / 2;  // OUT_DIR/checkpoint-<step>/, resumable
  options.progress = [](const dnabert::train::step_report& r) {
    if (r.step % 5 == 0 || r.step == r.total_steps)
      std::printf("step %lld/%lld  loss %.3f  lr %.2e\n", static_cast<long long>(r.step),
                  static_cast<long long>(r.total_steps), r.loss, r.learning_rate);
  };

  // Writes checkpoints, log.jsonl and curves.svg as it goes, and the final model into OUT_DIR.
  const auto summary = dnabert::train::pretrain(model, corpus, options, out_dir);
  std::cout << "pre-trained " << summary.steps << " steps, final masked-LM loss "
            << summary.train_loss.back().second << "; model in " << out_dir << '\n';
} catch (const std::exception& error) {  // dnabert's errors say which file, line or field
  std::cerr << "error: " << error.what() << '\n';
  return 1;
}
