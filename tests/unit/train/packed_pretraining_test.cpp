// Pre-training from a packed corpus (`dnabert corpus`) draws what reading the FASTA draws: the
// same records, pieces, letters, masked batches and, run for a few steps, the same weights.
#include "dnabert/cpu.hpp"
#include "dnabert/train/pretrain.hpp"

#include <zlib.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "test_paths.hpp"
#include "tiny_config.hpp"

namespace train_packed_pretraining_test {

namespace {

namespace train = dnabert::train;
namespace fs = std::filesystem;

// Several records: N runs in both cases (inside, at the ends, a record of only N), soft-masked
// stretches, an IUPAC code, records shorter than k, and long ones cut into many pieces.
std::string tricky_fasta() {
  std::mt19937 rng(11);
  const auto random_letters = [&rng](std::size_t n, const char* alphabet, std::size_t size) {
    std::string s(n, 'A');
    for (char& c : s) c = alphabet[rng() % size];
    return s;
  };
  std::string fasta;
  fasta += ">chr1 first\n" + random_letters(700, "ACGT", 4) + "\n" + std::string(30, 'N') + random_letters(1300, "ACGTacgt", 8) + "\n";
  fasta += ">chr2\nNNNNacgtacgtRYACGTTTGACnnnnnNNNACGTAC\n" + random_letters(900, "acgt", 4) + "NN\n";
  fasta += ">short\nACG\n>tiny\nA\n>allN\nNNNNNNNNNN\n";
  fasta += ">chr3\n" + random_letters(2500, "ACGTACGTACGTNacgt", 17) + "\n";
  return fasta;
}

void put_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A FASTA at `dir`/name and its packed corpus beside it.
std::pair<train::pretraining_corpus, train::pretraining_corpus> fasta_and_packed(const fs::path& dir, const std::string& name,
                                                                                 const std::string& content) {
  put_file(dir / name, content);
  const auto summary = train::pack_pretraining_corpus((dir / name).string(), (dir / (name + ".dna")).string());
  auto fasta = train::pretraining_corpus::read((dir / name).string());
  auto packed = train::pretraining_corpus::read((dir / (name + ".dna")).string());
  CHECK(summary.records == fasta.records());
  CHECK(summary.nucleotides == fasta.nucleotides());
  return {std::move(fasta), std::move(packed)};
}

void check_same_pieces(const train::pretraining_corpus& fasta, const train::pretraining_corpus& packed) {
  REQUIRE(packed.packed());
  REQUIRE_FALSE(fasta.packed());
  CHECK(packed.cut_each_epoch() == fasta.cut_each_epoch());
  REQUIRE(packed.records() == fasta.records());
  CHECK(packed.nucleotides() == fasta.nucleotides());
  for (std::size_t r = 0; r < fasta.records(); ++r) CHECK(packed.record(r) == fasta.record(r));
  std::string fasta_buffer, packed_buffer;
  for (const int k : {3, 6}) {
    for (const auto n_runs : {train::n_run_handling::drop, train::n_run_handling::keep}) {
      for (const std::size_t max_kmers : {std::size_t{5}, std::size_t{40}, std::size_t{510}}) {
        for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
          const train::piece_options options{k, 42, n_runs, false, max_kmers};
          const auto expected = fasta.epoch_pieces(options, epoch);
          const auto got = packed.epoch_pieces(options, epoch);
          REQUIRE(got.size() == expected.size());
          CHECK(packed.epoch_piece_count(options, epoch) == expected.size());
          for (std::size_t i = 0; i < got.size(); ++i) {
            CHECK(got[i].start == expected[i].start);
            CHECK(got[i].length == expected[i].length);
            CHECK(packed.text(got[i], packed_buffer) == fasta.text(expected[i], fasta_buffer));
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("packed pretraining corpus: the same records, pieces and letters as the FASTA, every epoch") {
  const auto dir = dnabert::test::scratch_dir("packed-pretraining");
  const auto [fasta, packed] = fasta_and_packed(dir, "g.fa", tricky_fasta());
  check_same_pieces(fasta, packed);
  const auto lines = fasta_and_packed(dir, "6_3k.txt", "ACGTAC CGTACG\r\nTTTTNNNTTTTTTTTTTTTTTttttTTTTTTTT\n\nAC\nacgtRYN\n");
  CHECK_FALSE(lines.second.cut_each_epoch());
  check_same_pieces(lines.first, lines.second);
}

TEST_CASE("packed pretraining corpus: gzip input packs to the same bytes, and the packed file is refused as a pipe") {
  const auto dir = dnabert::test::scratch_dir("packed-pretraining-gzip");
  const std::string fasta = tricky_fasta();
  put_file(dir / "g.fa", fasta);
  gzFile gz = gzopen((dir / "g.fa.gz").string().c_str(), "wb");
  REQUIRE(gz != nullptr);
  REQUIRE(gzwrite(gz, fasta.data(), static_cast<unsigned>(fasta.size())) == static_cast<int>(fasta.size()));
  REQUIRE(gzclose(gz) == Z_OK);
  (void)train::pack_pretraining_corpus((dir / "g.fa").string(), (dir / "plain.dna").string());
  (void)train::pack_pretraining_corpus((dir / "g.fa.gz").string(), (dir / "gz.dna").string());
  CHECK(file_bytes(dir / "plain.dna") == file_bytes(dir / "gz.dna"));
  const std::string packed = file_bytes(dir / "plain.dna");
  CHECK_THROWS_WITH_AS((void)train::pretraining_corpus::read(std::as_bytes(std::span(packed.data(), packed.size())), "piped.dna"),
                       doctest::Contains("piped.dna: is a packed corpus"), dnabert::format_error);
  CHECK_THROWS_WITH_AS((void)train::pack_pretraining_corpus((dir / "missing.fa").string(), (dir / "x.dna").string()),
                       doctest::Contains("missing.fa"), dnabert::error);
  CHECK_FALSE(fs::exists(dir / "x.dna"));
}

TEST_CASE("packed pretraining corpus: the epoch plan serves the same masked batches as from the FASTA") {
  const auto dir = dnabert::test::scratch_dir("packed-pretraining-batches");
  const auto [fasta, packed] = fasta_and_packed(dir, "g.fa", tricky_fasta());
  const train::piece_options options{3, 7, train::n_run_handling::keep, false, 40};
  auto masking = train::default_masking_options(3, 7);
  masking.centre_probability = 0.2;
  const dnabert::kmer_tokenizer tokenizer(3);
  train::detail::epoch_plan from_fasta(fasta, options, 4), from_packed(packed, options, 4);
  const auto batches = train::detail::epoch_plan::micro_batches(fasta, options, 4, 3);
  CHECK(train::detail::epoch_plan::micro_batches(packed, options, 4, 3) == batches);
  for (std::int64_t i = 0; i < batches; ++i) {
    CAPTURE(i);
    std::int64_t fasta_epoch = 0, packed_epoch = 0;
    bool fasta_end = false, packed_end = false;
    const auto a = train::detail::make_mlm_batch(fasta, from_fasta.batch(i, fasta_epoch, fasta_end), tokenizer, 40, masking,
                                                 static_cast<std::uint64_t>(i));
    const auto b = train::detail::make_mlm_batch(packed, from_packed.batch(i, packed_epoch, packed_end), tokenizer, 40, masking,
                                                 static_cast<std::uint64_t>(i));
    CHECK(packed_epoch == fasta_epoch);
    CHECK(packed_end == fasta_end);
    CHECK(b.inputs.input_ids == a.inputs.input_ids);
    CHECK(b.inputs.attention_mask == a.inputs.attention_mask);
    CHECK(b.rows == a.rows);
    CHECK(b.labels == a.labels);
    CHECK(b.tokens == a.tokens);
  }
}

TEST_CASE("packed pretraining corpus: a few pre-training steps give the same weights, bit for bit") {
  const auto dir = dnabert::test::scratch_dir("packed-pretraining-run");
  const auto [fasta, packed] = fasta_and_packed(dir, "g.fa", tricky_fasta());
  const auto [held_out_fasta, held_out_packed] = fasta_and_packed(dir, "h.fa", ">h\nACGTTGCAnnnACGTAGCTAGCTAGGATCGATCGACTAGCATCGACTAGCATCAGCTAC\n");
  dnabert::backend::cpu cpu(1);
  const auto run = [&](const train::pretraining_corpus& corpus, const train::pretraining_corpus& held_out, const std::string& name) {
    dnabert::cpu_bert<> model(cpu, dnabert::test::tiny_config(dnabert::bert_head::masked_lm, 16, 1, 2, 32, 42),
                              dnabert::bert_head::masked_lm, 3);
    train::pretrain_options options;
    options.max_steps = 6;
    options.batch_size = 4;
    options.warmup_steps = 1;
    options.mask_probability = 0.2;
    options.save_steps = 0;
    options.eval_steps = 3;
    const auto summary = train::pretrain(model, corpus, options, (dir / name).string(), &held_out);
    return std::make_pair(summary.train_loss, model.state_dict());
  };
  const auto [fasta_loss, fasta_weights] = run(fasta, held_out_fasta, "from-fasta");
  const auto [packed_loss, packed_weights] = run(packed, held_out_packed, "from-packed");
  REQUIRE(fasta_loss.size() == 6);
  CHECK(packed_loss == fasta_loss);
  REQUIRE(packed_weights.size() == fasta_weights.size());
  for (const auto& item : fasta_weights) {  // no structured binding: clang 14 cannot capture one in CHECK_MESSAGE
    const auto& mine = item.second.values;
    const auto& other = packed_weights.at(item.first).values;
    CHECK_MESSAGE(std::equal(mine.begin(), mine.end(), other.begin(), other.end()), item.first);
  }
  CHECK(file_bytes(dir / "from-packed" / "log.jsonl").size() > 0);
}

TEST_CASE("pretraining corpus: a walk resumed from any state it reported goes on as it would have") {
  const auto dir = dnabert::test::scratch_dir("pretraining-walk-states");
  const auto [fasta, packed] = fasta_and_packed(dir, "g.fa", tricky_fasta());
  const auto lines = fasta_and_packed(dir, "6_3k.txt", "ACGTAC CGTACG\nTTTTNNNTTTTTTTTTTTTTTttttTTTTTTTT\n\nAC\nacgtRYN\n");
  for (const train::pretraining_corpus* corpus : {&fasta, &packed, &lines.first, &lines.second}) {
    for (const auto n_runs : {train::n_run_handling::drop, train::n_run_handling::keep}) {
      const train::piece_options options{3, 9, n_runs, false, 40};
      const auto expected = corpus->epoch_pieces(options, 2);
      REQUIRE(expected.size() >= 3);
      train::pretraining_corpus::piece_walker walker(*corpus, options, 2);
      for (std::size_t i = 0; i <= expected.size(); ++i) {
        CAPTURE(i);
        train::pretraining_corpus::piece_walker resumed(*corpus, options, 2, walker.state());
        train::corpus_piece piece;
        for (std::size_t j = i; j < expected.size(); ++j) {
          REQUIRE(resumed.next(piece));
          CHECK(piece.start == expected[j].start);
          CHECK(piece.length == expected[j].length);
        }
        CHECK_FALSE(resumed.next(piece));
        CHECK(walker.next(piece) == (i < expected.size()));
      }
    }
  }
}

TEST_CASE("pretraining corpus: each epoch's batches hold every piece once, in an order of (seed, epoch), however few walk states are kept") {
  const auto dir = dnabert::test::scratch_dir("pretraining-epoch-plan");
  const auto [fasta, packed] = fasta_and_packed(dir, "g.fa", tricky_fasta());
  const train::piece_options options{3, 5, train::n_run_handling::drop, false, 20};
  const auto key = [](const train::corpus_piece& piece) { return std::pair(piece.start, piece.length); };
  std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> orders;
  for (const std::size_t walk_states : {std::size_t{1}, std::size_t{3}, std::size_t{1000}, train::detail::epoch_plan::default_max_walk_states}) {
    CAPTURE(walk_states);
    for (const train::pretraining_corpus* corpus : {&fasta, &packed}) {
      train::detail::epoch_plan plan(*corpus, options, 7, walk_states);
      std::int64_t index = 0;
      for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
        auto expected = corpus->epoch_pieces(options, epoch);
        REQUIRE(expected.size() > 100);
        std::vector<std::pair<std::uint64_t, std::uint64_t>> drawn, sorted_expected;
        for (bool ends = false; !ends; ++index) {
          std::int64_t batch_epoch = -1;
          const auto batch = plan.batch(index, batch_epoch, ends);
          CHECK(batch_epoch == static_cast<std::int64_t>(epoch));
          CHECK((batch.size() == 7 || ends));
          for (const auto& piece : batch) drawn.push_back(key(piece));
        }
        if (epoch == 0) orders.push_back(drawn);
        for (const auto& piece : expected) sorted_expected.push_back(key(piece));
        CHECK(drawn != sorted_expected);  // shuffled
        std::sort(drawn.begin(), drawn.end());
        CHECK(drawn == sorted_expected);
      }
    }
  }
  for (const auto& order : orders) CHECK(order == orders.front());  // the same draws whatever is kept
}

}  // namespace train_packed_pretraining_test
