#!/usr/bin/env python3
"""Times dnabert's encoder against its peers on the same machine, threads and shapes, in one run.

Peers: PyTorch eager fp32 (Hugging Face ``BertModel``) and ONNX Runtime (the same model exported
with ``torch.onnx.export``), at DNABERT-6 base shape (12 layers, hidden 768, 12 heads, FFN 3072,
vocabulary 4101) with random weights. dnabert's numbers come from its Google Benchmark program
(``bench_encoder``, benchmarks named ``encoder_forward/<batch>/<tokens>``) when it is built.

Every engine runs in its own subprocess, one after the other, with the thread count set in the
environment before any runtime starts, and ``OMP_WAIT_POLICY=PASSIVE`` for the peers: on a 2-core
machine their spinning OpenMP workers otherwise fight their BLAS threads. dnabert's BLAS (BLIS or
OpenBLAS, OpenMP builds) shares its one OpenMP pool, so it keeps OpenMP's default active waiting.

Usage:
    python3 bench/compare_peers.py [--threads 2] [--dnabert-bench build/bench/bench_encoder]
                                   [--write-docs docs/benchmarks.md]

Prints a markdown table of median milliseconds per batch, tokens per second and dnabert's
speed-up (peer median / dnabert median). ``--write-docs`` replaces the section between
``<!-- peers:begin -->`` and ``<!-- peers:end -->`` in the given file, or appends it.
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

BEGIN_MARKER = "<!-- peers:begin -->"
END_MARKER = "<!-- peers:end -->"


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


def runs_for(shape: Shape, args: argparse.Namespace) -> int:
    return args.runs_large if shape.batch_tokens >= LARGE_BATCH_TOKENS else args.runs


def token_ids(shape: Shape):
    """Random k-mer ids framed by [CLS] ... [SEP], the same for every engine (numpy int64)."""
    import numpy as np

    rng = np.random.default_rng(INPUT_SEED)
    ids = rng.integers(FIRST_KMER_ID, DNABERT6_BASE["vocab_size"], size=(shape.batch, shape.tokens), dtype=np.int64)
    ids[:, 0] = CLS_ID
    ids[:, -1] = SEP_ID
    return ids


def time_runs(forward, warmup: int, runs: int) -> list[float]:
    """Milliseconds of each timed run of forward(), after the warm-up runs."""
    for _ in range(warmup):
        forward()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        forward()
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


def torch_worker(args: argparse.Namespace) -> dict:
    import torch
    import transformers

    torch.set_num_threads(args.threads)
    encoder = seeded_encoder()
    results = {}
    with torch.inference_mode():
        for shape in args.shapes:
            ids = torch.from_numpy(token_ids(shape))
            mask = torch.ones_like(ids)
            types = torch.zeros_like(ids)
            times = time_runs(lambda: encoder(ids, mask, types), args.warmup, runs_for(shape, args))
            results[shape.label] = times
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    blas_line = next((line.strip(" -") for line in config.splitlines() if re.search(r"Math Kernel|OpenBLAS|BLIS", line)), "")
    return {
        "times": results,
        "version": f"PyTorch {torch.__version__}, transformers {transformers.__version__}",
        "detail": (
            f"attention `{encoder.model.config._attn_implementation}`, torch threads {torch.get_num_threads()}, "
            f"BLAS_INFO={blas[1] if blas else 'unknown'}"
            + (f" ({blas_line})" if blas_line else "")
            + f", mapped: {', '.join(mapped_libraries(MATH_LIBRARY_PATTERN)) or 'none'}"
        ),
    }


def export_worker(args: argparse.Namespace) -> dict:
    """Exports the model to ONNX and stores PyTorch's output on a padded batch for validation."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    encoder = seeded_encoder()
    ids = torch.from_numpy(token_ids(Shape(2, 24)))
    mask = torch.ones_like(ids)
    mask[1, 20:] = 0  # a padded row, so that the exported graph keeps the mask path
    types = torch.zeros_like(ids)
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
    for shape in args.shapes:
        ids = token_ids(shape)
        inputs = feed(ids, np.ones_like(ids))
        results[shape.label] = time_runs(lambda: session.run(None, inputs), args.warmup, runs_for(shape, args))
    return {
        "times": results,
        "version": f"ONNX Runtime {ort.__version__}",
        "detail": (
            f"CPUExecutionProvider, opset 14, graph optimisation all, intra-op {args.threads}, inter-op 1, "
            f"max |Δ| vs PyTorch {deviation:.1e}"
        ),
    }


