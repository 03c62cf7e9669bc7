#pragma once
// `dnabert demo`: the README's main job, offline: pre-train a small DNABERT on a real genome, fine-tune
// it to find a planted TF motif, and compare on held-out windows with the same model trained from scratch.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>

#include <dnabert/dnabert.hpp>

#include "demo_task.hpp"
#include "progress.hpp"
#include "shared_flags.hpp"
#include "training_run.hpp"

namespace dnabert::cli {

/// What the demo runs; the defaults fit in a few minutes on two cores.
struct demo_settings {
  std::string genome = "/usr/share/htslib-test/test/ce.fa";  ///< Debian package htslib-test
  std::string output = "dnabert-demo";
  int threads = 0;
  std::uint64_t seed = 42;
  std::int64_t pretrain_steps = 6000;
  std::size_t train_windows = 1000;
  std::size_t dev_windows = 300;
  std::size_t test_windows = 1000;
  std::size_t window = 100;
  int finetune_epochs = 4;
};

namespace detail {

/// A small DNABERT-6: 2 layers, hidden 64, 4 heads, up to 128 k-mers (the fine-tuning windows'
/// 95 fit).
inline bert_config demo_config(bert_head head) {
  bert_config config;
  config.vocab_size = vocab_size_for_k(6);
  config.hidden_size = 64;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 4;
  config.intermediate_size = 256;
  config.max_position_embeddings = 130;
  config.num_labels = 2;
  config.architectures = {std::string(architecture_name(head))};
  return config;
}

/// Test-set metrics and P(class 1) of the classifier in `dir`.
inline std::pair<train::metrics_report, std::vector<double>> score_on(const std::string& dir,
                                                                       const std::vector<io::sequence_entry>& test,
                                                                       int threads) {
  const auto model = load_classifier(dir, threads);
  std::vector<std::string> sequences;
  std::vector<int> labels;
  for (const auto& w : test) {
    sequences.push_back(w.sequence);
    labels.push_back(static_cast<int>(*w.label));
  }
  const auto result = model.predict(sequences);
  const std::vector<int> predicted(result.predicted.begin(), result.predicted.end());
  const std::vector<double> probabilities(result.probabilities.begin(), result.probabilities.end());
  std::vector<double> positive;
  for (std::size_t i = 1; i < probabilities.size(); i += 2) positive.push_back(probabilities[i]);
  return {train::compute_metrics(labels, predicted, probabilities, 2), positive};
}

/// Fine-tunes `model` on the demo task into `dir`, with a progress display labelled `label`.
inline train::training_summary finetune_demo(cpu_bert<>& model, const demo_settings& s, const train::labelled_dataset& train_set,
                                             const train::labelled_dataset& dev_set, const std::string& dir,
                                             const std::string& label) {
  train::finetune_options run;
  run.epochs = s.finetune_epochs;
  run.optimizer.lr = 5e-4;  // DNABERT's 2e-4 is for the 768-wide model; a small one takes larger steps
  run.seed = s.seed;
  return with_training_progress(run, label, [&] { return train::finetune(model, train_set, dev_set, run, dir); });
}

/// DNABERT's interpretation of the fine-tuned model on the held-out windows: the attention
/// landscape of positives vs negatives, the attention strip of the most confident positive, and
/// attention-driven motif discovery on the positives, compared with the planted motif.
inline void interpret_demo(const cpu_bert<>& model, const demo_settings& s, const std::vector<io::sequence_entry>& test,
                           const std::vector<double>& positive_probability, const motif_matrix& planted) {
  std::vector<std::string> sequences;
  for (const auto& w : test) sequences.push_back(w.sequence);
  progress_line progress("attention");
  analysis::attention_options options;
  options.progress = std::ref(progress);
  const auto scores = analysis::attention_scores(model, sequences, options);
  std::vector<analysis::landscape_group> groups{{"negatives", {}}, {"positives", {}}};
  std::vector<std::string> positives, negatives;
  std::vector<std::vector<double>> positive_scores;
  std::size_t most_confident = 0;
  for (std::size_t i = 0; i < test.size(); ++i) {
    const bool positive = *test[i].label > 0;
    groups[positive ? 1 : 0].scores.push_back(scores[i]);
    (positive ? positives : negatives).push_back(test[i].sequence);
    if (!positive) continue;
    positive_scores.emplace_back(scores[i].begin(), scores[i].end());
    if (positive_probability[i] > positive_probability[most_confident] || *test[most_confident].label == 0) most_confident = i;
  }
  analysis::write_attention_landscape(s.output + "/attention_landscape.svg", groups,
                                      "attention landscape of the held-out windows (last layer, heads summed)");
  analysis::strip_options strip;
  std::ostringstream title;
  title << test[most_confident].id << ", P(motif) = " << std::fixed << std::setprecision(3) << positive_probability[most_confident];
  strip.title = title.str();
  analysis::write_attention_strip(s.output + "/attention_strip.svg", test[most_confident].sequence, scores[most_confident], strip);

  const auto motifs = analysis::discover_motifs(positives, negatives, positive_scores);
  std::cout << "\nattention-driven motif discovery on the " << positives.size() << " held-out positives against "
            << negatives.size() << " negatives (DNABERT's defaults: window 24, min length 5, adjusted p < 0.005): "
            << motifs.size() << (motifs.size() == 1 ? " motif" : " motifs") << '\n';
  const analysis::discovered_motif* best = nullptr;
  const analysis::discovered_motif* closest = nullptr;
  analysis::motif_alignment best_alignment, closest_alignment;
  for (const auto& m : motifs) {
    const auto alignment = analysis::align_motifs(analysis::column_probabilities(m.frequencies), planted);
    if (best == nullptr || m.enrichment.adjusted_p_value < best->enrichment.adjusted_p_value) {
      best = &m;
      best_alignment = alignment;
    }
    if (closest == nullptr || alignment.score > closest_alignment.score) {
      closest = &m;
      closest_alignment = alignment;
    }
  }
  if (best == nullptr) return;
  const auto describe = [&](const char* what, const analysis::discovered_motif& m, const analysis::motif_alignment& a) {
    std::cout << "  " << what << m.key << ", in " << m.enrichment.positives_with_motif << " positives and "
              << m.enrichment.sequences_with_motif - m.enrichment.positives_with_motif << " negatives, adjusted p "
              << std::scientific << std::setprecision(2) << m.enrichment.adjusted_p_value << std::fixed << "; its "
              << m.windows.size() << " windows against the planted CTCF core: correlation " << std::setprecision(3) << a.score
              << " (strand " << a.strand << ", offset " << a.offset << ")\n";
  };
  describe("most significant: ", *best, best_alignment);
  if (closest != best) describe("closest to the planted motif: ", *closest, closest_alignment);
  analysis::sequence_logo_options logo;
  logo.title = best->key + " (" + std::to_string(best->windows.size()) + " sites)";
  analysis::write_sequence_logo(s.output + "/motif_logo.svg", best->frequencies, logo);
  std::cout << "  logo of the most significant motif: " << s.output << "/motif_logo.svg\n";
}

}  // namespace detail

/// Runs the whole demo and prints the comparison.
inline void run_demo(const demo_settings& s) {
  namespace fs = std::filesystem;
  if (!fs::exists(s.genome))
    throw input_error(s.genome + " not found: install Debian's htslib-test (apt-get install htslib-test), "
                      "or pass --genome with another FASTA genome");
  const io::output_lock lock(s.output);
  const auto records = io::read_fasta(s.genome);
  std::size_t largest = 0;
  for (std::size_t i = 0; i < records.size(); ++i)
    if (records[i].sequence.size() > records[largest].sequence.size()) largest = i;
  // Hold out the last 15 % of the largest record: test windows come from sequence pre-training never saw.
  const std::string& chromosome = records[largest].sequence;
  const std::size_t held_out = chromosome.size() * 85 / 100;
  std::string pretraining_fasta;
  for (std::size_t i = 0; i < records.size(); ++i)
    pretraining_fasta += ">" + records[i].id + "\n" + (i == largest ? chromosome.substr(0, held_out) : records[i].sequence) + "\n";
  const auto corpus = train::pretraining_corpus::read(std::as_bytes(std::span(pretraining_fasta.data(), pretraining_fasta.size())),
                                                      s.genome + " (pre-training part)");
  const std::string held_out_fasta = ">" + records[largest].id + "_held_out\n" + chromosome.substr(held_out) + "\n";
  const auto held_out_corpus = train::pretraining_corpus::read(
      std::as_bytes(std::span(held_out_fasta.data(), held_out_fasta.size())), s.genome + " (held-out part)");

  std::mt19937_64 rng(s.seed);
  const auto motif = ctcf_core_motif();
  const auto train_windows = planted_motif_windows(chromosome, 0, held_out, s.train_windows, s.window, motif, rng, "train");
  const auto dev_windows = planted_motif_windows(chromosome, 0, held_out, s.dev_windows, s.window, motif, rng, "dev");
  const auto test_windows =
      planted_motif_windows(chromosome, held_out, chromosome.size(), s.test_windows, s.window, motif, rng, "test");
  fs::create_directories(s.output + "/data");
  io::write_file_atomically(s.output + "/data/train.tsv", dnabert_tsv(train_windows, 6));
  io::write_file_atomically(s.output + "/data/dev.tsv", dnabert_tsv(dev_windows, 6));
  io::write_file_atomically(s.output + "/data/test.tsv", dnabert_tsv(test_windows, 6));
  std::cout << "genome " << s.genome << ": " << records.size() << " records, " << corpus.nucleotides()
            << " nt for pre-training; task: " << s.window << "-nt windows of " << records[largest].id
            << ", half with a CTCF core motif instance (CCGCGNGGNGGCAG) planted; " << train_windows.size() << " train / "
            << dev_windows.size() << " dev / " << test_windows.size() << " held-out test windows (in " << s.output << "/data)"
            << std::endl;  // flushed: the progress displays that follow write to stderr

  backend::cpu cpu(s.threads);
  const std::string pretrained = s.output + "/pretrained";
  {
    cpu_bert<> model(cpu, detail::demo_config(bert_head::masked_lm), bert_head::masked_lm, s.seed);
    // A recipe that learns context at this size (docs/benchmarks.md, "A pre-training recipe that
    // learns"): DNABERT's masking, but pieces of 32 k-mers, batch 64 and a constant rate of 8e-3
    // after warmup. With DNABERT's 128-k-mer pieces, batch 32, lr 1e-3 and linear decay, the loss
    // stalls at the k-mer frequencies (7.3 nats) for thousands of steps.
    train::pretrain_options run;
    run.max_steps = s.pretrain_steps;
    run.max_kmers = 32;
    run.batch_size = 64;
    run.optimizer.lr = 8e-3;
    run.warmup_steps = std::min<std::int64_t>(300, s.pretrain_steps / 20);
    run.lr_schedule = train::schedule_shape::constant;
    run.eval_steps = std::max<std::int64_t>(1, s.pretrain_steps / 6);
    run.save_steps = s.pretrain_steps / 2;
    run.seed = s.seed;
    const auto result = with_training_progress(
        run, "pretrain", [&] { return train::pretrain(model, corpus, run, pretrained, &held_out_corpus); });
    // per-step losses are mostly masking noise: the means of the first and last 100 steps
    const auto mean_loss = [&](std::size_t from, std::size_t to) {
      double sum = 0;
      for (std::size_t i = from; i < to; ++i) sum += result.train_loss[i].second;
      return sum / static_cast<double>(to - from);
    };
    const std::size_t logged = result.train_loss.size(), window = std::min<std::size_t>(100, logged);
    std::cout << "pre-trained " << result.steps << " steps: masked-LM loss " << std::fixed << std::setprecision(3)
              << mean_loss(0, window) << " -> " << mean_loss(logged - window, logged) << " (means of " << window
              << " steps)";
    if (!result.evaluations.empty()) std::cout << "; on the held-out part " << result.evaluations.back().loss;
    std::cout << " (uniform guess ln 4096 = " << std::log(4096.0) << "; curves in " << pretrained << "/curves.svg)" << std::endl;
  }

  const train::labelled_dataset train_set(train_windows, 6, 128);
  const train::labelled_dataset dev_set(dev_windows, 6, 128);
  auto with_pretraining = cpu_bert<>::load(cpu, pretrained, bert_head::sequence_classification, s.seed, 2);
  const auto pretrained_run =
      detail::finetune_demo(with_pretraining, s, train_set, dev_set, s.output + "/finetuned", "finetune (pre-trained)");
  cpu_bert<> from_scratch(cpu, detail::demo_config(bert_head::sequence_classification), bert_head::sequence_classification, s.seed);
  const auto scratch_run =
      detail::finetune_demo(from_scratch, s, train_set, dev_set, s.output + "/from_scratch", "finetune (from scratch)");

  const auto [pretrained_report, pretrained_p] = detail::score_on(s.output + "/finetuned", test_windows, s.threads);
  const auto [scratch_report, scratch_p] = detail::score_on(s.output + "/from_scratch", test_windows, s.threads);
  std::ostringstream table;
  table << "id\tlabel\tp_pretrained\tp_from_scratch\n";
  for (std::size_t i = 0; i < test_windows.size(); ++i)
    table << test_windows[i].id << '\t' << *test_windows[i].label << '\t' << pretrained_p[i] << '\t' << scratch_p[i] << '\n';
  io::write_file_atomically(s.output + "/predictions.tsv", table.str());
  const nlohmann::json metrics{{"pretrained", pretrained_report.to_json()}, {"from_scratch", scratch_report.to_json()}};
  io::write_file_atomically(s.output + "/metrics.json", metrics.dump(2) + "\n");

  std::cout << "\ndev AUROC after each fine-tuning epoch:\n                   ";
  for (std::size_t e = 1; e <= pretrained_run.evaluations.size(); ++e) std::cout << std::setw(8) << "epoch " + std::to_string(e);
  for (const auto& [name, run] : {std::pair{"with pre-training ", &pretrained_run}, std::pair{"from scratch      ", &scratch_run}}) {
    std::cout << "\n  " << name;
    for (const auto& e : run->evaluations) std::cout << std::setw(8) << e.metrics.value("auc", 0.0);
  }
  std::cout << "\n\nheld-out test windows (" << test_windows.size() << "), best model of each run by dev AUROC:\n"
            << "                     accuracy    MCC   AUROC\n";
  for (const auto& [name, report] : {std::pair{"with pre-training ", &pretrained_report}, std::pair{"from scratch      ", &scratch_report}})
    std::cout << "  " << name << std::setw(10) << report->value("acc") << std::setw(8) << report->value("mcc")
              << std::setw(8) << report->value("auc") << '\n';
  detail::interpret_demo(cpu_bert<>::load(cpu, s.output + "/finetuned", bert_head::sequence_classification), s, test_windows,
                         pretrained_p, motif);
  std::cout << "\nwritten: " << s.output << "/finetuned (model), " << s.output << "/finetuned/curves.svg, " << s.output
            << "/pretrained/curves.svg, " << s.output << "/predictions.tsv, " << s.output << "/metrics.json, " << s.output
            << "/attention_landscape.svg, " << s.output << "/attention_strip.svg\n";
}

/// Registers `demo`.
inline void add_demo_command(CLI::App& app) {
  auto s = std::make_shared<demo_settings>();
  auto* cmd = app.add_subcommand("demo", "Pre-train on a real genome, fine-tune to find a TF motif, compare with no pre-training");
  cmd->add_option("--genome", s->genome, "FASTA genome (default: htslib-test's C. elegans sample)");
  cmd->add_option("-o,--output", s->output, "output folder");
  cmd->add_option("--pretrain-steps", s->pretrain_steps, "pre-training steps")->check(CLI::Range(2, 1 << 30));
  cmd->add_option("--train-windows", s->train_windows, "training windows")->check(CLI::Range(10, 1 << 24));
  cmd->add_option("--epochs", s->finetune_epochs, "fine-tuning epochs")->check(CLI::Range(1, 1000));
  cmd->add_option("--seed", s->seed, "seed of the task, the models and the training runs");
  add_threads_option(cmd, s->threads);
  cmd->callback([s] { run_demo(*s); });
}

}  // namespace dnabert::cli
