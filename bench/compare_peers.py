#!/usr/bin/env python3
"""Times dnabert against its peers on the same machine, threads and shapes, in one run.

Two suites (``--suites``, default both):

- inference: the encoder forward. Peers PyTorch eager fp32 (Hugging Face ``BertModel``) and ONNX
  Runtime (the same model exported with ``torch.onnx.export``), at DNABERT-6 base shape (12 layers,
  hidden 768, 12 heads, FFN 3072, vocabulary 4101) with random weights; dnabert's numbers come from
  ``bench_encoder`` (benchmarks ``encoder_forward/<batch>/<tokens>``).
- training: one fine-tuning step of a 2-label ``BertForSequenceClassification`` in training mode
  (dropout on): zero_grad, forward, cross-entropy, backward, global-norm clipping to 1.0, AdamW
  with DNABERT's no-decay groups, at DNABERT-6 base shape and a small one (4 layers, hidden 256, 4
  heads, FFN 1024). Peer PyTorch eager (ONNX Runtime's packages here have no training); dnabert's
  numbers come from ``bench_train`` (benchmarks ``train_step/<model>/<batch>/<tokens>``).

Every engine runs in its own subprocess, one after the other, with the thread count set in the
environment before any runtime starts, and ``OMP_WAIT_POLICY=PASSIVE`` for the peers: on a 2-core
machine their spinning OpenMP workers otherwise fight their BLAS threads. dnabert's BLAS (BLIS or
OpenBLAS, OpenMP builds) shares its one OpenMP pool, so it keeps OpenMP's default active waiting.

Usage:
    python3 bench/compare_peers.py [--threads 2] [--suites inference,training]
                                   [--dnabert-bench build/bench/bench_encoder]
                                   [--dnabert-train-bench build/bench/bench_train]
                                   [--write-docs docs/benchmarks.md]

Prints, per suite, a markdown table of median milliseconds per batch (or step), tokens per second
and dnabert's speed-up (peer median / dnabert median). ``--write-docs`` replaces each suite's
section of the given file (between ``<!-- peers:begin -->`` and ``<!-- peers:end -->`` for
inference, ``<!-- training:begin -->`` and ``<!-- training:end -->`` for training), or appends it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Callable
from pathlib import Path

# DNABERT-6 base, as in the released checkpoints' config.json.
DNABERT6_BASE = dict(
    vocab_size=4101,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    max_position_embeddings=512,
)
# The training suite's second model: small enough for quick experiments, same vocabulary.
SMALL_SHAPE = dict(DNABERT6_BASE, hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024)
MODEL_SHAPES = {"base": DNABERT6_BASE, "small": SMALL_SHAPE}
FIRST_KMER_ID = 5  # ids 0..4 are [PAD] [UNK] [CLS] [SEP] [MASK]
CLS_ID, SEP_ID = 2, 3
WEIGHT_SEED = 0
INPUT_SEED = 1234
# Batches of at least this many tokens take seconds per run; they get --runs-large timed runs.
LARGE_BATCH_TOKENS = 4096
# Libraries that decide a peer's speed: BLAS, MKL, oneDNN, OpenMP runtimes (CUDA's cuBLAS is not used).
MATH_LIBRARY_PATTERN = r"^lib(?!cu)\S*(blas|mkl|dnnl|omp)|^libtorch_cpu"
# ONNX Runtime must reproduce PyTorch's hidden states this closely before it is timed.
ORT_TOLERANCE = 1e-3
# The training step: DNABERT's fine-tuning recipe (section 3.3 of https://github.com/jerryji1993/DNABERT/blob/master/README.md,
# run_finetune.py's defaults for betas and eps) at a constant learning rate.
LABEL_COUNT = 2
MAX_GRAD_NORM = 1.0
ADAMW = dict(lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
NO_DECAY = ("bias", "LayerNorm.weight")  # DNABERT's parameter names without weight decay


@dataclass(frozen=True)
class Shape:
    batch: int
    tokens: int

    @property
    def label(self) -> str:
        return f"{self.batch}×{self.tokens}"

    @property
    def batch_tokens(self) -> int:
        return self.batch * self.tokens


@dataclass(frozen=True)
class Case:
    """One row of a table: a model shape (a key of MODEL_SHAPES) at a batch shape."""

    model: str
    shape: Shape

    @property
    def label(self) -> str:
        return f"{self.model} {self.shape.label}"

    @property
    def batch_tokens(self) -> int:
        return self.shape.batch_tokens


def describe_model(name: str) -> str:
    """'base (12 layers, hidden 768, ...)' for the docs."""
    shape = MODEL_SHAPES[name]
    return (
        f"{name} ({shape['num_hidden_layers']} layers, hidden {shape['hidden_size']}, "
        f"{shape['num_attention_heads']} heads, FFN {shape['intermediate_size']}, vocabulary {shape['vocab_size']})"
    )


def parse_models(text: str) -> list[str]:
    models = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [model for model in models if model not in MODEL_SHAPES]
    if unknown or not models:
        raise argparse.ArgumentTypeError(f"models {text!r}: choose from {', '.join(MODEL_SHAPES)}")
    return models


def parse_shapes(text: str) -> list[Shape]:
    shapes = []
    for item in text.split(","):
        match = re.fullmatch(r"\s*(\d+)x(\d+)\s*", item)
        if not match:
            raise argparse.ArgumentTypeError(f"shape {item!r} is not BATCHxTOKENS, e.g. 8x128")
        shape = Shape(int(match[1]), int(match[2]))
        if shape.batch < 1 or not 2 <= shape.tokens <= DNABERT6_BASE["max_position_embeddings"]:
            raise argparse.ArgumentTypeError(f"shape {item!r}: need batch >= 1 and 2 <= tokens <= 512")
        shapes.append(shape)
    return shapes


def runs_for(case: Case, args: argparse.Namespace) -> int:
    return args.runs_large if case.batch_tokens >= LARGE_BATCH_TOKENS else args.runs


def token_ids(shape: Shape):
    """Random k-mer ids framed by [CLS] ... [SEP], the same for every engine (numpy int64)."""
    import numpy as np

    rng = np.random.default_rng(INPUT_SEED)
    ids = rng.integers(FIRST_KMER_ID, DNABERT6_BASE["vocab_size"], size=(shape.batch, shape.tokens), dtype=np.int64)
    ids[:, 0] = CLS_ID
    ids[:, -1] = SEP_ID
    return ids


def time_runs(work, warmup: int, runs: int) -> list[float]:
    """Milliseconds of each timed run of work(), after the warm-up runs."""
    for _ in range(warmup):
        work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def mapped_libraries(pattern: str) -> list[str]:
    """Shared libraries matching pattern that this process really mapped (not what it was built against)."""
    found = set()
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            path = line.split()[-1]
            if path.startswith("/") and re.search(pattern, os.path.basename(path), re.IGNORECASE):
                found.add(os.path.basename(path))
    return sorted(found)


# ---------------------------------------------------------------------------------------------
# Workers: each runs in a fresh subprocess and prints one JSON object as its last stdout line.


def seeded_encoder():
    """DNABERT-6 base BertModel with seeded random weights, wrapped to take positional tensors."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(WEIGHT_SEED)
    bert = BertModel(BertConfig(**DNABERT6_BASE)).eval()

    class Encoder(torch.nn.Module):
        # Keyword arguments: BertModel's positional order is not stable across transformers versions.
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    return Encoder(bert).eval()


