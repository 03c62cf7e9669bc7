// The shared training loop: exact resume from a checkpoint, stop requests, a checkpoint the disk
// refuses, gradient accumulation, non-finite steps, early stopping, checkpoint rotation and
// trainer_state.json checks.
#include "dnabert/cpu.hpp"
#include "dnabert/train/finetune.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

#include "dnabert/io/safetensors.hpp"
#include "file_size_limit.hpp"
#include "planted_motif.hpp"
#include "test_paths.hpp"
#include "tiny_config.hpp"

namespace train_training_loop_test {

namespace {

using B = dnabert::backend::cpu;
namespace train = dnabert::train;

dnabert::bert_config classifier_config(double dropout = 0.1) {
  auto config = dnabert::test::tiny_config(dnabert::bert_head::sequence_classification, 16, 1, 2, 32, 40);
  config.hidden_dropout_prob = dropout;
  config.attention_probs_dropout_prob = dropout;
  return config;
}

const train::labelled_dataset& train_set() {
  static const train::labelled_dataset set(dnabert::test::planted_motif_set(40, 1, 30), dnabert::kmer_tokenizer(3));
  return set;
}

const train::labelled_dataset& dev_set() {
  static const train::labelled_dataset set(dnabert::test::planted_motif_set(16, 2, 30), dnabert::kmer_tokenizer(3));
  return set;
}

dnabert::io::tensor_map weights_of(const std::string& dir) {
  return dnabert::io::read_safetensors(dir + "/model.safetensors").tensors;
}

bool same_weights(const dnabert::io::tensor_map& a, const dnabert::io::tensor_map& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, tensor] : a) {
    const auto other = b.find(name);
    if (other == b.end() || other->second.values.size() != tensor.values.size()) return false;
    if (!std::equal(tensor.values.begin(), tensor.values.end(), other->second.values.begin())) return false;
  }
  return true;
}

