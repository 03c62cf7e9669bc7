// A numeric diff for what the CLI writes (TSV, VCF, JSON, SVG, MEME, .npy): both files are split
// into tokens, numbers must agree within a tolerance, #rrggbb colours channel by channel, and all
// other text exactly (whitespace only separates tokens). A .npy file reads as the text
// "npy <descr> shape (d0, d1, ...)" followed by its values, so a reference can be a plain text file.
//   compare_numbers [--rel R] [--abs A] [--colour C] EXPECTED ACTUAL   exit 0: agree, 1: differ
//   compare_numbers --show FILE                                          prints FILE as it is compared
// Numbers a, b agree when |a - b| <= A + R * max(|a|, |b|) (defaults: exact).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The value of `key` in a .npy header dict such as {'descr': '<f4', 'fortran_order': False, 'shape': (3, 32), }.
std::string header_field(const std::string& header, const std::string& key, const std::string& path) {
  const auto at = header.find("'" + key + "':");
  if (at == std::string::npos) throw std::runtime_error(path + ": .npy header has no '" + key + "'");
  const auto begin = header.find_first_not_of(' ', at + key.size() + 3);
  if (begin == std::string::npos) throw std::runtime_error(path + ": malformed .npy header");
  const char close = header[begin] == '(' ? ')' : header[begin] == '\'' ? '\'' : ',';
  const auto end = header.find(close, begin + 1);
  if (end == std::string::npos) throw std::runtime_error(path + ": malformed .npy header");
  return header.substr(begin, end - begin + (close == ',' ? 0 : 1));
}

// A float32/float64 little-endian C-order .npy as text: the header line, then one row per line.
std::string npy_as_text(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 10 || bytes[6] < 1 || bytes[6] > 3) throw std::runtime_error(path + ": unsupported .npy version");
  const auto byte = [&](std::size_t i) { return std::size_t{static_cast<unsigned char>(bytes[i])}; };
  const bool wide = bytes[6] >= 2;  // versions 2 and 3 have a 4-byte header length
  const std::size_t header_length = wide ? byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24 : byte(8) | byte(9) << 8;
  const std::size_t data_at = (wide ? 12 : 10) + header_length;
  if (data_at > bytes.size()) throw std::runtime_error(path + ": truncated .npy header");
  const std::string header = bytes.substr(wide ? 12 : 10, header_length);
  const std::string descr = header_field(header, "descr", path), shape = header_field(header, "shape", path);
  if (header_field(header, "fortran_order", path) != "False") throw std::runtime_error(path + ": Fortran-order .npy");
  if (descr != "'<f4'" && descr != "'<f8'") throw std::runtime_error(path + ": only <f4 and <f8 .npy are read, found " + descr);
  std::size_t count = 1, last = 1;
  for (const char* p = shape.c_str(); *p;) {
    if (std::isdigit(static_cast<unsigned char>(*p))) {
      char* end = nullptr;
      last = std::strtoull(p, &end, 10);
      count *= last;
      p = end;
    } else {
      ++p;
    }
  }
  const std::size_t width = descr == "'<f4'" ? 4 : 8;
  if (bytes.size() - data_at != count * width)
    throw std::runtime_error(path + ": " + std::to_string(bytes.size() - data_at) + " data bytes for shape " + shape);
  std::string text = "npy " + descr.substr(1, 3) + " shape " + shape + "\n";
  char number[40];
  for (std::size_t i = 0; i < count; ++i) {
    if (width == 4) {
      float value;
      std::memcpy(&value, bytes.data() + data_at + 4 * i, 4);
      std::snprintf(number, sizeof number, "%.9g", static_cast<double>(value));
    } else {
      double value;
      std::memcpy(&value, bytes.data() + data_at + 8 * i, 8);
      std::snprintf(number, sizeof number, "%.17g", value);
    }
    text += number;
    text += (i + 1) % std::max<std::size_t>(last, 1) == 0 ? '\n' : ' ';
  }
  return text;
}

std::string document(const std::string& path) {
  std::string bytes = read_file(path);
  return bytes.rfind("\x93NUMPY", 0) == 0 ? npy_as_text(bytes, path) : bytes;
}

struct token {
  enum kind_t { text, number, colour } kind = text;
  std::string spelling;
  double value = 0;
  int line = 1;
};

bool digit(const std::string& s, std::size_t i) { return i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); }
bool alnum(const std::string& s, std::size_t i) { return i < s.size() && std::isalnum(static_cast<unsigned char>(s[i])); }

// Length of the decimal number starting at s[i] ([sign] digits [. digits] [e[sign]digits]), 0 if none.
// A sign counts only where it cannot be a hyphen inside a word.
std::size_t number_length(const std::string& s, std::size_t i) {
  std::size_t j = i;
  if ((s[j] == '-' || s[j] == '+') && (i == 0 || !alnum(s, i - 1))) ++j;
  const std::size_t mantissa = j;
  while (digit(s, j)) ++j;
  if (j < s.size() && s[j] == '.' && (j > mantissa || digit(s, j + 1))) {
    ++j;
    while (digit(s, j)) ++j;
  }
  if (j == mantissa || (j == mantissa + 1 && s[mantissa] == '.')) return 0;
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    std::size_t e = j + 1;
    if (e < s.size() && (s[e] == '-' || s[e] == '+')) ++e;
    if (digit(s, e)) {
      while (digit(s, e)) ++e;
      j = e;
    }
  }
  return j - i;
}

