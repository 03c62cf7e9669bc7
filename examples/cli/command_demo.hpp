#pragma once
// `dnabert demo`: the README's main job, offline: pre-train a small DNABERT on real genomes, fine-tune it
// on a few hundred labelled reads to tell which genome a read came from, and compare over several seeds
// with the same model fine-tuned from random weights (DNABERT's Fig. 6d).

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
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
  std::string other_genome =                                 ///< Debian package python-pyfaidx-examples
      "/usr/share/doc/python-pyfaidx-examples/examples/chr17.hg19.part.fa";
  std::string output = "dnabert-demo";
  int threads = 0;
  std::uint64_t seed = 42;
  std::int64_t pretrain_steps = 6000;
  int seeds = 3;                  ///< fine-tuning runs per arm, each with its own labelled reads and initialisation
  std::size_t train_reads = 400;  ///< few labels, where pre-training is claimed to help
  std::size_t dev_reads = 200;
  std::size_t test_reads = 1000;
  std::size_t read_length = 37;  ///< 32 6-mers: the pre-training pieces' length
  int finetune_epochs = 10;
};

namespace detail {

/// k-mers of the demo's models.
inline constexpr int demo_k = 6;

/// A small DNABERT-6: 2 layers, hidden 64, 4 heads, positions for the reads' k-mers, no dropout
/// (with DNABERT's 0.1 this model stays on the k-mer-frequency plateau thousands of steps longer:
/// docs/benchmarks.md, "A pre-training recipe that learns"); both arms fine-tune with it.
inline bert_config demo_config(bert_head head, std::size_t read_length) {
  bert_config config;
  config.hidden_dropout_prob = 0;
  config.attention_probs_dropout_prob = 0;
  config.vocab_size = vocab_size_for_k(demo_k);
  config.hidden_size = 64;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 4;
  config.intermediate_size = 256;
  config.max_position_embeddings = static_cast<int>(read_length - demo_k + 1 + 2);  // + [CLS], [SEP]
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
  for (const auto& r : test) {
    sequences.push_back(r.sequence);
    labels.push_back(static_cast<int>(*r.label));
  }
  const auto result = model.predict(sequences);
  const std::vector<int> predicted(result.predicted.begin(), result.predicted.end());
  const std::vector<double> probabilities(result.probabilities.begin(), result.probabilities.end());
  std::vector<double> positive;
  for (std::size_t i = 1; i < probabilities.size(); i += 2) positive.push_back(probabilities[i]);
  return {train::compute_metrics(labels, predicted, probabilities, 2), positive};
}

/// Fine-tunes `model` on the demo task into `dir`, with a progress display labelled `label`.
inline train::training_summary finetune_demo(cpu_bert<>& model, const demo_settings& s, std::uint64_t seed,
                                             const train::labelled_dataset& train_set,
                                             const train::labelled_dataset& dev_set, const std::string& dir,
                                             const std::string& label) {
  train::finetune_options run;
  run.epochs = s.finetune_epochs;
  run.batch_size = 16;  // a few hundred reads: 25 steps an epoch
  run.optimizer.lr = 5e-4;  // DNABERT's 2e-4 is for the 768-wide model; a small one takes larger steps
  run.seed = seed;
  return with_training_progress(run, label, [&] { return train::finetune(model, train_set, dev_set, run, dir); });
}

/// One arm of the comparison (pre-trained or from scratch), over the seeds.
struct demo_arm {
  std::string name;
  std::string key;  ///< its name in predictions.tsv and metrics.json
  std::string color;
  std::vector<train::metrics_report> test;           ///< per seed, on the held-out reads
  std::vector<std::vector<double>> dev_auroc;        ///< per seed, after each epoch
  std::vector<std::vector<double>> test_probability; ///< per seed, P(read from the second genome)
};

/// Mean and sample standard deviation of `values`.
inline std::pair<double, double> mean_and_sd(const std::vector<double>& values) {
  double sum = 0, squares = 0;
  for (const double v : values) sum += v;
  const double mean = sum / static_cast<double>(values.size());
  for (const double v : values) squares += (v - mean) * (v - mean);
  return {mean, values.size() > 1 ? std::sqrt(squares / static_cast<double>(values.size() - 1)) : 0.0};
}

/// `metric` of every seed of `arm` on the held-out reads.
inline std::vector<double> test_values(const demo_arm& arm, std::string_view metric) {
  std::vector<double> values;
  for (const auto& report : arm.test) values.push_back(report.value(metric));
  return values;
}

/// Dev AUROC after each epoch, the mean over `arm`'s seeds.
inline std::vector<double> mean_dev_auroc(const demo_arm& arm) {
  std::vector<double> means;
  for (std::size_t e = 0; e < arm.dev_auroc.front().size(); ++e) {
    std::vector<double> at_epoch;
    for (const auto& seed : arm.dev_auroc) at_epoch.push_back(seed.at(e));
    means.push_back(mean_and_sd(at_epoch).first);
  }
  return means;
}

/// DNABERT's Fig. 6d: dev AUROC after each fine-tuning epoch, every seed of both arms (faint) and
/// their means (dark).
inline void write_auroc_curves(const std::string& path, const std::vector<demo_arm>& arms) {
  io::line_chart chart;
  chart.title = "dev AUROC while fine-tuning (each seed faint, their mean dark)";
  chart.x_label = "epoch";
  chart.y_label = "dev AUROC";
  for (const auto& arm : arms) {
    for (std::size_t seed = 0; seed < arm.dev_auroc.size(); ++seed) {
      io::chart_series series{arm.name + ", seed " + std::to_string(seed + 1), {}, arm.color + "55"};
      for (std::size_t e = 0; e < arm.dev_auroc[seed].size(); ++e)
        series.points.emplace_back(static_cast<double>(e + 1), arm.dev_auroc[seed][e]);
      chart.series.push_back(std::move(series));
    }
    io::chart_series mean{arm.name + ", mean", {}, arm.color};
    const auto means = mean_dev_auroc(arm);
    for (std::size_t e = 0; e < means.size(); ++e) mean.points.emplace_back(static_cast<double>(e + 1), means[e]);
    chart.series.push_back(std::move(mean));
  }
  io::write_svg(path, chart);
}

/// DNABERT's interpretation of a fine-tuned model on the held-out reads: the attention landscape
/// of both classes, the attention strip of the most confident read of the second genome, and
/// attention-driven motif discovery on those reads against the first genome's.
inline void interpret_demo(const cpu_bert<>& model, const demo_settings& s, const std::vector<io::sequence_entry>& test,
                           const std::vector<double>& positive_probability) {
  std::vector<std::string> sequences;
  for (const auto& r : test) sequences.push_back(r.sequence);
  progress_line progress("attention");
  analysis::attention_options options;
  options.progress = std::ref(progress);
  const auto scores = analysis::attention_scores(model, sequences, options);
  std::vector<analysis::landscape_group> groups{{"first genome", {}}, {"second genome", {}}};
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
                                      "attention landscape of the held-out reads (last layer, heads summed)");
  analysis::strip_options strip;
  std::ostringstream title;
  title << test[most_confident].id << ", P(second genome) = " << std::fixed << std::setprecision(3)
        << positive_probability[most_confident];
  strip.title = title.str();
  analysis::write_attention_strip(s.output + "/attention_strip.svg", test[most_confident].sequence, scores[most_confident], strip);

