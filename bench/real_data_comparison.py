#!/usr/bin/env python3
"""Pre-trained vs from-scratch fine-tuning vs a k-mer logistic regression, on real data (issue 18 item 4).

Two labelled sets, both read from a copy of the DNABERT sample data (``--dnabert-sample``, the folder
that holds ``examples/sample_data/ft/6/dev.tsv`` and ``DNABERT_2/sample_data/{train,dev,test}.csv``;
nothing is copied into the repository):

- DNABERT's fine-tuning sample ``ft/6/dev.tsv`` (1,000 human sequences of 101 nt as 96 overlapping
  6-mers, labels 500/500, task ``dnaprom``). It is split once, stratified, with a fixed seed
  (``--split-seed``) into 600 train / 200 dev / 200 test, written as DNABERT TSVs under ``--work``.
  Nothing trains on the test part; dev picks the best epoch (transformers) and k and C (logistic
  regression).
- DNABERT-2's sample CSVs (15 / 15 / 15 rows of 101 nt), used with their given split. The script
  counts how many dev and test rows repeat a training sequence and prints it beside the table.

Three arms on each, scored on the test part with scikit-learn from the predicted probabilities
(accuracy, MCC, AUROC, F1 of class 1):

1. **pre-trained**: one small DNABERT-6 (2 layers, hidden 64, 4 heads, FFN 256, 130 positions: the
   demo's model, so 96 k-mers fit) pre-trained with ``dnabert pretrain`` on unlabelled sequence:
   the 600 training sequences, plus (``--extra-fasta``, default when installed) Debian's human
   sequence (python-pyfaidx-examples: a 40 kb piece of chr17, 73 kb of human mRNAs) and the
   C. elegans sample genome (htslib-test ``ce.fa``). Its recipe is the one docs/benchmarks.md found
   to leave the k-mer-frequency plateau ("A pre-training recipe that learns"), as the demo runs it:
   DNABERT's span masking at span-centre probability 0.05, no dropout, pieces of 32 k-mers,
   batch 64, lr 8e-3 constant after 300 warmup steps. Positions
   beyond the 32-k-mer pieces are untrained when fine-tuning starts. Its masked-LM loss is measured
   on the dev part's sequences (never trained on, labels unused). Then ``dnabert finetune --model``
   for each seed.
2. **from scratch**: ``dnabert finetune --config`` with the same config.json and the same flags.
3. **k-mer logistic regression**: scikit-learn ``LogisticRegression`` on overlapping k-mer counts,
   k in 3..6 and C on a grid chosen by dev AUROC, ties broken by dev log-loss (fitted on the train part only); the 6-mer model
   (C chosen on dev) is reported too.

Every transformer arm runs ``--seeds`` times (seeds 1..N) and reports mean ± sd; test predictions
come from ``dnabert predict``. Runs that finished are reused when the script is run again with the
same ``--work`` (delete the folder to start over).

Usage:
    nice -n 10 python3 bench/real_data_comparison.py --dnabert build/dnabert \\
        --dnabert-sample ../shared/data/dnabert-sample --work /tmp/realdata/work \\
        [--seeds 3] [--pretrain-steps 8000] [--threads 1] [--json results.json]

Prints markdown tables on stdout (progress on stderr) and writes every number to ``--json``
(default WORK/results.json). Needs Python 3.11, numpy and scikit-learn.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, matthews_corrcoef, roc_auc_score
from sklearn.model_selection import train_test_split

K = 6
# The demo's small DNABERT-6 (examples/cli/command_demo.hpp, demo_config): 130 positions hold [CLS],
# 96 k-mers and [SEP].
MODEL_CONFIG = {
    "architectures": ["BertForMaskedLM"],
    "model_type": "bert",
    "vocab_size": 4101,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 256,
    "max_position_embeddings": 130,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.0,  # the demo's: with 0.1 the plateau lasts thousands of steps longer
    "attention_probs_dropout_prob": 0.0,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "num_labels": 2,
}
# docs/benchmarks.md, "A pre-training recipe that learns", as the demo runs it.
PRETRAIN_FLAGS = ["--max-kmers", "32", "--mask-probability", "0.05", "--batch-size", "64", "--lr", "8e-3", "--lr-schedule", "constant",
                  "--warmup-steps", "300", "--seed", "42", "--save-steps", "0"]
# Fine-tuning, both arms, both data sets: the demo's rate for this model size, DNABERT's warmup
# fraction and linear decay, best model by dev AUROC (finetune's default metric).
FINETUNE_LR = "5e-4"
FINETUNE_BATCH = 32
FINETUNE_EPOCHS = 10  # DNABERT ft/6: 19 steps an epoch, evaluated after each (--finetune-epochs)
LR_K_VALUES = (3, 4, 5, 6)
LR_C_VALUES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
DEFAULT_EXTRA_FASTA = (
    "/usr/share/doc/python-pyfaidx-examples/examples/chr17.hg19.part.fa",
    "/usr/share/doc/python-pyfaidx-examples/examples/genes.fasta",
    "/usr/share/htslib-test/test/ce.fa",
)
SPLIT_SIZES = (600, 200, 200)  # train, dev, test of ft/6's 1,000 rows
ARMS = ("pre-trained", "from scratch")
METRICS = ("accuracy", "mcc", "auroc", "f1")


def log(message: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def kmers_to_sequence(sentence: str, where: str) -> str:
    """The nucleotide sequence behind DNABERT's overlapping k-mers (motif_utils.kmer2seq)."""
    kmers = sentence.split()
    if not kmers or any(len(k) != len(kmers[0]) for k in kmers):
        raise ValueError(f"{where}: expected overlapping k-mers of one length, found {sentence[:40]!r}")
    return "".join(k[0] for k in kmers[:-1]) + kmers[-1]