bool colour_at(const std::string& s, std::size_t i) {
  if (s[i] != '#' || i + 7 > s.size() || alnum(s, i + 7)) return false;
  for (std::size_t j = i + 1; j < i + 7; ++j)
    if (!std::isxdigit(static_cast<unsigned char>(s[j]))) return false;
  return true;
}

std::vector<token> tokenise(const std::string& s) {
  std::vector<token> tokens;
  int line = 1;
  bool in_text = false;  // whether the last token is text that the next character may extend
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      line += c == '\n';
      in_text = false;
      ++i;
    } else if (colour_at(s, i)) {
      tokens.push_back({token::colour, s.substr(i, 7), 0, line});
      in_text = false;
      i += 7;
    } else if (const std::size_t n = number_length(s, i)) {
      tokens.push_back({token::number, s.substr(i, n), std::strtod(s.substr(i, n).c_str(), nullptr), line});
      in_text = false;
      i += n;
    } else {
      if (!in_text) tokens.push_back({token::text, "", 0, line});
      tokens.back().spelling += c;
      in_text = true;
      ++i;
    }
  }
  return tokens;
}

int channel(const std::string& colour, int index) { return std::stoi(colour.substr(1 + 2 * index, 2), nullptr, 16); }

int compare(const std::string& expected_path, const std::string& actual_path, double rel, double abs, int colour_tolerance) {
  const auto expected = tokenise(document(expected_path)), actual = tokenise(document(actual_path));
  std::size_t numbers = 0, colours = 0, mismatches = 0;
  double worst = 0;
  int worst_channel = 0;
  const auto report = [&](const token& e, const token& a, const char* what) {
    if (++mismatches <= 10)
      std::printf("%s: expected '%s' (line %d of %s), found '%s' (line %d of %s)\n", what, e.spelling.c_str(), e.line,
                  expected_path.c_str(), a.spelling.c_str(), a.line, actual_path.c_str());
  };
  for (std::size_t i = 0; i < std::min(expected.size(), actual.size()); ++i) {
    const token &e = expected[i], &a = actual[i];
    if (e.kind != a.kind || (e.kind == token::text && e.spelling != a.spelling)) {
      report(e, a, "different text");
      break;  // the token streams no longer line up
    }
    if (e.kind == token::number) {
      ++numbers;
      const double difference = std::fabs(e.value - a.value);
      worst = std::max(worst, difference);
      if (!(difference <= abs + rel * std::max(std::fabs(e.value), std::fabs(a.value)))) report(e, a, "numbers differ");
    } else if (e.kind == token::colour) {
      ++colours;
      int largest = 0;
      for (int c = 0; c < 3; ++c) largest = std::max(largest, std::abs(channel(e.spelling, c) - channel(a.spelling, c)));
      worst_channel = std::max(worst_channel, largest);
      if (largest > colour_tolerance) report(e, a, "colours differ");
    }
  }
  if (mismatches == 0 && expected.size() != actual.size()) {
    std::printf("%s has %zu tokens, %s %zu\n", expected_path.c_str(), expected.size(), actual_path.c_str(), actual.size());
    ++mismatches;
  }
  if (mismatches > 0) {
    std::printf("%s and %s differ (%zu mismatches; tolerance %g + %g * |value|, %d per colour channel)\n",
                expected_path.c_str(), actual_path.c_str(), mismatches, abs, rel, colour_tolerance);
    return 1;
  }
  std::printf("%s agrees with %s: %zu tokens, %zu numbers (largest difference %g), %zu colours (largest channel difference %d)\n",
              actual_path.c_str(), expected_path.c_str(), actual.size(), numbers, worst, colours, worst_channel);
  return 0;
}

double parse_number(const char* text, const char* flag) {
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value >= 0)) throw std::runtime_error(std::string(flag) + " needs a number >= 0, found " + text);
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "--show") {
      std::fputs(document(args[1]).c_str(), stdout);
      return 0;
    }
    double rel = 0, abs = 0;
    int colour = 0;
    std::vector<std::string> files;
    for (std::size_t i = 0; i < args.size(); ++i) {
      const bool has_value = i + 1 < args.size();
      if (args[i] == "--rel" && has_value) rel = parse_number(args[++i].c_str(), "--rel");
      else if (args[i] == "--abs" && has_value) abs = parse_number(args[++i].c_str(), "--abs");
      else if (args[i] == "--colour" && has_value) colour = static_cast<int>(parse_number(args[++i].c_str(), "--colour"));
      else files.push_back(args[i]);
    }
    if (files.size() != 2) {
      std::fprintf(stderr, "usage: compare_numbers [--rel R] [--abs A] [--colour C] EXPECTED ACTUAL | --show FILE\n");
      return 2;
    }
    return compare(files[0], files[1], rel, abs, colour);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "compare_numbers: %s\n", e.what());
    return 2;
  }
}
