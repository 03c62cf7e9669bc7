// Masked-LM pre-training: the corpus (FASTA cut per epoch, text lines as they are), logits at
// masked rows only giving the full loss and gradients, and a run whose loss falls and resumes.
#include "dnabert/cpu.hpp"
#include "dnabert/train/pretrain.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <random>
#include <string>

#include "learnable_genome.hpp"
#include "pipe_feed.hpp"
#include "test_paths.hpp"
#include "tiny_config.hpp"

namespace train_pretrain_test {

namespace {

using B = dnabert::backend::cpu;
namespace train = dnabert::train;

using dnabert::test::bytes_of;
using dnabert::test::repetitive_genome;

}  // namespace

TEST_CASE("pretraining corpus: FASTA records are cut every epoch, text lines are examples as they stand") {
  const std::string fasta = ">chr1 test\n" + std::string(300, 'A') + "\n>chr2\nACGTNNNNACGTACGT\n";
  const auto corpus = train::pretraining_corpus::read(bytes_of(fasta), "g.fa");
  CHECK(corpus.cut_each_epoch());
  CHECK(corpus.records() == 2);
  CHECK(corpus.nucleotides() == 316);
  train::piece_options options{3, 42, train::n_run_handling::drop, false, 20};  // full pieces: 22 nt
  const auto epoch0 = corpus.epoch_pieces(options, 0);
  const auto epoch1 = corpus.epoch_pieces(options, 1);
  std::uint64_t covered = 0;
  std::string buffer;
  for (const auto& piece : epoch0) {
    CHECK(piece.length <= 22);
    CHECK(corpus.text(piece, buffer).find('N') == std::string_view::npos);
    covered += piece.length;
  }
  CHECK(covered == 300 + 4 + 8);  // every nucleotide but the N run, chr2's stretches are >= k
  bool differs = epoch0.size() != epoch1.size();
  for (std::size_t i = 0; !differs && i < epoch0.size(); ++i) differs = epoch0[i].length != epoch1[i].length;
  CHECK(differs);  // cuts are re-drawn each epoch

  const std::string text = "ACGTAC CGTACG\r\nTTTTTTTTTTTTTTTTTTTTTTTTTTTT\n\nAC\n";
  const auto lines = train::pretraining_corpus::read(bytes_of(text), "6_3k.txt");
  CHECK_FALSE(lines.cut_each_epoch());
  CHECK(lines.records() == 3);
  CHECK(lines.record(0) == "ACGTACG");  // a k-mer sentence becomes its nucleotides
  const auto pieces = lines.epoch_pieces({6, 42, train::n_run_handling::drop, false, 10}, 0);
  REQUIRE(pieces.size() == 2);          // "AC" is shorter than k
  CHECK(pieces[1].length == 15);        // cut to 10 k-mers
}

TEST_CASE("pretraining corpus: a pipe reads as its file, FASTA or text lines") {
  const auto dir = dnabert::test::scratch_dir("pretraining_corpus_pipe");
  const std::string fasta = ">chr1\n" + repetitive_genome(5000, 3) + "\n>chr2\nACGTACGTNNNNACGT\n";
  const std::string text = "ACGTAC CGTACG\n\nTTTTTTTTTT\n";
  for (const std::string* content : {&fasta, &text}) {
    const auto from_memory = train::pretraining_corpus::read(bytes_of(*content), "mem");
    const dnabert::test::fifo_feed pipe(dir, "corpus", *content, 100);
    const auto from_pipe = train::pretraining_corpus::read(pipe.path());
    CHECK(from_pipe.cut_each_epoch() == from_memory.cut_each_epoch());
    REQUIRE(from_pipe.records() == from_memory.records());
    for (std::size_t r = 0; r < from_pipe.records(); ++r) CHECK(from_pipe.record(r) == from_memory.record(r));
  }
}

TEST_CASE("pretraining corpus: bad input names the file and line") {
  CHECK_THROWS_WITH_AS((void)train::pretraining_corpus::read(bytes_of("  \n\n"), "empty.txt"),
                       doctest::Contains("empty.txt: no sequences to pre-train on"), dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)train::pretraining_corpus::read(bytes_of("ACGT\nAC-GT\n"), "bad.txt"),
                       doctest::Contains("bad.txt:2: expected nucleotides or a k-mer sentence, found '-' at column 3"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)train::pretraining_corpus::read(bytes_of("ACGT CGTA\nACGT GGGG\n"), "kmers.txt"),
                       doctest::Contains("kmers.txt:2"), dnabert::format_error);
  CHECK_THROWS_AS((void)train::pretraining_corpus::read(bytes_of(">x\nAC GT\n>x\nACGT\n"), "dup.fa"), dnabert::format_error);
}