  const auto motifs = analysis::discover_motifs(positives, negatives, positive_scores);
  std::cout << "\nattention-driven motif discovery on the " << positives.size() << " held-out reads of the second genome against "
            << negatives.size() << " of the first (DNABERT's defaults: window 24, min length 5, adjusted p < 0.005): "
            << motifs.size() << (motifs.size() == 1 ? " motif" : " motifs") << '\n';
  if (motifs.empty()) return;
  const auto best = std::min_element(motifs.begin(), motifs.end(), [](const auto& a, const auto& b) {
    return a.enrichment.adjusted_p_value < b.enrichment.adjusted_p_value;
  });
  std::cout << "  most significant: " << best->key << ", in " << best->enrichment.positives_with_motif << " reads of the second genome and "
            << best->enrichment.sequences_with_motif - best->enrichment.positives_with_motif << " of the first, adjusted p "
            << std::scientific << std::setprecision(2) << best->enrichment.adjusted_p_value << std::fixed << '\n';
  analysis::sequence_logo_options logo;
  logo.title = best->key + " (" + std::to_string(best->windows.size()) + " sites)";
  analysis::write_sequence_logo(s.output + "/motif_logo.svg", best->frequencies, logo);
  std::cout << "  logo: " << s.output << "/motif_logo.svg\n";
}

