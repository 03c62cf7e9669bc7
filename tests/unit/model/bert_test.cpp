// Whole-model behaviour that needs no golden file: shapes, compile-time spec checks, padding
// invariance, and the gradient of a full model against finite differences (double precision).
#include "dnabert/cpu.hpp"
#include "dnabert/model/bert.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "test_paths.hpp"
#include "tiny_config.hpp"

namespace model_bert_test {

namespace {

dnabert::bert_config tiny_config(dnabert::bert_head head, std::int64_t labels = 2) {
  auto config = dnabert::test::tiny_config(head, 8, 2, 2, 12, 16, labels);
  config.initializer_range = 0.5;  // large weights, so wiring mistakes show in the outputs
  return config;
}

dnabert::token_batch tokenize(const std::vector<std::string>& sequences) {
  const dnabert::KmerTokenizer<3> tokenizer;
  std::vector<dnabert::token_piece> pieces;
  for (const auto& s : sequences) {
    auto encoded = tokenizer.encode(s, s, pieces.size());
    pieces.insert(pieces.end(), encoded.begin(), encoded.end());
  }
  return dnabert::make_batch(pieces);
}

}  // namespace

TEST_CASE("bert: output shapes for each head and optional outputs") {
  dnabert::backend::cpu cpu(1);
  const auto batch = tokenize({"ACGTACGTAC", "ACGTNA"});
  for (const auto head : {dnabert::bert_head::masked_lm, dnabert::bert_head::sequence_classification}) {
    const dnabert::cpu_bert<> model(cpu, tiny_config(head, 3), head, 7);
    dnabert::autograd::tape<dnabert::backend::cpu> tape(cpu);
    dnabert::nn::forward_context<dnabert::backend::cpu> ctx{tape};
    const auto out = model.forward(ctx, batch, {true, true, true, {}});
    CHECK(out.sequence_output.shape() == dnabert::shape_type{2 * 10, 8});
    CHECK(out.hidden_states.size() == 3);
    REQUIRE(out.attentions.size() == 2);
    CHECK(out.attentions[0].shape() == dnabert::shape_type{2, 2, 10, 10});
    if (head == dnabert::bert_head::masked_lm) CHECK(out.logits.shape() == dnabert::shape_type{20, 69});
    else CHECK(out.logits.shape() == dnabert::shape_type{2, 3});
    CHECK(tape.size() == 0);  // inference records nothing
  }
}

TEST_CASE("bert: padding does not change a sequence's outputs") {
  dnabert::backend::cpu cpu(1);
  const dnabert::cpu_bert<> model(cpu, tiny_config(dnabert::bert_head::sequence_classification),
                              dnabert::bert_head::sequence_classification, 3);
  dnabert::autograd::tape<dnabert::backend::cpu> tape(cpu);
  dnabert::nn::forward_context<dnabert::backend::cpu> ctx{tape};
  const auto alone = model.forward(ctx, tokenize({"ACGTAC"}));
  const auto padded = model.forward(ctx, tokenize({"ACGTAC", "ACGTACGTACGTA"}));
  for (int c = 0; c < 2; ++c)
    CHECK(alone.logits.value().span()[static_cast<std::size_t>(c)] ==
          doctest::Approx(padded.logits.value().span()[static_cast<std::size_t>(c)]).epsilon(1e-5));
}

TEST_CASE("bert: compile-time spec refuses a config that does not match") {
  dnabert::backend::cpu cpu(1);
  auto config = tiny_config(dnabert::bert_head::masked_lm);
  using wrong_k = dnabert::bert_spec<6>;
  CHECK_THROWS_WITH_AS((dnabert::cpu_bert<wrong_k>(cpu, config, dnabert::bert_head::masked_lm)),
                       "config.json says k-mer size (from vocab_size) 3 but the model is compiled for 6",
                       dnabert::config_error);
  using right = dnabert::bert_spec<3, 2, 8, 2>;
  CHECK_NOTHROW((dnabert::cpu_bert<right>(cpu, config, dnabert::bert_head::masked_lm)));
  static_assert(dnabert::DNABERT6::hidden == 768 && dnabert::DNABERT6::k == 6);
  config.num_attention_heads = 3;
  CHECK_THROWS_WITH_AS((dnabert::cpu_bert<>(cpu, config, dnabert::bert_head::masked_lm)),
                       "hidden size 8 is not a multiple of the 3 attention heads", dnabert::config_error);
}

TEST_CASE("bert: whole-model gradients match finite differences (double, with dropout)") {
  using B = dnabert::backend::cpu_t<double>;
  B cpu(1);
  auto config = tiny_config(dnabert::bert_head::sequence_classification);
  config.num_hidden_layers = 1;
  config.hidden_size = 4;
  config.intermediate_size = 6;
  const dnabert::Bert<dnabert::dynamic_bert, B> model(cpu, config, dnabert::bert_head::sequence_classification, 5);
  const auto batch = tokenize({"ACGTAC", "AGGTNCA"});
  dnabert::autograd::id_tensor<B> labels(cpu, {2});
  labels.data()[0] = 1;
  labels.data()[1] = 0;

  // Training mode throughout (dropout on, same masks every call); backward only when asked.
  auto loss_of = [&](bool backward) {
    dnabert::autograd::tape<B> tape(cpu, true);
    dnabert::nn::forward_context<B> ctx{tape, 11, 0};
    const auto out = model.forward(ctx, batch);
    auto loss = dnabert::autograd::cross_entropy(tape, out.logits, labels);
    if (backward) tape.backward(loss);
    return loss.value().data()[0];
  };
  for (const auto& p : model.parameters().items()) p.value.clear_grad();
  loss_of(true);
  int checked = 0;
  for (const auto& p : model.parameters().items()) {
    if (p.alias) continue;
    const auto values = p.value.value().span();
    const auto analytic = p.value.grad(cpu).span();
    const std::vector<double> grads(analytic.begin(), analytic.end());
    for (std::size_t i = 0; i < values.size(); i += 1 + values.size() / 7) {
      const double saved = values[i];
      values[i] = saved + 1e-6;
      const double plus = loss_of(false);
      values[i] = saved - 1e-6;
      const double minus = loss_of(false);
      values[i] = saved;
      const double numeric = (plus - minus) / 2e-6;
      CHECK_MESSAGE(std::abs(numeric - grads[i]) <= 1e-6 * std::max(1.0, std::abs(numeric)),
                    p.name << "[" << i << "]: analytic " << grads[i] << " numeric " << numeric);
      ++checked;
    }
  }
  CHECK(checked > 100);
}

TEST_CASE("bert: backward reports each part's gradients complete once, head first, embeddings last, and they are final then") {
  dnabert::backend::cpu cpu(1);
  const auto batch = tokenize({"ACGTACGTAC", "ACGTNA"});
  for (const auto head : {dnabert::bert_head::masked_lm, dnabert::bert_head::sequence_classification}) {
    CAPTURE(static_cast<int>(head));
    const dnabert::cpu_bert<> model(cpu, tiny_config(head), head, 7);
    const auto& params = model.parameters();
    std::vector<int> reported;
    std::map<std::string, std::vector<float>> at_report;  // each parameter's gradient when its part was reported
    dnabert::autograd::tape<dnabert::backend::cpu> tape(cpu, true);
    dnabert::nn::forward_context<dnabert::backend::cpu> ctx{tape};
    ctx.gradients_ready = [&](int part) {
      reported.push_back(part);
      for (const auto& item : params.items())
        if (!item.alias && model.parameter_part(item.name) == part && item.value.has_grad()) {
          const auto values = item.value.grad(cpu).span();
          at_report[item.name].assign(values.begin(), values.end());
        }
    };
    const auto out = model.forward(ctx, batch, {head == dnabert::bert_head::sequence_classification, false, false, {}});
    dnabert::tensor<dnabert::backend::cpu> seed(cpu, out.logits.shape());
    for (std::int64_t i = 0; i < seed.numel(); ++i) seed.data()[i] = std::sin(static_cast<float>(i));  // d(loss)/d(logits)
    tape.backward(out.logits, seed);
    CHECK(reported == std::vector<int>{3, 2, 1, 0});  // 2 layers: head, layer 1, layer 0, embeddings
    std::size_t checked = 0;
    for (const auto& item : params.items()) {
      if (item.alias || !item.value.has_grad()) continue;
      CAPTURE(item.name);
      REQUIRE(at_report.count(item.name) == 1);
      const auto final_values = item.value.grad(cpu).span();
      CHECK(std::equal(final_values.begin(), final_values.end(), at_report[item.name].begin(), at_report[item.name].end()));
      ++checked;
    }
    CHECK(checked >= 20);
    CHECK(model.parameter_part("bert.encoder.layer.1.output.dense.weight") == 2);
  }
}

}  // namespace model_bert_test
