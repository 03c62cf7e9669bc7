#!/usr/bin/env python3
"""Genome-scan goldens for dnabert's `analysis::scan_genome` test and `dnabert scan`'s CLI test.

Independently of dnabert, for the real 2-class classifier tests/data/parity/cls_k6 (Hugging Face
transformers, BertForSequenceClassification, eval) on the C. elegans sample of Debian's
htslib-test, restricted to tests/data/scan/ce_regions.bed (merged per contig), with the rule
documented in include/dnabert/analysis/genome_scan.hpp:
  * windows of W nt start at the span's start and every S nt while they fit; when the last one
    stops short of the span's end, one more window ends at the end (a shorter span: one window);
  * a window's bedGraph interval is the bases whose nearest window centre is its own (ties to
    the later window), found here by brute force base by base;
  * value = P(class 1) of the window (k-mers of the upper-cased window, [CLS] ... [SEP]).
Writes tests/data/scan/ce_regions.bedGraph (W = 67, the model's default; S = 25).

Run from the repository root:  python3 tests/reference/make_scan_goldens.py
"""

import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_variant_goldens import FASTAS, load_model, positive_probability, read_fasta  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "scan"
WINDOW, STRIDE = 67, 25


def read_regions(path):
    spans = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if not fields or fields[0] in ("track", "browser") or fields[0].startswith("#"):
            continue
        spans.setdefault(fields[0], []).append((int(fields[1]), int(fields[2])))
    merged = {}
    for contig, intervals in spans.items():
        out = []
        for start, end in sorted(intervals):
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], end))
            else:
                out.append((start, end))
        merged[contig] = out
    return merged


def window_starts(start, end):
    if end - start <= WINDOW:
        return [(start, end)]
    starts = list(range(start, end - WINDOW + 1, STRIDE))
    if starts[-1] + WINDOW < end:
        starts.append(end - WINDOW)
    return [(s, s + WINDOW) for s in starts]


def cells(windows, start, end):
    owner = []
    for p in range(start, end):
        best, best_distance = None, None
        for w, (s, e) in enumerate(windows):
            if s <= p < e:
                distance = abs(p + 0.5 - (s + e) / 2)
                if best is None or distance <= best_distance:
                    best, best_distance = w, distance
        owner.append(best)
    out = {}
    for offset, w in enumerate(owner):
        first, last = out.get(w, (start + offset, start + offset))
        out[w] = (first, start + offset + 1)
    return [out[w] for w in range(len(windows))]


def main():
    torch.set_num_threads(1)
    model, vocab = load_model()
    genome = read_fasta(FASTAS["ce"])
    regions = read_regions(OUT / "ce_regions.bed")
    lines = []
    for contig in genome:  # FASTA order, as the scan streams it
        for start, end in regions.get(contig, []):
            windows = window_starts(start, end)
            for (s, e), (cell_start, cell_end) in zip(windows, cells(windows, start, end)):
                p = positive_probability(model, vocab, genome[contig][s:e])
                lines.append(f"{contig}\t{cell_start}\t{cell_end}\t{p:.9g}\t{s}\t{e}\n")
    (OUT / "ce_regions.bedGraph").write_text(
        "# contig, cell start, cell end, P(class 1), window start, window end (0-based half-open)\n" + "".join(lines))
    print(f"wrote {len(lines)} windows to {OUT / 'ce_regions.bedGraph'}")


if __name__ == "__main__":
    main()