TEST_CASE("pretrain: logits at the masked rows only give the loss and gradients of the full MLM head") {
  dnabert::backend::cpu_t<double> cpu(1);
  using D = dnabert::backend::cpu_t<double>;
  auto config = dnabert::test::tiny_config(dnabert::bert_head::masked_lm, 16, 1, 2, 32, 40);
  config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0;
  dnabert::Bert<dnabert::dynamic_bert, D> model(cpu, config, dnabert::bert_head::masked_lm, 5);
  const auto corpus = train::pretraining_corpus::read(bytes_of(">g\n" + repetitive_genome(200, 1) + "\n"), "g.fa");
  const auto pieces = corpus.epoch_pieces({3, 42, train::n_run_handling::drop, false, 38}, 0);
  auto masking = train::default_masking_options(3);
  masking.centre_probability = 0.2;
  const auto batch = train::detail::make_mlm_batch(corpus, std::span(pieces).first(3), dnabert::kmer_tokenizer(3), 38,
                                                   masking, 0);
  REQUIRE(batch.masked > 0);

  const auto loss_and_gradient = [&](bool selected) {
    dnabert::train::zero_grad(model.parameters());
    dnabert::autograd::tape<D> tape(cpu, true);
    dnabert::nn::forward_context<D> ctx{tape};
    dnabert::autograd::var<D> loss;
    if (selected) {
      loss = train::detail::mlm_loss(model, ctx, batch);
    } else {  // every row predicted, the unmasked ones ignored
      const auto out = model.forward(ctx, batch.inputs);
      std::vector<std::int32_t> labels(static_cast<std::size_t>(out.logits.value().rows()), train::ignored_label);
      for (std::size_t i = 0; i < batch.rows.size(); ++i) labels[static_cast<std::size_t>(batch.rows[i])] = batch.labels[i];
      dnabert::autograd::id_tensor<D> ids(cpu, {static_cast<std::int64_t>(labels.size())});
      upload(cpu, labels.data(), ids.data(), ids.numel());
      loss = dnabert::autograd::cross_entropy(tape, out.logits, ids);
    }
    double value = 0;
    download(cpu, loss.value().data(), &value, 1);
    tape.backward(loss);
    return value;
  };
  const auto full = loss_and_gradient(false);
  std::vector<std::vector<double>> full_grads;
  for (const auto& item : model.parameters().items()) {
    const auto& g = item.value.grad(cpu);
    full_grads.emplace_back(g.data(), g.data() + g.numel());
  }
  const auto selected = loss_and_gradient(true);
  CHECK(selected == doctest::Approx(full).epsilon(1e-12));
  std::size_t p = 0;
  for (const auto& item : model.parameters().items()) {
    const auto& g = item.value.grad(cpu);
    for (std::int64_t i = 0; i < g.numel(); ++i)
      CHECK_MESSAGE(g.data()[i] == doctest::Approx(full_grads[p][static_cast<std::size_t>(i)]).epsilon(1e-9),
                    item.name);
    ++p;
  }
}

namespace {

// Pre-trains a tiny masked LM on a repetitive genome for 400 steps into `dir`; `seed` draws the
// initial weights, the genomes, the masks and the data order (seed 1 is the run pinned below).
train::training_summary pretrain_tiny(dnabert::cpu_bert<>& model, const std::string& dir, unsigned seed = 1) {
  const auto corpus = train::pretraining_corpus::read(bytes_of(">g\n" + repetitive_genome(20000, seed + 1) + "\n"), "g.fa");
  const auto held_out = train::pretraining_corpus::read(bytes_of(">h\n" + repetitive_genome(2000, seed + 2) + "\n"), "h.fa");
  train::pretrain_options options;
  options.seed = 41 + seed;  // 42, the default, for the first run
  options.max_steps = 400;
  options.batch_size = 8;
  options.optimizer.lr = 2e-3;
  options.warmup_steps = 10;
  options.mask_probability = 0.1;
  options.save_steps = 150;
  options.eval_steps = 200;
  return train::pretrain(model, corpus, options, dir, &held_out);
}

// Mean training loss of the first and of the last ten steps.
std::pair<double, double> early_and_late_loss(const train::training_summary& run) {
  double early = 0, late = 0;
  for (std::size_t i = 0; i < 10; ++i) early += run.train_loss[i].second / 10;
  for (std::size_t i = run.train_loss.size() - 10; i < run.train_loss.size(); ++i) late += run.train_loss[i].second / 10;
  return {early, late};
}

dnabert::bert_config tiny_masked_lm() { return dnabert::test::tiny_config(dnabert::bert_head::masked_lm, 32, 1, 2, 64, 66); }

}  // namespace

