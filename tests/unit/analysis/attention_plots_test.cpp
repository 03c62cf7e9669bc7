// The attention pictures: cells coloured from their scores by the colour map, letters and k-mers
// in order, text escaped, NaN drawn as "no data", context links cut at the threshold, landscape
// means by hand; token attention against transformers' probabilities (tests/data/attention).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "dnabert/cpu.hpp"
#include "dnabert/analysis/attention_plots.hpp"
#include "dnabert/io/safetensors.hpp"
#include "tensor_compare.hpp"
#include "test_paths.hpp"

namespace analysis_attention_plots_test {

namespace {

namespace analysis = dnabert::analysis;
using B = dnabert::backend::cpu;
constexpr float nan_score = std::numeric_limits<float>::quiet_NaN();

// Capture group 1 of every match of `pattern` in `text`, in order.
std::vector<std::string> captures(const std::string& text, const std::string& pattern) {
  const std::regex re(pattern);
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1].str());
  return out;
}

// How often `needle` occurs in `text`.
std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

// A hand-made attention map: tokens [CLS] AAA CCC [SEP], two heads, every weight 0 except those set.
analysis::token_attention_map small_map() {
  analysis::token_attention_map map;
  map.tokens = {"[CLS]", "AAA", "CCC", "[SEP]"};
  map.heads = 2;
  map.probabilities.assign(2 * 4 * 4, 0.0f);
  return map;
}

void set(analysis::token_attention_map& map, std::size_t head, std::size_t from, std::size_t to, float value) {
  map.probabilities[(head * map.tokens.size() + from) * map.tokens.size() + to] = value;
}

}  // namespace

TEST_CASE("attention plots: the colour map runs from white through ColorBrewer Reds, NaN is grey") {
  CHECK(analysis::heat_colour(0.0) == "#ffffff");
  CHECK(analysis::heat_colour(1.0) == "#67000d");
  CHECK(analysis::heat_colour(0.5) == "#fb6a4a");    // stop 4 of 8
  CHECK(analysis::heat_colour(0.25) == "#fcbba1");   // stop 2
  CHECK(analysis::heat_colour(1.0 / 16) == "#fff0e9");  // half-way from #ffffff to #fee0d2, rounded
  CHECK(analysis::heat_colour(-3.0) == "#ffffff");
  CHECK(analysis::heat_colour(7.0) == "#67000d");
  CHECK(analysis::heat_colour(std::nan("")) == "#bdbdbd");
}

TEST_CASE("attention plots: strip has one cell per nucleotide coloured by its score, letters in order, NaN as no data") {
  const std::vector<float> scores{0.0f, 0.25f, 0.5f, nan_score, 1.0f};
  analysis::strip_options options;
  options.title = "id <&\"> P(class 1) = 0.9";
  const auto svg = analysis::attention_strip_svg("ACGTa", scores, options);
  CHECK(captures(svg, "<rect class=\"nt\"[^>]* fill=\"(#[0-9a-f]{6})\"") ==
        std::vector<std::string>{"#ffffff", "#fcbba1", "#fb6a4a", "#bdbdbd", "#67000d"});
  CHECK(captures(svg, "<text class=\"base\"[^>]*>([^<]*)</text>") == std::vector<std::string>{"A", "C", "G", "T", "A"});
  CHECK(svg.find("id &lt;&amp;&quot;&gt; P(class 1) = 0.9") != std::string::npos);
  CHECK(svg.find("id <&") == std::string::npos);
  CHECK(svg.find(">no data</text>") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);  // not even in the tooltip
  CHECK(svg.find("url(#heat-scale)") != std::string::npos);
  CHECK(captures(svg, "<text class=\"legend-tick\"[^>]*>([^<]*)</text>") ==
        std::vector<std::string>{"0", "0.2", "0.4", "0.6", "0.8", "1"});

  // A fixed scale: 0.5 of 2 is a quarter of the way.
  options.scale_max = 2.0;
  CHECK(captures(analysis::attention_strip_svg("ACGTA", scores, options), "class=\"nt\"[^>]* fill=\"(#[0-9a-f]{6})\"")[2] ==
        "#fcbba1");
  // Every score finite: no "no data" swatch.
  CHECK(analysis::attention_strip_svg("AC", std::vector<float>{0.1f, 0.2f}).find("no data") == std::string::npos);
}

