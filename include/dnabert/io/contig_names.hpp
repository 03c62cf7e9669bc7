#pragma once
// Contig names as genome files spell them: UCSC's "chr1" and Ensembl's "1" name the same contig,
// and a VCF or BED made for one does not match a FASTA of the other.

#include <string>

namespace dnabert::io {

/// The other spelling of a contig name: "chr1" <-> "1" (for hints when a name is not found).
inline std::string other_chr_style(const std::string& contig) {
  if (contig.starts_with("chr")) return contig.substr(3);
  std::string prefixed = "chr";
  prefixed += contig;
  return prefixed;
}

}  // namespace dnabert::io
