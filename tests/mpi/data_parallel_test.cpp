// Data-parallel runs over MPI, each case run by every rank of `mpirun -np 2` (or more): the sum
// in rank order, and training whose weights are the ones one process gets accumulating the same
// micro-batches — bit for bit with one micro-batch per rank, within 1e-6 with several.
#include "dnabert/cpu.hpp"
#include "dnabert/parallel/mpi.hpp"
#include "dnabert/train/finetune.hpp"
#include "dnabert/train/pretrain.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "learnable_genome.hpp"
#include "planted_motif.hpp"
#include "tiny_config.hpp"

namespace {

namespace fs = std::filesystem;
namespace parallel = dnabert::parallel;
namespace train = dnabert::train;
using B = dnabert::backend::cpu;

// MPI_COMM_WORLD's ranks; the cases need at least two.
parallel::mpi_communicator& world() {
  if (!parallel::launched_by_mpi()) throw dnabert::error("run the MPI tests under mpirun -np 2");
  static parallel::mpi_communicator ranks;
  return ranks;
}

// A folder every rank names alike (rank 0's process id), emptied by rank 0 before the others go on.
fs::path shared_dir(const std::string& name) {
  long id = static_cast<long>(::getpid());
  world().broadcast(&id, sizeof id, 0);
  const fs::path dir = fs::temp_directory_path() / ("dnabert-mpi-test-" + name + "-" + std::to_string(id));
  if (world().rank() == 0) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  world().barrier();
  return dir;
}

// A folder of this rank's own.
fs::path own_dir(const std::string& name) {
  const fs::path dir = shared_dir(name) / ("rank-" + std::to_string(world().rank()));
  fs::create_directories(dir);
  return dir;
}

// Every weight of `model`, by name.
std::map<std::string, std::vector<float>> weights(const dnabert::cpu_bert<>& model) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& [name, tensor] : model.state_dict()) out[name].assign(tensor.values.begin(), tensor.values.end());
  return out;
}

// Largest |a - b| / max(|a|, |b|, 0.02) over the weights (0 when equal). The floor, BERT's
// initializer range, keeps weights that hold only rounding noise from counting as different:
// the attention key bias has a zero gradient in exact arithmetic (softmax ignores it) and sits
// near 1e-9, where two summation orders give unrelated values.
double largest_relative_difference(const std::map<std::string, std::vector<float>>& a,
                                   const std::map<std::string, std::vector<float>>& b) {
  REQUIRE(a.size() == b.size());
  double largest = 0;
  for (const auto& [name, values] : a) {
    const auto& other = b.at(name);
    REQUIRE(values.size() == other.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double scale = std::max({std::abs(static_cast<double>(values[i])), std::abs(static_cast<double>(other[i])), 0.02});
      largest = std::max(largest, std::abs(static_cast<double>(values[i]) - other[i]) / scale);
    }
  }
  return largest;
}

dnabert::bert_config tiny_masked_lm() { return dnabert::test::tiny_config(dnabert::bert_head::masked_lm, 32, 1, 2, 64, 66); }

// 20 pre-training steps of `model` into `dir` on `ranks` (null: one process), `per_rank`
// micro-batches of 4 pieces per rank and step; from `resume` when given.
train::training_summary pretrain_steps(dnabert::cpu_bert<>& model, const fs::path& dir, parallel::communicator* ranks,
                                       std::int64_t per_rank, const std::string& resume = {}, std::int64_t steps = 20,
                                       bool overlap = true) {
  static const std::string genome = ">g\n" + dnabert::test::repetitive_genome(6000, 3) + "\n";
  static const auto corpus = train::pretraining_corpus::read(dnabert::test::bytes_of(genome), "g.fa");
  train::pretrain_options options;
  options.max_steps = steps;
  options.batch_size = 4;
  options.gradient_accumulation_steps = per_rank;
  options.optimizer.lr = 2e-3;
  options.warmup_steps = 3;
  options.mask_probability = 0.1;
  options.save_steps = 10;
  options.save_total_limit = 0;
  options.communicator = ranks;
  options.overlap_gradient_sum = overlap;
  options.resume_from = resume;
  return train::pretrain(model, corpus, options, dir.string());
}

}  // namespace

