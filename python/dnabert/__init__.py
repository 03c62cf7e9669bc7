"""DNABERT in C++, from Python: the dnabert engine with NumPy in and out.

    import dnabert
    m = dnabert.load("model_dir")                      # a Hugging Face DNABERT folder
    p = m.predict(["ACGTAGCTAGCTAGCT", "TTGACA..."])   # [N, C] probabilities
    e = m.embed(sequences, pooling="mean")             # [N, hidden]
    s = m.attention_scores(sequences)                  # [N, L_max], DNABERT-viz, NaN past each end
    dnabert.finetune(model="pretrained", train="train.tsv", dev="dev.tsv", output="out", epochs=3)

Training, variant scoring and genome scans run the command-line program's commands in this
process: their keyword arguments are its options (``epochs=3`` is ``--epochs 3``; ``dnabert
finetune --help`` lists them, as does ``dnabert.help("finetune")``). Every call releases the
GIL while it computes. Errors are Python exceptions with dnabert's message: ValueError for bad
input (FormatError, a ValueError, for a malformed file), OSError for what the system refused.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, Union

import numpy as np

from . import _core
from ._core import BpeTokenizer, FormatError, KmerTokenizer

__all__ = [
    "BpeTokenizer",
    "FormatError",
    "FastaRecord",
    "KmerTokenizer",
    "Model",
    "evaluate",
    "finetune",
    "help",
    "load",
    "pretrain",
    "read_fasta",
    "run",
    "scan",
    "tokenizer",
    "variants",
]

Sequences = Union[str, bytes, Iterable[str], Iterable[bytes], np.ndarray]
"""One sequence, a list of them, or a NumPy array of str or bytes."""

Progress = Union[Callable[[dict], Any], Any, None]
"""A callable taking one step report (a dict), or a tqdm-like bar (with ``update`` and ``total``)."""


def _is_bpe_tokenizer(path: str) -> bool:
    """Whether tokenizer.json holds a BPE model (DNABERT-2's), not the WordPiece one transformers writes beside a DNABERT vocab.txt."""
    with open(path, encoding="utf-8") as handle:
        try:
            document = json.load(handle)
        except ValueError as error:
            raise FormatError(f"{path}: {error}") from None
    model = document.get("model") if isinstance(document, dict) else None
    return isinstance(model, dict) and model.get("type") == "BPE"


def tokenizer(folder: str | os.PathLike) -> KmerTokenizer | BpeTokenizer:
    """A model folder's tokenizer: DNABERT-2's BPE when it holds a tokenizer.json, else DNABERT's k-mers (k from vocab.txt)."""
    folder = os.fspath(folder)
    path = os.path.join(folder, "tokenizer.json")
    if os.path.exists(path) and _is_bpe_tokenizer(path):
        return BpeTokenizer(path)
    vocab = os.path.join(folder, "vocab.txt")
    with open(vocab) as handle:
        size = sum(1 for line in handle if line.strip())
    for k in range(1, 16):
        if 4**k + 5 == size:
            return KmerTokenizer(k)
    raise FormatError(f"{vocab}: {size} tokens is not DNABERT's vocabulary of any k (4^k + 5)")


class FastaRecord(NamedTuple):
    """One FASTA record: the header's first word, the sequence as written, the rest of the header."""

    id: str
    sequence: str
    description: str


def read_fasta(path: str | os.PathLike) -> Iterator[FastaRecord]:
    """The records of a FASTA file (plain or gzip), read one at a time with dnabert's checks."""
    for record in _core.FastaReader(os.fspath(path)):
        yield FastaRecord(*record)


class Model:
    """A model folder loaded for inference; ``dnabert.load`` makes one."""

    def __init__(self, core: _core.Model):
        self._core = core

    def predict(self, sequences: Sequences, *, logits: bool = False, batch_size: int = 32, long: str = "mean",
                second: Sequences | None = None) -> np.ndarray:
        """Class probabilities [N, C] float32 of each sequence (``logits=True``: the logits).

        A regression model gives its score in column 0; a multi-label model a sigmoid per label. A
        sequence longer than 510 k-mers is cut into pieces whose logits are combined by ``long``
        ('mean' or 'max'), as ``dnabert predict --long``; a long-sequence (DNABERT-XL) model reads
        them whole. ``second`` (one per sequence) makes pairs [CLS] a [SEP] b [SEP].
        """
        return self._core.predict(sequences, logits, batch_size, long, second)

    def embed(self, sequences: Sequences, pooling: str = "cls", layer: int = -1, *, batch_size: int = 32) -> np.ndarray:
        """One vector per sequence [N, hidden] float32, from hidden state ``layer``.

        ``layer`` counts as Hugging Face's hidden_states: 0 is the embeddings' output, -1 the last
        layer. ``pooling``: 'cls' ([CLS]'s state), 'mean' (every token's), 'pooler' (the trained
        pooler; last layer only), or 'none' for every token: [N, T_max, hidden] with NaN past a
        sequence's T = k-mers + 2 per 510-k-mer piece tokens.
        """
        return self._core.embed(sequences, pooling, layer, batch_size)

    def attention_scores(self, sequences: Sequences, layer: int | str = -1, head: int = -1, *,
                         batch_size: int = 32) -> np.ndarray:
        """DNABERT-viz attention scores [N, L_max] float32, one per nucleotide, NaN past a sequence's end.

        The [CLS] row of ``layer``'s attention (-1 or 'last': the last layer; 'all': every layer
        summed), summed over heads (or ``head`` alone), each nucleotide the mean of the tokens
        covering it (the k overlapping k-mers; for DNABERT-2, the BPE token holding it),
        L2-normalised per sequence, as ``dnabert attention`` computes them.
        """
        return self._core.attention_scores(sequences, layer, head, batch_size)

    @property
    def config(self) -> dict:
        """The model's config.json as a dict."""
        return json.loads(self._core.config_json)

    @property
    def k(self) -> int | None:
        """The k-mer size (None for a BPE model, DNABERT-2)."""
        return None if self._core.bpe else self._core.k

    @property
    def num_labels(self) -> int:
        """Classes (1 for a regression model)."""
        return self._core.num_labels

    @property
    def tokenizer(self) -> KmerTokenizer | BpeTokenizer:
        """The model's tokenizer: its k-mers, or its folder's BPE tokenizer.json."""
        return tokenizer(self._core.path) if self._core.bpe else KmerTokenizer(self._core.k)

    def __repr__(self) -> str:
        return (f"dnabert.Model({self._core.path!r}, device={self._core.device!r}, "
                f"precision={self._core.precision!r}, k={self.k})")


def load(path: str | os.PathLike, device: str = "cpu", precision: str = "fp32", *, threads: int = 0,
         cuda_kernels: str = "") -> Model:
    """Loads a DNABERT model folder (config.json, vocab.txt, model.safetensors or pytorch_model.bin).

    ``device``: 'cpu', 'cuda' or 'cuda:N' (a module built with CUDA). ``precision``: 'fp32';
    on the CPU also 'bf16' and 'int8' (oneDNN), on CUDA 'tf32' and 'bf16'. ``threads``: CPU
    threads (0: all). A pre-trained folder serves embed and attention_scores; predict needs a
    fine-tuned classifier. Loading warnings (unused tensors, ...) become Python warnings.
    """
    core = _core.Model(os.fspath(path), device, precision, threads, cuda_kernels)
    if core.warnings:
        import warnings

        for text in core.warnings:
            warnings.warn(text, stacklevel=2)  # each names the file
    return Model(core)


# --- the commands ---------------------------------------------------------------------------


def _option_name(key: str) -> str:
    # dnabert_2_5_compat -> --dnabert-2.5-compat; every other key: underscores become dashes.
    if key == "dnabert_2_5_compat":
        return "--dnabert-2.5-compat"
    return "--" + key.replace("_", "-")


def _arguments(command: str, options: dict) -> list[str]:
    args = [command]
    for key, value in options.items():
        if value is None or value is False:
            continue
        name = _option_name(key)
        if value is True:
            args.append(name)
        elif isinstance(value, (list, tuple)):
            for item in value:  # a repeated option: --model M3 --model M6
                args += [name, os.fspath(item) if isinstance(item, os.PathLike) else str(item)]
        else:
            args += [name, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return args


def _step_callback(progress: Progress) -> Callable | None:
    if progress is None:
        return None
    if hasattr(progress, "update") and hasattr(progress, "total"):  # a tqdm bar (or one like it)
        shown = {"step": None}

        def advance(step, total, loss, learning_rate, tokens_seen):
            if shown["step"] is None:  # a resumed run starts past 0
                shown["step"] = step - 1
                progress.total = total
                if hasattr(progress, "n"):
                    progress.n = step - 1
            progress.update(step - shown["step"])
            shown["step"] = step
            if hasattr(progress, "set_postfix"):
                progress.set_postfix(loss=f"{loss:.4f}", lr=f"{learning_rate:.2e}", refresh=False)

        return advance

    def report(step, total, loss, learning_rate, tokens_seen):
        progress({"step": step, "total_steps": total, "loss": loss, "learning_rate": learning_rate,
                  "tokens_seen": tokens_seen})

    return report


def run(command: str, *, progress: Progress = None, **options: Any) -> None:
    """Runs any dnabert command in this process: ``run("predict", model=m, input="x.fa", output="p.tsv")``.

    Keyword arguments are the command's options (underscores for dashes; True for a flag; a list
    repeats an option). ``progress`` receives each optimizer step of a training command.
    """
    _core.run_command(_arguments(command, options), _step_callback(progress))


def help(command: str | None = None) -> str:  # noqa: A001 - the CLI's word for it
    """The command-line help of ``command`` (every option ``run`` and the trainers take), or the list of commands."""
    return _core.run_command(([command] if command else []) + ["--help"])


def finetune(*, model: str | os.PathLike | None = None, train: str | os.PathLike, output: str | os.PathLike,
             progress: Progress = None, **options: Any) -> str:
    """Fine-tunes a classifier as ``dnabert finetune`` does; returns the output folder.

    ``model``: a pre-trained folder (or ``config=`` to start from random weights); ``train`` (and
    ``dev``): DNABERT TSV, DNABERT-2 CSV or FASTA with ``train_labels``. Other options as the
    command's: ``epochs``, ``lr``, ``warmup``, ``batch_size``, ``num_labels``, ``long_pooling``, ...
    ``progress``: a callable given each step's report (a dict), or a tqdm bar.
    """
    run("finetune", progress=progress, model=model, train=train, output=output, **options)
    return os.fspath(output)


def pretrain(*, input: str | os.PathLike, output: str | os.PathLike, progress: Progress = None,  # noqa: A002
             **options: Any) -> str:
    """Pre-trains by masked language modelling as ``dnabert pretrain`` does; returns the output folder.

    ``input``: a FASTA genome, a packed corpus, or DNABERT's text of one k-mer sentence or sequence
    per line; ``config=`` (a BertConfig) to start from random weights or ``model=`` to continue a
    folder. Other options as the command's (``max_steps``, ``batch_size``, ``lr``, ...).
    """
    run("pretrain", progress=progress, input=input, output=output, **options)
    return os.fspath(output)


def _read_table(path: str) -> np.ndarray:
    # A TSV with a header row as a structured array: integer, float or str columns, as they read.
    with open(path, newline="") as handle:
        rows = [row for row in csv.reader(handle, delimiter="\t") if row and not row[0].startswith("track")]
    header, body = [name or "index" for name in rows[0]], rows[1:]  # DNABERT's mutations.tsv has an unnamed index
    columns = list(zip(*body)) if body else [()] * len(header)
    fields, values = [], []
    for name, column in zip(header, columns):
        for kind in (int, float):
            try:
                converted = [kind(cell) for cell in column]
                fields.append((name, np.int64 if kind is int else np.float64))
                values.append(converted)
                break
            except ValueError:
                continue
        else:
            fields.append((name, f"U{max([len(cell) for cell in column] + [1])}"))
            values.append(list(column))
    table = np.empty(len(body), dtype=fields)
    for (name, _), column in zip(fields, values):
        table[name] = column
    return table


def _read_bed(path: str, names: list[str], types: list) -> np.ndarray:
    # A bedGraph or narrowPeak file (no header; track lines skipped) as a structured array.
    with open(path) as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle if line.strip() and not line.startswith("track")]
    longest = max([len(row[0]) for row in rows] + [1])
    dtype = [(name, f"U{longest}" if kind is str else kind) for name, kind in zip(names, types)]
    table = np.empty(len(rows), dtype=dtype)
    for i, row in enumerate(rows):
        table[i] = tuple(kind(cell) if kind is not str else cell for kind, cell in zip(types, row))
    return table


def evaluate(*, model: str | os.PathLike, input: str | os.PathLike, **options: Any) -> dict:  # noqa: A002
    """DNABERT's metrics of a fine-tuned model on a labelled input, as ``dnabert evaluate`` writes them (JSON).

    With ``all_checkpoints=True``, one entry per checkpoint folder of a finetune output.
    """
    with tempfile.TemporaryDirectory(prefix="dnabert-") as scratch:
        out = os.path.join(scratch, "metrics.json")
        run("evaluate", model=model, input=input, output=out, **options)
        with open(out) as handle:
            return json.load(handle)


def variants(*, model: str | os.PathLike, progress: Progress = None, **options: Any) -> np.ndarray:
    """Variant effect scores as ``dnabert variants`` computes them, as a structured NumPy array.

    Either ``fasta`` and ``vcf`` (a reference and its variants), or ``input`` and ``mut_file``
    (DNABERT's mutation file). The fields are the columns of the command's TSV output.
    """
    with tempfile.TemporaryDirectory(prefix="dnabert-") as scratch:
        out = os.path.join(scratch, "variants.tsv")
        run("variants", progress=progress, model=model, output=out, **options)
        return _read_table(out)


def scan(*, model: str | os.PathLike, fasta: str | os.PathLike, peaks: bool = False,
         **options: Any) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Scans a genome with a 2-class model as ``dnabert scan`` does.

    Returns the bedGraph as a structured array (contig, start, end, score: P(class 1) over the
    bases nearest each window's centre); with ``peaks=True`` also the merged windows with
    P >= ``threshold`` (narrowPeak fields). Other options: ``window``, ``stride``, ``regions``, ...
    """
    with tempfile.TemporaryDirectory(prefix="dnabert-") as scratch:
        out = os.path.join(scratch, "scan.bedgraph")
        peak_file = os.path.join(scratch, "peaks.narrowPeak") if peaks else None
        run("scan", model=model, fasta=fasta, output=out, peaks=peak_file, **options)
        cells = _read_bed(out, ["contig", "start", "end", "score"], [str, int, int, float])
        if not peaks:
            return cells
        named = _read_bed(peak_file, ["contig", "start", "end", "name", "score", "strand", "signal", "p_value",
                                      "q_value", "peak"], [str, int, int, str, int, str, float, float, float, int])
        return cells, named
