// The MEME minimal motif format: the writer against a file written from the MEME format definition
// (tests/reference/make_meme_golden.py, read by Biopython's MEME reader in
// tests/reference/check_meme_with_biopython.py), the reader on JASPAR/MEME-suite layouts (checked
// against Biopython by tests/reference/make_known_motif_fixtures.py), round trips and hostile input.
#include "dnabert/io/meme.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_paths.hpp"

namespace io_meme_test {

namespace {

// The motifs of tests/reference/make_meme_golden.py (MOTIFS and BACKGROUND there).
std::vector<dnabert::io::meme_motif> two_motifs() {
  return {{"TATAAT", 8, 0.00012, {{0, 0, 0, 1}, {0.75, 0.125, 0.125, 0}, {0.25, 0.25, 0.25, 0.25}}, {}},
          {"CACGTG", 10, 1.0, {{0.1, 0.7, 0.1, 0.1}, {0.9, 0, 0.1, 0}}, {}}};
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The blank-separated words of every non-blank line (blank lines carry nothing in the MEME format).
std::vector<std::vector<std::string>> words_per_line(const std::string& text) {
  std::vector<std::vector<std::string>> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> row;
    for (std::string word; words >> word;) row.push_back(word);
    if (!row.empty()) lines.push_back(row);
  }
  return lines;
}

// A word that is a whole decimal number, e.g. "0.250000", "1.2e-004", "8".
bool is_number(const std::string& word, double& value) {
  if (word.empty() || !(std::isdigit(static_cast<unsigned char>(word[0])) || word[0] == '-' || word[0] == '.')) return false;
  char* end = nullptr;
  value = std::strtod(word.c_str(), &end);
  return end == word.c_str() + word.size();
}

// Half a unit in the last printed digit: "0.250000" -> 5e-7, "1.2e-004" -> 5e-6, "0.300" -> 5e-4.
double half_unit(const std::string& word) {
  const auto e = word.find_first_of("eE");
  const std::string mantissa = word.substr(0, e);
  const int exponent = e == std::string::npos ? 0 : std::stoi(word.substr(e + 1));
  const auto dot = mantissa.find('.');
  const auto decimals = dot == std::string::npos ? 0 : static_cast<int>(mantissa.size() - dot - 1);
  return 0.5 * std::pow(10.0, exponent - decimals);
}

bool is_integer(const std::string& word) { return word.find_first_of(".eE") == std::string::npos; }

}  // namespace

TEST_CASE("meme: the text says what a file written from the MEME format definition says") {
  // The golden prints numbers as the MEME suite does ('%9.6f' rows, '%5.3f' background, E= 1.2e-004),
  // dnabert with other widths: line by line, the words must be the same and each number equal to
  // the precision both sides print (integers exactly). Names, widths, sites, E-values,
  // probabilities and the background are all words of these lines.
  const auto golden = words_per_line(read_text(dnabert::test::data_path("motif/two_motifs.meme")));
  const std::string text = dnabert::io::meme_text(two_motifs(), {0.3, 0.2, 0.2, 0.3});
  const auto written = words_per_line(text);
  REQUIRE(written.size() == golden.size());
  for (std::size_t line = 0; line < golden.size(); ++line) {
    CAPTURE(line);
    REQUIRE(written[line].size() == golden[line].size());
    for (std::size_t w = 0; w < golden[line].size(); ++w) {
      const std::string& got = written[line][w];
      const std::string& want = golden[line][w];
      CAPTURE(got);
      CAPTURE(want);
      double got_value = 0, want_value = 0;
      if (is_number(want, want_value) && is_number(got, got_value)) {
        if (is_integer(want) && is_integer(got)) CHECK(got_value == want_value);
        else CHECK(std::abs(got_value - want_value) <= half_unit(got) + half_unit(want) + 1e-12 * std::abs(want_value));
      } else {
        CHECK(got == want);
      }
    }
  }
  // dnabert's reader takes the MEME-suite layout of the golden too.
  const auto file = dnabert::io::read_meme(dnabert::test::data_path("motif/two_motifs.meme"));
  REQUIRE(file.motifs.size() == 2);
  CHECK(file.motifs[0].name == "TATAAT");
  CHECK(file.motifs[1].probabilities.size() == 2);

  const auto path = (dnabert::test::scratch_dir("meme-write") / "motifs.meme").string();
  dnabert::io::write_meme(path, two_motifs(), {0.3, 0.2, 0.2, 0.3});
  CHECK(read_text(path) == text);
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

namespace {

using dnabert::io::parse_meme;

/// A minimal valid file around one motif block.
std::string with_header(const std::string& motifs) { return "MEME version 4\n\nALPHABET= ACGT\n\n" + motifs; }

void check_same_motifs(const std::vector<dnabert::io::meme_motif>& got, const std::vector<dnabert::io::meme_motif>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t m = 0; m < want.size(); ++m) {
    CHECK(got[m].name == want[m].name);
    CHECK(got[m].alternate_name == want[m].alternate_name);
    CHECK(got[m].sites == want[m].sites);
    CHECK(got[m].e_value == want[m].e_value);
    CHECK(got[m].probabilities == want[m].probabilities);
  }
}

}  // namespace

TEST_CASE("meme: write then read gives the same motifs, names, sites, E-values and background") {
  auto motifs = two_motifs();
  motifs[1].alternate_name = "MYC::MAX dimer";
  const auto path = (dnabert::test::scratch_dir("meme-round-trip") / "round_trip.meme").string();
  dnabert::io::write_meme(path, motifs, {0.3, 0.2, 0.2, 0.3});
  const auto file = dnabert::io::read_meme(path);
  check_same_motifs(file.motifs, motifs);
  CHECK(file.background == std::array<double, 4>{0.3, 0.2, 0.2, 0.3});
  // A file without motifs (discovery found none) reads back as no motifs.
  CHECK(parse_meme(dnabert::io::meme_text({}, {0.25, 0.25, 0.25, 0.25}), "empty.meme").motifs.empty());
}

TEST_CASE("meme: JASPAR and MEME-suite layouts read as Biopython reads them") {
  std::ifstream json_file(dnabert::test::data_path("motif/known_motifs.json"));
  const auto expected = nlohmann::json::parse(json_file);
  const auto file = dnabert::io::read_meme(dnabert::test::data_path("motif/known_motifs.meme"));
  for (std::size_t b = 0; b < 4; ++b) CHECK(file.background[b] == doctest::Approx(expected["background"][b].get<double>()));
  REQUIRE(file.motifs.size() == expected["motifs"].size());
  for (std::size_t m = 0; m < file.motifs.size(); ++m) {
    const auto& motif = file.motifs[m];
    const auto& want = expected["motifs"][m];
    CHECK(motif.name == want["name"].get<std::string>());
    CHECK(motif.alternate_name == want["alternate_name"].get<std::string>());
    CHECK(motif.sites == want["sites"].get<std::size_t>());
    CHECK(motif.e_value == doctest::Approx(want["e_value"].get<double>()).epsilon(1e-12));
    REQUIRE(motif.probabilities.size() == want["probabilities"].size());
    for (std::size_t row = 0; row < motif.probabilities.size(); ++row)
      for (std::size_t b = 0; b < 4; ++b)
        CHECK(std::abs(motif.probabilities[row][b] - want["probabilities"][row][b].get<double>()) < 2e-6);
  }
}

TEST_CASE("meme: optional parts, spacing, line ends and rounding that real files have") {
  // No ALPHABET, strands or background (uniform), no w= (rows end at the blank line), key=value
  // without blanks, tabs, a BOM and CRLF, rows printed to 3 decimals, an E-value below 1e-308.
  const auto file = parse_meme(
      "\xEF\xBB\xBFMEME version 4.12.0\r\n\r\nMOTIF m1\r\nletter-probability matrix: alength=4 nsites=7 E=3.1e-1500\r\n"
      "0.333\t0.333\t0.333\t0\r\n1 0 0 0\r\n\r\nMOTIF m2 second motif\r\nletter-probability matrix:\r\n0 0 0 1\r\n",
      "loose.meme");
  CHECK(file.background == std::array<double, 4>{0.25, 0.25, 0.25, 0.25});
  REQUIRE(file.motifs.size() == 2);
  CHECK(file.motifs[0].sites == 7);
  CHECK(file.motifs[0].e_value == 0.0);
  REQUIRE(file.motifs[0].probabilities.size() == 2);
  CHECK(file.motifs[0].probabilities[0][0] == doctest::Approx(1.0 / 3));  // 0.999 renormalised
  CHECK(file.motifs[0].probabilities[1] == std::array<double, 4>{1, 0, 0, 0});
  CHECK(file.motifs[1].alternate_name == "second motif");
  CHECK(file.motifs[1].probabilities.size() == 1);
  // Lower-case alphabet letters, "strands: +", and text that is not part of the format are fine.
  CHECK(parse_meme("MEME version 4\nALPHABET= acgt\nstrands: +\nsome comment\nMOTIF a\n"
                   "letter-probability matrix: alength= 4 w= 1\n 0.1 0.2 0.3 0.4\n",
                   "ok.meme")
            .motifs.size() == 1);
}

TEST_CASE("meme: hostile files are refused with the file, the line and what is wrong") {
  struct hostile_case {
    const char* name;
    std::string text;
    const char* message;
  };
  const std::string one_row = "letter-probability matrix: alength= 4 w= 1\n0.25 0.25 0.25 0.25\n";
  const std::vector<hostile_case> cases{
      {"empty", "", "bad.meme: is empty"},
      {"blank lines only", "\n \n\t\n", "bad.meme: is empty"},
      {"no version line", "MOTIF m\n" + one_row, "bad.meme:1: expected 'MEME version 4' first, found 'MOTIF m'"},
      {"old version", "MEME version 3.0\n", "bad.meme:1: MEME version 3 files are not read"},
      {"version not a number", "MEME version four\n", "bad.meme:1: expected a version number"},
      {"protein", "MEME version 4\nALPHABET= ACDEFGHIKLMNPQRSTVWY\n", "bad.meme:2: alphabet 'ACDEFGHIKLMNPQRSTVWY' is not DNA"},
      {"RNA", "MEME version 4\nALPHABET= ACGU\n", "(this is RNA)"},
      {"custom alphabet", "MEME version 5\nALPHABET \"DNA\" DNA-LIKE\n", "bad.meme:2: custom alphabet definitions"},
      {"bad strand", "MEME version 4\nstrands: + x\n", "bad.meme:2: strand 'x' is not '+' or '-'"},
      {"background missing", "MEME version 4\nBackground letter frequencies\n", "is not followed by 'A p C p G p T p'"},
      {"background letter", "MEME version 4\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 U 0.25\n",
       "bad.meme:3: background letter 'U'"},
      {"background twice A", "MEME version 4\nBackground letter frequencies\nA 0.25 A 0.25 G 0.25 T 0.25\n",
       "(each once)"},
      {"background sum", "MEME version 4\nBackground letter frequencies\nA 0.5 C 0.5 G 0.5 T 0.5\n",
       "bad.meme:3: background frequencies sum to 2.0"},
      {"wrong alength", with_header("MOTIF m\nletter-probability matrix: alength= 20 w= 1\n"),
       "bad.meme:6: alength= '20': only the 4-letter DNA alphabet"},
      {"truncated at the end", with_header("MOTIF m\nletter-probability matrix: alength= 4 w= 3\n1 0 0 0\n0 1 0 0\n"),
       "bad.meme:8: motif m: the file ends after 2 matrix rows, but w= 3 (line 6)"},
      {"truncated before the next motif",
       with_header("MOTIF m\nletter-probability matrix: w= 3\n1 0 0 0\n0 1 0 0\nMOTIF n\n" + one_row),
       "bad.meme:9: motif m: expected row 3 of 3 (w= on line 6), found 'MOTIF n'"},
      {"text in numbers", with_header("MOTIF m\nletter-probability matrix: w= 1\n0.25 abc 0.25 0.5\n"),
       "bad.meme:7: probability 'abc' is not a number"},
      {"NaN", with_header("MOTIF m\nletter-probability matrix: w= 1\n0.25 nan 0.25 0.5\n"),
       "bad.meme:7: probability 'nan' is not a finite number"},
      {"infinity", with_header("MOTIF m\nletter-probability matrix: w= 1\n0.25 1e999 0.25 0.5\n"),
       "probability '1e999' is too large"},
      {"negative", with_header("MOTIF m\nletter-probability matrix: w= 1\n0.5 -0.25 0.25 0.5\n"),
       "bad.meme:7: motif m: probability '-0.25' is negative"},
      {"row sum", with_header("MOTIF m\nletter-probability matrix: w= 1\n0.5 0.5 0.25 0.25\n"),
       "bad.meme:7: motif m: row 1 sums to 1.5"},
      {"three columns", with_header("MOTIF m\nletter-probability matrix: w= 1\n0.5 0.25 0.25\n"),
       "bad.meme:7: motif m: a row holds 3 numbers, expected 4 (A C G T)"},
      {"huge w", with_header("MOTIF m\nletter-probability matrix: alength= 4 w= 99999999999999999999999\n"),
       "bad.meme:6: w= '99999999999999999999999' is wider than the 10000 positions accepted"},
      {"w over the cap", with_header("MOTIF m\nletter-probability matrix: w= 10001\n"), "wider than the 10000"},
      {"w zero", with_header("MOTIF m\nletter-probability matrix: w= 0\n"), "w= '0' is not a positive whole number"},
      {"w not a number", with_header("MOTIF m\nletter-probability matrix: w= six\n"), "w= 'six' is not a positive"},
      {"key without value", with_header("MOTIF m\nletter-probability matrix: alength= 4 w=\n"), "'w=' has no value"},
      {"bad nsites", with_header("MOTIF m\nletter-probability matrix: nsites= -3\n"), "nsites= '-3' is not a site count"},
      {"bad E", with_header("MOTIF m\nletter-probability matrix: E= 1e999\n"), "E= '1e999' is too large"},
      {"matrix before MOTIF", with_header(one_row), "bad.meme:5: letter-probability matrix before any MOTIF line"},
      {"MOTIF without matrix", with_header("MOTIF m\nMOTIF n\n" + one_row), "bad.meme:6: motif m has no letter-probability"},
      {"MOTIF without id", with_header("MOTIF \n"), "bad.meme:5: MOTIF line without a motif identifier"},
      {"two matrices", with_header("MOTIF m\n" + one_row + one_row), "bad.meme:8: motif m has a second"},
      {"empty matrix", with_header("MOTIF m\nletter-probability matrix:\n\n"), "its letter-probability matrix (line 6) has no rows"},
      {"row outside a matrix", with_header("MOTIF m\n" + one_row + "0.25 0.25 0.25 0.25\n"),
       "bad.meme:8: a row of numbers outside a letter-probability matrix"},
      {"binary junk", std::string("MEME version 4\n\x00\x01\x02\xff", 19), "bad.meme:2: byte 0x00 is not text"},
      {"overlong line", "MEME version 4\n" + std::string(70000, '1'), "bad.meme:2: line is longer than the limit"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK_THROWS_WITH_AS((void)parse_meme(c.text, "bad.meme"), doctest::Contains(c.message), dnabert::format_error);
  }
}

TEST_CASE("meme: read_meme names the path, and a missing file is an error, not a crash") {
  const auto path = (dnabert::test::scratch_dir("meme-truncated") / "truncated.meme").string();
  dnabert::io::write_file_atomically(path, with_header("MOTIF m\nletter-probability matrix: w= 2\n1 0 0 0\n"));
  try {
    (void)dnabert::io::read_meme(path);
    FAIL("a truncated matrix was accepted");
  } catch (const dnabert::format_error& e) {
    CHECK(e.file() == path);
    CHECK(e.line() == 7);
  }
  CHECK_THROWS_AS((void)dnabert::io::read_meme(path + ".missing"), dnabert::error);
}

}  // namespace io_meme_test
