// Tokenizes one sequence through the installed (or fetched) dnabert package.
#include <dnabert/dnabert.hpp>

#include <iostream>

int main() {
  const dnabert::KmerTokenizer<6> tokenizer;
  const auto pieces = tokenizer.encode("ACGTACGTTAGC", "example");
  for (auto id : pieces.at(0).ids) std::cout << id << ' ';
  std::cout << '\n';
  return pieces.at(0).ids.size() == 9 ? 0 : 1;
}
