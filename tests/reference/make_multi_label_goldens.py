#!/usr/bin/env python3
"""Goldens for multi-label classification (problem_type "multi_label_classification", DNABERT
issue #34), all from PyTorch, transformers and scikit-learn:

* tests/data/multi_label/bce.json: torch.nn.functional.binary_cross_entropy_with_logits (mean over
  every element) of float64 logits [7, 4] against 0/1 targets, and its gradient; logits as large as
  +-40 check that neither side overflows.
* tests/data/multi_label/metrics.json: scikit-learn on label indicator matrices [N, L] with tied
  scores, one label that is never positive and one that always is: per label roc_auc_score (null
  when the label holds one class), average_precision_score (null without positives) and f1_score
  at probability > 0.5; the macro means over the labels where each is defined; roc_auc_score and
  average_precision_score with average="micro"; accuracy_score (subset accuracy); f1_score
  average="macro"/"micro" with zero_division=0.
* tests/data/multi_label/table.tsv (DNABERT TSV, k-mer sentences) and table.csv (DNABERT-2 CSV):
  the same 8 sequences with 5 labels each, the label column holding space-separated 0/1 values;
  tests/cli/expected/predict_multi_label_mlc_k3.tsv, what `dnabert predict` must write for them
  with tests/data/parity/mlc_k3 (make_parity_goldens.py): BertForSequenceClassification's logits,
  their sigmoids and the 0/1 predictions (probability > 0.5); and the BCE loss transformers computes
  on them (table_loss.json).
* tests/data/multi_label/bad_*.tsv: tables `dnabert` must refuse (a value that is not 0/1, rows with
  different label counts, a number among vectors).

Usage: python3 tests/reference/make_multi_label_goldens.py (after make_parity_goldens.py)
"""
import json
import math
import pathlib
import random

import numpy as np
import torch
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score
from transformers import BertForSequenceClassification, BertTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests/data/parity/mlc_k3"
OUT = ROOT / "tests/data/multi_label"
EXPECTED = ROOT / "tests/cli/expected/predict_multi_label_mlc_k3.tsv"
K = 3
LABELS = 5


def seq2kmer(seq, k):
    return " ".join(seq[x:x + k] for x in range(len(seq) + 1 - k))


def number(x):
    return f"{x:.9g}"


def optional(x):
    return None if x is None else float(x)


