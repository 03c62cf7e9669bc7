#!/usr/bin/env python3
"""Golden token ids for the C++ tokenizer tests, computed the way DNABERT does it.

DNABERT's pipeline: seq2kmer (motif/motif_utils.py) makes L-k+1 space-separated k-mers, the
DNATokenizer looks each whole word up in vocab.txt (built in itertools.product('ATCG') order)
and maps anything unknown to [UNK]; build_inputs_with_special_tokens wraps [CLS] ... [SEP].
The sequences are upper-cased first (dnabert's documented behaviour; DNABERT itself would
turn a lower-case k-mer into [UNK]).

Usage: python3 tests/reference/make_tokenizer_goldens.py tests/data/tokenizer/goldens.tsv
"""
import itertools
import random
import sys

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def dnabert_vocab(k):
    tokens = SPECIALS + ["".join(p) for p in itertools.product("ATCG", repeat=k)]
    return {token: i for i, token in enumerate(tokens)}


def seq2kmer(seq, k):
    return " ".join(seq[x:x + k] for x in range(len(seq) + 1 - k))


def encode(seq, k):
    vocab = dnabert_vocab(k)
    words = seq2kmer(seq.upper(), k).split()
    return [vocab["[CLS]"]] + [vocab.get(w, vocab["[UNK]"]) for w in words] + [vocab["[SEP]"]]


def main(path):
    rng = random.Random(20261125)
    cases = []
    for k in (3, 4, 5, 6):
        cases.append((k, "ACGT" * 5))
        cases.append((k, "A" * k))
        cases.append((k, "acgtACGTnnACGTAGGCTTAGCAtcgatcga"))
        cases.append((k, "ACGTRYKMSWBDHVUACGT-ACGT*ACGTACG"))
        for _ in range(4):
            length = rng.randint(k, 120)
            seq = "".join(rng.choice("ACGTACGTACGTacgtN") for _ in range(length))
            cases.append((k, seq))
    with open(path, "w", newline="\n") as out:
        out.write("k\tsequence\tids\n")
        for k, seq in cases:
            out.write(f"{k}\t{seq}\t{' '.join(map(str, encode(seq, k)))}\n")


if __name__ == "__main__":
    main(sys.argv[1])
