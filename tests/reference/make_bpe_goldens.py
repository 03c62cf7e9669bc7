#!/usr/bin/env python3
"""Goldens of the BPE tokenizer (DNABERT-2's), computed by Hugging Face's `tokenizers` library.

Writes, from the repository root:
  * tests/data/bpe/chr17_bpe200/tokenizer.json: a BPE tokenizer trained here with `tokenizers` as
    DNABERT-2's was (BpeTrainer, Whitespace pre-tokenizer, its five special tokens, a
    [CLS] $A [SEP] template), on the soft-masked chr17 piece of Debian's python-pyfaidx-examples,
    200 tokens;
  * tests/data/bpe/goldens.tsv: for that tokenizer and for DNABERT-2-117M's own tokenizer.json
    (read from ../shared/data/dnabert2-117m/, never copied here), the ids `Tokenizer.encode` gives
    every record of four Debian-shipped FASTA files (C. elegans from htslib-test; chr17, genes and
    their lower-case copy from python-pyfaidx-examples) and a few edge cases (N runs, lower case,
    blanks, '-', '*', empty): the count, the SHA-256 of the ids as little-endian int32, and the
    first 16 ids;
  * tests/cli/expected/tokenize_bpe_{chr17_bpe200,dnabert2-117m}.tsv: what `dnabert tokenize --model`
    must print for tests/data/cli/three.fa with each tokenizer (one row per record: id, the ids).

Usage: python3 tests/reference/make_bpe_goldens.py   (needs tokenizers, see requirements.txt)
"""
import hashlib
import pathlib
import struct

import tokenizers
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "bpe"
CLI_EXPECTED = ROOT / "tests" / "cli" / "expected"
THREE_FA = ROOT / "tests" / "data" / "cli" / "three.fa"
DNABERT2 = ROOT.parent / "shared" / "data" / "dnabert2-117m" / "tokenizer.json"
EXAMPLES = pathlib.Path("/usr/share/doc/python-pyfaidx-examples/examples")
FASTA = {
    "ce.fa": pathlib.Path("/usr/share/htslib-test/test/ce.fa"),
    "chr17.hg19.part.fa": EXAMPLES / "chr17.hg19.part.fa",
    "genes.fasta": EXAMPLES / "genes.fasta",
    "genes.fasta.lower": EXAMPLES / "genes.fasta.lower",
}
EDGE_CASES = ["", "N", "NNNNNNNNNNNN", "acgtACGTnnnNNNacgt", "ACGT ACGT\tACGT", "A-C*G--T**", "ACGTTGCA" * 300 + "N" * 40]
SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]


def records(path):
    """(id, sequence) of each record, lines joined as they are (case kept)."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            out.append([line[1:].split()[0], ""])
        elif out:
            out[-1][1] += line.strip()
    return [tuple(r) for r in out]


def trained_tokenizer():
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=200, special_tokens=SPECIALS, show_progress=False)
    tokenizer.train([str(FASTA["chr17.hg19.part.fa"])], trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                             special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tokenizer


def golden_rows(name, tokenizer):
    rows = []
    cases = [(source, i, rid, seq) for source, path in FASTA.items() for i, (rid, seq) in enumerate(records(path))]
    cases += [("edge", i, f"edge{i}", text) for i, text in enumerate(EDGE_CASES)]
    for source, index, rid, text in cases:
        ids = tokenizer.encode(text).ids
        digest = hashlib.sha256(struct.pack(f"<{len(ids)}i", *ids)).hexdigest()
        rows.append("\t".join([name, source, str(index), rid, str(len(ids)), digest, " ".join(map(str, ids[:16]))]))
    return rows


def main():
    trained_dir = OUT / "chr17_bpe200"
    trained_dir.mkdir(parents=True, exist_ok=True)
    trained = trained_tokenizer()
    trained.save(str(trained_dir / "tokenizer.json"))
    rows = ["tokenizer\tsource\trecord\tid\ttokens\tsha256_int32le\tfirst_ids"]
    rows += golden_rows("chr17_bpe200", Tokenizer.from_file(str(trained_dir / "tokenizer.json")))
    rows += golden_rows("dnabert2-117m", Tokenizer.from_file(str(DNABERT2)))
    (OUT / "goldens.tsv").write_text("\n".join(rows) + "\n")
    for name, path in [("chr17_bpe200", trained_dir / "tokenizer.json"), ("dnabert2-117m", DNABERT2)]:
        tokenizer = Tokenizer.from_file(str(path))
        lines = ["id\tids"] + [f"{rid}\t{' '.join(map(str, tokenizer.encode(seq).ids))}" for rid, seq in records(THREE_FA)]
        (CLI_EXPECTED / f"tokenize_bpe_{name}.tsv").write_text("\n".join(lines) + "\n")
    edges = "\n".join(f"  edge{i}: {text[:40]!r}{'...' if len(text) > 40 else ''}" for i, text in enumerate(EDGE_CASES))
    (OUT / "README.md").write_text(
        "# BPE tokenizer goldens\n\nWritten by `tests/reference/make_bpe_goldens.py` with tokenizers "
        f"{tokenizers.__version__}; see its docstring. The edge cases (source `edge`):\n\n{edges}\n")


if __name__ == "__main__":
    main()
