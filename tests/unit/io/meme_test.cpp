// The MEME minimal motif format writer: byte-exact text (checked by Biopython's MEME reader in
// tests/reference/check_meme_with_biopython.py) and refusals of motifs that cannot be written.
#include "dnabert/io/meme.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "test_paths.hpp"

namespace {

std::vector<dnabert::io::meme_motif> two_motifs() {
  return {{"TATAAT", 8, 0.00012, {{0, 0, 0, 1}, {0.75, 0.125, 0.125, 0}, {0.25, 0.25, 0.25, 0.25}}},
          {"CACGTG", 10, 1.0, {{0.1, 0.7, 0.1, 0.1}, {0.9, 0, 0.1, 0}}}};
}

}  // namespace

TEST_CASE("meme: the text matches the golden file an independent MEME reader accepts") {
  std::ifstream golden(dnabert::test::data_path("motif/two_motifs.meme"));
  std::stringstream expected;
  expected << golden.rdbuf();
  CHECK(dnabert::io::meme_text(two_motifs(), {0.3, 0.2, 0.2, 0.3}) == expected.str());

  const auto path = (dnabert::test::scratch_dir("meme") / "motifs.meme").string();
  dnabert::io::write_meme(path, two_motifs(), {0.3, 0.2, 0.2, 0.3});
  std::ifstream written(path);
  std::stringstream text;
  text << written.rdbuf();
  CHECK(text.str() == expected.str());
}

TEST_CASE("meme: motifs that cannot be written are refused by name") {
  auto motifs = two_motifs();
  motifs[1].probabilities[0][1] = 0.8;
  CHECK_THROWS_WITH_AS((void)dnabert::io::meme_text(motifs, {0.25, 0.25, 0.25, 0.25}),
                       doctest::Contains("CACGTG position 1 sums to 1.1"), dnabert::input_error);
  motifs = two_motifs();
  motifs[0].name = "TATA box";
  CHECK_THROWS_WITH_AS((void)dnabert::io::meme_text(motifs, {0.25, 0.25, 0.25, 0.25}),
                       doctest::Contains("without blanks"), dnabert::input_error);
  motifs = two_motifs();
  motifs[0].probabilities[2][0] = -0.25;
  CHECK_THROWS_AS((void)dnabert::io::meme_text(motifs, {0.25, 0.25, 0.25, 0.25}), dnabert::input_error);
  motifs[0].probabilities.clear();
  CHECK_THROWS_WITH_AS((void)dnabert::io::meme_text(motifs, {0.25, 0.25, 0.25, 0.25}), doctest::Contains("no positions"),
                       dnabert::input_error);
}