/// The records of a FASTA genome, upper-cased (soft-masked bases are bases); `package` is the
/// Debian package that ships the default file.
inline std::vector<io::fasta_record> read_genome(const std::string& path, const char* package) {
  if (!std::filesystem::exists(path))
    throw input_error(path + " not found: install Debian's " + package + " (apt-get install " + package +
                      "), or pass another FASTA genome");
  auto records = io::read_fasta(path);
  for (auto& record : records) record.sequence = upper_case(record.sequence);
  return records;
}

/// The largest of `records`.
inline const io::fasta_record& largest_record(const std::vector<io::fasta_record>& records) {
  return *std::max_element(records.begin(), records.end(),
                           [](const auto& a, const auto& b) { return a.sequence.size() < b.sequence.size(); });
}

/// FASTA text of `records`, the largest cut to its first `cut` nucleotides, the others whole.
inline std::string fasta_without_held_out(const std::vector<io::fasta_record>& records, std::size_t cut) {
  const auto& largest = largest_record(records);
  std::string fasta;
  for (const auto& record : records)
    fasta += '>' + record.id + '\n' + (&record == &largest ? record.sequence.substr(0, cut) : record.sequence) + '\n';
  return fasta;
}

/// A pre-training corpus of FASTA text, `name` in its messages.
inline train::pretraining_corpus corpus_of(const std::string& fasta, const std::string& name) {
  return train::pretraining_corpus::read(std::as_bytes(std::span(fasta.data(), fasta.size())), name);
}

/// Pre-trains the demo's masked-LM into `dir` and prints how far its loss fell.
inline void pretrain_demo(backend::cpu& cpu, const demo_settings& s, const train::pretraining_corpus& corpus,
                          const train::pretraining_corpus& held_out, const std::string& dir) {
  cpu_bert<> model(cpu, demo_config(bert_head::masked_lm, s.read_length), bert_head::masked_lm, s.seed);
  // A recipe that learns context at this size (docs/benchmarks.md, "A pre-training recipe that
  // learns"): DNABERT's span masking with twice its span-centre probability (0.05: about 27 % of
  // tokens), pieces of 32 k-mers (all the model's positions), batch 64, a constant rate of 8e-3
  // after warmup, no dropout. With DNABERT's 128-k-mer pieces, p 0.025, batch 32, lr 1e-3 and linear
  // decay, the loss stalls at the k-mer frequencies (7.3 nats) for thousands of steps.
  train::pretrain_options run;
  run.max_steps = s.pretrain_steps;
  run.batch_size = 64;
  run.mask_probability = 0.05;
  run.optimizer.lr = 8e-3;
  run.warmup_steps = std::min<std::int64_t>(300, s.pretrain_steps / 20);
  run.lr_schedule = train::schedule_shape::constant;
  // six held-out evaluations in a long run; a short one (a test) scores the held-out parts once, at its end
  run.eval_steps = std::max(s.pretrain_steps / 6, std::min<std::int64_t>(s.pretrain_steps, 500));
  run.save_steps = s.pretrain_steps / 2;
  run.seed = s.seed;
  const auto result = with_training_progress(run, "pretrain", [&] { return train::pretrain(model, corpus, run, dir, &held_out); });
  // per-step losses are mostly masking noise: the means of the first and last 100 steps
  const auto mean_loss = [&](std::size_t from, std::size_t to) {
    double sum = 0;
    for (std::size_t i = from; i < to; ++i) sum += result.train_loss[i].second;
    return sum / static_cast<double>(to - from);
  };
  const std::size_t logged = result.train_loss.size(), window = std::min<std::size_t>(100, logged);
  std::cout << "pre-trained " << result.steps << " steps: masked-LM loss " << std::fixed << std::setprecision(3)
            << mean_loss(0, window) << " -> " << mean_loss(logged - window, logged) << " (means of " << window << " steps)";
  if (!result.evaluations.empty()) std::cout << "; on the held-out parts " << result.evaluations.back().loss;
  std::cout << " (uniform guess ln 4096 = " << std::log(4096.0) << "; curves in " << dir << "/curves.svg)" << std::endl;
}