def sequence_to_kmers(sequence: str, k: int = K) -> str:
    return " ".join(sequence[i:i + k] for i in range(len(sequence) - k + 1))


def read_dnabert_tsv(path: Path) -> tuple[list[str], np.ndarray]:
    """Sequences and labels of a DNABERT fine-tuning TSV (header, CRLF or LF line ends)."""
    lines = path.read_text().splitlines()
    if not lines or lines[0].split("\t")[:2] != ["sequence", "label"]:
        raise ValueError(f"{path}: line 1: expected the header 'sequence<TAB>label'")
    sequences, labels = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise ValueError(f"{path}: line {number}: expected 2 tab-separated fields, found {len(fields)}")
        sequences.append(kmers_to_sequence(fields[0], f"{path}: line {number}"))
        labels.append(int(fields[1]))
    return sequences, np.array(labels)


def read_dnabert2_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Sequences and labels of a DNABERT-2 fine-tuning CSV (header 'sequence,label')."""
    lines = path.read_text().splitlines()
    if not lines or lines[0] != "sequence,label":
        raise ValueError(f"{path}: line 1: expected the header 'sequence,label'")
    sequences, labels = [], []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(",")
        if len(fields) != 2:
            raise ValueError(f"{path}: line {number}: expected 2 comma-separated fields, found {len(fields)}")
        sequences.append(fields[0].upper())
        labels.append(int(fields[1]))
    return sequences, np.array(labels)


def write_dnabert_tsv(path: Path, sequences: list[str], labels: np.ndarray) -> None:
    rows = [f"{sequence_to_kmers(s)}\t{y}" for s, y in zip(sequences, labels)]
    write_text(path, "sequence\tlabel\n" + "\n".join(rows) + "\n")


def write_fasta(path: Path, records: list[tuple[str, str]]) -> None:
    write_text(path, "".join(f">{name}\n{sequence}\n" for name, sequence in records))


def write_text(path: Path, text: str) -> None:
    """Writes through a temporary name so that a killed run leaves no half file."""
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(text)
    os.replace(temporary, path)


def read_fasta(path: Path) -> list[tuple[str, str]]:
    """(name, upper-case sequence) records; soft-masked bases count as bases."""
    records: list[tuple[str, list[str]]] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith(">"):
            records.append((line[1:].split()[0] if line[1:].split() else f"record{len(records)}", []))
        elif line.strip():
            if not records:
                raise ValueError(f"{path}: line {number}: expected '>' before the first sequence line")
            records[-1][1].append(line.strip().upper())
    return [(name, "".join(parts)) for name, parts in records]


def run(command: list[str], log_path: Path) -> float:
    """Runs a dnabert command with its output in log_path; seconds of wall time."""
    log(" ".join(command))
    start = time.monotonic()
    with open(log_path, "w") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = log_path.read_text()[-2000:]
        raise RuntimeError(f"exit status {result.returncode}: {' '.join(command)}\n{tail}")
    return time.monotonic() - start


def done_marker(folder: Path) -> Path:
    return folder / "real_data_comparison.done.json"


def cached(folder: Path) -> dict | None:
    marker = done_marker(folder)
    return json.loads(marker.read_text()) if marker.exists() else None


def mark_done(folder: Path, record: dict) -> dict:
    write_text(done_marker(folder), json.dumps(record, indent=1) + "\n")
    return record


def read_log(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines() if line.strip()]


def pretrain(args, corpus: Path, heldout: Path, config: Path, out: Path) -> dict:
    if (record := cached(out)) is not None:
        log(f"reusing the pre-trained model in {out}")
        return record
    out.mkdir(parents=True, exist_ok=True)
    steps = args.pretrain_steps
    command = [args.dnabert, "pretrain", "--input", str(corpus), "--eval-input", str(heldout), "--config", str(config),
               "--output", str(out), "--max-steps", str(steps), "--eval-steps", str(max(1, steps // 8)),
               "--threads", str(args.threads), *PRETRAIN_FLAGS]
    seconds = run(command, out.parent / "pretrain.out")
    entries = read_log(out)
    train_losses = [e["loss"] for e in entries if "loss" in e and "eval_loss" not in e]
    evaluations = [(e["step"], e["eval_loss"], e["eval_metrics"].get("masked_tokens")) for e in entries if "eval_loss" in e]
    tokens = max(e.get("tokens", 0) for e in entries)  # log.jsonl counts tokens cumulatively
    window = min(100, len(train_losses))
    return mark_done(out, {
        "command": command,
        "wall_s": seconds,
        "steps": steps,
        "tokens": tokens,
        "train_loss_first_100": statistics.fmean(train_losses[:window]),
        "train_loss_last_100": statistics.fmean(train_losses[-window:]),
        "heldout_evaluations": [{"step": s, "loss": loss, "masked_tokens": m} for s, loss, m in evaluations],
    })


def finetune_and_predict(args, arm: str, seed: int, data: dict, model_dir: Path, config: Path, out: Path) -> dict:
    """One fine-tuning run (best model by dev AUROC) and its test predictions; with data["last_step"], also those
    of the model at that step (its checkpoint)."""
    if (record := cached(out)) is not None:
        return record
    out.mkdir(parents=True, exist_ok=True)
    start = ["--model", str(model_dir)] if arm == "pre-trained" else ["--config", str(config)]
    command = [args.dnabert, "finetune", *start, "--train", str(data["train"]), "--dev", str(data["dev"]),
               "--output", str(out / "model"), "--lr", FINETUNE_LR, "--batch-size", str(FINETUNE_BATCH),
               "--seed", str(seed), "--threads", str(args.threads), "--save-steps", str(data.get("last_step", 0)),
               *data["schedule"]]
    seconds = run(command, out / "finetune.out")
    evaluations = [(e["step"], e["eval_metrics"]["auc"]) for e in read_log(out / "model") if "eval_loss" in e]
    record = {"command": command, "wall_s": seconds, "dev_auroc": [{"step": s, "auroc": a} for s, a in evaluations]}
    models = {"test": out / "model"}
    if "last_step" in data:
        models["test_last"] = out / "model" / f"checkpoint-{data['last_step']}"
    for key, model in models.items():
        predictions = out / f"{key}_predictions.tsv"
        run([args.dnabert, "predict", "--model", str(model), "--input", str(data["test"]), "--output", str(predictions),
             "--threads", str(args.threads)], out / f"{key}_predict.out")
        rows = [line.split("\t") for line in predictions.read_text().splitlines()[1:]]
        record[f"{key}_predicted"] = [int(r[1]) for r in rows]
        record[f"{key}_probability"] = [float(r[3]) for r in rows]
    return mark_done(out, record)


def scores(labels: np.ndarray, predicted, probability) -> dict:
    return {
        "accuracy": accuracy_score(labels, predicted),
        "mcc": matthews_corrcoef(labels, predicted),
        "auroc": roc_auc_score(labels, probability),
        "f1": f1_score(labels, predicted),
    }


def kmer_counts(sequences: list[str], k: int) -> np.ndarray:
    """Overlapping k-mer counts, one column per k-mer of ACGT (others are skipped)."""
    index = {"".join(p): i for i, p in enumerate(itertools.product("ACGT", repeat=k))}
    counts = np.zeros((len(sequences), len(index)))
    for row, sequence in enumerate(sequences):
        for i in range(len(sequence) - k + 1):
            column = index.get(sequence[i:i + k])
            if column is not None:
                counts[row, column] += 1
    return counts


def logistic_regression(split: dict) -> dict:
    """k-mer logistic regression: k and C picked by dev AUROC (fitted on train), scored on test."""
    grid = []
    for k in LR_K_VALUES:
        features = {part: kmer_counts(split[part][0], k) for part in ("train", "dev", "test")}
        for c in LR_C_VALUES:
            model = LogisticRegression(C=c, max_iter=20000).fit(features["train"], split["train"][1])
            dev_probability = model.predict_proba(features["dev"])[:, 1]
            dev_auroc = roc_auc_score(split["dev"][1], dev_probability)
            dev_loss = log_loss(split["dev"][1], dev_probability, labels=[0, 1])
            test = scores(split["test"][1], model.predict(features["test"]), model.predict_proba(features["test"])[:, 1])
            grid.append({"k": k, "C": c, "dev_auroc": dev_auroc, "dev_log_loss": dev_loss, "test": test})

    def best(candidates):  # the best dev AUROC; among equals (DNABERT-2's dev often gives 1.0) the lowest dev log-loss
        return max(candidates, key=lambda g: (g["dev_auroc"], -g["dev_log_loss"]))

    return {"best": best(grid), "k6": best([g for g in grid if g["k"] == K]), "grid": grid}


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    z = 1.959963984540054
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def auroc_interval(labels: np.ndarray, probability, rounds: int = 2000) -> tuple[float, float]:
    """95 % percentile bootstrap interval of AUROC (resampling within each class, seed 0)."""
    rng = np.random.default_rng(0)
    probability = np.asarray(probability)
    positive, negative = probability[labels == 1], probability[labels == 0]
    values = []
    for _ in range(rounds):
        p = rng.choice(positive, positive.size)
        n = rng.choice(negative, negative.size)
        values.append((np.mean(p[:, None] > n[None, :]) + 0.5 * np.mean(p[:, None] == n[None, :])))
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def summarise(runs: list[dict], labels: np.ndarray, key: str = "test") -> dict:
    per_seed = [scores(labels, r[f"{key}_predicted"], r[f"{key}_probability"]) for r in runs]
    summary = {}
    for metric in METRICS:
        values = [s[metric] for s in per_seed]
        summary[metric] = {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                           "per_seed": values}
    summary["best_dev_auroc"] = statistics.fmean(max(e["auroc"] for e in r["dev_auroc"]) for r in runs)
    summary["finetune_wall_s"] = statistics.fmean(r["wall_s"] for r in runs)
    return summary


def comparison(args, name: str, data: dict, split: dict, model_dir: Path, config: Path, work: Path) -> dict:
    """The three arms on one data set."""
    labels = split["test"][1]
    result = {"arms": {}, "runs": {}}
    for arm in ARMS:
        runs = []
        for seed in range(1, args.seeds + 1):
            runs.append(finetune_and_predict(args, arm, seed, data, model_dir, config,
                                             work / name / f"{arm.replace(' ', '_')}_seed{seed}"))
        result["runs"][arm] = runs
        result["arms"][arm] = summarise(runs, labels)
        if "last_step" in data:
            result["arms"][f"{arm}, model at step {data['last_step']}"] = summarise(runs, labels, "test_last")
    result["logistic_regression"] = logistic_regression(split)
    pooled = {arm: np.mean([r["test_probability"] for r in result["runs"][arm]], axis=0) for arm in ARMS}
    result["test_size"] = int(labels.size)
    result["test_positives"] = int(labels.sum())
    # How wide a 95 % interval is at this test size: accuracy at the pre-trained arm's mean, AUROC
    # by bootstrap of the seed-averaged pre-trained probabilities.
    accuracy = result["arms"]["pre-trained"]["accuracy"]["mean"]
    low, high = wilson_interval(round(accuracy * labels.size), labels.size)
    result["accuracy_interval_width"] = high - low
    low, high = auroc_interval(labels, pooled["pre-trained"])
    result["auroc_interval_width"] = high - low
    return result


def fmt(value: dict) -> str:
    return f"{value['mean']:.3f} ± {value['sd']:.3f}"


def markdown_table(result: dict, seeds: int) -> str:
    lines = ["| arm | accuracy | MCC | AUROC | F1 | best dev AUROC | fine-tune wall (s) |", "|---|---|---|---|---|---|---|"]
    also_last = len(result["arms"]) > len(ARMS)  # the base rows are then named as what they are
    for arm, a in result["arms"].items():
        name = f"{arm}, best by dev AUROC" if also_last and arm in ARMS else arm
        lines.append(f"| DNABERT-6 small, {name} ({seeds} seeds) | " + " | ".join(fmt(a[m]) for m in METRICS)
                     + f" | {a['best_dev_auroc']:.3f} | {a['finetune_wall_s']:.0f} |")
    for key, label in (("k6", "6-mer counts"), ("best", "k-mer counts, k and C by dev")):
        g = result["logistic_regression"][key]
        lines.append(f"| logistic regression, {label} (k={g['k']}, C={g['C']:g}) | "
                     + " | ".join(f"{g['test'][m]:.3f}" for m in METRICS) + f" | {g['dev_auroc']:.3f} | < 1 |")
    return "\n".join(lines)


def dev_curve_table(result: dict) -> str:
    """Mean dev AUROC at each evaluation, both transformer arms (the paper's Fig. 6d, in numbers)."""
    curves = {arm: [[e["auroc"] for e in r["dev_auroc"]] for r in result["runs"][arm]] for arm in ARMS}
    steps = [e["step"] for e in result["runs"][ARMS[0]][0]["dev_auroc"]]
    lines = ["| step | " + " | ".join(str(s) for s in steps) + " |", "|---" * (len(steps) + 1) + "|"]
    for arm in ARMS:
        means = np.mean(np.array(curves[arm]), axis=0)
        lines.append(f"| {arm} | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    return "\n".join(lines)


def overlap_report(split: dict) -> dict:
    """Rows, distinct sequences and (dev, test) rows whose sequence is also a training sequence."""
    train = set(split["train"][0])
    report = {part: {"rows": len(split[part][0]), "distinct": len(set(split[part][0]))} for part in ("train", "dev", "test")}
    for part in ("dev", "test"):
        report[part]["rows_in_train"] = sum(s in train for s in split[part][0])
        report[part]["distinct_not_in_train"] = len(set(split[part][0]) - train)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dnabert", required=True, help="the dnabert CLI binary")
    parser.add_argument("--dnabert-sample", required=True, type=Path, help="folder of DNABERT's and DNABERT-2's sample data")
    parser.add_argument("--work", required=True, type=Path, help="folder for splits, models and logs (reused when run again)")
    parser.add_argument("--seeds", type=int, default=3, help="fine-tuning seeds per arm (1..N)")
    parser.add_argument("--pretrain-steps", type=int, default=8000, help="pre-training optimizer steps")
    parser.add_argument("--finetune-epochs", type=int, default=FINETUNE_EPOCHS,
                        help="fine-tuning epochs on ft/6 (DNABERT-2's sample gets as many optimizer steps)")
    parser.add_argument("--split-seed", type=int, default=18, help="seed of the stratified ft/6 split")
    parser.add_argument("--threads", type=int, default=1, help="dnabert's CPU threads")
    parser.add_argument("--extra-fasta", nargs="*", type=Path, default=None,
                        help="unlabelled FASTA added to the pre-training corpus (default: Debian's human chr17 piece, "
                             "human mRNAs and C. elegans ce.fa, those installed; give none to use the train part only)")
    parser.add_argument("--json", type=Path, help="all numbers as JSON (default: WORK/results.json)")
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error("--seeds must be at least 2 for a standard deviation")
    args.dnabert = str(Path(args.dnabert).resolve())
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    # DNABERT ft/6: one fixed stratified split
    ft6_path = args.dnabert_sample / "examples/sample_data/ft/6/dev.tsv"
    sequences, labels = read_dnabert_tsv(ft6_path)
    if len(sequences) != sum(SPLIT_SIZES):
        raise ValueError(f"{ft6_path}: expected {sum(SPLIT_SIZES)} rows, found {len(sequences)}")
    order = np.arange(len(sequences))
    train_idx, rest = train_test_split(order, train_size=SPLIT_SIZES[0], stratify=labels, random_state=args.split_seed)
    dev_idx, test_idx = train_test_split(rest, train_size=SPLIT_SIZES[1], stratify=labels[rest], random_state=args.split_seed)
    ft6 = {part: ([sequences[i] for i in idx], labels[idx]) for part, idx in
           (("train", train_idx), ("dev", dev_idx), ("test", test_idx))}
    ft6_dir = work / "ft6_data"
    ft6_dir.mkdir(exist_ok=True)
    for part, (s, y) in ft6.items():
        write_dnabert_tsv(ft6_dir / f"{part}.tsv", s, y)
    log(f"ft/6 split (seed {args.split_seed}): " + ", ".join(f"{p} {len(s)} ({int(y.sum())} positive)" for p, (s, y) in ft6.items()))

    # DNABERT-2 sample: its own split
    d2_dir = args.dnabert_sample / "DNABERT_2/sample_data"
    dnabert2 = {part: read_dnabert2_csv(d2_dir / f"{part}.csv") for part in ("train", "dev", "test")}

    # pre-training corpus: ft/6's train part and the extra FASTA; held out: ft/6's dev part
    extra = [Path(p) for p in DEFAULT_EXTRA_FASTA if Path(p).exists()] if args.extra_fasta is None else args.extra_fasta
    records = [(f"ft6_train_{i}", s) for i, s in enumerate(ft6["train"][0])]
    corpus_parts = [{"source": f"{ft6_path} (train part)", "records": len(records), "nt": sum(len(s) for _, s in records)}]
    for path in extra:
        extra_records = read_fasta(path)
        records += [(f"{path.stem}_{name}", s) for name, s in extra_records]
        corpus_parts.append({"source": str(path), "records": len(extra_records), "nt": sum(len(s) for _, s in extra_records)})
    pretrain_dir = work / "pretrain"
    pretrain_dir.mkdir(exist_ok=True)
    corpus, heldout, config = pretrain_dir / "corpus.fa", pretrain_dir / "heldout_dev.fa", pretrain_dir / "config.json"
    write_fasta(corpus, records)
    write_fasta(heldout, [(f"ft6_dev_{i}", s) for i, s in enumerate(ft6["dev"][0])])
    write_text(config, json.dumps(MODEL_CONFIG, indent=2) + "\n")
    pretrained = pretrain(args, corpus, heldout, config, pretrain_dir / "model")
    log(f"pre-trained: held-out loss {pretrained['heldout_evaluations'][-1]['loss']:.3f}")

    steps_per_epoch = math.ceil(SPLIT_SIZES[0] / FINETUNE_BATCH)
    ft6_data = {"train": ft6_dir / "train.tsv", "dev": ft6_dir / "dev.tsv", "test": ft6_dir / "test.tsv",
                "schedule": ["--epochs", str(args.finetune_epochs)]}
    # DNABERT-2's 15 rows fit one batch: the same number of optimizer steps as on ft/6. Its dev rows all
    # repeat training rows, so dev AUROC reaches 1 at once and the first of the ties (finetune keeps the
    # first best) is an early model: the model at the last step is scored too.
    d2_steps = steps_per_epoch * args.finetune_epochs
    d2_data = {"train": d2_dir / "train.csv", "dev": d2_dir / "dev.csv", "test": d2_dir / "test.csv",
               "schedule": ["--max-steps", str(d2_steps), "--eval-steps", str(steps_per_epoch)], "last_step": d2_steps}
    results = {
        "ft6": comparison(args, "ft6", ft6_data, ft6, pretrain_dir / "model", config, work),
        "dnabert2": comparison(args, "dnabert2", d2_data, dnabert2, pretrain_dir / "model", config, work),
    }
    results["dnabert2"]["overlap"] = overlap_report(dnabert2)
    record = {
        "date": datetime.date.today().isoformat(),
        "command": sys.argv,
        "machine": platform.processor() or platform.machine(),
        "sklearn": sklearn.__version__,
        "split_seed": args.split_seed,
        "split_sizes": {p: len(s) for p, (s, _) in ft6.items()},
        "pretraining_corpus": corpus_parts,
        "pretraining": pretrained,
        "finetune": {"lr": FINETUNE_LR, "batch": FINETUNE_BATCH, "ft6_epochs": args.finetune_epochs, "dnabert2_steps": d2_steps},
        "seeds": args.seeds,
        "results": results,
        "wall_s": time.monotonic() - started,
    }
    json_path = args.json or work / "results.json"
    write_text(json_path, json.dumps(record, indent=1) + "\n")

    p = pretrained
    print(f"Pre-training: {p['steps']} steps, {p['tokens'] / 1e6:.1f} M tokens, {p['wall_s']:.0f} s; corpus "
          + ", ".join(f"{c['source']} {c['nt'] / 1000:.0f} kb" for c in corpus_parts)
          + f". Training loss (100-step means) {p['train_loss_first_100']:.3f} -> {p['train_loss_last_100']:.3f}; "
          + "held-out (ft/6 dev sequences) " + ", ".join(f"{e['step']}: {e['loss']:.3f}" for e in p["heldout_evaluations"])
          + f" ({p['heldout_evaluations'][-1]['masked_tokens']:.0f} masked tokens; ln 4096 = 8.318).\n")
    for key, title in (("ft6", f"DNABERT ft/6 sample, test part ({results['ft6']['test_size']} rows, split seed {args.split_seed})"),
                       ("dnabert2", f"DNABERT-2 sample, test.csv ({results['dnabert2']['test_size']} rows)")):
        r = results[key]
        print(f"**{title}**, mean ± sd over seeds 1..{args.seeds}; 95 % interval width at this size: accuracy "
              f"± {r['accuracy_interval_width'] / 2:.3f} (Wilson), AUROC {r['auroc_interval_width']:.3f} wide (bootstrap)\n")
        print(markdown_table(r, args.seeds) + "\n")
        print("Mean dev AUROC at each evaluation:\n\n" + dev_curve_table(r) + "\n")
    o = results["dnabert2"]["overlap"]
    print(f"DNABERT-2 sample: train {o['train']['rows']} rows, {o['train']['distinct']} distinct sequences; "
          + "; ".join(f"{part} {o[part]['rows']} rows, {o[part]['distinct']} distinct, {o[part]['rows_in_train']} rows repeat "
                      f"a training sequence, {o[part]['distinct_not_in_train']} distinct sequences new" for part in ("dev", "test")))
    print(f"\nwall time {time.monotonic() - started:.0f} s; all numbers in {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
