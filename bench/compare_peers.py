#!/usr/bin/env python3
"""Times dnabert against its peers on the same machine, threads and shapes, in one run.

Three suites (``--suites``, default inference and training):

- inference: the encoder forward at DNABERT-6 base shape (12 layers, hidden 768, 12 heads, FFN
  3072, vocabulary 4101) with random weights, one table per precision (``--precisions``, default
  all three):
  - fp32: PyTorch eager (Hugging Face ``BertModel``) and ONNX Runtime (the same model exported with
    ``torch.onnx.export``) against ``bench_encoder``'s ``encoder_forward/<batch>/<tokens>``;
  - bf16: PyTorch under ``torch.autocast("cpu", dtype=torch.bfloat16)`` against
    ``encoder_forward_bf16/<batch>/<tokens>``;
  - int8: PyTorch ``torch.ao.quantization.quantize_dynamic`` (every ``nn.Linear``, qint8 weights)
    and ONNX Runtime ``onnxruntime.quantization.quantize_dynamic`` (the exported fp32 model,
    ``QuantType.QInt8`` weights) against ``encoder_forward_int8/<batch>/<tokens>``.
    ``torch.ao.quantization`` is deprecated in PyTorch 2.15 (it warns that eager-mode
    ``quantize_dynamic`` moves to torchao's ``quantize_(model, Int8DynamicActivationInt8WeightConfig())``)
    but still works; it is kept because it is what issue 16 measured and torchao is not installed here.
  Each reduced-precision peer also reports its error against its own fp32 on the same weights and
  inputs: max |Δ last hidden state| / max |fp32 last hidden state| on the 8×128 batch.
- training: one fine-tuning step of a 2-label ``BertForSequenceClassification`` in training mode
  (dropout on): zero_grad, forward, cross-entropy, backward, global-norm clipping to 1.0, AdamW
  with DNABERT's no-decay groups, at DNABERT-6 base shape and a small one (4 layers, hidden 256, 4
  heads, FFN 1024), one table with fp32 rows and bf16 rows (``--precisions`` does not apply):
  - fp32: PyTorch eager (ONNX Runtime's packages here have no training) against ``bench_train``'s
    ``train_step/<model>/<batch>/<tokens>``;
  - bf16: the same PyTorch step with forward and loss under ``torch.autocast("cpu",
    dtype=torch.bfloat16)`` and backward outside it (PyTorch's recipe for automatic mixed precision)
    against ``train_step_bf16/<model>/<batch>/<tokens>`` (GEMMs in bfloat16, float32 accumulation,
    float32 parameters and AdamW). Reported only: issue 16 sets no goal for it.
- contention: the fp32 8×128 forward (``--contention-shape``) of PyTorch, ONNX Runtime and dnabert,
  each timed on its own and then at once again while one busy process (``python3 -c 'while True: pass'``,
  pinned to the first CPU this process may use, CPU 0 normally) spins; the slowdown is loaded
  median / idle median. The busy process is killed when its measurement ends, on error, on Ctrl-C
  or SIGTERM, and (Linux's parent-death signal) when this script dies.

A dnabert benchmark that the program lacks shows as "n/a". Every engine runs in its own subprocess,
one after the other, with the thread count set in the environment before any runtime starts, and
``OMP_WAIT_POLICY=PASSIVE`` for the peers: on a 2-core machine their spinning OpenMP workers
otherwise fight their BLAS threads. dnabert's GEMM engine
(oneDNN, BLIS or OpenBLAS, OpenMP builds) shares its one OpenMP pool, so it keeps OpenMP's default
active waiting.

Usage:
    python3 bench/compare_peers.py [--threads 2] [--suites inference,training,contention]
                                   [--precisions fp32,bf16,int8]
                                   [--dnabert-bench build/bench/bench_encoder]
                                   [--dnabert-train-bench build/bench/bench_train]
                                   [--write-docs docs/benchmarks.md]

Prints a markdown table per inference precision, for training and for contention: median
milliseconds per batch (or step), tokens per second and dnabert's speed-up (peer median / dnabert
median), with issue 16's goal for it where it sets one. ``--write-docs`` replaces each table's
section of the given file, between its markers, or appends it: ``<!-- peers:begin -->`` /
``<!-- peers:end -->`` (fp32 inference), ``<!-- peers-bf16:... -->``, ``<!-- peers-int8:... -->``,
``<!-- training:... -->`` (both training precisions), ``<!-- contention:... -->``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Iterator
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
# ONNX Runtime fp32 must reproduce PyTorch's hidden states this closely before it is timed.
ORT_TOLERANCE = 1e-3
# CPU flags that decide the bf16 and int8 paths, named in the docs.
PRECISION_FLAGS = ("avx512_bf16", "amx_bf16", "amx_int8", "avx512_vnni", "avx_vnni")
PRECISIONS = ("fp32", "bf16", "int8")
# Reduced precisions are compared with their own engine's fp32 on this batch.
ERROR_SHAPE_TEXT = "8x128"
# The training step: DNABERT's fine-tuning recipe (section 3.3 of https://github.com/jerryji1993/DNABERT/blob/master/README.md,
# run_finetune.py's defaults for betas and eps) at a constant learning rate.
LABEL_COUNT = 2
MAX_GRAD_NORM = 1.0
ADAMW = dict(lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
NO_DECAY = ("bias", "LayerNorm.weight")  # DNABERT's parameter names without weight decay
# The contention suite's other work: one process that only spins.
BUSY_CODE = "while True: pass"


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


def parse_list(text: str, choices, what: str) -> list[str]:
    """The comma-separated items of text, each one of choices (at least one)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items or any(item not in choices for item in items):
        raise argparse.ArgumentTypeError(f"{what} {text!r}: choose from {', '.join(choices)}")
    return items


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


