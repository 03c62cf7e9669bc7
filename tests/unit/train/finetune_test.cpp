// Fine-tuning end to end on a tiny model and a planted-motif task.
#include "dnabert/cpu.hpp"
#include "dnabert/train/finetune.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "planted_motif.hpp"
#include "test_paths.hpp"
#include "tiny_config.hpp"

namespace train_finetune_test {

namespace {

using B = dnabert::backend::cpu;

dnabert::bert_config tiny_classifier() {
  return dnabert::test::tiny_config(dnabert::bert_head::sequence_classification, 16, 1, 2, 32, 48);
}

// One run; `seed` draws the initial weights, the train and dev sets and the shuffling.
dnabert::train::training_summary run_once(const std::string& dir, std::unique_ptr<dnabert::cpu_bert<>>& model, B& cpu,
                                          unsigned seed = 1) {
  model = std::make_unique<dnabert::cpu_bert<>>(cpu, tiny_classifier(), dnabert::bert_head::sequence_classification, seed + 2);
  const dnabert::train::labelled_dataset train(dnabert::test::planted_motif_set(96, 2 * seed - 1), dnabert::kmer_tokenizer(3));
  const dnabert::train::labelled_dataset dev(dnabert::test::planted_motif_set(32, 2 * seed), dnabert::kmer_tokenizer(3));
  dnabert::train::finetune_options options;
  options.seed = 41 + seed;  // 42, the default, for the first run
  options.epochs = 40;
  options.batch_size = 16;
  options.optimizer.lr = 2e-3;
  options.eval_steps = 60;
  return dnabert::train::finetune(*model, train, dev, options, dir);
}

}  // namespace

TEST_CASE("finetune: loss falls, runs are reproducible, the best model is saved and reloads") {
  B cpu(1);
  const auto dir = dnabert::test::scratch_dir("finetune").string();
  std::unique_ptr<dnabert::cpu_bert<>> model;
  const auto first = run_once(dir, model, cpu);
  REQUIRE(first.steps == 240);
  REQUIRE(first.train_loss.size() == 240);
  double early = 0, late = 0;
  for (int i = 0; i < 6; ++i) early += first.train_loss[static_cast<std::size_t>(i)].second;
  for (int i = 234; i < 240; ++i) late += first.train_loss[static_cast<std::size_t>(i)].second;
  CHECK(late < early);
  REQUIRE(first.evaluations.size() == 4);
  REQUIRE(first.best.has_value());
  CHECK(first.best->metrics["auc"].get<double>() > 0.8);  // it learned the planted motif (0.90 here)

  // Same seed, same data: identical losses.
  std::unique_ptr<dnabert::cpu_bert<>> again_model;
  const auto again = run_once(dnabert::test::scratch_dir("finetune-again").string(), again_model, cpu);
  CHECK(again.train_loss == first.train_loss);

  // The saved best model gives the best evaluation's dev loss.
  const auto best = dnabert::cpu_bert<>::load(cpu, dir, dnabert::bert_head::sequence_classification);
  const dnabert::train::labelled_dataset dev(dnabert::test::planted_motif_set(32, 2), dnabert::kmer_tokenizer(3));
  const auto check = dnabert::train::detail::evaluate_model(best, dev, 16, first.best->step, "auc");
  CHECK(check.loss == doctest::Approx(first.best->loss).epsilon(1e-5));

  std::ifstream log(dir + "/log.jsonl");
  int lines = 0;
  for (std::string line; std::getline(log, line);) ++lines;
  CHECK(lines == 240 + 4);
  CHECK(std::filesystem::exists(dir + "/curves.svg"));
}

TEST_CASE("finetune: the planted motif is learned from other seeds too") {
  B cpu(1);
  for (const unsigned seed : {2U, 3U}) {
    CAPTURE(seed);
    std::unique_ptr<dnabert::cpu_bert<>> model;
    const auto run = run_once(dnabert::test::scratch_dir("finetune-seed-" + std::to_string(seed)).string(), model, cpu, seed);
    REQUIRE(run.best.has_value());
    MESSAGE("seed " << seed << ": best dev AUC " << run.best->metrics["auc"].get<double>());
    CHECK(run.best->metrics["auc"].get<double>() > 0.8);
  }
}

TEST_CASE("finetune: labels outside the classes are refused before training") {
  B cpu(1);
  dnabert::cpu_bert<> model(cpu, tiny_classifier(), dnabert::bert_head::sequence_classification, 3);
  const dnabert::train::labelled_dataset bad({{"x", "ACGTACGT", 3.0, {}}}, dnabert::kmer_tokenizer(3));
  CHECK_THROWS_WITH_AS(dnabert::train::finetune(model, bad, bad, {}, dnabert::test::scratch_dir("finetune-bad").string()),
                       "sequence 'x' has label 3, not a class id in 0..1", dnabert::input_error);
}

}  // namespace train_finetune_test