/// Prints the comparison: per seed, then mean ± sd over the seeds.
inline void print_comparison(const std::vector<demo_arm>& arms, std::size_t test_reads) {
  std::cout << "\ndev AUROC after each fine-tuning epoch, mean over " << arms.front().test.size() << " seeds:\n"
            << "                     ";
  for (std::size_t e = 1; e <= arms.front().dev_auroc.front().size(); ++e) std::cout << std::setw(7) << "ep " + std::to_string(e);
  for (const auto& arm : arms) {
    std::cout << "\n  " << std::left << std::setw(19) << arm.name << std::right;
    for (const double mean : mean_dev_auroc(arm)) std::cout << std::setw(7) << std::setprecision(3) << mean;
  }
  std::cout << "\n\nheld-out test reads (" << test_reads << "), best model of each run by dev AUROC:\n"
            << "                     seed   accuracy    MCC   AUROC\n";
  for (const auto& arm : arms)
    for (std::size_t seed = 0; seed < arm.test.size(); ++seed)
      std::cout << "  " << std::left << std::setw(19) << arm.name << std::right << std::setw(5) << seed + 1 << std::setw(11)
                << arm.test[seed].value("acc") << std::setw(7) << arm.test[seed].value("mcc") << std::setw(8)
                << arm.test[seed].value("auc") << '\n';
  std::cout << "\nmean ± sd over " << arms.front().test.size() << " seeds        MCC               AUROC\n";
  for (const auto& arm : arms) {
    const auto [mcc, mcc_sd] = mean_and_sd(test_values(arm, "mcc"));
    const auto [auc, auc_sd] = mean_and_sd(test_values(arm, "auc"));
    std::cout << "  " << std::left << std::setw(19) << arm.name << std::right << "  " << mcc << " ± " << mcc_sd << "     " << auc
              << " ± " << auc_sd << '\n';
  }
}

}  // namespace detail