def bce_goldens():
    generator = torch.Generator().manual_seed(34)
    logits = torch.randn(7, 4, generator=generator, dtype=torch.float64) * 3
    logits[0, 0], logits[1, 1], logits[2, 2] = 40.0, -40.0, 0.0
    targets = (torch.rand(7, 4, generator=generator, dtype=torch.float64) > 0.5).to(torch.float64)
    logits.requires_grad_(True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    loss.backward()
    return {"logits": logits.detach().tolist(), "targets": targets.tolist(), "loss": loss.item(),
            "grad": logits.grad.tolist()}


def metric_goldens():
    rng = np.random.default_rng(164)
    samples, labels = 23, 6
    y = (rng.random((samples, labels)) < 0.4).astype(int)
    y[:, 3] = 0  # never positive: AUROC and AUPRC undefined
    y[:, 5] = 1  # always positive: AUROC undefined, AUPRC 1
    y[0, 0], y[1, 0] = 1, 0
    scores = np.round(rng.random((samples, labels)), 1)  # ties
    scores[:, 1] = np.where(y[:, 1] == 1, scores[:, 1] * 0.5 + 0.5, scores[:, 1] * 0.6)  # a good label
    scores[2:6] = y[2:6] * 0.8 + 0.1  # rows predicted exactly right, for the subset accuracy
    predicted = (scores > 0.5).astype(int)
    per_label = []
    for label in range(labels):
        column, score = y[:, label], scores[:, label]
        auc = roc_auc_score(column, score) if 0 < column.sum() < samples else None
        aupr = average_precision_score(column, score) if column.sum() > 0 else None
        per_label.append({"label": label, "positives": int(column.sum()), "auc": optional(auc),
                          "aupr": optional(aupr),
                          "f1": float(f1_score(column, predicted[:, label], zero_division=0))})
    aucs = [x["auc"] for x in per_label if x["auc"] is not None]
    auprs = [x["aupr"] for x in per_label if x["aupr"] is not None]
    return {"labels": y.tolist(), "scores": scores.tolist(), "per_label": per_label,
            "auc": float(np.mean(aucs)), "aupr": float(np.mean(auprs)),
            "auc_micro": float(roc_auc_score(y, scores, average="micro")),
            "aupr_micro": float(average_precision_score(y, scores, average="micro")),
            "acc": float(accuracy_score(y, predicted)),
            "f1_macro": float(f1_score(y, predicted, average="macro", zero_division=0)),
            "f1_micro": float(f1_score(y, predicted, average="micro", zero_division=0))}


def table_goldens():
    rng = random.Random(20261207)
    sequences = ["".join(rng.choice("ACGT") for _ in range(rng.randrange(12, 40))) for _ in range(8)]
    labels = [[rng.randrange(2) for _ in range(LABELS)] for _ in sequences]
    for row, label in enumerate(labels):  # every label holds both classes, so every AUROC is defined
        label[row % LABELS] = 1
        label[(row + 2) % LABELS] = 0
    tokenizer = BertTokenizer(str(MODEL / "vocab.txt"), do_lower_case=False)
    model = BertForSequenceClassification.from_pretrained(str(MODEL)).eval()
    assert model.config.problem_type == "multi_label_classification"
    encoded = tokenizer([seq2kmer(s, K) for s in sequences], padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**encoded, labels=torch.tensor(labels, dtype=torch.float32))
    probabilities = torch.sigmoid(out.logits)
    lines = ["id\tpredicted\t" + "\t".join(f"prob_{c}" for c in range(LABELS)) + "\t" +
             "\t".join(f"logit_{c}" for c in range(LABELS))]
    for row in range(len(sequences)):
        predicted = " ".join("1" if p > 0.5 else "0" for p in probabilities[row].tolist())
        lines.append("\t".join([str(row), predicted] + [number(p) for p in probabilities[row].tolist()] +
                               [number(x) for x in out.logits[row].tolist()]))
    EXPECTED.write_text("\n".join(lines) + "\n")
    with open(OUT / "table.tsv", "w", newline="\n") as tsv:
        tsv.write("sequence\tlabel\n")
        for sequence, label in zip(sequences, labels):
            tsv.write(f"{seq2kmer(sequence, K)}\t{' '.join(map(str, label))}\n")
    with open(OUT / "table.csv", "w", newline="\n") as csv:
        csv.write("sequence,label\n")
        for sequence, label in zip(sequences, labels):
            csv.write(f"{sequence},{' '.join(map(str, label))}\n")
    (OUT / "table_loss.json").write_text(json.dumps({"model": "parity/mlc_k3", "loss": out.loss.item()}) + "\n")
    bad = {
        "bad_value.tsv": ["sequence\tlabel", "ACGTACGT\t0 1 0 1 1", "ACGTTTGA\t0 1 2 0 1"],
        "bad_count.tsv": ["sequence\tlabel", "ACGTACGT\t0 1 0 1 1", "ACGTTTGA\t0 1 0 1"],
        "bad_mixed.tsv": ["sequence\tlabel", "ACGTACGT\t0 1 0 1 1", "ACGTTTGA\t1"],
    }
    for name, rows in bad.items():
        (OUT / name).write_text("\n".join(rows) + "\n")


def main():
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bce.json").write_text(json.dumps(bce_goldens(), indent=1) + "\n")
    (OUT / "metrics.json").write_text(json.dumps(metric_goldens(), indent=1) + "\n")
    table_goldens()


if __name__ == "__main__":
    main()
