#!/usr/bin/env python3
"""Variant-effect goldens for dnabert's `analysis::score_variants` / `score_mutations` tests.

Independently of dnabert, for the real 2-class classifier tests/data/parity/cls_k6 (Hugging Face
transformers, BertForSequenceClassification, eval):

1. VCF-style variants on real sequence (the C. elegans sample of Debian's htslib-test and the
   soft-masked human chr17 piece of python-pyfaidx-examples). Each window follows the rule
   documented in include/dnabert/analysis/variant_effects.hpp:
     * REF's first base at offset (W - |REF|) // 2 of a W-nt window;
     * span = W + max(0, |REF| - |ALT|) bases are needed; the window start is clamped to
       [0, contig length - span] (shifted near contig edges);
     * reference = contig[start, start + W); alternative = contig[start, pos) + ALT +
       contig[pos + |REF|, ...), cut to W; both upper-cased.
   P(class 1) of both windows (k-mers of the upper-cased window, [CLS] ... [SEP], one piece),
   diff = (p_alt - p_ref) * max(p_ref, p_alt), logOR = log2 odds(p_ref) - log2 odds(p_alt) with
   probabilities clamped to [1e-7, 1 - 1e-7] -> tests/data/variants/goldens.tsv, and the CLI
   tests' VCF of those sites plus bad records -> tests/data/variants/ce_cli.vcf.
2. DNABERT's --mut-file mode: dev.tsv (k-mer sentences of three 60-nt pieces of ce.fa) and
   mut.txt (SNVs, an insertion, deletions, rows out of idx order) -> mutations.tsv exactly as
   DNABERT's SNP/mutate_seqs.py + SNP.py build it (pandas inner join on idx, to_csv with the
   index) -> tests/data/variants/{dev.tsv, mut.txt, mutations.tsv}.

Needs torch, transformers, numpy, pandas and the Debian packages htslib-test and
python-pyfaidx-examples. Run from the repository root:
    python3 tests/reference/make_variant_goldens.py
"""

import math
import pathlib

import numpy as np
import pandas as pd
import torch
from transformers import BertForSequenceClassification

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "data" / "parity" / "cls_k6"
OUT = ROOT / "tests" / "data" / "variants"
FASTAS = {
    "ce": pathlib.Path("/usr/share/htslib-test/test/ce.fa"),
    "chr17": pathlib.Path("/usr/share/doc/python-pyfaidx-examples/examples/chr17.hg19.part.fa"),
}
UNK_ID, CLS_ID, SEP_ID = 1, 2, 3
K = 6
FLOOR = 1e-7
TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}
TRANSVERSION = {"A": "C", "C": "A", "G": "T", "T": "G"}

# name, fasta, contig, POS (1-based), |REF|, ALT rule, window (nt). The default window of cls_k6
# is 62 k-mers + 5 = 67 nt.
VARIANTS = [
    ("snv", "ce", "CHROMOSOME_I", 5000, 1, "transition", 67),
    ("snv_second_allele", "ce", "CHROMOSOME_I", 5000, 1, "transversion", 67),
    ("insertion", "ce", "CHROMOSOME_I", 7000, 1, "+GGA", 67),
    ("deletion", "ce", "CHROMOSOME_I", 9000, 5, "delete", 67),
    ("edge_start", "ce", "CHROMOSOME_I", 11, 1, "transition", 67),
    ("edge_end_deletion", "ce", "CHROMOSOME_II", 4990, 4, "delete", 67),
    ("edge_end_insertion", "ce", "CHROMOSOME_II", 4999, 1, "+TTTT", 67),
    ("soft_masked", "chr17", "chr17", 350, 1, "transition", 67),
    ("short_window", "ce", "CHROMOSOME_III", 2500, 1, "transition", 41),
]


def read_fasta(path):
    contigs, name = {}, None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            contigs[name] = []
        elif name is not None:
            contigs[name].append(line.strip())
    return {n: "".join(parts) for n, parts in contigs.items()}


def windows(contig, pos0, ref, alt, width):
    span = width + max(0, len(ref) - len(alt))
    centred = pos0 - (width - len(ref)) // 2
    start = min(max(centred, 0), len(contig) - span)
    bases = contig[start:start + span].upper()
    left = pos0 - start
    reference = bases[:width]
    alternative = (bases[:left] + alt.upper() + bases[left + len(ref):])[:width]
    assert len(reference) == len(alternative) == width
    return start, reference, alternative


def load_model():
    model = BertForSequenceClassification.from_pretrained(MODEL)
    model.eval()
    vocab = [t for t in (MODEL / "vocab.txt").read_text().split("\n")]
    return model, {token: i for i, token in enumerate(vocab) if token}


def positive_probability(model, vocab, sequence):
    upper = sequence.upper()
    kmers = [vocab.get(upper[i:i + K], UNK_ID) for i in range(len(upper) - K + 1)]
    max_kmers = min(510, model.config.max_position_embeddings - 2)
    assert len(kmers) <= max_kmers, "goldens keep every sequence to one piece"
    ids = torch.tensor([[CLS_ID] + kmers + [SEP_ID]])
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0].double()
    return float(torch.softmax(logits, dim=0)[1])


def log_odds(p):
    p = min(max(p, FLOOR), 1 - FLOOR)
    return math.log2(p / (1 - p))


