#!/usr/bin/env python3
"""The regression lock of `dnabert predict` and `dnabert embed`: tests/cli/expected/drift/.

Unlike every other script here, this one writes dnabert's OWN outputs, not a reference: it runs the
built program (DNABERT_CLI, default build/dnabert: the README's build, g++ Release with oneDNN) with
--threads 1 on the parity fixtures of tests/data/parity (written by PyTorch) and stores what it
writes, byte for byte:
  * predict_<model>.tsv for cls_k6 (tests/data/cli/three.fa), cls3_k3 and reg_k6
    (tests/cli/expected/<model>.fa);
  * embed_<model>_<pooling>.npy for cls, mean and pooler pooling of the same inputs, and cls and
    mean of the masked-LM model mlm_k3 (tests/cli/expected/mlm_k3.fa);
  * README.md, saying what the folder is.
tests/cli/drift.cmake then fails on any change of those numbers beyond 1e-6 (+ 1e-6 x |value|), so
that a refactor or a faster kernel that changes results is seen, while the 1e-5 parity with
transformers would let it pass. The lock is no reference: drift.cmake also checks every locked file
against transformers' values (tests/cli/expected/*, from make_cli_expected_outputs.py) at 1e-5, so
re-locking a broken build fails. Re-lock only for a change whose new numbers are meant, and say why
in the commit.

Needs the built program only (no Python package). Run from the repository root after building:
    cmake --build build --target dnabert_cli && python3 tests/reference/make_drift_locks.py
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
PARITY = ROOT / "tests" / "data" / "parity"
EXPECTED = ROOT / "tests" / "cli" / "expected"
OUT = EXPECTED / "drift"

# Each locked model with its input (the sequences of its golden batch) and the poolings embedded.
MODELS = {
    "cls_k6": (ROOT / "tests" / "data" / "cli" / "three.fa", ["cls", "mean", "pooler"]),
    "cls3_k3": (EXPECTED / "cls3_k3.fa", ["cls", "mean", "pooler"]),
    "reg_k6": (EXPECTED / "reg_k6.fa", ["cls", "mean", "pooler"]),
    "mlm_k3": (EXPECTED / "mlm_k3.fa", ["cls", "mean"]),  # pre-trained: no classifier, no pooler
}

README = """# Regression lock (not a reference)

dnabert's own `predict` and `embed` outputs on the parity fixtures, written by
`tests/reference/make_drift_locks.py` (which runs the built program; see there). `tests/cli/drift.cmake`
fails when today's program writes numbers that differ from these beyond 1e-6 + 1e-6 x |value|, and
checks these files against transformers' values (`tests/cli/expected/`) at 1e-5. Re-lock only for
a change whose new numbers are meant.
"""


def run(cli, *args):
    result = subprocess.run([str(cli), *map(str, args), "--threads", "1"], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"make_drift_locks: {cli} {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr}")


def main():
    cli = pathlib.Path(os.environ.get("DNABERT_CLI", ROOT / "build" / "dnabert"))
    if not cli.is_file():
        sys.exit(f"make_drift_locks: {cli} does not exist: build the program first "
                 "(cmake --build build --target dnabert_cli) or set DNABERT_CLI")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        outputs = []
        for model, (fasta, poolings) in MODELS.items():
            folder = PARITY / model
            if model != "mlm_k3":
                outputs.append(f"predict_{model}.tsv")
                run(cli, "predict", "--model", folder, "--input", fasta, "--output", scratch / outputs[-1])
            for pooling in poolings:
                outputs.append(f"embed_{model}_{pooling}.npy")
                run(cli, "embed", "--model", folder, "--input", fasta, "--output", scratch / outputs[-1],
                    "--pooling", pooling)
        for name in outputs:
            shutil.copyfile(scratch / name, OUT / name)
    (OUT / "README.md").write_text(README)


if __name__ == "__main__":
    main()
