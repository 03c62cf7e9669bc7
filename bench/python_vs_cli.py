#!/usr/bin/env python3
"""The Python module's predict against the command-line program's, on the same batch.

Both run the same engine; this measures what the Python layer costs. A DNABERT-6 base-size
classifier (12 layers, hidden 768, random weights: one fine-tuning step from a config, made by
dnabert itself) predicts N random sequences of L nt:

  * CLI: `dnabert predict --model M --input seqs.fa --output p.tsv` as a process, wall clock
    (start-up, loading, reading, predicting, writing);
  * Python, whole: dnabert.load(M) + read_fasta + predict, in this process;
  * Python, predict: m.predict(sequences) on a model already loaded.

Runs alternate (CLI, Python, CLI, ...) so that both see the same machine; medians are quoted.
Run with the Python that has the module installed, from the repository root:

    build-python/venv/bin/python bench/python_vs_cli.py --cli build/dnabert [--sequences 64 --length 300]
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import tempfile
import time

import numpy as np

import dnabert


def cpu_name() -> str:
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def base_classifier(folder: pathlib.Path, scratch: pathlib.Path, threads: int) -> pathlib.Path:
    config = {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": 4101,
              "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
              "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
              "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "num_labels": 2}
    (scratch / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(0)
    rows = ["sequence,label"] + ["".join(rng.choice(list("ACGT"), size=60)) + f",{i % 2}" for i in range(4)]
    (scratch / "tiny.csv").write_text("\n".join(rows) + "\n")
    return pathlib.Path(dnabert.finetune(config=scratch / "config.json", train=scratch / "tiny.csv",
                                         dev=scratch / "tiny.csv", output=folder, max_steps=1, batch_size=4,
                                         threads=threads))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", default="build/dnabert")
    parser.add_argument("--sequences", type=int, default=64)
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dnabert-bench-") as scratch_name:
        scratch = pathlib.Path(scratch_name)
        model_dir = base_classifier(scratch / "model", scratch, args.threads)
        rng = np.random.default_rng(1)
        sequences = ["".join(rng.choice(list("ACGT"), size=args.length)) for _ in range(args.sequences)]
        fasta = scratch / "seqs.fa"
        fasta.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(sequences)))
        command = [args.cli, "predict", "--model", str(model_dir), "--input", str(fasta), "--output",
                   str(scratch / "p.tsv"), "--threads", str(args.threads), "--batch-size", str(args.batch_size)]

        loaded = dnabert.load(model_dir, threads=args.threads)
        loaded.predict(sequences[:4], batch_size=args.batch_size)  # warm-up: pools, JIT kernels
        subprocess.run(command, check=True, capture_output=True)
        cli, whole, predict_only = [], [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            cli.append(time.perf_counter() - started)

            started = time.perf_counter()
            model = dnabert.load(model_dir, threads=args.threads)
            read = [record.sequence for record in dnabert.read_fasta(fasta)]
            probabilities = model.predict(read, batch_size=args.batch_size)
            whole.append(time.perf_counter() - started)
            del model

            started = time.perf_counter()
            again = loaded.predict(sequences, batch_size=args.batch_size)
            predict_only.append(time.perf_counter() - started)
        written = np.loadtxt(scratch / "p.tsv", skiprows=1, usecols=(2, 3), dtype=np.float64)
        agree = float(np.abs(written - probabilities).max())
        assert np.array_equal(again, probabilities)

    median = {name: statistics.median(values) * 1000 for name, values in
              [("cli", cli), ("whole", whole), ("predict", predict_only)]}
    print(f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; CPU: {cpu_name()}, "
          f"{os.cpu_count()} logical CPUs; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"- Model: DNABERT-6 base (12 layers, hidden 768), fp32; {args.sequences} sequences of {args.length} nt, "
          f"batch size {args.batch_size}, {args.threads} threads; {args.runs} alternating runs, medians")
    print(f"- CLI and Python probabilities agree to {agree:.1e} (the CLI's TSV rounds to 9 digits)")
    print()
    print("| what | median ms | vs CLI process |")
    print("|---|---|---|")
    print(f"| `dnabert predict` (process: start, load, read, predict, write) | {median['cli']:,.0f} | 1.00 |")
    print(f"| Python: `dnabert.load` + `read_fasta` + `m.predict` | {median['whole']:,.0f} | "
          f"{median['whole'] / median['cli']:.3f} |")
    print(f"| Python: `m.predict` on a loaded model | {median['predict']:,.0f} | {median['predict'] / median['cli']:.3f} |")
    verdict = "within" if median["whole"] <= 1.05 * median["cli"] else "NOT within"
    print(f"\nverdict: Python load + predict is {verdict} 5 % of the CLI ({median['whole'] / median['cli'] - 1:+.1%})")


if __name__ == "__main__":
    main()
