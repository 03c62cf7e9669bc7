#!/usr/bin/env python3
"""Goldens for the class-weighted cross-entropy: torch.nn.functional.cross_entropy(logits,
labels, weight=w, ignore_index=-100), the weighted mean sum_i w[y_i] nll_i / sum_i w[y_i] over
the rows not ignored, and its gradient with respect to the logits, all in float64.

Cases (3 classes, rows with label -100 are ignored):
  weighted     unequal weights
  zero_weight  one class weighs 0, so its rows add nothing to the loss or the gradient
  unweighted   no weight argument (the plain mean over used rows)
Writes tests/data/weighted_ce/goldens.json: {case: {logits [rows][3], labels [rows],
weights [3] or null, loss, grad [rows][3]}}.
Run from the repository root: python3 tests/reference/make_weighted_ce_goldens.py
"""
import json
import pathlib

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/data/weighted_ce/goldens.json"
IGNORED = -100


def case(logits, labels, weights):
    logits = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    labels_t = torch.tensor(labels, dtype=torch.int64)
    weight_t = None if weights is None else torch.tensor(weights, dtype=torch.float64)
    loss = torch.nn.functional.cross_entropy(logits, labels_t, weight=weight_t, ignore_index=IGNORED)
    loss.backward()
    return {"logits": logits.detach().tolist(), "labels": labels, "weights": weights,
            "loss": loss.item(), "grad": logits.grad.tolist()}


def main():
    generator = torch.Generator().manual_seed(5)
    logits = (torch.randn(7, 3, generator=generator, dtype=torch.float64) * 2).tolist()
    labels = [2, 0, IGNORED, 1, 2, IGNORED, 0]
    goldens = {
        "weighted": case(logits, labels, [0.2, 1.5, 3.0]),
        "zero_weight": case(logits, labels, [0.0, 2.5, 0.7]),
        "unweighted": case(logits, labels, None),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(goldens, indent=1) + "\n")
    for name, golden in goldens.items():
        print(name, "loss", golden["loss"])


if __name__ == "__main__":
    main()
