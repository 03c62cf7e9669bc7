// The BPE tokenizer (DNABERT-2's) against Hugging Face's `tokenizers` library on whole genomes
// (tests/reference/make_bpe_goldens.py), and tokenizer.json files that would tokenize otherwise,
// refused by name.
#include "dnabert/io/tokenizer_json.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "dnabert/io/fasta.hpp"
#include "sha256.hpp"
#include "test_paths.hpp"
#include "test_skip.hpp"

namespace tokenizer_bpe_tokenizer_test {

namespace {

using dnabert::bpe_tokenizer;
using dnabert::token_id;

struct golden {
  std::string tokenizer, source, id;
  std::size_t record = 0, tokens = 0;
  std::string digest;
  std::vector<token_id> first_ids;
};

std::vector<golden> read_goldens() {
  std::ifstream in(dnabert::test::data_path("bpe/goldens.tsv"));
  std::string line;
  std::getline(in, line);  // header
  std::vector<golden> out;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, '\t');) cells.push_back(cell);
    REQUIRE(cells.size() >= 6);
    golden g{cells[0], cells[1], cells[3], std::stoul(cells[2]), std::stoul(cells[4]), cells[5], {}};
    std::stringstream ids(cells.size() > 6 ? cells[6] : "");
    for (token_id id = 0; ids >> id;) g.first_ids.push_back(id);
    out.push_back(g);
  }
  return out;
}

// The ids as little-endian int32 bytes, as the reference script hashes them.
std::string id_bytes(const std::vector<token_id>& ids) {
  std::string bytes;
  for (const token_id id : ids)
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<char>((static_cast<std::uint32_t>(id) >> shift) & 0xff));
  return bytes;
}

// The edge cases of make_bpe_goldens.py, in its order.
std::vector<std::string> edge_cases() {
  std::string repeated;
  for (int i = 0; i < 300; ++i) repeated += "ACGTTGCA";
  return {"", "N", "NNNNNNNNNNNN", "acgtACGTnnnNNNacgt", "ACGT ACGT\tACGT", "A-C*G--T**", repeated + std::string(40, 'N')};
}

std::map<std::string, std::string> fasta_paths() {
  const std::string examples = "/usr/share/doc/python-pyfaidx-examples/examples/";
  return {{"ce.fa", "/usr/share/htslib-test/test/ce.fa"},
          {"chr17.hg19.part.fa", examples + "chr17.hg19.part.fa"},
          {"genes.fasta", examples + "genes.fasta"},
          {"genes.fasta.lower", examples + "genes.fasta.lower"}};
}

void check_against_goldens(const std::string& name, const std::string& tokenizer_json) {
  if (!dnabert::test::input_present(tokenizer_json)) return;
  const bpe_tokenizer tokenizer(dnabert::io::read_tokenizer_json(tokenizer_json));
  std::map<std::string, std::vector<dnabert::io::fasta_record>> records;
  for (const auto& [source, path] : fasta_paths()) {
    if (!dnabert::test::input_present(path)) return;
    dnabert::io::fasta_reader reader(path);
    for (dnabert::io::fasta_record record; reader.next(record);) records[source].push_back(record);
  }
  const auto edges = edge_cases();
  std::size_t checked = 0;
  for (const golden& g : read_goldens()) {
    if (g.tokenizer != name) continue;
    CAPTURE(g.source);
    CAPTURE(g.id);
    const std::string& text = g.source == "edge" ? edges.at(g.record) : records.at(g.source).at(g.record).sequence;
    if (g.source != "edge") CHECK(records.at(g.source).at(g.record).id == g.id);
    const auto ids = tokenizer.encode(text);
    CHECK(ids.size() == g.tokens);
    CHECK(std::vector<token_id>(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), g.first_ids.size()))) ==
          g.first_ids);
    CHECK(dnabert::test::sha256_hex(id_bytes(ids)) == g.digest);
    ++checked;
  }
  CHECK(checked == 55);  // the 48 records of the four files and the 7 edge cases
}

// A tokenizer.json of DNABERT-2's shape over a 7-token vocabulary.
std::string tiny_json(bool fuse_unk = false) {
  return std::string(R"({"version": "1.0", "added_tokens": [{"id": 0, "content": "[UNK]"}], "normalizer": null,
    "pre_tokenizer": {"type": "Whitespace"},
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
        {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]},
                           "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}}},
    "decoder": null,
    "model": {"type": "BPE", "dropout": null, "unk_token": "[UNK]", "fuse_unk": )") +
         (fuse_unk ? "true" : "false") + R"(,
      "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "A": 3, "C": 4, "AC": 5, "ACC": 6},
      "merges": ["A C", ["AC", "C"]]}})";
}

dnabert::bpe_vocabulary parse(const std::string& text) {
  return dnabert::io::parse_tokenizer_json(std::as_bytes(std::span<const char>(text.data(), text.size())), "tokenizer.json");
}

}  // namespace