/// Runs the whole demo and prints the comparison.
inline void run_demo(const demo_settings& s) {
  namespace fs = std::filesystem;
  const auto first_genome = detail::read_genome(s.genome, "htslib-test");
  const auto second_genome = detail::read_genome(s.other_genome, "python-pyfaidx-examples");
  const io::output_lock lock(s.output);
  // Test reads come from the end of each genome's largest record, sequence pre-training never saw:
  // the last 15 % of the nematode's, the last 30 % of the (much shorter) human record.
  const auto& first = detail::largest_record(first_genome);
  const auto& second = detail::largest_record(second_genome);
  const std::size_t first_cut = first.sequence.size() * 85 / 100, second_cut = second.sequence.size() * 70 / 100;
  const auto corpus = detail::corpus_of(detail::fasta_without_held_out(first_genome, first_cut) +
                                            detail::fasta_without_held_out(second_genome, second_cut),
                                        "the demo's pre-training genome parts");
  // The masked-LM loss is scored on as much held-out sequence of each genome (the shorter held-out
  // end, 12 kb by default), so both weigh alike and scoring stays cheap.
  const std::size_t scored = std::min(first.sequence.size() - first_cut, second.sequence.size() - second_cut);
  const auto held_out = detail::corpus_of('>' + first.id + "_held_out\n" + first.sequence.substr(first_cut, scored) + "\n>" +
                                              second.id + "_held_out\n" + second.sequence.substr(second_cut, scored) + '\n',
                                          "the demo's held-out genome parts");
  // Train and dev reads come from the part pre-training saw, from separate stretches of it (4:1) so
  // that dev reads never overlap training reads.
  const auto split = [](std::string_view sequence, std::size_t cut) {
    const std::size_t dev_start = cut * 4 / 5;
    return std::array{genome_region{sequence, 0, dev_start}, genome_region{sequence, dev_start, cut},
                      genome_region{sequence, cut, sequence.size()}};
  };
  const auto [first_train, first_dev, first_unseen] = split(first.sequence, first_cut);
  const auto [second_train, second_dev, second_unseen] = split(second.sequence, second_cut);
  std::mt19937_64 test_rng(s.seed);
  const auto test_reads = two_class_reads(first_unseen, second_unseen, s.test_reads, s.read_length, test_rng, "test_");
  fs::create_directories(s.output + "/data");
  io::write_file_atomically(s.output + "/data/test.tsv", dnabert_tsv(test_reads, detail::demo_k));
  std::cout << "genomes: " << s.genome << " (" << first.id << ", label 0) and " << s.other_genome << " (" << second.id
            << ", label 1); " << corpus.nucleotides() << " nt of both for pre-training\ntask: which genome is a "
            << s.read_length << "-nt read (either strand) from? " << s.seeds << " seeds, each with its own "
            << s.train_reads << " train / " << s.dev_reads << " dev reads; " << test_reads.size()
            << " held-out test reads from the ends of both records (in " << s.output << "/data)" << std::endl;

  backend::cpu cpu(s.threads);
  const std::string pretrained = s.output + "/pretrained";
  detail::pretrain_demo(cpu, s, corpus, held_out, pretrained);

  std::vector<detail::demo_arm> arms{{"pre-trained", "pretrained", "#1f77b4", {}, {}, {}},
                                     {"from scratch", "from_scratch", "#d62728", {}, {}, {}}};
  const std::size_t max_kmers = s.read_length - detail::demo_k + 1;
  for (int seed = 1; seed <= s.seeds; ++seed) {
    const std::uint64_t run_seed = s.seed + static_cast<std::uint64_t>(seed);
    std::mt19937_64 rng(run_seed);
    const auto train_reads = two_class_reads(first_train, second_train, s.train_reads, s.read_length, rng, "train_");
    const auto dev_reads = two_class_reads(first_dev, second_dev, s.dev_reads, s.read_length, rng, "dev_");
    const std::string folder = s.output + "/seed-" + std::to_string(seed);
    fs::create_directories(folder);
    io::write_file_atomically(folder + "/train.tsv", dnabert_tsv(train_reads, detail::demo_k));
    io::write_file_atomically(folder + "/dev.tsv", dnabert_tsv(dev_reads, detail::demo_k));
    const train::labelled_dataset train_set(train_reads, dnabert::kmer_tokenizer(detail::demo_k), max_kmers);
    const train::labelled_dataset dev_set(dev_reads, dnabert::kmer_tokenizer(detail::demo_k), max_kmers);
    const std::string tag = " (seed " + std::to_string(seed) + "/" + std::to_string(s.seeds) + ")";
    for (auto& arm : arms) {
      const bool from_scratch = &arm == &arms.back();
      auto model = from_scratch ? cpu_bert<>(cpu, detail::demo_config(bert_head::sequence_classification, s.read_length),
                                             bert_head::sequence_classification, run_seed)
                                : cpu_bert<>::load(cpu, pretrained, bert_head::sequence_classification, run_seed, 2);
      const std::string dir = folder + (from_scratch ? "/from_scratch" : "/finetuned");
      const auto run = detail::finetune_demo(model, s, run_seed, train_set, dev_set, dir, "finetune, " + arm.name + tag);
      arm.dev_auroc.emplace_back();
      for (const auto& e : run.evaluations) arm.dev_auroc.back().push_back(e.metrics.value("auc", 0.0));
      auto [report, probability] = detail::score_on(dir, test_reads, s.threads);
      arm.test.push_back(std::move(report));
      arm.test_probability.push_back(std::move(probability));
    }
  }

  std::ostringstream table;
  table << "id\tlabel";
  for (const auto& arm : arms)
    for (int seed = 1; seed <= s.seeds; ++seed) table << "\tp_" << arm.key << "_seed" << seed;
  table << '\n';
  for (std::size_t i = 0; i < test_reads.size(); ++i) {
    table << test_reads[i].id << '\t' << *test_reads[i].label;
    for (const auto& arm : arms)
      for (const auto& p : arm.test_probability) table << '\t' << p[i];
    table << '\n';
  }
  io::write_file_atomically(s.output + "/predictions.tsv", table.str());
  nlohmann::json metrics;
  for (const auto& arm : arms) {
    auto& entry = metrics[arm.key];
    for (const auto& report : arm.test) entry["seeds"].push_back(report.to_json());
    for (const char* name : {"acc", "mcc", "auc"}) {
      const auto [mean, sd] = detail::mean_and_sd(detail::test_values(arm, name));
      entry["mean"][name] = mean;
      entry["sd"][name] = sd;
    }
    entry["dev_auroc_per_epoch"] = arm.dev_auroc;
  }
  io::write_file_atomically(s.output + "/metrics.json", metrics.dump(2) + "\n");
  detail::write_auroc_curves(s.output + "/finetune_auroc.svg", arms);
  detail::print_comparison(arms, test_reads.size());
  detail::interpret_demo(cpu_bert<>::load(cpu, s.output + "/seed-1/finetuned", bert_head::sequence_classification), s, test_reads,
                         arms.front().test_probability.front());
  std::cout << "\nwritten: " << s.output << "/finetune_auroc.svg (dev AUROC per epoch, both arms), " << s.output
            << "/pretrained/curves.svg, " << s.output << "/seed-N/{finetuned,from_scratch} (models), " << s.output
            << "/predictions.tsv, " << s.output << "/metrics.json, " << s.output << "/attention_landscape.svg, " << s.output
            << "/attention_strip.svg\n";
}

