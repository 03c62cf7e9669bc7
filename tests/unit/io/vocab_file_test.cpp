// vocab.txt: written files are byte-identical to DNABERT's (published SHA-256), reading accepts
// their exact forms and names the first wrong line of anything else.
#include "dnabert/io/vocab_file.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <span>
#include <string>

#include "sha256.hpp"
#include "test_paths.hpp"
#include "test_skip.hpp"

namespace io_vocab_file_test {

namespace {

int parse(const std::string& text) {
  return dnabert::io::parse_vocab_file(std::as_bytes(std::span<const char>(text.data(), text.size())), "vocab.txt");
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// DNABERT's k=3 vocabulary with line `line` (1-based) replaced by `replacement`.
std::string k3_with_line(int line, const std::string& replacement) {
  const std::string text = dnabert::io::vocab_file_text(3);
  std::size_t start = 0;
  for (int i = 1; i < line; ++i) start = text.find('\n', start) + 1;
  const std::size_t end = text.find('\n', start);
  return text.substr(0, start) + replacement + (end == std::string::npos ? "" : text.substr(end));
}

}  // namespace

TEST_CASE("sha256 matches the FIPS 180-2 test vectors") {
  CHECK(dnabert::test::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(dnabert::test::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(dnabert::test::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("vocab_file written files are byte-identical to DNABERT's") {
  const auto dir = dnabert::test::scratch_dir("vocab-file");
  const std::pair<int, const char*> published[] = {
      {3, "868b0b1ca9c6dfe72771d7c98b406c21ab712d70b0df65216a19868149934b7d"},
      {4, "a78f8d49dfd18288b2838dacb207dc71932c078f1c5083df2c4465658ae39c34"},
      {5, "3d422649f2193de4cb8af321b42dd5b4a98151138ad68653649638fa5aa91101"},
      {6, "d8f61c247fc10f9b8c7f6baf4d31876f30076d4aaf9f31ff47b9e68badd62e61"},
  };
  for (const auto& entry : published) {
    const int k = entry.first;
    const std::string hash = entry.second;
    CAPTURE(k);
    const std::string path = (dir / ("vocab-" + std::to_string(k) + ".txt")).string();
    dnabert::io::write_vocab_file(path, k);
    const std::string written = file_bytes(path);
    CHECK(dnabert::test::sha256_hex(written) == hash);
    CHECK(dnabert::io::read_vocab_file(path) == k);
  }
}

TEST_CASE("vocab_file written files equal the vocab.txt files DNABERT ships") {
  const auto dir = dnabert::test::scratch_dir("vocab-file-shipped");
  for (const int k : {3, 4, 5, 6}) {
    CAPTURE(k);
    const std::string shipped_path = dnabert::test::shared_path(
        "data/dnabert-sample/src/transformers/dnabert-config/bert-config-" + std::to_string(k) + "/vocab.txt");
    if (!dnabert::test::input_present(shipped_path)) return;
    const std::string path = (dir / ("vocab-" + std::to_string(k) + ".txt")).string();
    dnabert::io::write_vocab_file(path, k);
    CHECK(dnabert::io::read_vocab_file(shipped_path) == k);
    CHECK(file_bytes(shipped_path) == file_bytes(path));
  }
}

TEST_CASE("vocab_file reads both line endings, with or without a final newline") {
  const std::string k4 = dnabert::io::vocab_file_text(4);
  CHECK(parse(k4) == 4);
  CHECK(parse(k4 + "\n") == 4);
  std::string crlf;
  for (const char c : k4) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  CHECK(parse(crlf) == 4);
  CHECK(parse(crlf + "\r\n") == 4);
  CHECK(parse(dnabert::io::vocab_file_text(1)) == 1);
  CHECK(dnabert::io::vocab_file_text(3).starts_with("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nAAA\nAAT\nAAC\nAAG\nATA\n"));
}

TEST_CASE("vocab_file check_vocab_file compares with the model's k") {
  const auto dir = dnabert::test::scratch_dir("vocab-check");
  const std::string path = (dir / "vocab.txt").string();
  dnabert::io::write_vocab_file(path, 3);
  CHECK_NOTHROW(dnabert::io::check_vocab_file(path, 3));
  CHECK_THROWS_WITH_AS(dnabert::io::check_vocab_file(path, 6),
                       (path + ": holds the k=3 vocabulary (69 tokens) but the model is built for k=6 (4101)").c_str(),
                       dnabert::format_error);
}

TEST_CASE("vocab_file hostile: a wrong line is named with what was expected") {
  CHECK_THROWS_WITH_AS(parse(k3_with_line(7, "AAA")),
                       "vocab.txt:7: duplicate token 'AAA' (already on line 6), expected 'AAT'", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(k3_with_line(8, "ACA")), "vocab.txt:8: expected 'AAC', found 'ACA'",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(k3_with_line(8, "aac")), "vocab.txt:8: expected 'AAC', found 'aac'",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(k3_with_line(69, "GGGG")), "vocab.txt:69: expected 'GGG', found 'GGGG'",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(k3_with_line(10, "AT\tA")), "vocab.txt:10: expected 'ATA', found 'AT?A'",
                       dnabert::format_error);
}

TEST_CASE("vocab_file hostile: missing or misplaced special tokens") {
  CHECK_THROWS_WITH_AS(parse(k3_with_line(3, "[SEP]")), "vocab.txt:3: expected special token '[CLS]', found '[SEP]'",
                       dnabert::format_error);
  const std::string no_specials =
      dnabert::io::vocab_file_text(3).substr(std::string("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n").size());
  CHECK_THROWS_WITH_AS(parse(no_specials), "vocab.txt:1: expected special token '[PAD]', found 'AAA'",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse("\xEF\xBB\xBF[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n[MASK]"),
                       doctest::Contains("vocab.txt:6: duplicate token '[MASK]' (already on line 5)"),
                       dnabert::format_error);
}

TEST_CASE("vocab_file hostile: wrong number of tokens") {
  const std::string k3 = dnabert::io::vocab_file_text(3);
  CHECK_THROWS_WITH_AS(parse(k3.substr(0, k3.rfind('\n'))),
                       "vocab.txt: holds 68 tokens; a DNABERT vocabulary holds 4^k+5 (69, 261, 1029, 4101 for k=3..6), "
                       "and its k-mers say k=3 (69 tokens)",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(k3 + "\n\n"),
                       "vocab.txt:70: expected the end of the k=3 vocabulary (69 tokens), found more lines",
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse("[PAD]\n[UNK]\n[CLS]"), doctest::Contains("vocab.txt: holds 3 tokens"),
                       dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(""), doctest::Contains("vocab.txt: is empty"), dnabert::format_error);
}

TEST_CASE("vocab_file hostile: binary junk and overlong lines") {
  CHECK_THROWS_WITH_AS(parse(std::string("\x00\x01\x02", 3)),
                       "vocab.txt:1: expected special token '[PAD]', found '\?\?\?'", dnabert::format_error);
  CHECK_THROWS_WITH_AS(parse(std::string(1000, 'A')), doctest::Contains("vocab.txt:1: line is longer than the limit"),
                       dnabert::format_error);
}

}  // namespace io_vocab_file_test
