#!/usr/bin/env python3
"""Fixtures for reading known motifs and comparing motifs (tests/unit/io/meme_test.cpp,
tests/unit/analysis/motif_comparison_test.cpp):

1. known_motifs.meme: three motifs in the two layouts users bring: JASPAR's MEME download
   (MOTIF id + alternate name, "w= nsites= E= 0", URL after the matrix) and MEME-suite's
   (version 5, "Background letter frequencies (from ...):", a blank line between MOTIF and its
   matrix, trailing blanks, E= with a 3-digit exponent, CRLF line ends). The values are random
   counts divided by nsites; the file is then read back by Biopython's independent MEME reader
   (Bio.motifs.parse(f, "minimal")), which must agree with the values written into
   known_motifs.json (what the C++ reader must return).
2. comparison_goldens.json: best ungapped alignments by column-wise Pearson correlation over both
   strands, computed here with numpy (np.corrcoef per column pair, all offsets enumerated) for
   random Dirichlet PWMs, including pairs built as noisy shifted reverse complements.

Usage: python3 tests/reference/make_known_motif_fixtures.py tests/data/motif
"""
import json
import sys
from pathlib import Path

import numpy as np
from Bio import motifs

rng = np.random.default_rng(20240611)


def random_counts(width, nsites):
    """nsites draws per column from a Dirichlet-sampled distribution: a realistic count matrix."""
    return np.stack([rng.multinomial(nsites, rng.dirichlet([0.5] * 4)) for _ in range(width)])


def write_known_motifs(folder):
    specs = [  # (id, alternate name, width, nsites, E text, E value)
        ("MA0004.1", "Arnt", 6, 20, "0", 0.0),
        ("MA0006.1", "Ahr::Arnt", 6, 24, "0", 0.0),
        ("CRP", "MEME-1", 9, 17, "4.1e-009", 4.1e-9),
    ]
    probabilities = {name: (random_counts(width, nsites) / nsites).tolist() for name, _, width, nsites, _, _ in specs}
    lines = ["MEME version 5", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies (from uniform background):", "A 0.29000 C 0.21000 G 0.21000 T 0.29000 ", ""]
    for index, (name, alternate, width, nsites, e_text, _) in enumerate(specs):
        jaspar_layout = index < 2
        lines.append(f"MOTIF {name} {alternate}")
        if not jaspar_layout:
            lines.append("")
        lines.append(f"letter-probability matrix: alength= 4 w= {width} nsites= {nsites} E= {e_text}"
                     + ("" if jaspar_layout else " "))
        for row in probabilities[name]:
            lines.append("".join(f"  {p:.6f}" for p in row) + ("" if jaspar_layout else " "))
        if jaspar_layout:
            lines.append(f"URL http://jaspar.genereg.net/matrix/{name}")
        lines.append("")
    meme_path = folder / "known_motifs.meme"
    meme_path.write_bytes(("\r\n".join(lines)).encode())

    expected = {
        "background": [0.29, 0.21, 0.21, 0.29],
        "motifs": [{"name": name, "alternate_name": alternate, "sites": nsites, "e_value": e_value,
                    "probabilities": [[float(f"{p:.6f}") for p in row] for row in probabilities[name]]}
                   for name, alternate, _, nsites, _, e_value in specs],
    }
    # The independent reader must see the same motifs.
    with open(meme_path) as handle:
        record = motifs.parse(handle, "minimal")
    assert [m.name for m in record] == [m["name"] for m in expected["motifs"]]
    assert all(abs(record.background[b] - p) < 1e-12 for b, p in zip("ACGT", expected["background"]))
    for motif, want in zip(record, expected["motifs"]):
        assert motif.num_occurrences == want["sites"] and motif.length == len(want["probabilities"])
        assert abs(motif.evalue - want["e_value"]) <= 1e-15
        for position, row in enumerate(want["probabilities"]):
            for base, value in zip("ACGT", row):
                got = motif.counts[base][position] / motif.num_occurrences
                assert abs(got - value) < 1e-6, (motif.name, position, base, got, value)
    (folder / "known_motifs.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"{meme_path.name}: Biopython reads {len(record)} motifs with the values in known_motifs.json")


def reverse_complement(pwm):
    return pwm[::-1, ::-1]  # ACGT order: complement is the reversed column order


def column_correlation(x, y):
    if np.var(x) < 1e-12 / 4 or np.var(y) < 1e-12 / 4:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def best_alignment(query, known, max_unaligned=2, min_overlap=4):
    shorter = min(len(query), len(known))
    needed = max(shorter - max_unaligned, min(min_overlap, shorter), 1)
    best = None
    for strand, oriented in (("+", known), ("-", reverse_complement(known))):
        for offset in range(needed - len(known), len(query) - needed + 1):
            pairs = [(q, q - offset) for q in range(len(query)) if 0 <= q - offset < len(known)]
            score = float(np.mean([column_correlation(query[q], oriented[k]) for q, k in pairs]))
            if best is None or score > best["score"]:
                best = {"score": score, "offset": offset, "strand": strand, "overlap": len(pairs)}
    return best


def write_comparison_goldens(folder):
    cases = []
    for case in range(12):
        known = rng.dirichlet([0.4] * 4, size=int(rng.integers(5, 13)))
        if case % 3 == 0:  # unrelated motif of another width
            query = rng.dirichlet([0.4] * 4, size=int(rng.integers(4, 25)))
        else:  # the known motif (or its reverse complement) inside random flanks, with noise
            core = known if case % 3 == 1 else reverse_complement(known)
            noisy = core + rng.normal(0, 0.05, core.shape)
            noisy = np.clip(noisy, 0, None)
            noisy /= noisy.sum(axis=1, keepdims=True)
            left = int(rng.integers(0, 6))
            flanks = rng.dirichlet([1.0] * 4, size=left + int(rng.integers(0, 6)))
            query = np.concatenate([flanks[:left], noisy, flanks[left:]])
        cases.append({"query": query.tolist(), "known": known.tolist(), **best_alignment(query, known)})
    (folder / "comparison_goldens.json").write_text(json.dumps({"alignments": cases}, indent=1) + "\n")
    print(f"comparison_goldens.json: {len(cases)} alignments")


if __name__ == "__main__":
    out = Path(sys.argv[1])
    write_known_motifs(out)
    write_comparison_goldens(out)
