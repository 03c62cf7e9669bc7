#pragma once
// The FASTA the CLI falls back to when no --input is given, so that `dnabert tokenize` shows
// what the tokenizer does on a fresh build. Real sequence, shipped by Debian packages:
// phage lambda (NC_001416.1, bowtie2-examples) and a soft-masked excerpt of human chr17
// (hg19, python-pyfaidx-examples), plus a short read with an N.

#include <string_view>

namespace dnabert::cli {

/// Display name used for the embedded example in messages.
inline constexpr std::string_view example_fasta_name = "<embedded example FASTA>";

/// The embedded example FASTA text.
inline constexpr std::string_view example_fasta =
    ">lambda_start Enterobacteria phage lambda NC_001416.1, nt 1-210\n"
    "GGGCGGCGACCTCGCGGGTTTTCGCTATTTATGAAAATTTTCCGGTTTAAGGCGTTTCCGTTCTTCTTCG\n"
    "TCATAACTTAATGTTTTTATTTAAAATACCCTCTGAAAAGAAAGGAAACGACAGGTGCTGAAAGCGAGGC\n"
    "TTTTTGGCCTCTGTCGTTTCCTTTCTCTGTTTTTGTCCGTGGAATGAACAATGGAAGTCAACAAAAAGCA\n"
    ">chr17_hg19_40000_part human chr17 hg19 excerpt (pyfaidx example), nt 281-420, soft-masked tail\n"
    "GGCTGCATGGTTGACACACAGTGcctgcgacaaagctgaatgctatcatttaaaaactccttgctggttt\n"
    "gagaggcagaaaatgatatctcatagttgctttactttgcatattttAAAATTGTGACTTTCATGGCATA\n"
    ">short_read_with_N synthetic\n"
    "ACGTNACGTTAGCATTAGG\n";

}  // namespace dnabert::cli
