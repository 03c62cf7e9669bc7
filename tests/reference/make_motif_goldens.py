#!/usr/bin/env python3
"""Golden hypergeometric tails (SciPy) and Benjamini-Hochberg adjustments (statsmodels) for the
C++ motif statistics tests, called the way DNABERT's motif_utils.py does:
p = hypergeom.sf(x - 1, N, K, n) and multipletests(pvals, method='fdr_bh')[1].

Usage: python3 tests/reference/make_motif_goldens.py tests/data/motif/goldens.json
"""
import json
import sys

import numpy as np
from scipy.stats import hypergeom
from statsmodels.stats.multitest import multipletests


def hypergeom_cases():
    # (x, N, K, n): x is "at least x of the n drawn are successes".
    cases = [
        # DNABERT-sized: 1000 sequences, half positive, motif in 30 of them.
        (20, 1000, 500, 30), (30, 1000, 500, 30), (15, 1000, 500, 30), (1, 1000, 500, 30),
        (16, 1000, 500, 30),
        # Edges of the support: x at and beyond its ends.
        (0, 50, 20, 10), (1, 50, 20, 10), (10, 50, 20, 10), (11, 50, 20, 10),
        (5, 10, 8, 7), (6, 10, 8, 7), (7, 10, 8, 7),
        # Tiny populations.
        (1, 2, 1, 1), (1, 3, 2, 2), (2, 3, 2, 2),
        # Deep tails, down to and past 1e-300.
        (100, 1000, 100, 100), (90, 2000, 100, 100), (200, 4000, 1000, 200),
        (300, 2000, 1000, 300), (400, 4000, 2000, 400), (1000, 3000, 1500, 1000),
        (240, 2000, 260, 240), (250, 2000, 260, 250), (255, 2000, 260, 255),
        # Large populations (1e6) in the body and the tails.
        (60, 1_000_000, 5000, 10_000), (50, 1_000_000, 5000, 10_000), (40, 1_000_000, 5000, 10_000),
        (70, 1_000_000, 5000, 10_000), (120, 1_000_000, 5000, 10_000),
        (250_500, 1_000_000, 500_000, 500_000), (249_000, 1_000_000, 500_000, 500_000),
        (251_500, 1_000_000, 500_000, 500_000), (1000, 1_000_000, 1000, 1000),
        (3, 1_000_000, 10, 200_000), (1, 1_000_000, 1, 1),
    ]
    out = []
    for x, N, K, n in cases:
        out.append({
            "at_least": x, "population": N, "successes": K, "draws": n,
            "sf": float(hypergeom.sf(x - 1, N, K, n)),
            # JSON has no -Infinity: null stands for log 0 (x beyond the support).
            "logsf": None if np.isneginf(logsf := hypergeom.logsf(x - 1, N, K, n)) else float(logsf),
        })
    return out


def bh_cases():
    rng = np.random.default_rng(20240606)
    vectors = {
        "simple": [0.01, 0.04, 0.03, 0.005],
        "ties": [0.02, 0.02, 0.5, 0.02, 0.001, 0.5],
        "with_ones": [1.0, 0.9, 1.0, 0.2, 0.0],
        "above_one_after_scaling": [0.6, 0.7, 0.8, 0.95],
        "single": [0.3],
        "tiny": [1e-300, 5e-200, 1e-10, 0.04, 0.0049],
        "random_200": list(rng.uniform(size=200) ** 3),
    }
    return [{"name": name, "p": [float(v) for v in p],
             "adjusted": [float(v) for v in multipletests(p, method="fdr_bh")[1]]}
            for name, p in vectors.items()]


def main():
    goldens = {"hypergeometric": hypergeom_cases(), "benjamini_hochberg": bh_cases()}
    with open(sys.argv[1], "w") as f:
        json.dump(goldens, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