std::vector<std::string> log_lines(const std::string& dir) {
  std::ifstream in(dir + "/log.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

train::finetune_options resumable_options() {
  train::finetune_options options;
  options.max_steps = 12;
  options.batch_size = 8;
  options.optimizer.lr = 1e-3;
  options.eval_steps = 4;
  options.save_steps = 5;
  options.save_total_limit = 0;
  return options;
}

struct simulated_crash : std::runtime_error {
  simulated_crash() : std::runtime_error("crash") {}
};

const train::labelled_dataset no_dev({}, dnabert::kmer_tokenizer(3));

// The uninterrupted run of resumable_options() (evaluated on `dev`), into a folder of its own.
std::string straight_run(const train::labelled_dataset& dev, const std::string& name) {
  B cpu(1);
  const auto dir = dnabert::test::scratch_dir(name).string();
  dnabert::cpu_bert<> straight(cpu, classifier_config(), dnabert::bert_head::sequence_classification, 7);
  const auto reference = train::finetune(straight, train_set(), dev, resumable_options(), dir);
  REQUIRE(reference.steps == 12);
  return dir;
}

// Resumes the run in `dir` from `checkpoint` (evaluated on `dev`) and checks that it ends as the
// straight run in `straight_dir`: the same log, output model, and checkpoint-10 weights and
// optimizer state, bit for bit.
void check_resumes_as_straight_run(const std::string& dir, const std::string& checkpoint,
                                   const train::labelled_dataset& dev, const std::string& straight_dir) {
  B cpu(1);
  auto resumed = dnabert::cpu_bert<>::load(cpu, checkpoint, dnabert::bert_head::sequence_classification);
  auto options = resumable_options();
  options.resume_from = checkpoint;
  std::vector<std::string> notices;
  options.notice = [&](const std::string& text) { notices.push_back(text); };
  const auto continued = train::finetune(resumed, train_set(), dev, options, dir);
  CHECK(continued.steps == 12);
  CHECK_FALSE(continued.interrupted);
  REQUIRE(!notices.empty());
  CHECK(notices.front().find("resuming " + checkpoint) != std::string::npos);

  CHECK(log_lines(dir) == log_lines(straight_dir));  // the same losses, learning rates and evaluations
  CHECK(same_weights(weights_of(dir), weights_of(straight_dir)));  // the best (or last) model
  CHECK(same_weights(weights_of(dir + "/checkpoint-10"), weights_of(straight_dir + "/checkpoint-10")));
  CHECK(same_weights(train::read_optimizer_state(dir + "/checkpoint-10"),
                     train::read_optimizer_state(straight_dir + "/checkpoint-10")));
}

// The message of what `run()` throws as dnabert::error ("" when it throws nothing).
template <class Run>
std::string error_of(Run&& run) {
  try {
    run();
  } catch (const dnabert::error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("training loop: a run stopped after a checkpoint and resumed ends bit-identical to a straight run") {
  B cpu(1);
  const auto straight_dir = straight_run(dev_set(), "loop-straight");

  // The interrupted run dies at step 8, three steps after checkpoint-5.
  const auto dir = dnabert::test::scratch_dir("loop-resumed").string();
  {
    dnabert::cpu_bert<> model(cpu, classifier_config(), dnabert::bert_head::sequence_classification, 7);
    auto options = resumable_options();
    options.progress = [](const train::step_report& r) {
      if (r.step == 8) throw simulated_crash();
    };
    CHECK_THROWS_AS(train::finetune(model, train_set(), dev_set(), options, dir), simulated_crash);
  }
  REQUIRE(train::latest_checkpoint(dir) == dir + "/checkpoint-5");
  const auto state = train::read_trainer_state(dir + "/checkpoint-5");
  CHECK(state.step == 5);
  CHECK(state.kind == "finetune");
  CHECK(state.best_step == 4);
  check_resumes_as_straight_run(dir, dir + "/checkpoint-5", dev_set(), straight_dir);
}

TEST_CASE("training loop: a stop request ends the run after its step with a checkpoint that resumes exactly") {
  B cpu(1);
  const auto straight_dir = straight_run(dev_set(), "loop-stop-straight");
  const auto dir = dnabert::test::scratch_dir("loop-stopped").string();
  std::atomic<bool> stop{false};
  {
    dnabert::cpu_bert<> model(cpu, classifier_config(), dnabert::bert_head::sequence_classification, 7);
    auto options = resumable_options();
    options.stop_request = &stop;
    options.progress = [&](const train::step_report& r) {
      if (r.step == 7) stop = true;  // as a signal during step 7 would
    };
    const auto stopped = train::finetune(model, train_set(), dev_set(), options, dir);
    CHECK(stopped.interrupted);
    CHECK(stopped.steps == 7);
    CHECK(stopped.resume_checkpoint == dir + "/checkpoint-7");
  }
  CHECK(train::latest_checkpoint(dir) == dir + "/checkpoint-7");
  CHECK(train::read_trainer_state(dir + "/checkpoint-7").step == 7);
  check_resumes_as_straight_run(dir, dir + "/checkpoint-7", dev_set(), straight_dir);
}

TEST_CASE("training loop: a stop requested before the first step writes checkpoint-0, which resumes as a fresh run") {
  B cpu(1);
  const auto straight_dir = straight_run(dev_set(), "loop-stop0-straight");
  const auto dir = dnabert::test::scratch_dir("loop-stopped-at-0").string();
  const std::atomic<bool> stop{true};  // a signal while the data loaded
  {
    dnabert::cpu_bert<> model(cpu, classifier_config(), dnabert::bert_head::sequence_classification, 7);
    auto options = resumable_options();
    options.stop_request = &stop;
    const auto stopped = train::finetune(model, train_set(), dev_set(), options, dir);
    CHECK(stopped.interrupted);
    CHECK(stopped.steps == 0);
    CHECK(stopped.resume_checkpoint == dir + "/checkpoint-0");
  }
  check_resumes_as_straight_run(dir, dir + "/checkpoint-0", dev_set(), straight_dir);
}

TEST_CASE("training loop: a checkpoint the disk refuses stops the run naming the file, and the one before still resumes") {
  B cpu(1);
  const auto straight_dir = straight_run(no_dev, "loop-full-straight");
  const auto dir = dnabert::test::scratch_dir("loop-disk-full").string();
  std::optional<dnabert::test::file_size_limit> full;
  std::uintmax_t limit = 0, log_size = 0;
  const std::string message = error_of([&] {
    dnabert::cpu_bert<> model(cpu, classifier_config(), dnabert::bert_head::sequence_classification, 7);
    auto options = resumable_options();
    options.progress = [&](const train::step_report& r) {
      if (r.step != 6) return;  // checkpoint-5 is written: the disk fills up before checkpoint-10
      limit = std::filesystem::file_size(dir + "/checkpoint-5/model.safetensors") / 2;
      log_size = std::filesystem::file_size(dir + "/log.jsonl");
      full.emplace(limit);
    };
    (void)train::finetune(model, train_set(), no_dev, options, dir);
  });
  full.reset();
  REQUIRE(log_size * 2 < limit);  // the log kept growing; only the checkpoint met the limit
  const std::string partial = dir + "/checkpoint-10.partial/model.safetensors";
  CHECK(message.find("training stopped at step 10: cannot write " + partial + ": ") != std::string::npos);
  CHECK(message.find("File too large") != std::string::npos);
  CHECK(message.find(dir + "/checkpoint-10 was not written; the last checkpoint is " + dir + "/checkpoint-5") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/checkpoint-10"));
  CHECK_FALSE(std::filesystem::exists(dir + "/checkpoint-10.partial"));  // its space is given back
  CHECK(train::latest_checkpoint(dir) == dir + "/checkpoint-5");
  check_resumes_as_straight_run(dir, dir + "/checkpoint-5", no_dev, straight_dir);
}

TEST_CASE("training loop: resuming with another seed or batch size is refused") {
  B cpu(1);
  const auto dir = dnabert::test::scratch_dir("loop-mismatch").string();
  dnabert::cpu_bert<> model(cpu, classifier_config(), dnabert::bert_head::sequence_classification, 7);
  auto options = resumable_options();
  options.max_steps = 5;
  (void)train::finetune(model, train_set(), dev_set(), options, dir);
  auto other = resumable_options();
  other.resume_from = dir + "/checkpoint-5";
  other.batch_size = 4;
  CHECK_THROWS_WITH_AS(train::finetune(model, train_set(), dev_set(), other, dir),
                       doctest::Contains("trained with batch size 8, this run has 4"), dnabert::config_error);
  other.batch_size = 8;
  other.seed = 7;
  CHECK_THROWS_WITH_AS(train::finetune(model, train_set(), dev_set(), other, dir),
                       doctest::Contains("trained with seed 42, this run has 7"), dnabert::config_error);
}

TEST_CASE("training loop: two accumulated micro-batches make the same step as one batch of both") {
  B cpu(1);
  const auto run = [&](std::size_t batch, std::int64_t accumulation, const std::string& name) {
    dnabert::cpu_bert<> model(cpu, classifier_config(0.0), dnabert::bert_head::sequence_classification, 7);
    train::finetune_options options;
    options.max_steps = 3;
    options.batch_size = batch;
    options.gradient_accumulation_steps = accumulation;
    options.optimizer.lr = 1e-3;
    // Adam's first steps are lr·sign(g) wherever |g| >> eps, so gradients that are zero in exact
    // arithmetic (key biases, rare embedding rows) would turn rounding noise into ±lr; a large eps
    // makes the update proportional to the gradient, which is what this test compares.
    options.optimizer.eps = 1.0;
    const auto dir = dnabert::test::scratch_dir(name).string();
    const auto summary = train::finetune(model, train_set(), dev_set(), options, dir);
    return std::make_pair(summary, model.state_dict());
  };
  const auto whole = run(16, 1, "loop-whole");
  const auto halves = run(8, 2, "loop-halves");
  REQUIRE(whole.first.train_loss.size() == 3);
  REQUIRE(halves.first.train_loss.size() == 3);
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(halves.first.train_loss[i].second == doctest::Approx(whole.first.train_loss[i].second).epsilon(1e-5));
  double largest = 0;
  for (const auto& [name, tensor] : whole.second) {
    const auto& other = halves.second.at(name);
    for (std::size_t i = 0; i < tensor.values.size(); ++i)
      largest = std::max(largest, static_cast<double>(std::abs(tensor.values[i] - other.values[i])));
  }
  CHECK(largest < 1e-7);  // lr·|Δg| with gradients equal to float rounding
}

TEST_CASE("training loop: a non-finite loss stops the run naming the step, or is skipped and counted") {
  B cpu(1);
  dnabert::cpu_bert<> model(cpu, dnabert::test::tiny_config(dnabert::bert_head::sequence_classification, 16, 1, 2, 32, 40, 1),
                        dnabert::bert_head::sequence_classification, 7);
  std::vector<dnabert::io::sequence_entry> entries = dnabert::test::planted_motif_set(16, 3, 30);
  entries[5].label = std::numeric_limits<double>::quiet_NaN();  // a NaN regression target poisons one batch
  const train::labelled_dataset data(entries, dnabert::kmer_tokenizer(3));
  train::finetune_options options;
  options.max_steps = 6;
  options.batch_size = 4;
  options.save_steps = 1;
  const auto dir = dnabert::test::scratch_dir("loop-nan").string();
  const auto order = train::epoch_order(16, options.seed, 0);
  const auto poisoned = static_cast<std::int64_t>(std::find(order.begin(), order.end(), 5) - order.begin()) / 4 + 1;
  CHECK_THROWS_WITH_AS(train::finetune(model, data, no_dev, options, dir),
                       doctest::Contains(("non-finite loss at step " + std::to_string(poisoned)).c_str()), dnabert::error);
  if (poisoned > 1) CHECK(train::latest_checkpoint(dir) == dir + "/checkpoint-" + std::to_string(poisoned - 1));

  options.skip_nonfinite = true;
  options.save_steps = 0;
  const auto skipped_dir = dnabert::test::scratch_dir("loop-nan-skip").string();
  const auto summary = train::finetune(model, data, no_dev, options, skipped_dir);
  CHECK(summary.steps == 6);
  CHECK(summary.skipped_steps == 2);  // the sample is seen in both epochs of this 6-step run
  int skipped_lines = 0;
  for (const auto& line : log_lines(skipped_dir)) skipped_lines += line.find("\"skipped\"") != std::string::npos;
  CHECK(skipped_lines == 2);
}

TEST_CASE("training loop: early stopping after N evaluations without improvement") {
  B cpu(1);
  dnabert::cpu_bert<> model(cpu, classifier_config(), dnabert::bert_head::sequence_classification, 7);
  train::training_options options;
  options.total_steps = 20;
  options.eval_steps = 2;
  options.early_stopping_patience = 2;
  const std::vector<double> scores = {0.5, 0.7, 0.6, 0.65, 0.9};  // best at step 4, then two worse ones
  int calls = 0;
  std::vector<std::string> notices;
  options.notice = [&](const std::string& text) { notices.push_back(text); };
  const auto batch = train_set().batch(std::vector<std::size_t>{0, 1, 2, 3});
  const auto summary = train::run_training(
      model, options, dnabert::test::scratch_dir("loop-early").string(),
      [&](dnabert::nn::forward_context<B>& ctx, std::int64_t) {
        train::micro_batch_loss<B> part;
        const auto out = model.forward(ctx, batch.tokens);
        dnabert::autograd::id_tensor<B> labels(cpu, {4});
        const std::vector<std::int32_t> host = {1, 0, 1, 0};
        upload(cpu, host.data(), labels.data(), 4);
        part.loss = dnabert::autograd::cross_entropy(ctx.tape, out.logits, labels);
        return part;
      },
      [&](std::int64_t step) { return train::evaluation{step, 0.0, {}, scores.at(static_cast<std::size_t>(calls++))}; });
  CHECK(summary.stopped_early);
  CHECK(summary.steps == 8);
  REQUIRE(summary.best.has_value());
  CHECK(summary.best->step == 4);
  REQUIRE(!notices.empty());
  CHECK(notices.back().find("early stopping at step 8") != std::string::npos);
}

TEST_CASE("checkpoints: rotation keeps the newest, folders are complete and marked as training state") {
  B cpu(1);
  dnabert::cpu_bert<> model(cpu, classifier_config(), dnabert::bert_head::sequence_classification, 7);
  auto options = resumable_options();
  options.max_steps = 7;
  options.save_steps = 2;
  options.save_total_limit = 2;
  const auto dir = dnabert::test::scratch_dir("loop-rotation").string();
  (void)train::finetune(model, train_set(), dev_set(), options, dir);
  const auto found = train::list_checkpoints(dir);
  REQUIRE(found.size() == 2);
  CHECK(found[0].first == 4);
  CHECK(found[1].first == 6);
  for (const char* file : {"config.json", "vocab.txt", "model.safetensors", "optimizer.safetensors", "trainer_state.json"})
    CHECK(std::filesystem::exists(found[1].second / file));
  CHECK(train::holds_training_state(found[1].second.string()));
  CHECK_FALSE(train::holds_training_state(dir));  // the output folder itself is a plain model
  CHECK(train::checkpoint_step("checkpoint-12") == 12);
  CHECK_FALSE(train::checkpoint_step("checkpoint-12.partial").has_value());
  CHECK_FALSE(train::checkpoint_step("checkpoint-").has_value());
  CHECK_THROWS_WITH_AS((void)train::latest_checkpoint(dnabert::test::scratch_dir("loop-empty").string()),
                       doctest::Contains("holds no complete checkpoint"), dnabert::input_error);
}

TEST_CASE("checkpoints: what killed runs left (half-written or half-removed folders) is cleared, and nothing else") {
  namespace fs = std::filesystem;
  const auto dir = dnabert::test::scratch_dir("loop-abandoned");
  for (const char* folder : {"checkpoint-4.partial", "checkpoint-2.removing", "checkpoint-6", "notes.partial", "checkpoint-x.removing"})
    fs::create_directories(dir / folder / "sub");
  std::ofstream(dir / "checkpoint-6" / "trainer_state.json") << "{}";
  train::remove_abandoned_files(dir.string());
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir)) left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"checkpoint-6", "checkpoint-x.removing", "notes.partial"});

  train::remove_checkpoint_folder(dir / "checkpoint-6");  // renamed away first: never half a checkpoint-6
  CHECK_FALSE(fs::exists(dir / "checkpoint-6"));
  CHECK_FALSE(fs::exists(dir / "checkpoint-6.removing"));
}

TEST_CASE("checkpoints: a folder saved over one of the same name replaces it only once whole") {
  namespace fs = std::filesystem;
  B cpu(1);
  dnabert::cpu_bert<> model(cpu, classifier_config(), dnabert::bert_head::sequence_classification, 7);
  const train::adamw<B> optimizer(cpu, model.parameters());
  const auto dir = (dnabert::test::scratch_dir("checkpoint-replace") / "checkpoint-3").string();
  train::trainer_state state;
  state.kind = "finetune";
  state.step = 3;
  state.total_steps = 10;
  state.batch_size = 2;
  train::save_checkpoint(dir, model, optimizer, state);
  state.tokens_seen = 11;
  {  // the new folder cannot be written: the old one stays, whole and under its name
    const dnabert::test::file_size_limit full(64);
    CHECK_THROWS((train::save_checkpoint(dir, model, optimizer, state)));
  }
  CHECK(train::read_trainer_state(dir).tokens_seen == 0);
  CHECK(fs::exists(fs::path(dir) / "model.safetensors"));
  train::save_checkpoint(dir, model, optimizer, state);
  CHECK(train::read_trainer_state(dir).tokens_seen == 11);
  CHECK_FALSE(fs::exists(dir + ".removing"));
  CHECK_FALSE(fs::exists(dir + ".partial"));
}

TEST_CASE("checkpoints: a broken trainer_state.json is refused with the file and the field") {
  const auto dir = dnabert::test::scratch_dir("loop-state");
  const auto write = [&](const std::string& text) {
    std::ofstream(dir / "trainer_state.json") << text;
    return dir.string();
  };
  const auto path = (dir / "trainer_state.json").string();
  CHECK_THROWS_WITH_AS((void)train::read_trainer_state(write("{\"step\": 3}")),
                       doctest::Contains("not a dnabert trainer state"), dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)train::read_trainer_state(write("[1, 2")), doctest::Contains(path.c_str()), dnabert::format_error);
  auto good = train::trainer_state{};
  good.kind = "pretrain";
  good.step = 4;
  good.batch_size = 2;
  auto j = good.to_json();
  CHECK(train::read_trainer_state(write(j.dump())).step == 4);
  j["step"] = -1;
  CHECK_THROWS_WITH_AS((void)train::read_trainer_state(write(j.dump())), doctest::Contains("\"step\" is -1, below 0"),
                       dnabert::format_error);
  j["step"] = "four";
  CHECK_THROWS_WITH_AS((void)train::read_trainer_state(write(j.dump())), doctest::Contains("\"step\" must be an integer"),
                       dnabert::format_error);
  j["step"] = 4;
  j["version"] = 2;
  CHECK_THROWS_WITH_AS((void)train::read_trainer_state(write(j.dump())), doctest::Contains("version 2 is not supported"),
                       dnabert::format_error);
}

}  // namespace train_training_loop_test
