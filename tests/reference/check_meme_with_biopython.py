#!/usr/bin/env python3
"""Checks tests/data/motif/two_motifs.meme, the MEME file that make_meme_golden.py writes from the
MEME format definition (the golden of tests/unit/io/meme_test.cpp, which compares dnabert's
io::meme_text with it), with an independent MEME parser: Biopython's
`motifs.parse(handle, "minimal")`, the reader for MEME's minimal motif format. It must see the
motifs of make_meme_golden.MOTIFS: the same names, site counts, widths, E-values (to the printed
precision), background and probabilities. Run by .ci/check_goldens; by hand:
    python3 tests/reference/check_meme_with_biopython.py
"""
import sys
from pathlib import Path

from Bio import motifs

PATH = Path(__file__).resolve().parents[1] / "data" / "motif" / "two_motifs.meme"


def check(path, expected_motifs, background):
    with open(path) as handle:
        record = motifs.parse(handle, "minimal")
    assert [m.name for m in record] == [name for name, *_ in expected_motifs], [m.name for m in record]
    assert record.background == background, record.background
    for motif, (name, sites, evalue, rows) in zip(record, expected_motifs):
        assert motif.num_occurrences == sites, (name, motif.num_occurrences)
        # E-values are printed with two significant digits (MEME's 1.2e-004).
        assert abs(motif.evalue - evalue) <= 0.05 * abs(evalue), (name, motif.evalue)
        assert motif.length == len(rows), (name, motif.length)
        for position, row in enumerate(rows):
            for base, value in zip("ACGT", row):
                # Biopython keeps counts = probability x nsites (rounded); these are whole numbers.
                got = motif.counts[base][position] / motif.num_occurrences
                assert abs(got - value) < 1e-9, (name, position, base, got, value)
    print(f"{path.name}: Biopython {motifs.__name__} reads {len(record)} motifs with the expected names, sites, "
          f"E-values, background and probabilities")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from make_meme_golden import BACKGROUND, MOTIFS

    check(PATH, MOTIFS, BACKGROUND)