TEST_CASE("pretrain: the masked-LM loss falls on a learnable genome, with checkpoints and a final model") {
  B cpu(1);
  dnabert::cpu_bert<> model(cpu, tiny_masked_lm(), dnabert::bert_head::masked_lm, 5);
  const auto dir = dnabert::test::scratch_dir("pretrain").string();
  const auto run = pretrain_tiny(model, dir);
  REQUIRE(run.steps == 400);
  const auto [early, late] = early_and_late_loss(run);
  MESSAGE("masked-LM loss " << early << " -> " << late);
  CHECK(early > 3.5);          // about ln(64): guessing among the k-mers
  CHECK(late < early - 0.25);  // PyTorch with the same recipe falls as far (tests/reference/mlm_learning_curve.py)
  REQUIRE(run.evaluations.size() == 2);
  CHECK(run.evaluations[1].loss < run.evaluations[0].loss + 0.1);
  CHECK(run.evaluations[1].metrics["perplexity"].get<double>() == doctest::Approx(std::exp(run.evaluations[1].loss)));
  const auto found = train::list_checkpoints(dir);
  REQUIRE(found.size() == 2);
  CHECK(found.back().first == 300);
  CHECK(train::read_trainer_state(found.back().second.string()).kind == "pretrain");
  const auto reloaded = dnabert::cpu_bert<>::load(cpu, dir, dnabert::bert_head::masked_lm);
  const auto reloaded_state = reloaded.state_dict();  // the spans below view these maps
  const auto trained_state = model.state_dict();
  const auto saved = reloaded_state.at("cls.predictions.bias").values;
  const auto trained = trained_state.at("cls.predictions.bias").values;
  CHECK(std::equal(saved.begin(), saved.end(), trained.begin(), trained.end()));
}

TEST_CASE("pretrain: the masked-LM loss falls as far from other seeds") {
  B cpu(1);
  for (const unsigned seed : {2U, 3U}) {
    CAPTURE(seed);
    dnabert::cpu_bert<> model(cpu, tiny_masked_lm(), dnabert::bert_head::masked_lm, seed + 4);
    const auto run = pretrain_tiny(model, dnabert::test::scratch_dir("pretrain-seed-" + std::to_string(seed)).string(), seed);
    const auto [early, late] = early_and_late_loss(run);
    MESSAGE("seed " << seed << ": masked-LM loss " << early << " -> " << late);
    CHECK(early > 3.5);
    CHECK(late < early - 0.25);
  }
}

TEST_CASE("pretrain: max_kmers cuts shorter pieces than the model holds, and no longer ones") {
  B cpu(1);
  dnabert::cpu_bert<> model(cpu, tiny_masked_lm(), dnabert::bert_head::masked_lm, 5);
  const auto corpus = train::pretraining_corpus::read(bytes_of(">g\n" + repetitive_genome(20000, 2) + "\n"), "g.fa");
  train::pretrain_options options;
  options.max_steps = 4;
  options.batch_size = 8;
  options.save_steps = 0;
  // tokens (with [CLS] and [SEP]) of the first step, read from log.jsonl
  const auto first_step_tokens = [&](const std::string& dir) {
    (void)train::pretrain(model, corpus, options, dir);
    std::ifstream log(dir + "/log.jsonl");
    std::string line;
    REQUIRE(std::getline(log, line));
    return nlohmann::json::parse(line).at("tokens").get<std::int64_t>();
  };
  const auto full = first_step_tokens(dnabert::test::scratch_dir("pretrain-full-pieces").string());
  options.max_kmers = 8;
  const auto short_pieces = first_step_tokens(dnabert::test::scratch_dir("pretrain-short-pieces").string());
  MESSAGE("first step: " << full << " tokens with the model's 64 k-mers a piece, " << short_pieces << " with 8");
  CHECK(short_pieces <= 8 * (8 + 2));
  CHECK(short_pieces >= 8 * 3);  // every piece has at least one k-mer
  CHECK(full > 8 * (8 + 2));     // half of the model's own pieces are 64 k-mers
  options.max_kmers = 65;        // the model holds 64 (66 positions less [CLS] and [SEP])
  CHECK_THROWS_AS((void)train::pretrain(model, corpus, options, dnabert::test::scratch_dir("pretrain-long-pieces").string()),
                  dnabert::config_error);
}

}  // namespace train_pretrain_test