ERROR_SHAPE = parse_shapes(ERROR_SHAPE_TEXT)[0]


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


def relative_error(got, expected) -> float:
    """max |got - expected| / max |expected| (numpy arrays)."""
    import numpy as np

    return float(np.abs(got - expected).max() / np.abs(expected).max())


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
            f"CPU capability {torch.backends.cpu.get_cpu_capability()}, "
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


AUTOCAST_TEXT = '`torch.autocast("cpu", dtype=torch.bfloat16)`'


def bf16_autocast():
    """A fresh CPU autocast context to bfloat16 (PyTorch's bf16 peer: fp32 weights, bf16 matmuls)."""
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


def torch_precision_forward(encoder, precision: str):
    """The forward to time at `precision` and how it is made: fp32 as is, bf16 under CPU autocast,
    int8 through dynamic quantization of every nn.Linear (a quantized copy; encoder stays fp32)."""
    import torch

    if precision == "fp32":
        return encoder, "fp32"
    if precision == "bf16":

        def autocast_forward(*inputs):
            with bf16_autocast():
                return encoder(*inputs)

        return autocast_forward, AUTOCAST_TEXT
    with warnings.catch_warnings():  # torch.ao.quantization's deprecation notice (see the module docstring)
        warnings.simplefilter("ignore")
        quantized = torch.ao.quantization.quantize_dynamic(encoder, {torch.nn.Linear}, dtype=torch.qint8)
    return quantized, (
        "`torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)` (qint8 weights per "
        f"tensor, activations quantized per call), quantized engine `{torch.backends.quantized.engine}`"
    )


