"""Checks that tests/data/motif/two_motifs.meme, the exact text dnabert's io::meme_text writes for
the motifs of tests/unit/io/meme_test.cpp, is read by an independent MEME parser (Biopython's
`motifs.parse(handle, "minimal")`, the reader for MEME's minimal motif format) with the same
names, site counts, E-values, background and probabilities. Run: python3 tests/reference/check_meme_with_biopython.py
"""
from pathlib import Path

from Bio import motifs

path = Path(__file__).resolve().parents[1] / "data" / "motif" / "two_motifs.meme"
with open(path) as handle:
    record = motifs.parse(handle, "minimal")
assert [m.name for m in record] == ["TATAAT", "CACGTG"], [m.name for m in record]
assert [m.num_occurrences for m in record] == [8, 10]
assert abs(record[0].evalue - 0.00012) < 1e-12 and record[1].evalue == 1.0
assert record.background == {"A": 0.3, "C": 0.2, "G": 0.2, "T": 0.3}, record.background
expected = {
    "TATAAT": [[0, 0, 0, 1], [0.75, 0.125, 0.125, 0], [0.25, 0.25, 0.25, 0.25]],
    "CACGTG": [[0.1, 0.7, 0.1, 0.1], [0.9, 0, 0.1, 0]],
}
for motif in record:
    rows = expected[motif.name]
    assert motif.length == len(rows)
    for position, row in enumerate(rows):
        for base, value in zip("ACGT", row):
            # Biopython keeps counts = probability x nsites (rounded); these are whole numbers.
            got = motif.counts[base][position] / motif.num_occurrences
            assert abs(got - value) < 1e-9, (motif.name, position, base, got, value)
print(f"{path.name}: Biopython {motifs.__name__} reads 2 motifs with the expected values")
