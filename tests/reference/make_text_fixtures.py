#!/usr/bin/env python3
"""Writes the text-input fixtures under tests/data/text/ (FASTA, gzip variants, DNABERT tables).

The sequences are generated here (seeded), so this script is the ground truth: it writes each
file in a different layout plus an *.expected.tsv listing what a correct reader must return.
Gzip files come from Python's gzip/zlib modules; BGZF blocks are assembled by hand (RFC 1952
header with the 'BC' extra field, as htslib writes them). Python's gzip module double-checks
that the truncated and corrupt files really are broken. Run: python3 tests/reference/make_text_fixtures.py
"""
import gzip
import random
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "text"
rng = random.Random(20240607)


def random_dna(length, alphabet="ACGT"):
    return "".join(rng.choice(alphabet) for _ in range(length))


def soft_mask(sequence, start, end):
    return sequence[:start] + sequence[start:end].lower() + sequence[end:]


def wrap(sequence, width):
    return [sequence[i:i + width] for i in range(0, len(sequence), width)]


def counts(sequence):
    soft_masked = sum(1 for c in sequence if c.islower())
    non_acgt = sum(1 for c in sequence if c.upper() not in "ACGT")
    return soft_masked, non_acgt


# FASTA ground truth (id, blanks before the description, description, sequence): case kept,
# N runs, IUPAC/U/-/*, a record shorter than a line.
records = [
    ("chr1", " ", "synthetic chromosome 1 len=150", soft_mask(random_dna(150), 20, 55)),
    ("seq_2", "", "", random_dna(40) + "N" * 25 + random_dna(37)),
    ("iupac", "\t ", "all codes, id ends at a tab", "AGCTYRWSKMDVHBXNACGTU-*" + "agctyrwskmdvhbxnacgtu"),
    ("short", " ", "x", "ACG"),
    ("mask.5", "  ", "upper and lower", soft_mask(random_dna(61), 0, 61)),
]


def fasta_text(width, newline, blank_between, final_newline):
    lines = []
    for index, (identifier, separator, description, sequence) in enumerate(records):
        if blank_between and index > 0:
            lines.append("")
        lines.append(">" + identifier + separator + description)
        lines.extend(wrap(sequence, width))
    return newline.join(lines) + (newline if final_newline else "")


def bgzf_block(payload):
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = compressor.compress(payload) + compressor.flush()
    block_size = 18 + len(deflated) + 8  # header with 6-byte extra field, data, CRC32 + ISIZE
    header = b"\x1f\x8b\x08\x04" + b"\x00\x00\x00\x00" + b"\x00\xff" + struct.pack("<H", 6)
    header += b"BC" + struct.pack("<HH", 2, block_size - 1)
    return header + deflated + struct.pack("<II", zlib.crc32(payload), len(payload))


BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def write(name, data):
    (OUT / name).write_bytes(data)


def must_fail_gunzip(data):
    try:
        gzip.decompress(data)
    except (EOFError, OSError, zlib.error):
        return
    raise AssertionError("fixture was meant to be broken gzip")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    plain = fasta_text(60, "\n", True, True).encode()
    write("records.fa", plain)
    write("records_crlf_bom.fa", b"\xef\xbb\xbf" + fasta_text(70, "\r\n", False, False).encode())
    write("records.fa.gz", gzip.compress(plain, mtime=0))
    cuts = [0, 101, 333, len(plain)]  # member boundaries fall in the middle of lines
    write("records_multimember.fa.gz",
          b"".join(gzip.compress(plain[a:b], mtime=0) for a, b in zip(cuts, cuts[1:])))
    write("records_bgzf.fa.gz", b"".join(bgzf_block(plain[i:i + 200]) for i in range(0, len(plain), 200)) + BGZF_EOF)
    whole = gzip.compress(plain, mtime=0)
    truncated = whole[: len(whole) // 2]
    must_fail_gunzip(truncated)
    write("records_truncated.fa.gz", truncated)
    corrupt = bytearray(whole)
    corrupt[len(corrupt) - 6] ^= 0xFF  # inside the CRC32 of the trailer: inflate reports a data check error
    must_fail_gunzip(bytes(corrupt))
    write("records_corrupt.fa.gz", bytes(corrupt))
    with open(OUT / "records.expected.tsv", "w", newline="\n") as out:
        for identifier, _, description, sequence in records:
            soft_masked, non_acgt = counts(sequence)
            out.write(f"{identifier}\t{description}\t{soft_masked}\t{non_acgt}\t{sequence}\n")

    # One 40,000-letter line, 43 % soft-masked in runs (like pyfaidx's chr17.hg19.part.fa).
    long_sequence = random_dna(40000, "ACGT" * 50 + "N")
    for start in range(0, 40000, 1000):
        long_sequence = soft_mask(long_sequence, start, start + 430)
    write("one_long_line.fa", (">chr17_part one line\n" + long_sequence + "\n").encode())
    soft_masked, non_acgt = counts(long_sequence)
    (OUT / "one_long_line.expected.txt").write_text(f"{len(long_sequence)} {soft_masked} {non_acgt}\n")

    # Tables: DNABERT TSV of 6-mer sentences (CRLF, as DNABERT's sample), DNABERT-2 CSV of raw sequences.
    table_rows = [(random_dna(rng.choice([6, 7, 20, 101])), rng.choice([0, 1])) for _ in range(6)]
    table_rows.append(("ACGTNNACGTAC", 1))

    def kmers(sequence, k=6):  # DNABERT's seq2kmer
        return " ".join(sequence[x:x + k] for x in range(len(sequence) + 1 - k))

    tsv = "sequence\tlabel\r\n" + "".join(f"{kmers(s)}\t{label}\r\n" for s, label in table_rows)
    write("kmer6.tsv", tsv.encode())
    write("kmer6.tsv.gz", gzip.compress(tsv.encode(), mtime=0))
    csv = "\ufeffsequence,label\n" + "".join(f"{s},{label}\n" for s, label in table_rows) + "\n\n"
    write("raw.csv", csv.encode())
    regression = [(random_dna(30), round(rng.uniform(-5, 5), 3)) for _ in range(4)]
    tsv_regression = "seq\tscore\tnote\n" + "".join(f"{s}\t{v}\tcomment {i}\n" for i, (s, v) in enumerate(regression))
    write("regression.tsv", tsv_regression.encode())
    with open(OUT / "tables.expected.tsv", "w", newline="\n") as out:
        for name, rows in (("kmer6.tsv", table_rows), ("raw.csv", table_rows), ("regression.tsv", regression)):
            for index, (sequence, label) in enumerate(rows):
                line = index + 2  # the header is line 1 in every table
                out.write(f"{name}\t{line}\t{sequence}\t{label}\n")


if __name__ == "__main__":
    main()