def torch_worker(args: argparse.Namespace) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    encoder = seeded_encoder()
    forward, settings = torch_precision_forward(encoder, args.precision)
    results = {}
    with torch.inference_mode():
        error = None
        if args.precision != "fp32":
            inputs = model_inputs(ERROR_SHAPE)
            error = relative_error(forward(*inputs).float().numpy(), encoder(*inputs).numpy())
            print(f"[compare_peers] PyTorch {args.precision} vs fp32: {error:.2e}", file=sys.stderr, flush=True)
        for case in args.cases:
            inputs = model_inputs(case.shape)
            results[case.label] = time_runs(lambda: forward(*inputs), args.warmup, runs_for(case, args))
    report = torch_report(results, f"{settings}, attention `{encoder.model.config._attn_implementation}`")
    if error is not None:
        report["relative_error"] = error
    return report


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
    cross-entropy (Hugging Face's loss for integer labels), backward, clip_grad_norm_, AdamW. In bf16
    the forward and the loss run under CPU autocast and the backward outside it, as PyTorch's
    automatic mixed precision recipe has it (no gradient scaling: bfloat16 has float32's range)."""
    import torch

    torch.set_num_threads(args.threads)
    forward_context = bf16_autocast if args.precision == "bf16" else contextlib.nullcontext
    results = {}
    for case in args.cases:
        model, optimizer = seeded_classifier_training(case.model)
        ids, mask, types = model_inputs(case.shape)
        labels = torch.arange(case.shape.batch) % LABEL_COUNT

        def train_step():
            optimizer.zero_grad(set_to_none=True)
            with forward_context():
                loss = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            return loss.item()

        results[case.label] = time_runs(train_step, args.warmup, runs_for(case, args))
    defaults = optimizer.defaults
    implementation = "fused" if defaults.get("fused") else "foreach" if defaults.get("foreach") else "for-loop (the CPU default)"
    precision = "fp32" if args.precision == "fp32" else f"forward and loss under {AUTOCAST_TEXT}, backward outside it"
    return torch_report(
        results,
        f"`model.train()`, {precision}, attention `{model.config._attn_implementation}`, "
        f"torch.optim.AdamW {implementation}",
    )


def onnx_path(args: argparse.Namespace, precision: str) -> Path:
    return Path(args.onnx_dir) / f"dnabert6_base_{precision}.onnx"


def export_worker(args: argparse.Namespace) -> dict:
    """Exports the model to ONNX and stores PyTorch's output on a padded batch for validation."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    encoder = seeded_encoder()
    ids, mask, types = model_inputs(Shape(2, 24))
    mask[1, 20:] = 0  # a padded row, so that the exported graph keeps the mask path
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(
        encoder,
        (ids, mask, types),
        str(onnx_path(args, "fp32")),
        input_names=names,
        output_names=["last_hidden_state"],
        dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names + ["last_hidden_state"]},
        opset_version=14,
        dynamo=False,  # the TorchScript exporter takes dynamic_axes and needs no onnxscript
    )
    with torch.inference_mode():
        expected = encoder(ids, mask, types).numpy()
    np.savez(Path(args.onnx_dir) / "reference.npz", input_ids=ids.numpy(), attention_mask=mask.numpy(), expected=expected)
    return {}


def quantize_worker(args: argparse.Namespace) -> dict:
    """Writes the int8 model: ONNX Runtime's dynamic quantization of the exported fp32 model."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(onnx_path(args, "fp32"), onnx_path(args, "int8"), weight_type=QuantType.QInt8)
    return {}


def ort_session(path: Path, threads: int):
    """An ONNX Runtime CPU session: intra-op `threads`, inter-op 1, sequential, every graph optimisation."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_feed(ids, mask=None) -> dict:
    """The session inputs for token ids (numpy int64), attention mask all ones unless given."""
    import numpy as np

    return {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids) if mask is None else mask,
        "token_type_ids": np.zeros_like(ids),
    }


def quantized_operators(path: Path) -> str:
    """What quantization made of the graph: integer MatMuls, MatMuls left in fp32, dequantized weights."""
    import onnx

    counts = {op: 0 for op in ("MatMulInteger", "MatMul", "DequantizeLinear")}
    for node in onnx.load(str(path)).graph.node:
        if node.op_type in counts:
            counts[node.op_type] += 1
    return (
        f"{counts['MatMulInteger']} MatMulInteger, {counts['MatMul']} MatMul left in fp32, "
        f"{counts['DequantizeLinear']} DequantizeLinear (int8-stored weights used in fp32, e.g. embedding tables)"
    )


def ort_worker(args: argparse.Namespace) -> dict:
    """Times ONNX Runtime at args.precision; fp32 is first checked against PyTorch, int8 is compared
    with the fp32 session's output (its error, not a check)."""
    import numpy as np
    import onnxruntime as ort

    fp32_session = ort_session(onnx_path(args, "fp32"), args.threads)
    if args.precision == "fp32":
        reference = np.load(Path(args.onnx_dir) / "reference.npz")
        (got,) = fp32_session.run(None, ort_feed(reference["input_ids"], reference["attention_mask"]))
        deviation = float(np.abs(got - reference["expected"]).max())
        if not deviation <= ORT_TOLERANCE:
            raise RuntimeError(f"ONNX Runtime output differs from PyTorch by {deviation:.3g} (> {ORT_TOLERANCE})")
        session, facts, error = fp32_session, f"max |Δ| vs PyTorch {deviation:.1e}", None
    else:
        session = ort_session(onnx_path(args, args.precision), args.threads)
        inputs = ort_feed(token_ids(ERROR_SHAPE))
        error = relative_error(session.run(None, inputs)[0], fp32_session.run(None, inputs)[0])
        print(f"[compare_peers] ONNX Runtime {args.precision} vs fp32: {error:.2e}", file=sys.stderr, flush=True)
        del fp32_session
        facts = (
            "`onnxruntime.quantization.quantize_dynamic(fp32 model, weight_type=QuantType.QInt8)` (defaults: "
            "int8 weights per tensor, uint8 activations quantized per call, MatMuls with constant weights only), "
            f"quantized graph: {quantized_operators(onnx_path(args, args.precision))}"
        )
    results = {}
    for case in args.cases:
        inputs = ort_feed(token_ids(case.shape))
        results[case.label] = time_runs(lambda: session.run(None, inputs), args.warmup, runs_for(case, args))
    report = {
        "times": results,
        "version": f"ONNX Runtime {ort.__version__}",
        "detail": (
            f"CPUExecutionProvider, opset 14, graph optimisation all, intra-op {args.threads}, inter-op 1, {facts}"
        ),
    }
    if error is not None:
        report["relative_error"] = error
    return report


WORKERS = {
    "torch": torch_worker,
    "export": export_worker,
    "quantize": quantize_worker,
    "ort": ort_worker,
    "torch-train": torch_train_worker,
}
# Workers that prepare files for others (in the suite's temporary folder): run once per suite.
PREPARATION_ROLES = {"export", "quantize"}


# ---------------------------------------------------------------------------------------------
# The driver: runs the workers and dnabert's benchmark one after another, then reports.


@dataclass(frozen=True)
class Peer:
    name: str  # in the table and the docs
    short_name: str  # in the speed-up column's header
    key: str  # in --peers
    roles: tuple[str, ...]  # the workers it runs, in order (each needs the one before it); the last one times
    precision: str  # what its workers get as --precision


@dataclass(frozen=True)
class Block:
    """dnabert at one precision against the peers at that precision: a table and its docs section, or
    rows of one, shared with the other blocks of its suite that have the same markers (and as many peers)."""

    precision: str
    markers: tuple[str, str]  # around its docs section
    title: str
    peers: tuple[Peer, ...]  # in table order
    benchmark_name: Callable[[Case], str]  # dnabert's Google Benchmark name for a case
    goal: float | None  # issue 16: dnabert at least this many times as fast as ... (None: only reported)
    goal_peers: tuple[Peer, ...]  # ... the faster of these
    notes: tuple[str, ...]  # bullets on the model and the work (the shapes are listed from the cases)


@dataclass(frozen=True)
class Suite:
    """What one comparison times and which dnabert program answers it."""

    name: str  # the --suites key
    program_option: str  # the argparse destination naming dnabert's benchmark program
    unit: str  # what one timed run is, for the footnote
    blocks: tuple[Block, ...]


PYTORCH = Peer("PyTorch fp32", "PyTorch", "torch", ("torch",), "fp32")
ONNX_RUNTIME = Peer("ONNX Runtime fp32", "ORT", "ort", ("export", "ort"), "fp32")
PYTORCH_BF16 = Peer("PyTorch bf16 autocast", "PyTorch", "torch", ("torch",), "bf16")
PYTORCH_INT8 = Peer("PyTorch int8", "PyTorch", "torch", ("torch",), "int8")
ONNX_RUNTIME_INT8 = Peer("ONNX Runtime int8", "ORT", "ort", ("export", "quantize", "ort"), "int8")
PYTORCH_TRAIN = Peer("PyTorch", "PyTorch", "torch", ("torch-train",), "fp32")
PYTORCH_TRAIN_BF16 = Peer("PyTorch bf16 autocast", "PyTorch", "torch", ("torch-train",), "bf16")

INFERENCE_MODEL = "Model: Hugging Face `BertModel` (encoder and pooler), inference, random weights, no padding"
ERROR_NOTE = (
    f"Error of a reduced precision: max |Δ last hidden state| / max |fp32 last hidden state| against the same "
    f"engine's fp32, same weights, same random inputs, batch {ERROR_SHAPE.label}"
)


def encoder_benchmark(prefix: str) -> Callable[[Case], str]:
    """bench_encoder's name for a case: `<prefix>/<batch>/<tokens>`."""
    return lambda case: f"{prefix}/{case.shape.batch}/{case.shape.tokens}"


def train_benchmark(prefix: str) -> Callable[[Case], str]:
    """bench_train's name for a case: `<prefix>/<model>/<batch>/<tokens>`."""
    return lambda case: f"{prefix}/{case.model}/{case.shape.batch}/{case.shape.tokens}"


INFERENCE_BLOCKS = {
    "fp32": Block(
        precision="fp32",
        markers=("<!-- peers:begin -->", "<!-- peers:end -->"),
        title="Encoder against its peers, fp32",
        peers=(PYTORCH, ONNX_RUNTIME),
        benchmark_name=encoder_benchmark("encoder_forward"),
        goal=1.2,
        goal_peers=(PYTORCH, ONNX_RUNTIME),
        notes=(INFERENCE_MODEL + ", fp32",),
    ),
    "bf16": Block(
        precision="bf16",
        markers=("<!-- peers-bf16:begin -->", "<!-- peers-bf16:end -->"),
        title="Encoder against its peers, bf16",
        peers=(PYTORCH_BF16,),
        benchmark_name=encoder_benchmark("encoder_forward_bf16"),
        goal=1.2,
        goal_peers=(PYTORCH_BF16,),
        notes=(INFERENCE_MODEL + ", bf16 (PyTorch: fp32 weights, CPU autocast to bfloat16)", ERROR_NOTE),
    ),
    "int8": Block(
        precision="int8",
        markers=("<!-- peers-int8:begin -->", "<!-- peers-int8:end -->"),
        title="Encoder against its peers, int8",
        peers=(PYTORCH_INT8, ONNX_RUNTIME_INT8),
        benchmark_name=encoder_benchmark("encoder_forward_int8"),
        goal=1.2,
        goal_peers=(ONNX_RUNTIME_INT8,),
        notes=(INFERENCE_MODEL + ", int8 dynamic quantization of the linear layers", ERROR_NOTE),
    ),
}

TRAINING_NOTES = (
    "Model: 2-label sequence classifier (Hugging Face `BertForSequenceClassification`), training "
    "mode (dropout 0.1), random weights, no padding",
    "Step, the same on both sides: gradients set to none, forward, cross-entropy, backward, "
    f"global-norm clipping to {MAX_GRAD_NORM}, AdamW (lr {ADAMW['lr']}, betas {ADAMW['betas']}, "
    f"eps {ADAMW['eps']}, weight decay {ADAMW['weight_decay']} except biases and LayerNorm weights); "
    "the loss is read back to the host every step",
    "ONNX Runtime is not compared: the `onnxruntime` package runs inference only (training needs "
    "ONNX Runtime's separate training builds, not installed here)",
)


def training_block(peer: Peer, benchmark_prefix: str, goal: float | None, note: str) -> Block:
    """The rows of the training table at peer's precision: peer against bench_train's `<benchmark_prefix>/...`."""
    return Block(
        precision=peer.precision,
        markers=("<!-- training:begin -->", "<!-- training:end -->"),
        title="Training step against PyTorch",
        peers=(peer,),
        benchmark_name=train_benchmark(benchmark_prefix),
        goal=goal,
        goal_peers=(peer,),
        notes=(*TRAINING_NOTES, note),
    )


# The training suite's two blocks share one table: fp32 rows, then bf16 rows (issue 16 asks bf16 only reported).
TRAINING_BLOCKS = (
    training_block(
        PYTORCH_TRAIN, "train_step", 1.5, "fp32 rows: everything in float32; issue 16's goal is stated for base 8×128"
    ),
    training_block(
        PYTORCH_TRAIN_BF16,
        "train_step_bf16",
        None,
        f"bf16 rows: PyTorch runs forward and loss under {AUTOCAST_TEXT} and the backward outside it "
        "(its automatic mixed precision recipe); dnabert's `train_step_bf16` computes every GEMM of "
        "forward and backward in bfloat16 with float32 accumulation (`cpu_math::bf16`); both keep "
        "parameters, gradients and AdamW's state in float32",
    ),
)

SUITES = {
    "inference": Suite(
        name="inference", program_option="dnabert_bench", unit="batch", blocks=tuple(INFERENCE_BLOCKS.values())
    ),
    "training": Suite(
        name="training",
        program_option="dnabert_train_bench",
        unit="training step",
        blocks=TRAINING_BLOCKS,
    ),
    "contention": Suite(
        name="contention",
        program_option="dnabert_bench",
        unit="batch",
        blocks=(
            Block(
                precision="fp32",
                markers=("<!-- contention:begin -->", "<!-- contention:end -->"),
                title="Encoder under contention",
                peers=(PYTORCH, ONNX_RUNTIME),
                benchmark_name=encoder_benchmark("encoder_forward"),
                goal=1.0,  # dnabert's slowdown no worse than PyTorch's
                goal_peers=(PYTORCH,),
                notes=(INFERENCE_MODEL + ", fp32",),
            ),
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


def run_worker(role: str, precision: str, suite: Suite, args: argparse.Namespace, onnx_dir: str) -> dict:
    """Runs one worker on the cases of `suite` in a subprocess; returns its JSON, or {'error': ...}."""
    command = [
        sys.executable, os.path.abspath(__file__), "--worker", role, "--precision", precision,
        "--suites", suite.name, "--threads", str(args.threads), "--warmup", str(args.warmup), "--runs", str(args.runs),
        "--runs-large", str(args.runs_large), "--shapes", args.shapes_text, "--train-models", args.train_models_text,
        "--train-shapes", args.train_shapes_text, "--contention-shape", args.contention_shape_text,
        "--onnx-dir", onnx_dir,
    ]  # fmt: skip
    print(f"[compare_peers] running {role} {precision} ...", file=sys.stderr, flush=True)
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


def run_peer(peer: Peer, suite: Suite, args: argparse.Namespace, onnx_dir: str, prepared: dict[str, dict]) -> dict:
    """Runs the peer's workers in order; a preparation worker (export, quantization) runs once per
    suite and its answer is reused. Returns the last worker's answer, or the first error."""
    if peer.key not in args.peer_keys:
        return {"error": "skipped"}
    result: dict = {}
    for role in peer.roles:
        if role in PREPARATION_ROLES:
            if role not in prepared:
                prepared[role] = run_worker(role, peer.precision, suite, args, onnx_dir)
            result = prepared[role]
        else:
            result = run_worker(role, peer.precision, suite, args, onnx_dir)
        if "error" in result:
            break
    return result


def listed_benchmarks(binary: Path, args: argparse.Namespace) -> list[str] | None:
    """The benchmark names the program lists (`--benchmark_list_tests`), or None if it cannot list them."""
    try:
        done = subprocess.run(
            [str(binary), "--benchmark_list_tests=true"], env=engine_environment(args.threads, "ACTIVE"),
            stdout=subprocess.PIPE, text=True, timeout=args.timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None
    return done.stdout.split() if done.returncode == 0 else None


def benchmark_pattern(name: str) -> re.Pattern:
    """Matches Google Benchmark's full names for `name` (e.g. encoder_forward/8/128/real_time)."""
    return re.compile(rf"{re.escape(name)}(/.*)?")


def run_dnabert(suite: Suite, block: Block, cases: list[Case], args: argparse.Namespace) -> dict:
    """Runs the suite's benchmark program once per case with Google Benchmark repetitions and reads
    the medians; a case the program has no benchmark for gets no median (its cell reads n/a)."""
    binary = Path(getattr(args, suite.program_option))
    if not binary.is_file() or not os.access(binary, os.X_OK):
        return {"error": "not built", "detail": f"{binary} does not exist (build with -DDNABERT_BUILD_BENCH=ON)"}
    listed = listed_benchmarks(binary, args)
    if listed is None:
        return {"error": f"{binary.name} --benchmark_list_tests failed"}
    print(f"[compare_peers] running dnabert {block.precision} ({binary.name}) ...", file=sys.stderr, flush=True)
    times, absent = {}, []
    for case in cases:
        name = block.benchmark_name(case)
        if not any(benchmark_pattern(name).fullmatch(entry) for entry in listed):
            absent.append(name)
            continue
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
            reason = benchmark_error(report, name)
            return {"error": f"{binary.name} reported no median for {name}" + (f": {reason}" if reason else "")}
        times[case.label] = median
    detail = f"`{binary}`, median wall-clock time of Google Benchmark repetitions"
    if absent:
        detail += f"; n/a: {binary.name} has no benchmark {', '.join(absent)}"
        print(f"[compare_peers] {binary.name} has no benchmark {', '.join(absent)}: n/a", file=sys.stderr)
    return {"medians": times, "detail": detail}


UNIT_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def median_from_benchmark_json(report: dict, name: str) -> float | None:
    """Median wall-clock ms of the benchmark `name` (e.g. encoder_forward/8/128) in a Google Benchmark JSON report."""
    pattern = benchmark_pattern(name)
    for entry in report.get("benchmarks", []):
        if entry.get("error_occurred"):
            continue
        if entry.get("aggregate_name") == "median" and pattern.fullmatch(entry.get("run_name", "")):
            return float(entry["real_time"]) * UNIT_TO_MS[entry["time_unit"]]
    return None


def benchmark_error(report: dict, name: str) -> str | None:
    """The message the benchmark `name` skipped with (SkipWithError, e.g. bf16 in a build without oneDNN), if any."""
    pattern = benchmark_pattern(name)
    for entry in report.get("benchmarks", []):
        if entry.get("error_occurred") and pattern.fullmatch(entry.get("run_name", "")):
            return entry.get("error_message")
    return None


def cpu_description() -> str:
    fields = {}
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    flags = fields.get("flags", "").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2 + FMA" if "avx2" in flags else "no AVX2"
    precision_flags = [flag for flag in PRECISION_FLAGS if flag in flags]
    return (
        f"{fields.get('model name', platform.processor())} (family {fields.get('cpu family', '?')}, "
        f"model {fields.get('model', '?')}), {os.cpu_count()} logical CPUs, {isa}; "
        f"bf16/int8 flags: {', '.join(precision_flags) or 'none'} (of {', '.join(PRECISION_FLAGS)})"
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


def format_ms(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:,.1f}"


def format_rate(case: Case, value: float | None, missing: str) -> str:
    return missing if value is None else f"{case.batch_tokens / (value / 1e3):,.0f}"


def format_ratio(numerator: float | None, denominator: float | None) -> str:
    return "—" if numerator is None or denominator is None else f"{numerator / denominator:.2f}×"


def missing_cell(result: dict) -> str:
    """What an engine's cell without a median reads: '—' after an error, 'n/a' for a benchmark that does not exist."""
    return "—" if "error" in result else "n/a"


def dnabert_name(block: Block) -> str:
    return f"dnabert {block.precision}"


def fastest(medians: dict[str, dict[str, float]], peers: tuple[Peer, ...], label: str) -> float | None:
    """The smallest median among peers for a case, None if any of them has none."""
    values = [medians[peer.name].get(label) for peer in peers]
    return None if any(value is None for value in values) else min(values)


def goal_line(block: Block, cases: list[Case], medians: dict[str, dict[str, float]]) -> str:
    """Issue 16's goal for the block and the cases where it is met, missed or not measured (or that it has none)."""
    names = [peer.name for peer in block.goal_peers]
    target = names[0] if len(names) == 1 else "the faster of " + " and ".join(names)
    if block.goal is None:
        return f"{dnabert_name(block)} against {target}: reported only, issue 16 sets no goal for it."
    verdicts: dict[str, list[str]] = {"met": [], "not met": [], "not measured": []}
    for case in cases:
        ours, best = medians[dnabert_name(block)].get(case.label), fastest(medians, block.goal_peers, case.label)
        verdict = "not measured" if ours is None or best is None else "met" if best / ours >= block.goal else "not met"
        verdicts[verdict].append(case.label)
    found = "; ".join(f"{verdict} at {', '.join(labels)}" for verdict, labels in verdicts.items() if labels)
    return f"Goal (issue 16): {dnabert_name(block)} ≥ {block.goal}× {target} — {found}."


def markdown_table(parts: list[tuple[Block, dict[str, dict]]], cases: list[Case]) -> str:
    """Median ms and tokens/s per engine, dnabert's speed-up over each peer and, with more than
    one peer, over the faster one: a row per case of each (block, its engines) part. One part names
    its columns after its engines (with their errors); several parts, which have as many peers, share
    columns named after the peers' short names and dnabert, and each row names its precision."""
    first, _ = parts[0]
    if any(len(block.peers) != len(first.peers) for block, _ in parts):
        raise ValueError(f"the blocks of {first.title!r} need as many peers to share a table")
    several = len(parts) > 1
    if several:
        columns = [(name, "") for name in [peer.short_name for peer in first.peers] + ["dnabert"]]
    else:
        columns = [(name, f" ({result['error']})" if "error" in result else "") for name, result in parts[0][1].items()]
    header = ["model, batch×tokens"] + (["precision"] if several else [])
    for name, problem in columns:
        header += [f"{name}{problem} ms", f"{name} tokens/s"]
    header += [f"dnabert vs {peer.short_name}" for peer in first.peers]
    if len(first.peers) > 1:
        header.append("dnabert vs faster peer")
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for block, engines in parts:
        medians = {name: medians_ms(result) for name, result in engines.items()}
        for case in cases:
            cells = [case.label] + ([block.precision] if several else [])
            for name, result in engines.items():
                value = medians[name].get(case.label)
                cells += [format_ms(value, missing_cell(result)), format_rate(case, value, missing_cell(result))]
            ours = medians[dnabert_name(block)].get(case.label)
            cells += [format_ratio(medians[peer.name].get(case.label), ours) for peer in block.peers]
            if len(block.peers) > 1:
                cells.append(format_ratio(fastest(medians, block.peers, case.label), ours))
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def error_line(engines: dict[str, dict]) -> str:
    """The reduced-precision peers' errors against their own fp32, '' where none was measured."""
    errors = [f"{name} {result['relative_error']:.1e}" for name, result in engines.items()
              if "relative_error" in result]
    return f"Error vs the same engine's fp32 (batch {ERROR_SHAPE.label}): " + "; ".join(errors) + "." if errors else ""


def docs_section(blocks: list[Block], cases: list[Case], args: argparse.Namespace, engines: dict[str, dict],
                 load_before: str, setting_lines: list[str], runs: str, body: list[str]) -> str:
    """A docs section of one or more blocks (the first one's markers and title): the run's facts, every
    block's notes, each engine's facts, then body."""
    block = blocks[0]
    notes = dict.fromkeys(note for each in blocks for note in each.notes)
    lines = [
        block.markers[0],
        f"## {block.title} (written by `bench/compare_peers.py`)",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {cpu_description()}; load average before the run: {load_before}{scheduling_note()}",
        f"- Threads: {args.threads} for every engine, one engine at a time; `OMP_WAIT_POLICY=PASSIVE` for "
        "the peers, `ACTIVE` for dnabert (its GEMM engine shares its single OpenMP pool)",
        *setting_lines,
        *(f"- {note}" for note in notes),
        "- Shapes: " + "; ".join(describe_model(model) for model in dict.fromkeys(case.model for case in cases)),
        f"- Timed runs per case after {args.warmup} warm-up runs (medians quoted): {runs}",
    ]
    for name, result in engines.items():
        facts = [result.get(key) for key in ("version", "error", "detail")]
        lines.append(f"- {name}: " + "; ".join(fact for fact in facts if fact))
    return "\n".join(lines + ["", *body, block.markers[1]]) + "\n"


def speed_section(suite: Suite, parts: list[tuple[Block, dict[str, dict]]], cases: list[Case],
                  args: argparse.Namespace, load_before: str) -> str:
    """The docs section of an inference precision or of training (both its precisions), from each
    (block, its engines) part: table, errors, goals."""
    engines = {name: result for _, part_engines in parts for name, result in part_engines.items()}
    medians = {name: medians_ms(result) for name, result in engines.items()}
    body = [markdown_table(parts, cases), ""]
    errors = error_line(engines)
    body += [errors] if errors else []
    body += [
        f"Milliseconds are medians per {suite.unit}; speed-up = peer median / dnabert median "
        "(> 1 means dnabert is faster).",
        *(goal_line(block, cases, medians) for block, _ in parts),
    ]
    runs = ", ".join(f"{case.label}: {runs_for(case, args)}" for case in cases)
    return docs_section([block for block, _ in parts], cases, args, engines, load_before, [], runs, body)


def parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn after which Linux kills the child when this (single-threaded) process dies, however
    it dies (prctl PR_SET_PDEATHSIG); None where there is no prctl (the caller's finally still stops it)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


@contextlib.contextmanager
def busy_process() -> Iterator[int | None]:
    """Runs BUSY_CODE in a fresh Python for the duration of the with-block, pinned to the first CPU this
    process may use (CPU 0 normally); yields that CPU, or None if pinning failed. The process is killed
    when the block ends however it ends (Ctrl-C and, through exit_on_signal, SIGTERM included), at
    interpreter exit, and by the kernel if this script is killed."""
    process = subprocess.Popen([sys.executable, "-c", BUSY_CODE], preexec_fn=parent_death_signal())
    atexit.register(stop_process, process)
    try:
        cpu: int | None = min(os.sched_getaffinity(0))
        try:
            os.sched_setaffinity(process.pid, {cpu})
        except OSError:
            cpu = None
        time.sleep(0.2)  # let it start spinning before the engine starts
        if process.poll() is not None:
            raise RuntimeError(f"the busy process exited with status {process.returncode}")
        yield cpu
    finally:
        stop_process(process)
        atexit.unregister(stop_process)


def contention_section(suite: Suite, block: Block, cases: list[Case], args: argparse.Namespace,
                       idle: dict[str, dict], loaded: dict[str, dict], load_before: str, pinned: str) -> str:
    """The contention suite's section: idle and loaded medians per engine, slowdowns, dnabert's against PyTorch's."""
    (case,) = cases
    ours_name = dnabert_name(block)
    slowdowns: dict[str, float | None] = {}
    rows = [
        f"| engine, {case.label} | idle ms | with one busy process ms | slowdown (loaded / idle) |",
        "|---|---|---|---|",
    ]
    for name in idle:
        before, after = medians_ms(idle[name]).get(case.label), medians_ms(loaded[name]).get(case.label)
        slowdowns[name] = None if before is None or after is None else after / before
        problems = "; ".join(dict.fromkeys(result["error"] for result in (idle[name], loaded[name])
                                           if "error" in result))
        missing = missing_cell(idle[name] if "error" in idle[name] else loaded[name])
        rows.append(
            f"| {name}{f' ({problems})' if problems else ''} | {format_ms(before, missing)} | "
            f"{format_ms(after, missing)} | {format_ratio(after, before)} |"
        )
    (reference,) = block.goal_peers
    ours, theirs = slowdowns.get(ours_name), slowdowns.get(reference.name)
    goal = f"Goal (issue 16): {ours_name}'s slowdown no worse than {reference.name}'s"
    if ours is None or theirs is None:
        verdict = f"{goal} — not measured."
    else:
        met = "met" if ours <= theirs * block.goal else "not met"
        ratio = f"{ours:.2f} / {theirs:.2f} = {ours / theirs:.2f}"
        verdict = f"{ours_name}'s slowdown / {reference.name}'s: {ratio}. {goal} — {met}."
    body = ["\n".join(rows), "", verdict]
    settings = [
        f"- Contention: each engine timed alone, then at once again while one busy process "
        f"(`python3 -c '{BUSY_CODE}'`) runs, {pinned}; slowdown = loaded median / idle median"
    ]
    runs = f"{case.label}: {runs_for(case, args)} idle, {runs_for(case, args)} loaded"
    return docs_section([block], cases, args, idle, load_before, settings, runs, body)


def suite_cases(suite: Suite, args: argparse.Namespace) -> list[Case]:
    """Inference: DNABERT-6 base at every --shapes; training: every --train-models at every
    --train-shapes; contention: DNABERT-6 base at --contention-shape."""
    if suite.name == "inference":
        return [Case("base", shape) for shape in args.shapes]
    if suite.name == "contention":
        return [Case("base", args.contention_shape)]
    return [Case(model, shape) for model in args.train_models for shape in args.train_shapes]


def suite_blocks(suite: Suite, args: argparse.Namespace) -> list[Block]:
    """The suite's blocks that this run makes: inference's are chosen with --precisions."""
    if suite.name == "inference":
        return [INFERENCE_BLOCKS[precision] for precision in args.precisions]
    return list(suite.blocks)


def suite_sections(suite: Suite, args: argparse.Namespace) -> list[list[Block]]:
    """The run's blocks of the suite grouped by docs section (blocks with the same markers share one)."""
    sections: dict[tuple[str, str], list[Block]] = {}
    for block in suite_blocks(suite, args):
        sections.setdefault(block.markers, []).append(block)
    return list(sections.values())


def warn_if_busy() -> str:
    """The load average now, after warning when other work runs (the timings will be noisy)."""
    load = load_average()
    if float(load.split()[0]) > 0.5 * (os.cpu_count() or 1):
        print(f"[compare_peers] warning: load average {load} — other work is running, the timings will be noisy",
              file=sys.stderr)
    return load


def compare_speed(suite: Suite, blocks: list[Block], cases: list[Case], args: argparse.Namespace, onnx_dir: str,
                  prepared: dict[str, dict]) -> str:
    """Runs each block's peers (those --peers names) and dnabert one after another; returns the blocks'
    docs section."""
    load_before = warn_if_busy()
    parts = []
    for block in blocks:
        engines = {peer.name: run_peer(peer, suite, args, onnx_dir, prepared) for peer in block.peers}
        engines[dnabert_name(block)] = run_dnabert(suite, block, cases, args)
        parts.append((block, engines))
    return speed_section(suite, parts, cases, args, load_before)


def compare_under_contention(suite: Suite, blocks: list[Block], cases: list[Case], args: argparse.Namespace,
                             onnx_dir: str, prepared: dict[str, dict]) -> str:
    """Runs each engine of the (one) block alone, then at once again beside a busy process; returns the
    docs section."""
    (block,) = blocks
    load_before = warn_if_busy()
    runners = [(peer.name, lambda peer=peer: run_peer(peer, suite, args, onnx_dir, prepared)) for peer in block.peers]
    runners.append((dnabert_name(block), lambda: run_dnabert(suite, block, cases, args)))
    idle, loaded, cpus = {}, {}, set()
    for name, run in runners:
        idle[name] = run()
        with busy_process() as cpu:
            print(f"[compare_peers] ... again beside a busy process on CPU {cpu}", file=sys.stderr, flush=True)
            loaded[name] = run()
        cpus.add(cpu)
    pinned = f"pinned to CPU {cpus.pop()}" if len(cpus) == 1 and None not in cpus else "not pinned to one CPU"
    return contention_section(suite, block, cases, args, idle, loaded, load_before, pinned)


def compare(suite: Suite, args: argparse.Namespace) -> list[tuple[tuple[str, str], str]]:
    """Runs the suite's sections one after another; returns each one's markers and text. The ONNX
    export (and quantization) is shared by the suite's tables, in one temporary folder."""
    cases = suite_cases(suite, args)
    measure = compare_under_contention if suite.name == "contention" else compare_speed
    with tempfile.TemporaryDirectory(prefix="dnabert-peers-") as onnx_dir:
        prepared: dict[str, dict] = {}
        return [
            (blocks[0].markers, measure(suite, blocks, cases, args, onnx_dir, prepared))
            for blocks in suite_sections(suite, args)
        ]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    parser.add_argument(
        "--suites", default="inference,training",
        help=f"what to compare: {', '.join(SUITES)} (default inference,training)",
    )
    parser.add_argument(
        "--precisions", dest="precisions_text", default=",".join(PRECISIONS),
        help=f"inference tables to make: {', '.join(PRECISIONS)} (default all)",
    )  # fmt: skip
    parser.add_argument("--shapes", dest="shapes_text", default="1x128,8x128,8x512", help="inference BATCHxTOKENS list")
    parser.add_argument("--train-shapes", dest="train_shapes_text", default="8x128", help="training BATCHxTOKENS list")
    parser.add_argument(
        "--train-models", dest="train_models_text", default="base,small", help="training model shapes: base, small"
    )
    parser.add_argument(
        "--contention-shape", dest="contention_shape_text", default="8x128",
        help="contention BATCHxTOKENS (default 8x128)",
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
    parser.add_argument("--write-docs", type=Path, help="markdown file whose table sections to replace or append")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help=argparse.SUPPRESS)
    parser.add_argument("--onnx-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        args.shapes = parse_shapes(args.shapes_text)
        args.train_shapes = parse_shapes(args.train_shapes_text)
        args.contention_shape = parse_shapes(args.contention_shape_text)[0]
        if "," in args.contention_shape_text:
            raise argparse.ArgumentTypeError("--contention-shape takes one BATCHxTOKENS")
        args.train_models = parse_list(args.train_models_text, MODEL_SHAPES, "models")
        args.precisions = parse_list(args.precisions_text, PRECISIONS, "--precisions")
        args.suite_list = [SUITES[name] for name in parse_list(args.suites, SUITES, "--suites")]
        args.peer_keys = set(parse_list(args.peers, ("torch", "ort"), "--peers"))
    except argparse.ArgumentTypeError as problem:
        parser.error(str(problem))
    if args.threads < 1 or args.warmup < 2 or min(args.runs, args.runs_large) < 5:
        parser.error("need --threads >= 1, --warmup >= 2 and at least 5 timed runs (--runs, --runs-large)")
    return args


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


def exit_on_signal(signum: int, _frame) -> None:
    """SIGTERM and SIGHUP end the run through SystemExit, so that finally clauses (the busy process) run."""
    sys.exit(128 + signum)


def main() -> None:
    args = parse_arguments()
    if args.worker:
        (suite,) = args.suite_list
        args.cases = suite_cases(suite, args)
        print(json.dumps(WORKERS[args.worker](args)))
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, exit_on_signal)
    if args.write_docs and args.write_docs.exists():  # fail now, not after minutes of timing
        text = args.write_docs.read_text(encoding="utf-8")
        for suite in args.suite_list:
            for block in suite_blocks(suite, args):
                section_bounds(args.write_docs, text, block.markers)
    started = time.perf_counter()
    for suite in args.suite_list:
        for markers, section in compare(suite, args):
            print(section)
            if args.write_docs:
                write_docs(args.write_docs, section, markers)
                print(f"[compare_peers] wrote {markers[0]} ... of {args.write_docs}", file=sys.stderr)
    print(f"[compare_peers] took {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
