"""Shared fixtures of the Python module's tests: the repository's test data and its goldens.

Every golden here was written by a script of tests/reference/ from Hugging Face transformers
(or, for the tokenizer, from DNABERT's own tokenizer rules), never by dnabert.
"""

import json
import pathlib
import struct

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
EXPECTED = ROOT / "tests" / "cli" / "expected"
PARITY = DATA / "parity"

# transformers' logits against dnabert's: float32 sums in another order, well inside 1e-4.
TOLERANCE = 1e-4


def read_safetensors(path):
    """The tensors of a .safetensors file as NumPy arrays (its format: an 8-byte header length, a JSON header)."""
    raw = pathlib.Path(path).read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        data = np.frombuffer(raw[8 + length + begin : 8 + length + end], dtype=dtypes[entry["dtype"]])
        tensors[name] = data.reshape(entry["shape"])
    return tensors


def read_fasta_text(path):
    """(ids, sequences) of a small FASTA, read here without dnabert."""
    ids, sequences = [], []
    for line in pathlib.Path(path).read_text().splitlines():
        if line.startswith(">"):
            ids.append(line[1:].split()[0])
            sequences.append("")
        elif line.strip():
            sequences[-1] += line.strip()
    return ids, sequences


def read_predictions(path):
    """A predict table (id, predicted, prob_*, logit_*) as (ids, probabilities, logits)."""
    lines = pathlib.Path(path).read_text().splitlines()
    header = lines[0].split("\t")
    rows = [line.split("\t") for line in lines[1:]]
    probability = [i for i, name in enumerate(header) if name.startswith("prob_")]
    logit = [i for i, name in enumerate(header) if name.startswith("logit_") or name == "score"]  # regression: score
    ids = [row[0] for row in rows]
    probabilities = np.array([[float(row[i]) for i in probability] for row in rows])
    logits = np.array([[float(row[i]) for i in logit] for row in rows])
    return ids, probabilities, logits


def read_number_text(path):
    """A golden written as 'npy <f4 shape (...)' then the numbers, as a NumPy array."""
    lines = pathlib.Path(path).read_text().splitlines()
    shape = tuple(int(n) for n in lines[0].split("shape (")[1].rstrip(")").split(",") if n.strip())
    return np.array([float(x) for line in lines[1:] for x in line.split()]).reshape(shape)


def sequence_of_sentence(sentence):
    """The nucleotides of a k-mer sentence ("ACG CGT GTA" -> "ACGTA")."""
    kmers = sentence.split()
    return kmers[0] + "".join(kmer[-1] for kmer in kmers[1:])


@pytest.fixture(scope="session")
def three():
    """tests/data/cli/three.fa: cls_k6's three sequences (28, 67 and 14 nt, with N and lower case)."""
    return read_fasta_text(DATA / "cli" / "three.fa")[1]
