#!/usr/bin/env python3
"""Writes tests/data/motif/two_motifs.meme, the golden of tests/unit/io/meme_test.cpp: the two motifs
of that test (two_motifs() there) and its background, in the MEME minimal motif format, written
from the MEME suite's format definition (https://meme-suite.org/meme/doc/meme-format.html), not
from dnabert's writer:

    MEME version 4                       version line (required)
    ALPHABET= ACGT                       the DNA alphabet
    strands: + -                         both strands
    Background letter frequencies        then one line 'A p C p G p T p'
    MOTIF <id> [<alternate name>]        per motif, then its letter-probability matrix header
    letter-probability matrix: alength= 4 w= <width> nsites= <sites> E= <E-value>
    <w rows of 4 probabilities, A C G T, each row summing to 1>

Numbers are printed the way the MEME suite's own programs print them (meme2meme, meme):
probabilities '%9.6f' joined by one blank, background letter frequencies '%5.3f', nsites '%.0f',
and E-values as MEME's str_evalue(log10 E, 1): one decimal of mantissa, a signed three-digit
exponent ('1.2e-004', '1.0e+000'). Blank lines separate the header blocks and the motifs, as in
the format page's example. The C++ test compares dnabert's meme_text with this file number by
number to the printed precision (the two writers print different numbers of decimals).

The file is then read back by Biopython's independent MEME reader (check_meme_with_biopython.py),
which must see the same names, sites, E-values, background and probabilities.

Run: python3 tests/reference/make_meme_golden.py
"""
import math
from pathlib import Path

import check_meme_with_biopython

OUT = Path(__file__).resolve().parents[1] / "data" / "motif" / "two_motifs.meme"

# tests/unit/io/meme_test.cpp two_motifs(): (id, nsites, E-value, rows A C G T), and its background.
MOTIFS = [
    ("TATAAT", 8, 0.00012, [[0, 0, 0, 1], [0.75, 0.125, 0.125, 0], [0.25, 0.25, 0.25, 0.25]]),
    ("CACGTG", 10, 1.0, [[0.1, 0.7, 0.1, 0.1], [0.9, 0, 0.1, 0]]),
]
BACKGROUND = {"A": 0.3, "C": 0.2, "G": 0.2, "T": 0.3}


def meme_evalue(value):
    """MEME's str_evalue with one decimal: m.me+EEE, e.g. 1.2e-004 (0 when the E-value is 0)."""
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(value))
    mantissa = value / 10 ** exponent
    if round(mantissa, 1) >= 10:  # 9.96 rounds to 10.0: carry into the exponent
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f}e{exponent:+04d}"


def meme_text():
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies",
             " ".join(f"{letter} {BACKGROUND[letter]:5.3f}" for letter in "ACGT"), ""]
    for name, sites, evalue, rows in MOTIFS:
        assert all(abs(sum(row) - 1) < 1e-12 for row in rows), name
        lines.append(f"MOTIF {name}")
        lines.append(f"letter-probability matrix: alength= 4 w= {len(rows)} nsites= {sites:.0f} "
                     f"E= {meme_evalue(evalue)}")
        lines += [" ".join(f"{p:9.6f}" for p in row) for row in rows]
        lines.append("")
    return "\n".join(lines)


def main():
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(meme_text())
    print(f"wrote {OUT}")
    check_meme_with_biopython.check(OUT, MOTIFS, BACKGROUND)


if __name__ == "__main__":
    main()
