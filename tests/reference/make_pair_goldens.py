#!/usr/bin/env python3
"""Golden pair inputs and logits: Hugging Face's BertTokenizer and BertForSequenceClassification on
pairs of DNA sequences, as DNABERT's dnapair task and DNABERT-2's 3-column CSV feed them.

Each sequence becomes its space-separated k-mers (DNABERT's seq2kmer); the tokenizer encodes the
pair as [CLS] a [SEP] b [SEP] with token_type_ids 0 then 1, cut by truncation='longest_first' to
the model's 64 positions; the model (tests/data/parity/cls_k6, written by make_parity_goldens.py)
runs each pair alone, in eval mode. Sequences are upper case (BertTokenizer without lower-casing
would turn a lower-case k-mer into [UNK]; dnabert upper-cases) and some hold an N.

Writes tests/data/pairs/golden.json (pairs, input_ids, token_type_ids, logits) and the same pairs
as the two table formats: pairs.tsv (DNABERT's dnapair: k-mer sentences, seq1<TAB>seq2<TAB>label)
and pairs.csv (DNABERT-2: sequence1,sequence2,label), plus tests/cli/expected/predict_pairs_cls_k6.tsv,
what `dnabert predict` must print for them.

Usage: python3 tests/reference/make_pair_goldens.py
"""
import json
import math
import pathlib
import random

import torch
from transformers import BertForSequenceClassification, BertTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests/data/parity/cls_k6"
OUT = ROOT / "tests/data/pairs"
EXPECTED = ROOT / "tests/cli/expected/predict_pairs_cls_k6.tsv"
K = 6
MAX_LENGTH = 64  # cls_k6's max_position_embeddings


def seq2kmer(seq, k):
    return " ".join(seq[x:x + k] for x in range(len(seq) + 1 - k))


def number(x):
    return f"{x:.9g}"


def main():
    rng = random.Random(20261207)
    dna = lambda n: "".join(rng.choice("ACGT") for _ in range(n))
    # (a length, b length): no cut; a longer; b longer; equal and too long (an odd cut: b loses the
    # extra k-mer); one far longer than the other; the shortest pair.
    lengths = [(20, 15), (70, 20), (12, 80), (45, 45), (46, 45), (150, 9), (6, 6)]
    pairs = [(dna(a), dna(b)) for a, b in lengths]
    pairs[0] = (pairs[0][0][:8] + "N" + pairs[0][0][9:], pairs[0][1])  # [UNK]s in a
    labels = [i % 2 for i in range(len(pairs))]
    tokenizer = BertTokenizer(str(MODEL / "vocab.txt"), do_lower_case=False)
    model = BertForSequenceClassification.from_pretrained(str(MODEL)).eval()
    cases = []
    with torch.no_grad():
        for a, b in pairs:
            encoded = tokenizer(seq2kmer(a, K), seq2kmer(b, K), truncation="longest_first", max_length=MAX_LENGTH)
            ids = torch.tensor([encoded["input_ids"]])
            types = torch.tensor([encoded["token_type_ids"]])
            logits = model(input_ids=ids, token_type_ids=types, attention_mask=torch.ones_like(ids)).logits[0]
            cases.append({"a": a, "b": b, "input_ids": encoded["input_ids"], "token_type_ids": encoded["token_type_ids"],
                          "logits": [float(x) for x in logits]})
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "golden.json").write_text(json.dumps({"model": "parity/cls_k6", "k": K, "max_length": MAX_LENGTH,
                                                 "pairs": cases}, indent=1) + "\n")
    with open(OUT / "pairs.tsv", "w", newline="\n") as tsv:
        tsv.write("seq1\tseq2\tlabel\n")
        for (a, b), label in zip(pairs, labels):
            tsv.write(f"{seq2kmer(a, K)}\t{seq2kmer(b, K)}\t{label}\n")
    with open(OUT / "pairs.csv", "w", newline="\n") as csv:
        csv.write("sequence1,sequence2,label\n")
        for (a, b), label in zip(pairs, labels):
            csv.write(f"{a},{b},{label}\n")
    lines = ["id\tpredicted\tprob_0\tprob_1\tlogit_0\tlogit_1"]
    for row, case in enumerate(cases):
        logits = case["logits"]
        top = max(logits)
        exps = [math.exp(x - top) for x in logits]
        probs = [e / sum(exps) for e in exps]
        lines.append("\t".join([str(row), str(max(range(2), key=lambda c: logits[c]))] + [number(p) for p in probs] +
                               [number(x) for x in logits]))
    EXPECTED.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