def torch_report(times: dict[str, list[float]], settings: str) -> dict:
    """A PyTorch worker's answer: its times, versions, and `settings` followed by threads and BLAS facts."""
    import torch
    import transformers

    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    blas_line = next((line.strip(" -") for line in config.splitlines() if re.search(r"Math Kernel|OpenBLAS|BLIS", line)), "")
    return {
        "times": times,
        "version": f"PyTorch {torch.__version__}, transformers {transformers.__version__}",
        "detail": (
            f"{settings}, torch threads {torch.get_num_threads()}, "
            f"BLAS_INFO={blas[1] if blas else 'unknown'}"
            + (f" ({blas_line})" if blas_line else "")
            + f", mapped: {', '.join(mapped_libraries(MATH_LIBRARY_PATTERN)) or 'none'}"
        ),
    }


def model_inputs(shape: Shape):
    """input_ids, attention_mask (all ones) and token_type_ids (zeros) as torch tensors."""
    import torch

    ids = torch.from_numpy(token_ids(shape))
    return ids, torch.ones_like(ids), torch.zeros_like(ids)


def torch_worker(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    encoder = seeded_encoder()
    results = {}
    with torch.inference_mode():
        for case in args.cases:
            ids, mask, types = model_inputs(case.shape)
            results[case.label] = time_runs(lambda: encoder(ids, mask, types), args.warmup, runs_for(case, args))
    return torch_report(results, f"attention `{encoder.model.config._attn_implementation}`")


def seeded_classifier_training(model_name: str):
    """A 2-label BertForSequenceClassification of the named shape in training mode (seeded random
    weights) and its AdamW over DNABERT's two parameter groups (no decay on biases and LayerNorm weights)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(WEIGHT_SEED)
    model = BertForSequenceClassification(BertConfig(**MODEL_SHAPES[model_name], num_labels=LABEL_COUNT)).train()
    decayed, not_decayed = [], []
    for name, parameter in model.named_parameters():
        (not_decayed if any(part in name for part in NO_DECAY) else decayed).append(parameter)
    groups = [{"params": decayed, "weight_decay": ADAMW["weight_decay"]}, {"params": not_decayed, "weight_decay": 0.0}]
    return model, torch.optim.AdamW(groups, **ADAMW)


def torch_train_worker(args: argparse.Namespace) -> dict:
    """Times one training step per run, as bench_train takes it: zero_grad (to None), forward,
    cross-entropy (Hugging Face's loss for integer labels), backward, clip_grad_norm_, AdamW."""
    import torch

    torch.set_num_threads(args.threads)
    results = {}
    for case in args.cases:
        model, optimizer = seeded_classifier_training(case.model)
        ids, mask, types = model_inputs(case.shape)
        labels = torch.arange(case.shape.batch) % LABEL_COUNT

        def train_step():
            optimizer.zero_grad(set_to_none=True)
            loss = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            return loss.item()

        results[case.label] = time_runs(train_step, args.warmup, runs_for(case, args))
    defaults = optimizer.defaults
    implementation = "fused" if defaults.get("fused") else "foreach" if defaults.get("foreach") else "for-loop (the CPU default)"
    return torch_report(
        results,
        f"`model.train()`, attention `{model.config._attn_implementation}`, torch.optim.AdamW {implementation}",
    )


def export_worker(args: argparse.Namespace) -> dict:
    """Exports the model to ONNX and stores PyTorch's output on a padded batch for validation."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    encoder = seeded_encoder()
    ids, mask, types = model_inputs(Shape(2, 24))
    mask[1, 20:] = 0  # a padded row, so that the exported graph keeps the mask path
    onnx_path = Path(args.onnx_dir) / "dnabert6_base.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        encoder,
        (ids, mask, types),
        str(onnx_path),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names + ["last_hidden_state"]},
        opset_version=14,
        dynamo=False,  # the TorchScript exporter takes dynamic_axes and needs no onnxscript
    )
    with torch.inference_mode():
        expected = encoder(ids, mask, types).numpy()
    np.savez(Path(args.onnx_dir) / "reference.npz", input_ids=ids.numpy(), attention_mask=mask.numpy(), expected=expected)
    return {"onnx": str(onnx_path)}


def ort_worker(args: argparse.Namespace) -> dict:
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(
        str(Path(args.onnx_dir) / "dnabert6_base.onnx"), options, providers=["CPUExecutionProvider"]
    )

    def feed(ids, mask):
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    reference = np.load(Path(args.onnx_dir) / "reference.npz")
    (got,) = session.run(None, feed(reference["input_ids"], reference["attention_mask"]))
    deviation = float(np.abs(got - reference["expected"]).max())
    if not deviation <= ORT_TOLERANCE:
        raise RuntimeError(f"ONNX Runtime output differs from PyTorch by {deviation:.3g} (> {ORT_TOLERANCE})")
    results = {}
    for case in args.cases:
        ids = token_ids(case.shape)
        inputs = feed(ids, np.ones_like(ids))
        results[case.label] = time_runs(lambda: session.run(None, inputs), args.warmup, runs_for(case, args))
    return {
        "times": results,
        "version": f"ONNX Runtime {ort.__version__}",
        "detail": (
            f"CPUExecutionProvider, opset 14, graph optimisation all, intra-op {args.threads}, inter-op 1, "
            f"max |Δ| vs PyTorch {deviation:.1e}"
        ),
    }


WORKERS = {"torch": torch_worker, "export": export_worker, "ort": ort_worker, "torch-train": torch_train_worker}


# ---------------------------------------------------------------------------------------------
# The driver: runs the workers and dnabert's benchmark one after another, then reports.


@dataclass(frozen=True)
class Peer:
    name: str  # in the table and the docs
    short_name: str  # in the speed-up column's header
    key: str  # in --peers


PYTORCH = Peer("PyTorch", "PyTorch", "torch")
ONNX_RUNTIME = Peer("ONNX Runtime", "ORT", "ort")


@dataclass(frozen=True)
class Suite:
    """What one comparison times, who runs it, and where its docs section goes."""

    name: str  # the --suites key
    markers: tuple[str, str]  # around its docs section
    title: str
    peers: tuple[tuple[Peer, tuple[str, ...]], ...]  # each peer with the workers it runs, in order, in table order
    program_option: str  # the argparse destination naming dnabert's benchmark program
    benchmark_name: Callable[[Case], str]  # dnabert's Google Benchmark name for a case
    unit: str  # what one timed run is, for the footnote
    notes: tuple[str, ...]  # bullets on the model and the work (the shapes are listed from the cases)


SUITES = {
    "inference": Suite(
        name="inference",
        markers=("<!-- peers:begin -->", "<!-- peers:end -->"),
        title="Encoder against its peers",
        peers=((PYTORCH, ("torch",)), (ONNX_RUNTIME, ("export", "ort"))),
        program_option="dnabert_bench",
        benchmark_name=lambda case: f"encoder_forward/{case.shape.batch}/{case.shape.tokens}",
        unit="batch",
        notes=("Model: Hugging Face `BertModel` (encoder and pooler), inference, random weights, fp32, no padding",),
    ),
    "training": Suite(
        name="training",
        markers=("<!-- training:begin -->", "<!-- training:end -->"),
        title="Training step against PyTorch",
        peers=((PYTORCH, ("torch-train",)),),
        program_option="dnabert_train_bench",
        benchmark_name=lambda case: f"train_step/{case.model}/{case.shape.batch}/{case.shape.tokens}",
        unit="training step",
        notes=(
            "Model: 2-label sequence classifier (Hugging Face `BertForSequenceClassification`), training "
            "mode (dropout 0.1), random weights, fp32, no padding",
            "Step, the same on both sides: gradients set to none, forward, cross-entropy, backward, "
            f"global-norm clipping to {MAX_GRAD_NORM}, AdamW (lr {ADAMW['lr']}, betas {ADAMW['betas']}, "
            f"eps {ADAMW['eps']}, weight decay {ADAMW['weight_decay']} except biases and LayerNorm weights); "
            "the loss is read back to the host every step",
            "ONNX Runtime is not compared: the `onnxruntime` package runs inference only (training needs "
            "ONNX Runtime's separate training builds, not installed here)",
        ),
    ),
}


def engine_environment(threads: int, wait_policy: str = "PASSIVE") -> dict:
    """Thread settings for one engine. The peers run with passive OpenMP waiting (their OpenMP
    workers otherwise spin against their BLAS threads); dnabert, whose BLAS shares its one
    OpenMP pool, runs with OpenMP's default active waiting, which measured 3-5 % faster for it."""
    env = dict(os.environ)
    env.update(
        OMP_WAIT_POLICY=wait_policy,
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        OPENBLAS_NUM_THREADS=str(threads),
        DNABERT_THREADS=str(threads),
    )
    return env


def run_worker(role: str, suite: Suite, args: argparse.Namespace, onnx_dir: str) -> dict:
    """Runs one worker on the cases of `suite` in a subprocess; returns its JSON, or {'error': ...}."""
    command = [
        sys.executable, os.path.abspath(__file__), "--worker", role, "--suites", suite.name,
        "--threads", str(args.threads), "--warmup", str(args.warmup), "--runs", str(args.runs),
        "--runs-large", str(args.runs_large), "--shapes", args.shapes_text, "--train-models", args.train_models_text,
        "--train-shapes", args.train_shapes_text, "--onnx-dir", onnx_dir,
    ]  # fmt: skip
    print(f"[compare_peers] running {role} ...", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(
            command, env=engine_environment(args.threads), stdout=subprocess.PIPE, text=True, timeout=args.timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"error": f"worker exited with status {done.returncode} (see stderr above)"}
    return json.loads(lines[-1])


def run_dnabert(suite: Suite, cases: list[Case], args: argparse.Namespace) -> dict:
    """Runs the suite's benchmark program once per case with Google Benchmark repetitions and reads the medians."""
    binary = Path(getattr(args, suite.program_option))
    if not binary.is_file() or not os.access(binary, os.X_OK):
        return {"error": "not built", "detail": f"{binary} does not exist (build with -DDNABERT_BUILD_BENCH=ON)"}
    print(f"[compare_peers] running dnabert ({binary.name}) ...", file=sys.stderr, flush=True)
    times = {}
    for case in cases:
        name = suite.benchmark_name(case)
        command = [
            str(binary), "--benchmark_format=json", f"--benchmark_repetitions={runs_for(case, args)}",
            "--benchmark_report_aggregates_only=true", f"--benchmark_filter=^{name}(/|$)",
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command, env=engine_environment(args.threads, "ACTIVE"), stdout=subprocess.PIPE, text=True,
                timeout=args.timeout,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {args.timeout} s"}
        if done.returncode != 0:
            return {"error": f"{binary.name} exited with status {done.returncode}"}
        report = json.loads(done.stdout[done.stdout.index("{"):])
        median = median_from_benchmark_json(report, name)
        if median is None:
            return {"error": f"{binary.name} has no benchmark {name}"}
        times[case.label] = median
    return {"medians": times, "detail": f"`{binary}`, median wall-clock time of Google Benchmark repetitions"}


UNIT_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def median_from_benchmark_json(report: dict, name: str) -> float | None:
    """Median wall-clock ms of the benchmark `name` (e.g. encoder_forward/8/128) in a Google Benchmark JSON report."""
    pattern = re.compile(rf"{re.escape(name)}(/.*)?")
    for entry in report.get("benchmarks", []):
        if entry.get("error_occurred"):
            continue
        if entry.get("aggregate_name") == "median" and pattern.fullmatch(entry.get("run_name", "")):
            return float(entry["real_time"]) * UNIT_TO_MS[entry["time_unit"]]
    return None


def cpu_description() -> str:
    fields = {}
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    flags = fields.get("flags", "").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2 + FMA" if "avx2" in flags else "no AVX2"
    return (
        f"{fields.get('model name', platform.processor())} (family {fields.get('cpu family', '?')}, "
        f"model {fields.get('model', '?')}), {os.cpu_count()} logical CPUs, {isa}"
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg gives them."""
    with open("/proc/loadavg", encoding="utf-8") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def scheduling_note() -> str:
    """A clause naming this run's scheduler autogroup priority when it was raised (bench/README.md:
    close to a quiet machine's numbers while other work runs), else ''."""
    try:
        with open("/proc/self/autogroup", encoding="utf-8") as autogroup:
            nice = int(autogroup.read().split()[-1])
    except (OSError, ValueError, IndexError):
        return ""
    return f"; run in its own scheduler autogroup at nice {nice}, ahead of the other work" if nice < 0 else ""


def medians_ms(result: dict) -> dict[str, float]:
    if "medians" in result:
        return result["medians"]
    return {label: statistics.median(times) for label, times in result.get("times", {}).items()}


def format_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def format_rate(case: Case, value: float | None) -> str:
    return "—" if value is None else f"{case.batch_tokens / (value / 1e3):,.0f}"


def format_speedup(peer: float | None, dnabert: float | None) -> str:
    return "—" if peer is None or dnabert is None else f"{peer / dnabert:.2f}×"


def markdown_table(suite: Suite, cases: list[Case], engines: dict[str, dict]) -> str:
    """Median ms and tokens/s per engine, then dnabert's speed-up over each of the suite's peers."""
    medians = {name: medians_ms(result) for name, result in engines.items()}
    header = ["model, batch×tokens"]
    for name, result in engines.items():
        suffix = f" ({result['error']})" if "error" in result else ""
        header += [f"{name}{suffix} ms", f"{name} tokens/s"]
    header += [f"dnabert vs {peer.short_name}" for peer, _ in suite.peers]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for case in cases:
        cells = [case.label]
        for name in engines:
            value = medians[name].get(case.label)
            cells += [format_ms(value), format_rate(case, value)]
        ours = medians["dnabert"].get(case.label)
        cells += [format_speedup(medians[peer.name].get(case.label), ours) for peer, _ in suite.peers]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def docs_section(suite: Suite, cases: list[Case], args: argparse.Namespace, engines: dict[str, dict], table: str,
                 load_before: str) -> str:
    runs = ", ".join(f"{case.label}: {runs_for(case, args)}" for case in cases)
    lines = [
        suite.markers[0],
        f"## {suite.title} (written by `bench/compare_peers.py`)",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {cpu_description()}; load average before the run: {load_before}{scheduling_note()}",
        f"- Threads: {args.threads} for every engine, one engine at a time; `OMP_WAIT_POLICY=PASSIVE` for "
        "the peers, `ACTIVE` for dnabert (its BLAS shares its single OpenMP pool)",
        *(f"- {note}" for note in suite.notes),
        "- Shapes: " + "; ".join(describe_model(model) for model in dict.fromkeys(case.model for case in cases)),
        f"- Timed runs per case after {args.warmup} warm-up runs (medians quoted): {runs}",
    ]
    for name, result in engines.items():
        facts = [result.get(key) for key in ("version", "error", "detail")]
        lines.append(f"- {name}: " + "; ".join(fact for fact in facts if fact))
    lines += [
        "",
        table,
        "",
        f"Milliseconds are medians per {suite.unit}; speed-up = peer median / dnabert median "
        "(> 1 means dnabert is faster).",
        suite.markers[1],
    ]
    return "\n".join(lines) + "\n"


def section_bounds(path: Path, text: str, markers: tuple[str, str]) -> tuple[int, int]:
    """Offsets of the begin and end markers in text ((-1, -1) if absent); exits on a broken pair."""
    begin_marker, end_marker = markers
    begin, end = text.find(begin_marker), text.find(end_marker)
    if (begin == -1) != (end == -1) or end < begin:
        sys.exit(f"{path}: found only one of {begin_marker} / {end_marker}, or them out of order; fix the file by hand")
    return begin, end


def write_docs(path: Path, section: str, markers: tuple[str, str]) -> None:
    """Replaces the section of path between `markers`, or appends it."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = section_bounds(path, text, markers)
    if begin == -1:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + section
    else:
        rest = text[end + len(markers[1]):].lstrip("\n")
        text = text[:begin] + section + ("\n" + rest if rest else "")
    path.write_text(text, encoding="utf-8")


def suite_cases(suite: Suite, args: argparse.Namespace) -> list[Case]:
    """Inference: DNABERT-6 base at every --shapes; training: every --train-models at every --train-shapes."""
    if suite.name == "inference":
        return [Case("base", shape) for shape in args.shapes]
    return [Case(model, shape) for model in args.train_models for shape in args.train_shapes]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    parser.add_argument(
        "--suites", default="inference,training", help="what to compare: inference, training (default both)"
    )
    parser.add_argument("--shapes", dest="shapes_text", default="1x128,8x128,8x512", help="inference BATCHxTOKENS list")
    parser.add_argument("--train-shapes", dest="train_shapes_text", default="8x128", help="training BATCHxTOKENS list")
    parser.add_argument(
        "--train-models", dest="train_models_text", default="base,small", help="training model shapes: base, small"
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs before timing (default 2)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (default 7)")
    parser.add_argument(
        "--runs-large", type=int, default=5, help=f"timed runs for batches of >= {LARGE_BATCH_TOKENS} tokens (default 5)"
    )
    parser.add_argument("--dnabert-bench", default="build/bench/bench_encoder", help="dnabert's bench_encoder program")
    parser.add_argument(
        "--dnabert-train-bench", default="build/bench/bench_train", help="dnabert's bench_train program"
    )
    parser.add_argument(
        "--peers", default="torch,ort", help="peers to run: torch, ort (default both; training has torch only)"
    )
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per engine (default 1800)")
    parser.add_argument("--write-docs", type=Path, help="markdown file whose suite sections to replace or append")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--onnx-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        args.shapes = parse_shapes(args.shapes_text)
        args.train_shapes = parse_shapes(args.train_shapes_text)
        args.train_models = parse_models(args.train_models_text)
    except argparse.ArgumentTypeError as problem:
        parser.error(str(problem))
    names = [name.strip() for name in args.suites.split(",") if name.strip()]
    if not names or any(name not in SUITES for name in names):
        parser.error(f"--suites {args.suites!r}: choose from {', '.join(SUITES)}")
    args.suite_list = [SUITES[name] for name in names]
    if args.threads < 1 or args.warmup < 2 or min(args.runs, args.runs_large) < 5:
        parser.error("need --threads >= 1, --warmup >= 2 and at least 5 timed runs (--runs, --runs-large)")
    return args


def compare(suite: Suite, args: argparse.Namespace) -> str:
    """Runs the suite's peers (those --peers names) and dnabert one after another; returns its docs section."""
    cases = suite_cases(suite, args)
    load_before = load_average()
    if float(load_before.split()[0]) > 0.5 * (os.cpu_count() or 1):
        print(f"[compare_peers] warning: load average {load_before} — other work is running, the timings will be noisy",
              file=sys.stderr)
    wanted = {peer.strip() for peer in args.peers.split(",") if peer.strip()}
    engines: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="dnabert-peers-") as onnx_dir:
        for peer, roles in suite.peers:
            result = {"error": "skipped"} if peer.key not in wanted else {}
            for role in roles:  # each worker needs the one before it (ONNX export, then ONNX Runtime)
                if "error" not in result:
                    result = run_worker(role, suite, args, onnx_dir)
            engines[peer.name] = result
    engines["dnabert"] = run_dnabert(suite, cases, args)
    return docs_section(suite, cases, args, engines, markdown_table(suite, cases, engines), load_before)


def main() -> None:
    args = parse_arguments()
    if args.worker:
        (suite,) = args.suite_list
        args.cases = suite_cases(suite, args)
        print(json.dumps(WORKERS[args.worker](args)))
        return
    if args.write_docs and args.write_docs.exists():  # fail now, not after minutes of timing
        text = args.write_docs.read_text(encoding="utf-8")
        for suite in args.suite_list:
            section_bounds(args.write_docs, text, suite.markers)
    started = time.perf_counter()
    for suite in args.suite_list:
        section = compare(suite, args)
        print(section)
        if args.write_docs:
            write_docs(args.write_docs, section, suite.markers)
            print(f"[compare_peers] wrote the {suite.name} section of {args.write_docs}", file=sys.stderr)
    print(f"[compare_peers] took {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