TEST_CASE("attention plots: a long strip wraps into rows of 100 nt with position ticks every 10") {
  const std::string sequence(1000, 'G');
  std::vector<float> scores(sequence.size());
  for (std::size_t p = 0; p < scores.size(); ++p) scores[p] = static_cast<float>(p) / 1000.0f;
  const auto svg = analysis::attention_strip_svg(sequence, scores);
  const auto rows = captures(svg, "<rect class=\"nt\" x=\"[0-9.]+\" y=\"([0-9.]+)\"");
  CHECK(rows.size() == 1000);
  CHECK(std::set<std::string>(rows.begin(), rows.end()).size() == 10);
  CHECK(occurrences(svg, "font-size=\"9\">") == 100);  // ticks at 10, 20, ..., 1000
  CHECK(svg.find(">1000</text>") != std::string::npos);
  CHECK(svg.find(">901</text>") != std::string::npos);  // the tenth row starts at 901
  CHECK(captures(svg, "class=\"nt\"[^>]* fill=\"(#[0-9a-f]{6})\"").back() == analysis::heat_colour(1.0));
}

TEST_CASE("attention plots: strip rejects scores that do not fit the sequence") {
  CHECK_THROWS_WITH_AS((void)analysis::attention_strip_svg("ACGT", std::vector<float>{0.1f}),
                       "attention strip: 1 scores for a sequence of 4 nt", dnabert::input_error);
  CHECK_THROWS_WITH_AS((void)analysis::attention_strip_svg("", std::vector<float>{}),
                       "cannot draw the attention strip of an empty sequence", dnabert::input_error);
}

TEST_CASE("attention plots: token attention is the model's attention probabilities (transformers goldens)") {
  std::ifstream in(dnabert::test::data_path("attention/inputs.json"));
  REQUIRE(in.good());
  const auto sequences = nlohmann::json::parse(in)["sequences"].get<std::vector<std::string>>();
  const auto goldens = dnabert::io::read_safetensors(dnabert::test::data_path("attention/golden.safetensors"));
  B cpu(1);
  const auto model = dnabert::Bert<dnabert::dynamic_bert, B>::load(cpu, dnabert::test::data_path("parity/cls_k6"),
                                                                   dnabert::bert_head::sequence_classification);
  for (int layer = 0; layer < 3; ++layer) {
    const auto map = analysis::token_attention(model, sequences[0], layer, "seq0");
    CHECK(map.heads == 2);
    REQUIRE(map.tokens.size() == sequences[0].size() - 6 + 1 + 2);
    CHECK(dnabert::test::max_abs_diff(map.probabilities, goldens.tensors.at("attentions." + std::to_string(layer)).values) <= 1e-5);
  }
  const auto last = analysis::token_attention(model, sequences[0]);
  CHECK(last.probabilities == analysis::token_attention(model, sequences[0], 2).probabilities);
  CHECK(last.tokens.front() == "[CLS]");
  CHECK(last.tokens[1] == "TCGGTT");
  CHECK(last.tokens[2] == "[UNK]");  // CGGTTN
  CHECK(last.tokens.back() == "[SEP]");
  CHECK_THROWS_WITH_AS((void)analysis::token_attention(model, sequences[1], 0, "long"),
                       "sequence 'long' has 147 k-mers; a token-level plot takes one model piece of at most 62",
                       dnabert::input_error);
  CHECK_THROWS_WITH_AS((void)analysis::token_attention(model, sequences[0], 3),
                       "layer 3 does not exist: the model has 3 layers (0..2)", dnabert::input_error);
  CHECK_THROWS_AS((void)analysis::token_attention(model, sequences[0], analysis::all_layers), dnabert::input_error);
}

