// The README's library example, compiled with the examples so it cannot rot.
// Usage: quickstart READS.fa[.gz] MODEL_DIR
#include <dnabert/dnabert.hpp>
#include <xtensor/xio.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 3) return std::cerr << "usage: quickstart READS.fa[.gz] MODEL_DIR\n", 2;
  const dnabert::KmerTokenizer<6> tokenizer;  // DNABERT-6 vocabulary (4101 tokens)
  std::vector<dnabert::token_piece> pieces;
  std::vector<std::string> sequences;
  for (const auto& record : dnabert::io::read_fasta(argv[1])) {  // plain or gzip
    auto encoded = tokenizer.encode(record.sequence, record.id, sequences.size());
    pieces.insert(pieces.end(), encoded.begin(), encoded.end());  // 510-k-mer pieces
    sequences.push_back(record.sequence);
  }
  const auto batch = dnabert::make_batch(pieces);  // padded with [PAD], attention mask
  std::cout << batch.ids_view() << '\n';            // xtensor view, no copy

  const auto model = dnabert::load_classifier(argv[2]);  // Hugging Face folder, k = 6
  std::cout << model.predict(sequences).probabilities << '\n';  // xt::xtensor [N, classes]
}