WORKERS = {"torch": torch_worker, "export": export_worker, "ort": ort_worker}


# ---------------------------------------------------------------------------------------------
# The driver: runs the workers and dnabert's benchmark one after another, then reports.


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


def run_worker(role: str, args: argparse.Namespace, onnx_dir: str) -> dict:
    """Runs one worker in a subprocess; returns its JSON, or {'error': ...} if it failed."""
    command = [
        sys.executable, os.path.abspath(__file__), "--worker", role,
        "--threads", str(args.threads), "--warmup", str(args.warmup), "--runs", str(args.runs),
        "--runs-large", str(args.runs_large), "--shapes", args.shapes_text, "--onnx-dir", onnx_dir,
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


def run_dnabert(args: argparse.Namespace) -> dict:
    """Runs bench_encoder per shape with Google Benchmark repetitions and reads the medians."""
    binary = Path(args.dnabert_bench)
    if not binary.is_file() or not os.access(binary, os.X_OK):
        return {"error": "not built", "detail": f"{binary} does not exist (build with -DDNABERT_BUILD_BENCH=ON)"}
    print("[compare_peers] running dnabert ...", file=sys.stderr, flush=True)
    times = {}
    for shape in args.shapes:
        command = [
            str(binary), "--benchmark_format=json", f"--benchmark_repetitions={runs_for(shape, args)}",
            "--benchmark_report_aggregates_only=true",
            f"--benchmark_filter=^encoder_forward/{shape.batch}/{shape.tokens}(/|$)",
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
        median = median_from_benchmark_json(report, shape)
        if median is None:
            return {"error": f"{binary.name} has no benchmark encoder_forward/{shape.batch}/{shape.tokens}"}
        times[shape.label] = median
    return {"medians": times, "detail": f"`{binary}`, median wall-clock time of Google Benchmark repetitions"}


UNIT_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def median_from_benchmark_json(report: dict, shape: Shape) -> float | None:
    """Median wall-clock ms of encoder_forward/<batch>/<tokens> in a Google Benchmark JSON report."""
    name = re.compile(rf"encoder_forward/{shape.batch}/{shape.tokens}(/.*)?")
    for entry in report.get("benchmarks", []):
        if entry.get("aggregate_name") == "median" and name.fullmatch(entry.get("run_name", "")):
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


def medians_ms(result: dict) -> dict[str, float]:
    if "medians" in result:
        return result["medians"]
    return {label: statistics.median(times) for label, times in result.get("times", {}).items()}


def format_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def format_rate(shape: Shape, value: float | None) -> str:
    return "—" if value is None else f"{shape.batch_tokens / (value / 1e3):,.0f}"


def format_speedup(peer: float | None, dnabert: float | None) -> str:
    return "—" if peer is None or dnabert is None else f"{peer / dnabert:.2f}×"


def markdown_table(shapes: list[Shape], engines: dict[str, dict]) -> str:
    medians = {name: medians_ms(result) for name, result in engines.items()}
    header = ["batch×tokens"]
    for name, result in engines.items():
        suffix = f" ({result['error']})" if "error" in result else ""
        header += [f"{name}{suffix} ms", f"{name} tokens/s"]
    header += ["dnabert vs PyTorch", "dnabert vs ORT"]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for shape in shapes:
        cells = [shape.label]
        for name in engines:
            value = medians[name].get(shape.label)
            cells += [format_ms(value), format_rate(shape, value)]
        ours = medians["dnabert"].get(shape.label)
        cells += [
            format_speedup(medians["PyTorch"].get(shape.label), ours),
            format_speedup(medians["ONNX Runtime"].get(shape.label), ours),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def docs_section(args: argparse.Namespace, engines: dict[str, dict], table: str, load_before: str) -> str:
    runs = ", ".join(f"{shape.label}: {runs_for(shape, args)}" for shape in args.shapes)
    lines = [
        BEGIN_MARKER,
        "## Encoder against its peers (written by `bench/compare_peers.py`)",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {cpu_description()}; load average before the run: {load_before}",
        f"- Threads: {args.threads} for every engine, one engine at a time; `OMP_WAIT_POLICY=PASSIVE` for "
        "the peers, `ACTIVE` for dnabert (its BLAS shares its single OpenMP pool)",
        "- Model: DNABERT-6 base shape (12 layers, hidden 768, 12 heads, FFN 3072, vocabulary 4101), "
        "random weights, fp32, no padding",
        f"- Timed runs per shape after {args.warmup} warm-up runs (medians quoted): {runs}",
    ]
    for name, result in engines.items():
        facts = [result.get(key) for key in ("version", "error", "detail")]
        lines.append(f"- {name}: " + "; ".join(fact for fact in facts if fact))
    lines += [
        "",
        table,
        "",
        "Milliseconds are medians per batch; speed-up = peer median / dnabert median (> 1 means dnabert is faster).",
        END_MARKER,
    ]
    return "\n".join(lines) + "\n"


def section_bounds(path: Path, text: str) -> tuple[int, int]:
    """Offsets of the begin and end markers in text ((-1, -1) if absent); exits on a broken pair."""
    begin, end = text.find(BEGIN_MARKER), text.find(END_MARKER)
    if (begin == -1) != (end == -1) or end < begin:
        sys.exit(f"{path}: found only one of {BEGIN_MARKER} / {END_MARKER}, or them out of order; fix the file by hand")
    return begin, end


def write_docs(path: Path, section: str) -> None:
    """Replaces the delimited section of path, or appends it."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = section_bounds(path, text)
    if begin == -1:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + section
    else:
        rest = text[end + len(END_MARKER):].lstrip("\n")
        text = text[:begin] + section + ("\n" + rest if rest else "")
    path.write_text(text, encoding="utf-8")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    parser.add_argument("--shapes", dest="shapes_text", default="1x128,8x128,8x512", help="BATCHxTOKENS list")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs before timing (default 2)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per shape (default 7)")
    parser.add_argument(
        "--runs-large", type=int, default=5, help=f"timed runs for batches of >= {LARGE_BATCH_TOKENS} tokens (default 5)"
    )
    parser.add_argument("--dnabert-bench", default="build/bench/bench_encoder", help="dnabert's bench_encoder program")
    parser.add_argument("--peers", default="torch,ort", help="peers to run: torch, ort (default both)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per engine (default 1800)")
    parser.add_argument("--write-docs", type=Path, help="markdown file whose peers section to replace or append")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--onnx-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        args.shapes = parse_shapes(args.shapes_text)
    except argparse.ArgumentTypeError as problem:
        parser.error(str(problem))
    if args.threads < 1 or args.warmup < 2 or min(args.runs, args.runs_large) < 5:
        parser.error("need --threads >= 1, --warmup >= 2 and at least 5 timed runs (--runs, --runs-large)")
    return args


def main() -> None:
    args = parse_arguments()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return
    if args.write_docs and args.write_docs.exists():  # fail now, not after minutes of timing
        section_bounds(args.write_docs, args.write_docs.read_text(encoding="utf-8"))
    started = time.perf_counter()
    with open("/proc/loadavg", encoding="utf-8") as loadavg:
        load_before = " ".join(loadavg.read().split()[:3])
    if float(load_before.split()[0]) > 0.5 * (os.cpu_count() or 1):
        print(f"[compare_peers] warning: load average {load_before} — other work is running, the timings will be noisy",
              file=sys.stderr)
    peers = {peer.strip() for peer in args.peers.split(",") if peer.strip()}
    engines: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="dnabert-peers-") as onnx_dir:
        engines["PyTorch"] = run_worker("torch", args, onnx_dir) if "torch" in peers else {"error": "skipped"}
        if "ort" in peers:
            exported = run_worker("export", args, onnx_dir)
            engines["ONNX Runtime"] = run_worker("ort", args, onnx_dir) if "error" not in exported else exported
        else:
            engines["ONNX Runtime"] = {"error": "skipped"}
    engines["dnabert"] = run_dnabert(args)
    table = markdown_table(args.shapes, engines)
    section = docs_section(args, engines, table, load_before)
    print(section)
    if args.write_docs:
        write_docs(args.write_docs, section)
        print(f"[compare_peers] wrote the peers section of {args.write_docs}", file=sys.stderr)
    print(f"[compare_peers] took {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