/// Registers `demo`.
inline void add_demo_command(CLI::App& app) {
  auto s = std::make_shared<demo_settings>();
  auto* cmd = app.add_subcommand("demo", "Pre-train on real genomes, fine-tune on a few hundred reads to tell their genome, compare with no pre-training");
  cmd->add_option("--genome", s->genome, "FASTA genome of label 0 (default: htslib-test's C. elegans sample)");
  cmd->add_option("--other-genome", s->other_genome, "FASTA genome of label 1 (default: a piece of human chr17)");
  cmd->add_option("-o,--output", s->output, "output folder");
  cmd->add_option("--pretrain-steps", s->pretrain_steps, "pre-training steps")->check(CLI::Range(2, 1 << 30));
  cmd->add_option("--train-reads", s->train_reads, "labelled reads per fine-tuning run")->check(CLI::Range(10, 1 << 24));
  cmd->add_option("--dev-reads", s->dev_reads, "dev reads per fine-tuning run")->check(CLI::Range(10, 1 << 24));
  cmd->add_option("--test-reads", s->test_reads, "held-out test reads")->check(CLI::Range(10, 1 << 24));
  cmd->add_option("--seeds", s->seeds, "fine-tuning runs per arm")->check(CLI::Range(1, 100));
  cmd->add_option("--epochs", s->finetune_epochs, "fine-tuning epochs")->check(CLI::Range(1, 1000));
  cmd->add_option("--seed", s->seed, "seed of the task, the models and the training runs");
  add_threads_option(cmd, s->threads);
  cmd->callback([s] { run_demo(*s); });
}

}  // namespace dnabert::cli