TEST_CASE("attention plots: heads matrix draws each head's [CLS] row over the k-mers on one scale") {
  auto map = small_map();
  set(map, 0, 0, 1, 0.2f);
  set(map, 0, 0, 2, 0.4f);
  set(map, 1, 0, 1, 0.8f);
  set(map, 1, 0, 2, nan_score);
  set(map, 1, 0, 0, 5.0f);  // the [CLS] key is not drawn, so it does not set the scale
  map.tokens[1] = "A<&";
  const auto svg = analysis::heads_matrix_svg(map);
  CHECK(captures(svg, "<rect class=\"cell\"[^>]* fill=\"(#[0-9a-f]{6})\"") ==
        std::vector<std::string>{"#fcbba1", "#fb6a4a", "#67000d", "#bdbdbd"});
  CHECK(captures(svg, "<text class=\"kmer\"[^>]*>([^<]*)</text>") == std::vector<std::string>{"A&lt;&amp;", "CCC"});
  CHECK(svg.find(">head 1</text>") != std::string::npos);
  CHECK(svg.find(">no data</text>") != std::string::npos);
  map.probabilities.pop_back();
  CHECK_THROWS_AS((void)analysis::heads_matrix_svg(map), dnabert::input_error);
}

TEST_CASE("attention plots: context links are drawn only above the threshold, one colour per head") {
  auto map = small_map();
  const float head0[] = {0.1f, 0.5f, 0.3f, 0.1f}, head1[] = {0.05f, 0.05f, 0.2f, 0.7f};
  for (std::size_t j = 0; j < 4; ++j) {
    set(map, 0, 1, j, head0[j]);
    set(map, 1, 1, j, head1[j]);
    set(map, 0, 2, j, 0.9f);  // another query row: never drawn for token 1
  }
  auto links = [&](double threshold) {
    analysis::context_options options;
    options.threshold = threshold;
    return captures(analysis::context_svg(map, 1, options), "<line class=\"link\"[^>]* stroke=\"(#[0-9a-f]{6})\"");
  };
  CHECK(links(0.0).size() == 8);
  CHECK(links(0.25) == std::vector<std::string>{"#1f77b4", "#1f77b4", "#ff7f0e"});  // 0.5 and 0.3 of head 0, 0.7 of head 1
  CHECK(links(0.6).size() == 1);
  CHECK(links(0.7).empty());  // strictly above
  set(map, 1, 1, 3, nan_score);
  CHECK(links(0.25).size() == 2);
  // The strongest drawn link is opaque.
  CHECK(analysis::context_svg(map, 1).find("stroke-opacity=\"1\"") != std::string::npos);
  CHECK_THROWS_WITH_AS((void)analysis::context_svg(map, 4), "token 4 does not exist: the sequence has 4 tokens (0..3, 0 is [CLS])",
                       dnabert::input_error);
}

TEST_CASE("attention plots: landscape means by position, positions nobody reaches skipped") {
  const analysis::nucleotide_scores positives{{1, 2, 3}, {3, 4}, {nan_score, 6, 9, 12}};
  const auto means = analysis::mean_by_position(positives);
  REQUIRE(means.size() == 4);
  CHECK(means[0] == 2.0);
  CHECK(means[1] == 4.0);
  CHECK(means[2] == 6.0);
  CHECK(means[3] == 12.0);
  const auto gap = analysis::mean_by_position({{nan_score, 1}, {nan_score}});
  REQUIRE(gap.size() == 2);
  CHECK(std::isnan(gap[0]));
  CHECK(gap[1] == 1.0);

  const std::vector<analysis::landscape_group> groups{{"positives", positives}, {"neg <&>", {{nan_score, 1}, {nan_score}}}};
  const auto svg = analysis::attention_landscape_svg(groups);
  CHECK(svg.find(">positives (n = 3)</text>") != std::string::npos);
  CHECK(svg.find(">neg &lt;&amp;&gt; (n = 2)</text>") != std::string::npos);
  const auto lines = captures(svg, "<polyline fill=\"none\" stroke=\"#[0-9a-f]{6}\" stroke-width=\"1.8\" points=\"([^\"]*)\"");
  REQUIRE(lines.size() == 2);
  CHECK(occurrences(lines[0], ",") == 4);
  CHECK(occurrences(lines[1], ",") == 1);  // position 1 has no finite score in this group
}

}  // namespace analysis_attention_plots_test