TEST_CASE("communicator: sums in rank order leave the same bits on every rank, whatever the segments") {
  REQUIRE(world().size() >= 2);
  const int ranks = world().size(), rank = world().rank();
  // Terms whose float sum depends on the order: rank r contributes (r + 1) * 1e7 + small parts.
  const auto term = [](int r, std::size_t i) { return static_cast<float>((r % 2 == 0 ? 1e8 : -1e8) + 0.37 * (r + 1) + 1e-3 * i); };
  for (const std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{1000}}) {
    CAPTURE(count);
    std::vector<float> mine(count), expected(count);
    std::vector<double> mine_double(count), expected_double(count);
    std::vector<dnabert::bfloat16> mine_half(count);
    std::vector<float> expected_half(count);
    for (std::size_t i = 0; i < count; ++i) {
      mine[i] = term(rank, i);
      mine_double[i] = term(rank, i);
      mine_half[i] = dnabert::bfloat16(0.25f * static_cast<float>(rank + 1) + static_cast<float>(i));
      expected[i] = term(0, i);
      expected_double[i] = term(0, i);
      expected_half[i] = dnabert::bfloat16(0.25f + static_cast<float>(i));
      for (int r = 1; r < ranks; ++r) {
        expected[i] += term(r, i);
        expected_double[i] += static_cast<double>(term(r, i));
        expected_half[i] += static_cast<float>(dnabert::bfloat16(0.25f * static_cast<float>(r + 1) + static_cast<float>(i)));
      }
    }
    world().sum_in_rank_order(mine.data(), count);
    world().sum_in_rank_order(mine_double.data(), count);
    world().sum_in_rank_order(mine_half.data(), count);
    CHECK(mine == expected);
    CHECK(mine_double == expected_double);
    for (std::size_t i = 0; i < count; ++i) CHECK(static_cast<float>(mine_half[i]) == static_cast<float>(dnabert::bfloat16(expected_half[i])));
  }
  // Large buffers go in segments: the sums do not change.
  std::vector<float> big(parallel::mpi_communicator::segment_elements + 5, static_cast<float>(rank + 1));
  world().sum_in_rank_order(big.data(), big.size());
  const auto total = static_cast<float>(ranks * (ranks + 1) / 2);
  CHECK(std::all_of(big.begin(), big.end(), [total](float x) { return x == total; }));

  std::vector<double> sent(5, rank == 1 ? 7.5 : -1.0);
  world().broadcast(sent.data(), sent.size() * sizeof(double), 1);
  CHECK(sent == std::vector<double>(5, 7.5));
  CHECK(world().any(rank == ranks - 1));
  CHECK_FALSE(world().any(false));
}

TEST_CASE("data parallel: pre-training on the ranks gives the weights one process gets accumulating their micro-batches, bit for bit") {
  REQUIRE(world().size() >= 2);
  B cpu(1);
  dnabert::cpu_bert<> spread(cpu, tiny_masked_lm(), dnabert::bert_head::masked_lm, 5 + world().rank());  // rank 0's weights win
  const fs::path dir = shared_dir("pretrain");
  const auto parallel_run = pretrain_steps(spread, dir, &world(), 1);
  dnabert::cpu_bert<> alone(cpu, tiny_masked_lm(), dnabert::bert_head::masked_lm, 5);
  const auto single_run = pretrain_steps(alone, own_dir("pretrain-alone"), nullptr, world().size());
  CHECK(parallel_run.steps == 20);
  CHECK(parallel_run.train_loss == single_run.train_loss);
  CHECK(largest_relative_difference(weights(spread), weights(alone)) == 0.0);
  world().barrier();
  // Rank 0 alone wrote: one log line per step, the checkpoints, the final model.
  std::ifstream log(dir / "log.jsonl");
  std::size_t lines = 0;
  for (std::string line; std::getline(log, line);) ++lines;
  CHECK(lines == 20);
  CHECK(fs::exists(dir / "checkpoint-10" / "trainer_state.json"));
  CHECK(train::read_trainer_state((dir / "checkpoint-20").string()).gradient_accumulation_steps == world().size());
  const auto reloaded = dnabert::cpu_bert<>::load(cpu, dir.string(), dnabert::bert_head::masked_lm);
  CHECK(largest_relative_difference(weights(reloaded), weights(alone)) == 0.0);
}

TEST_CASE("data parallel: summing each part while backward runs gives the bits of summing after it") {
  REQUIRE(world().size() >= 2);
  B cpu(1);
  for (const std::int64_t per_rank : {1, 2}) {
    CAPTURE(per_rank);
    dnabert::cpu_bert<> overlapped(cpu, tiny_masked_lm(), dnabert::bert_head::masked_lm, 5);
    (void)pretrain_steps(overlapped, shared_dir("overlap-on"), &world(), per_rank, {}, 10, true);
    dnabert::cpu_bert<> after(cpu, tiny_masked_lm(), dnabert::bert_head::masked_lm, 5);
    (void)pretrain_steps(after, shared_dir("overlap-off"), &world(), per_rank, {}, 10, false);
    CHECK(largest_relative_difference(weights(overlapped), weights(after)) == 0.0);
  }
}