TEST_CASE("bpe tokenizer: DNABERT-2-117M's tokenizer.json gives the tokenizers library's ids on whole genomes") {
  check_against_goldens("dnabert2-117m", dnabert::test::shared_path("data/dnabert2-117m/tokenizer.json"));
}

TEST_CASE("bpe tokenizer: a vocabulary trained with the tokenizers library gives its ids on whole genomes") {
  check_against_goldens("chr17_bpe200", dnabert::test::data_path("bpe/chr17_bpe200/tokenizer.json"));
}

TEST_CASE("bpe tokenizer: merges by rank, the leftmost first, and unknown letters are [UNK], fused or not") {
  const bpe_tokenizer tokenizer(parse(tiny_json()));
  CHECK(tokenizer.encode("ACC") == std::vector<token_id>{1, 6, 2});
  CHECK(tokenizer.token_ids("ACACC A") == std::vector<token_id>{5, 6, 3});
  CHECK(tokenizer.token_ids("AGGC") == std::vector<token_id>{3, 0, 0, 4});
  CHECK(tokenizer.token_ids("A-C") == std::vector<token_id>{3, 0, 4});  // '-' is a word of its own
  const bpe_tokenizer fused(parse(tiny_json(true)));
  CHECK(fused.token_ids("AGGC") == std::vector<token_id>{3, 0, 4});
  CHECK_THROWS_WITH_AS((void)tokenizer.token_ids("AC\xc3\xa9"), doctest::Contains("byte 195 at position 2 is not ASCII"),
                       dnabert::input_error);
}

TEST_CASE("bpe tokenizer: tokenizer.json files that would tokenize otherwise are refused by name") {
  const std::string good = tiny_json();
  const auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
  };
  const std::pair<std::string, std::string> cases[] = {
      {"{", "invalid JSON"},
      {"[1, 2]", "expected a JSON object at the top level"},
      {replaced(R"("type": "BPE")", R"("type": "WordPiece")"), "model type 'WordPiece' is not supported"},
      {replaced(R"("normalizer": null)", R"("normalizer": {"type": "Lowercase"})"), "normalizer 'Lowercase' is not supported"},
      {replaced(R"({"type": "Whitespace"})", R"({"type": "ByteLevel"})"), "pre_tokenizer 'ByteLevel' is not supported"},
      {replaced(R"("pre_tokenizer": {"type": "Whitespace"})", R"("pre_tokenizer": null)"), "pre_tokenizer 'null' is not supported"},
      {replaced(R"("dropout": null)", R"("dropout": 0.1)"), "model.dropout: BPE dropout"},
      {replaced(R"("dropout": null)", R"("dropout": null, "continuing_subword_prefix": "##")"), "continuing_subword_prefix is not supported"},
      {replaced(R"("dropout": null)", R"("dropout": null, "byte_fallback": true)"), "model.byte_fallback is not supported"},
      {replaced(R"("ACC": 6)", R"("ACC": 7)"), "token 'ACC' has id 7; ids must be 0 to 6, each once"},
      {replaced(R"("ACC": 6)", R"("ACC": 5)"), "id 5 is given to two tokens"},
      {replaced(R"("A C")", R"("A G")"), "merge 0 ('A' 'G') names a token the vocabulary lacks"},
      {replaced(R"("A C")", R"("AC")"), "model.merges[0]: 'AC' is not two tokens separated by one space"},
      {replaced(R"(["AC", "C"])", R"(["AC"])"), "model.merges[1]: expected \"left right\" or [left, right]"},
      {replaced(R"("unk_token": "[UNK]")", R"("unk_token": "<unk>")"), "model.unk_token '<unk>' is not in the vocabulary"},
      {replaced(R"({"id": 0, "content": "[UNK]"})", R"({"id": 3, "content": "[UNK]"})"), "added_tokens[0]: expected"},
      {replaced(R"("ids": [2])", R"("ids": [3])"), "post_processor.special_tokens.[SEP]: id 3 is not token '[SEP]'"},
      {replaced(R"({"Sequence": {"id": "A", "type_id": 0}}, )", ""), "only the template [CLS] $A [SEP]"},
      {replaced(R"("TemplateProcessing")", R"("RobertaProcessing")"), "post_processor type 'RobertaProcessing' is not supported"},
      {replaced(R"("vocab": {)", R"("vocab": {"x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], )"),
       "nested deeper than"},
  };
  for (const auto& refused : cases) {  // not a structured binding: clang 14 cannot CAPTURE one
    const std::string& text = refused.first;
    const std::string& message = refused.second;
    CAPTURE(message);
    CHECK_THROWS_WITH_AS((void)parse(text), doctest::Contains(message.c_str()), dnabert::format_error);
    CHECK_THROWS_WITH_AS((void)parse(text), doctest::Contains("tokenizer.json"), dnabert::format_error);  // the file named
  }
  CHECK_THROWS_WITH_AS((void)dnabert::io::read_tokenizer_json("/nonexistent/tokenizer.json"),
                       doctest::Contains("/nonexistent/tokenizer.json: cannot open"), dnabert::file_error);
}

}  // namespace tokenizer_bpe_tokenizer_test
