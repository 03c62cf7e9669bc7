#!/usr/bin/env python3
"""Goldens of `dnabert predict` with several --model folders (an ensemble over k, DNABERT's
`--do_ensemble_pred`), computed independently of dnabert with Hugging Face transformers.

Models: tests/data/parity/cls3_k3 (k = 3) and tests/data/models/cls-k6 (k = 6), both
BertForSequenceClassification with 3 labels and max_position_embeddings 64 (62 k-mers a piece).
Each model, in eval mode, tokenizes the same sequences with its own k and vocab.txt (upper-cased;
a k-mer with a letter outside ACGT is [UNK]); a sequence longer than one piece is cut into
consecutive pieces of at most 62 k-mers, each `[CLS] k-mers [SEP]` (include/dnabert/tokenizer/
kmer_tokenizer.hpp's rule), and its logits are the mean (or, per class, the max) of its pieces'
logits. Per model, probabilities = softmax of those logits (float64); the ensemble's probability
of each class is the mean over the models, and its prediction the first class of largest mean
(numpy argmax), as DNABERT's run_finetune.py averages the models' softmax outputs.

Writes into tests/data/ensemble/:
  * ensemble.fa: the input, 7 sequences drawn from a seeded generator (lower-case stretches and
    N's in some; two of 150 and 200 nt span three and four pieces) and one that cls3_k3 puts in
    class 0;
  * predict_mean.tsv, predict_max.tsv: the table `dnabert predict --model cls3_k3 --model cls-k6
    [--long max]` writes: id, predicted, prob_<c> (the ensemble's), then m<i>_prob_<c> for model i
    (1-based, in --model order).

Run from the repository root:  python3 tests/reference/make_ensemble_goldens.py
"""

import pathlib
import random

import torch
from transformers import BertForSequenceClassification

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = [(ROOT / "tests" / "data" / "parity" / "cls3_k3", 3), (ROOT / "tests" / "data" / "models" / "cls-k6", 6)]
OUT = ROOT / "tests" / "data" / "ensemble"
UNK_ID, CLS_ID, SEP_ID = 1, 2, 3
LENGTHS = [28, 61, 14, 45, 150, 200, 9]
# cls3_k3 leans to class 2; this one it puts in class 0 (found among 40 drawn from random.Random(5)),
# so that the ensemble's prediction is not the same class everywhere.
CLASS_0 = "TCCCTGGGACGTGGTAAAGAAGCATCG"


def sequences():
    rng = random.Random(21)
    out = []
    for n, length in enumerate(LENGTHS):
        bases = [rng.choice("ACGT") for _ in range(length)]
        if n % 2 == 0:  # a soft-masked stretch
            start = rng.randrange(length // 2)
            bases[start:start + 5] = [b.lower() for b in bases[start:start + 5]]
        if n % 3 == 1:  # an N, read as [UNK] by every k-mer covering it
            bases[rng.randrange(length)] = "N"
        out.append((f"s{n}", "".join(bases)))
    return out + [(f"s{len(LENGTHS)}", CLASS_0)]


def load(folder):
    model = BertForSequenceClassification.from_pretrained(folder)
    model.eval()
    vocab = [t for t in (folder / "vocab.txt").read_text().split("\n")]
    return model, {token: i for i, token in enumerate(vocab) if token}


def sequence_logits(model, vocab, k, sequence, rule):
    upper = sequence.upper()
    kmers = [vocab.get(upper[i:i + k], UNK_ID) for i in range(len(upper) - k + 1)]
    per_piece = min(510, model.config.max_position_embeddings - 2)
    pieces = []
    for first in range(0, len(kmers), per_piece):
        ids = torch.tensor([[CLS_ID] + kmers[first:first + per_piece] + [SEP_ID]])
        with torch.no_grad():
            pieces.append(model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0].double())
    stacked = torch.stack(pieces)
    return stacked.mean(dim=0) if rule == "mean" else stacked.max(dim=0).values


def number(x):
    return f"{x:.9g}"


def table(records, models, rule):
    classes = models[0][0].config.num_labels
    assert all(model.config.num_labels == classes for model, _, _ in models)
    header = ["id", "predicted"] + [f"prob_{c}" for c in range(classes)]
    header += [f"m{i + 1}_prob_{c}" for i in range(len(models)) for c in range(classes)]
    rows = ["\t".join(header)]
    for name, sequence in records:
        members = [torch.softmax(sequence_logits(model, vocab, k, sequence, rule), dim=0) for model, vocab, k in models]
        mean = torch.stack(members).mean(dim=0)
        cells = [name, str(int(mean.argmax()))] + [number(float(p)) for p in mean]
        cells += [number(float(p)) for member in members for p in member]
        rows.append("\t".join(cells))
    return "\n".join(rows) + "\n"


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    records = sequences()
    models = [load(folder) + (k,) for folder, k in MODELS]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ensemble.fa").write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records))
    for rule in ("mean", "max"):
        (OUT / f"predict_{rule}.tsv").write_text(table(records, models, rule))


if __name__ == "__main__":
    main()
