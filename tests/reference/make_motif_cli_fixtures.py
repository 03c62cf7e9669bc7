#!/usr/bin/env python3
"""Inputs for the `dnabert motifs --scores ... --known ...` CLI test (tests/cli/CMakeLists.txt):

- planted.csv: 60 positives (label 1) carrying a site sampled from an 8-column PWM and 60 random
  negatives (label 0), 50-60 nt, as a DNABERT-2 CSV;
- planted_scores.npy: float32 [120, 60] attention-like scores in input order, as `dnabert attention
  --format npy` writes them: exponential noise (mean 0.1), a plateau of 1 x U(0.5, 1.5) over each
  planted site, NaN past each sequence's end;
- known.meme: the planted PWM (PLANTED, alternate name "planted_PWM") between two decoys, in the
  MEME minimal layout.

Usage: python3 tests/reference/make_motif_cli_fixtures.py tests/data/motif/cli
"""
import sys
from pathlib import Path

import numpy as np

rng = np.random.default_rng(11)
PWM = np.array([[0.03, 0.04, 0.03, 0.90], [0.05, 0.05, 0.80, 0.10], [0.94, 0.02, 0.02, 0.02],  # TGACTCAG
                [0.03, 0.90, 0.04, 0.03], [0.03, 0.03, 0.09, 0.85], [0.03, 0.91, 0.03, 0.03],
                [0.88, 0.03, 0.06, 0.03], [0.03, 0.04, 0.90, 0.03]])
WIDTH = 60


def random_dna(length):
    return "".join(rng.choice(list("ACGT"), size=length))


def main(out):
    sequences, labels, scores = [], [], np.full((120, WIDTH), np.nan, dtype=np.float32)
    for i in range(120):
        length = int(rng.integers(50, WIDTH + 1))
        sequence = random_dna(length)
        row = rng.exponential(0.1, size=length)
        if i % 2 == 0:  # positives and negatives interleaved
            start = int(rng.integers(0, length - len(PWM) + 1))
            site = "".join("ACGT"[rng.choice(4, p=column)] for column in PWM)
            sequence = sequence[:start] + site + sequence[start + len(PWM):]
            row[start:start + len(PWM)] += rng.uniform(0.5, 1.5, size=len(PWM))
        sequences.append(sequence)
        labels.append(1 if i % 2 == 0 else 0)
        scores[i, :length] = row
    (out / "planted.csv").write_text("sequence,label\n" + "".join(f"{s},{l}\n" for s, l in zip(sequences, labels)))
    np.save(out / "planted_scores.npy", scores)

    decoy_a = rng.dirichlet([0.5] * 4, size=7)
    decoy_b = rng.dirichlet([0.5] * 4, size=10)
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for name, alternate, matrix in (("DECOY1", "", decoy_a), ("PLANTED", "planted_PWM", PWM), ("DECOY2", "x", decoy_b)):
        lines.append(f"MOTIF {name} {alternate}".rstrip())
        lines.append(f"letter-probability matrix: alength= 4 w= {len(matrix)} nsites= 20 E= 0")
        lines += ["".join(f"  {p:.6f}" for p in row) for row in matrix]
        lines.append("")
    (out / "known.meme").write_text("\n".join(lines))
    print(f"{out}: planted.csv, planted_scores.npy, known.meme")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