def scores(p_ref, p_alt):
    return (p_alt - p_ref) * max(p_ref, p_alt), log_odds(p_ref) - log_odds(p_alt)


def variant_goldens(model, vocab):
    genomes = {name: read_fasta(path) for name, path in FASTAS.items()}
    rows = []
    for name, fasta, contig_name, pos, ref_length, rule, width in VARIANTS:
        contig = genomes[fasta][contig_name]
        pos0 = pos - 1
        ref = contig[pos0:pos0 + ref_length]  # as written in the FASTA: soft-masked stays lower case
        if rule == "transition":
            alt = TRANSITION[ref.upper()]
        elif rule == "transversion":
            alt = TRANSVERSION[ref.upper()]
        elif rule == "delete":
            alt = ref[0].upper()
        else:
            alt = ref.upper() + rule[1:]
        start, reference, alternative = windows(contig, pos0, ref, alt, width)
        p_ref = positive_probability(model, vocab, reference)
        p_alt = positive_probability(model, vocab, alternative)
        diff, log_or = scores(p_ref, p_alt)
        rows.append([name, fasta, contig_name, pos, ref, alt, width, start, reference, alternative,
                     repr(p_ref), repr(p_alt), repr(diff), repr(log_or)])
    header = ["name", "fasta", "contig", "pos", "ref", "alt", "window", "start", "ref_seq", "alt_seq",
              "p_ref", "p_alt", "diff", "logOR"]
    text = "\t".join(header) + "\n" + "".join("\t".join(str(v) for v in row) + "\n" for row in rows)
    (OUT / "goldens.tsv").write_text(text)
    # The CLI tests' VCF: the C. elegans golden sites of the default window (the SNV's two alleles
    # in one record) and one record per kind of problem.
    by_name = {row[0]: row for row in rows}
    lines = ["##fileformat=VCFv4.2", "##source=tests/reference/make_variant_goldens.py",
             "##contig=<ID=CHROMOSOME_I,length=1009800>", "##contig=<ID=CHROMOSOME_II,length=5000>",
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for name in ["snv", "insertion", "deletion", "edge_start", "edge_end_deletion"]:
        _, _, contig_name, pos, ref, alt = by_name[name][:6]
        if name == "snv":
            alt += "," + by_name["snv_second_allele"][5]
        lines.append(f"{contig_name}\t{pos}\t{name}\t{ref}\t{alt}\t.\tPASS\t.")
    lines += ["CHROMOSOME_I\t5000\tref_mismatch\tT\tG\t.\tPASS\t.",
              "CHROMOSOME_I\t300\tsymbolic\tA\t<DEL>\t.\tPASS\t.",
              "CHROMOSOME_I\t0\tpos0\tA\tG\t.\tPASS\t.",
              "chrCHROMOSOME_III\t10\tprefixed\tA\tG\t.\tPASS\t."]
    (OUT / "ce_cli.vcf").write_text("\n".join(lines) + "\n")


def seq2kmer(sequence, k):
    return " ".join(sequence[i:i + k] for i in range(len(sequence) - k + 1))


def mutation_goldens(model, vocab):
    ce = read_fasta(FASTAS["ce"])
    originals = [ce["CHROMOSOME_I"][20000:20060], ce["CHROMOSOME_IV"][1000:1060], ce["CHROMOSOME_X"][3000:3060]]
    dev = pd.DataFrame({"sequence": [seq2kmer(s, K) for s in originals], "label": [1, 0, 1]})
    dev.to_csv(OUT / "dev.tsv", sep="\t", index=False)
    # idx start end allele; rows out of idx order, an insertion (start == end), deletions written
    # with and without the empty fourth column.
    mut_lines = ["2\t5\t6\tA", "0\t10\t11\tC", "0\t20\t21\tG", "1\t30\t31\tT", "1\t8\t8\tA", "2\t10\t11", "2\t12\t14\t"]
    (OUT / "mut.txt").write_text("\n".join(mut_lines) + "\n")

    # SNP/mutate_seqs.py: mutated = seq[:start] + allele + seq[end:], idx kept in an "index" column.
    mut = pd.read_csv(OUT / "mut.txt", sep="\t", header=None, names=["idx", "start", "end", "allele"]).fillna("")
    mutated = [originals[r.idx][:r.start] + r.allele + originals[r.idx][r.end:] for r in mut.itertuples()]
    # SNP.py: predictions of both, inner join on idx, diff and logOR (here with the clamp, which
    # changes nothing for these probabilities).
    orig = pd.DataFrame({"idx": range(len(originals)), "orig_seq": dev["sequence"],
                         "orig_pred": [positive_probability(model, vocab, s) for s in originals]})
    muts = pd.DataFrame({"idx": mut["idx"], "mut_seq": [seq2kmer(s, K) for s in mutated],
                         "mut_pred": [positive_probability(model, vocab, s) for s in mutated]})
    table = pd.merge(orig, muts, on="idx")
    table["diff"], table["logOR"] = zip(*[scores(o, m) for o, m in zip(table["orig_pred"], table["mut_pred"])])
    table.to_csv(OUT / "mutations.tsv", sep="\t", float_format="%.17g")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    model, vocab = load_model()
    variant_goldens(model, vocab)
    mutation_goldens(model, vocab)
    print(f"wrote goldens to {OUT}")


if __name__ == "__main__":
    main()