TEST_CASE("data parallel: with several micro-batches per rank, the weights agree with one process within 1e-6") {
  REQUIRE(world().size() >= 2);
  B cpu(1);
  dnabert::cpu_bert<> spread(cpu, tiny_masked_lm(), dnabert::bert_head::masked_lm, 5);
  (void)pretrain_steps(spread, shared_dir("pretrain-accumulated"), &world(), 2);
  dnabert::cpu_bert<> alone(cpu, tiny_masked_lm(), dnabert::bert_head::masked_lm, 5);
  (void)pretrain_steps(alone, own_dir("pretrain-accumulated-alone"), nullptr, 2 * world().size());
  const double difference = largest_relative_difference(weights(spread), weights(alone));
  MESSAGE("largest relative difference after 20 steps: " << difference);
  CHECK(difference <= 1e-6);
}

TEST_CASE("data parallel: a run resumed from its checkpoint repeats the uninterrupted one, on the ranks or in one process") {
  REQUIRE(world().size() >= 2);
  B cpu(1);
  dnabert::cpu_bert<> whole(cpu, tiny_masked_lm(), dnabert::bert_head::masked_lm, 5);
  const fs::path dir = shared_dir("resume");
  (void)pretrain_steps(whole, dir, &world(), 1);
  const std::string checkpoint = (dir / "checkpoint-10").string();

  auto resumed = dnabert::cpu_bert<>::load(cpu, checkpoint, dnabert::bert_head::masked_lm);
  const auto again = pretrain_steps(resumed, shared_dir("resume-again"), &world(), 1, checkpoint);
  CHECK(again.steps == 20);
  CHECK(largest_relative_difference(weights(resumed), weights(whole)) == 0.0);

  auto alone = dnabert::cpu_bert<>::load(cpu, checkpoint, dnabert::bert_head::masked_lm);
  (void)pretrain_steps(alone, own_dir("resume-alone"), nullptr, world().size(), checkpoint);
  CHECK(largest_relative_difference(weights(alone), weights(whole)) == 0.0);

  auto mismatched = dnabert::cpu_bert<>::load(cpu, checkpoint, dnabert::bert_head::masked_lm);
  CHECK_THROWS_WITH_AS((void)pretrain_steps(mismatched, own_dir("resume-mismatch"), &world(), 2, checkpoint),
                       doctest::Contains("give --gradient-accumulation 1"), dnabert::config_error);
}

TEST_CASE("data parallel: fine-tuning on the ranks gives the weights one process gets accumulating their micro-batches, bit for bit") {
  REQUIRE(world().size() >= 2);
  B cpu(1);
  const train::labelled_dataset train_set(dnabert::test::planted_motif_set(96, 1), dnabert::kmer_tokenizer(3));
  const train::labelled_dataset dev_set(dnabert::test::planted_motif_set(32, 2), dnabert::kmer_tokenizer(3));
  const auto config = dnabert::test::tiny_config(dnabert::bert_head::sequence_classification, 16, 1, 2, 32, 48);
  const auto run = [&](dnabert::cpu_bert<>& model, const fs::path& dir, parallel::communicator* ranks, std::int64_t per_rank) {
    train::finetune_options options;
    options.max_steps = 20;
    options.batch_size = 8;
    options.gradient_accumulation_steps = per_rank;
    options.optimizer.lr = 2e-3;
    options.eval_steps = 10;
    options.communicator = ranks;
    return train::finetune(model, train_set, dev_set, options, dir.string());
  };
  dnabert::cpu_bert<> spread(cpu, config, dnabert::bert_head::sequence_classification, 3);
  const auto parallel_run = run(spread, shared_dir("finetune"), &world(), 1);
  dnabert::cpu_bert<> alone(cpu, config, dnabert::bert_head::sequence_classification, 3);
  const auto single_run = run(alone, own_dir("finetune-alone"), nullptr, world().size());
  CHECK(parallel_run.train_loss == single_run.train_loss);
  REQUIRE(parallel_run.evaluations.size() == single_run.evaluations.size());
  for (std::size_t i = 0; i < parallel_run.evaluations.size(); ++i)
    CHECK(parallel_run.evaluations[i].score == single_run.evaluations[i].score);
  CHECK(largest_relative_difference(weights(spread), weights(alone)) == 0.0);
}
