#!/usr/bin/env python3
"""Inputs for the `dnabert motifs --scores ... --known ...` CLI test (tests/cli/CMakeLists.txt),
and what that command must report for them, computed here independently of dnabert:

- planted.csv: 60 positives (label 1) carrying a site sampled from an 8-column PWM and 60 random
  negatives (label 0), 50-60 nt, as a DNABERT-2 CSV;
- planted_scores.npy: float32 [120, 60] attention-like scores in input order, as `dnabert attention
  --format npy` writes them: exponential noise (mean 0.1), a plateau of 1 x U(0.5, 1.5) over each
  planted site, NaN past each sequence's end;
- planted_atten_f8.npy: the same scores as DNABERT's motif pipeline saves its atten.npy: float64
  (numpy's default), zeros rather than NaN past each sequence's end (np.zeros, then each row filled);
  `motifs --scores` on it must report what it reports for planted_scores.npy;
- known.meme: the planted PWM (PLANTED, alternate name "planted_PWM") between two decoys, in the
  MEME minimal layout;
- expected.json: every motif that `dnabert motifs --scores planted_scores.npy --input planted.csv
  --known known.meme --window 12` must find (key, sites = windows, enrichment, consensus) with its
  best known match (name, correlation, strand, offset, overlap), computed below with numpy/scipy
  from the three files as written (read back from disk, as the CLI reads them).

The definition implemented (DNABERT's motif_utils.py as include/dnabert/analysis/motif_discovery.hpp
and motif_comparison.hpp document it; only the files above are used, no dnabert code):
 1. Positives are the label-1 rows, negatives the label-0 rows, in file order; each positive's
    scores are its .npy row cut to the sequence length (float32 widened to float64).
 2. High-attention regions: maximal runs where score > mean(score) and score > 10 * min(score),
    kept when at least min_len = 5 long; each region's (upper-cased) substring is a candidate
    motif; candidates are listed in order of first appearance, each with its instances
    (positive index, start, end).
 3. Enrichment: x = positives containing the motif, n = all sequences containing it (each
    sequence counted once; plain substring search), p = scipy.stats.hypergeom.sf(x - 1, N, K, n)
    with N = all sequences, K = positives; p-values BH-adjusted over all candidates (statsmodels'
    fdr_bh, written out with numpy); a motif is kept when adjusted p < 0.005.
 4. Merging, shortest first (stable): each motif is placed on every key so far at every gap-free
    offset (key position 0 at query position `offset`, 1 - |key| <= offset < |query|); the best
    offset has the most identical letters, ties to the larger overlap, then the leftmost offset.
    An alignment counts when matches >= max(min_len - 1, 0.5 * min(|motif|, |key|)). If any key
    counts, the motif's instances move into the earliest key with the most matches, each
    re-placed as [start + offset, start + offset + |key|); otherwise the motif becomes a key.
 5. Windows of W = 12 nt: extra = W - (end - start), left = floor(extra / 2), right = extra - left;
    the window [start - left, end + right) is kept when it lies inside the sequence (end <= length;
    DNABERT's own make_window also drops windows ending exactly at the sequence end).
    Motifs with fewer than 3 windows are dropped. sites = the number of windows.
 6. The motif's probability matrix: column counts of A, C, G, T over its windows / window count.
 7. Comparison with each known motif (rows as printed in known.meme): for strand '+' (as given)
    and '-' (reverse complement: rows reversed, A<->T, C<->G), every offset (known column 0 at
    query column `offset`) whose overlap is at least max(shorter - 2, min(4, shorter), 1) columns
    (shorter = the narrower motif's width); score = mean over the overlapping columns of the
    Pearson correlation of the two columns (np.corrcoef; 0 when either column's sum of squared
    deviations is below 1e-12). Best placement: highest score; ties to '+', then (same strand) the
    larger overlap, then the leftmost offset. Best known motif: highest score, the first in the
    file on ties.
The script refuses to write expected.json when a result rests on a near-tie (a score within 1e-9 of
a mean or threshold, alignments or matches within 1e-9 of the runner-up), where the last bits of
the arithmetic could decide it.

Usage: python3 tests/reference/make_motif_cli_fixtures.py [tests/data/motif/cli]
"""
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import hypergeom

rng = np.random.default_rng(11)
PWM = np.array([[0.03, 0.04, 0.03, 0.90], [0.05, 0.05, 0.80, 0.10], [0.94, 0.02, 0.02, 0.02],  # TGACTCAG
                [0.03, 0.90, 0.04, 0.03], [0.03, 0.03, 0.09, 0.85], [0.03, 0.91, 0.03, 0.03],
                [0.88, 0.03, 0.06, 0.03], [0.03, 0.04, 0.90, 0.03]])
WIDTH = 60
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "motif" / "cli"

# The CLI test's options (tests/cli/CMakeLists.txt: --window 12) and DNABERT's defaults otherwise.
WINDOW, MIN_LEN, P_CUTOFF, MIN_INSTANCES = 12, 5, 0.005, 3
MAX_UNALIGNED, MIN_OVERLAP = 2, 4
NEAR = 1e-9


def random_dna(length):
    return "".join(rng.choice(list("ACGT"), size=length))


def write_fixtures(out):
    sequences, labels, scores = [], [], np.full((120, WIDTH), np.nan, dtype=np.float32)
    for i in range(120):
        length = int(rng.integers(50, WIDTH + 1))
        sequence = random_dna(length)
        row = rng.exponential(0.1, size=length)
        if i % 2 == 0:  # positives and negatives interleaved
            start = int(rng.integers(0, length - len(PWM) + 1))
            site = "".join("ACGT"[rng.choice(4, p=column)] for column in PWM)
            sequence = sequence[:start] + site + sequence[start + len(PWM):]
            row[start:start + len(PWM)] += rng.uniform(0.5, 1.5, size=len(PWM))
        sequences.append(sequence)
        labels.append(1 if i % 2 == 0 else 0)
        scores[i, :length] = row
    (out / "planted.csv").write_text("sequence,label\n" + "".join(f"{s},{l}\n" for s, l in zip(sequences, labels)))
    np.save(out / "planted_scores.npy", scores)
    np.save(out / "planted_atten_f8.npy", np.nan_to_num(scores, nan=0.0).astype(np.float64))

    decoy_a = rng.dirichlet([0.5] * 4, size=7)
    decoy_b = rng.dirichlet([0.5] * 4, size=10)
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for name, alternate, matrix in (("DECOY1", "", decoy_a), ("PLANTED", "planted_PWM", PWM), ("DECOY2", "x", decoy_b)):
        lines.append(f"MOTIF {name} {alternate}".rstrip())
        lines.append(f"letter-probability matrix: alength= 4 w= {len(matrix)} nsites= 20 E= 0")
        lines += ["".join(f"  {p:.6f}" for p in row) for row in matrix]
        lines.append("")
    (out / "known.meme").write_text("\n".join(lines))


# ---------------------------------------------------------------- reading the files back

def read_inputs(out):
    rows = (out / "planted.csv").read_text().splitlines()[1:]
    entries = [(line.split(",")[0], int(line.split(",")[1])) for line in rows if line]
    scores = np.load(out / "planted_scores.npy").astype(np.float64)
    assert scores.shape[0] == len(entries)
    positives = [(s.upper(), scores[i, :len(s)]) for i, (s, label) in enumerate(entries) if label == 1]
    negatives = [s.upper() for s, label in entries if label == 0]
    assert len(positives) + len(negatives) == len(entries)
    return positives, negatives


def read_known(path):
    """(id, alternate name, rows) of each motif of a MEME minimal file, rows as printed."""
    known, rows = [], None
    for line in path.read_text().splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "MOTIF":
            known.append((fields[1], " ".join(fields[2:]), []))
        elif line.startswith("letter-probability matrix:"):
            rows = known[-1][2]
        elif rows is not None and fields[0][0].isdigit() and len(fields) == 4 and known:
            rows.append([float(v) for v in fields])
    return [(name, alternate, np.array(matrix)) for name, alternate, matrix in known]


# ---------------------------------------------------------------- discovery (steps 1-6)

def high_attention_regions(scores, min_len, near_ties):
    mean, minimum = scores.mean(), scores.min()
    for threshold in (mean, 10 * minimum):
        if np.any(np.abs(scores - threshold) <= NEAR * max(1.0, abs(threshold))):
            near_ties.append(f"a score within {NEAR} of the threshold {threshold!r}")
    high = (scores > mean) & (scores > 10 * minimum)
    regions, i = [], 0
    while i < len(high):
        if not high[i]:
            i += 1
            continue
        start = i
        while i < len(high) and high[i]:
            i += 1
        if i - start >= min_len:
            regions.append((start, i))
    return regions


def benjamini_hochberg(p):
    """statsmodels multipletests(p, method='fdr_bh')[1]."""
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, kind="mergesort")
    ranked = p[order] / (np.arange(1, len(p) + 1) / len(p))
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def best_ungapped(query, key):
    """(offset, matches, overlap) with the most matches, ties to the larger overlap, then leftmost."""
    best = None
    for offset in range(1 - len(key), len(query)):
        first, last = max(0, offset), min(len(query), offset + len(key))
        matches = sum(query[q] == key[q - offset] for q in range(first, last))
        candidate = (matches, last - first)
        if best is None or candidate > best[1:]:
            best = (offset, *candidate)
    return best


def discover(positives, negatives, near_ties):
    candidates, order = {}, []
    for index, (sequence, scores) in enumerate(positives):
        assert np.all(np.isfinite(scores))
        for start, end in high_attention_regions(scores, MIN_LEN, near_ties):
            motif = sequence[start:end]
            if set(motif) - set("ACGT"):
                continue
            if motif not in candidates:
                candidates[motif] = []
                order.append(motif)
            candidates[motif].append((index, start, end))
    population, successes = len(positives) + len(negatives), len(positives)
    enrichment, p_values = {}, []
    for motif in order:
        x = sum(motif in s for s, _ in positives)
        n = x + sum(motif in s for s in negatives)
        p = float(hypergeom.sf(x - 1, population, successes, n))
        enrichment[motif] = {"positives_with": x, "sequences_with": n, "p": p}
        p_values.append(p)
    for motif, adjusted in zip(order, benjamini_hochberg(p_values)):
        enrichment[motif]["adjusted_p"] = float(adjusted)
        if abs(adjusted - P_CUTOFF) <= NEAR * P_CUTOFF:
            near_ties.append(f"{motif}: adjusted p {adjusted!r} at the cutoff")
    significant = [m for m in order if enrichment[m]["adjusted_p"] < P_CUTOFF]

    keys = []  # [motif, instances]
    for motif in sorted(significant, key=len):  # sorted() is stable
        accepted = []
        for k, (key, _) in enumerate(keys):
            offset, matches, _ = best_ungapped(motif, key)
            if matches >= max(MIN_LEN - 1, 0.5 * min(len(motif), len(key))):
                accepted.append((matches, -k, offset))
        if not accepted:
            keys.append([motif, list(candidates[motif])])
            continue
        _, minus_k, offset = max(accepted)
        key, instances = keys[-minus_k]
        instances += [(s, start + offset, start + offset + len(key)) for s, start, _ in candidates[motif]]

    found = []
    for key, instances in keys:
        windows, dnabert_strict = [], 0
        for s, start, end in instances:
            extra = WINDOW - (end - start)
            left = extra // 2
            first, last = start - left, end + extra - left
            sequence = positives[s][0]
            if first >= 0 and last <= len(sequence):
                windows.append(sequence[first:last])
                dnabert_strict += last < len(sequence)
        if len(windows) < MIN_INSTANCES:
            continue
        counts = np.array([[sum(w[i] == b for w in windows) for b in "ACGT"] for i in range(WINDOW)], dtype=np.float64)
        found.append({"key": key, "windows": windows, "windows_ending_before_sequence_end": dnabert_strict,
                      "counts": counts, "enrichment": enrichment[key]})
    return found


# ---------------------------------------------------------------- comparison (step 7)

def column_correlation(x, y):
    if np.sum((x - x.mean()) ** 2) < 1e-12 or np.sum((y - y.mean()) ** 2) < 1e-12:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def placements(query, known):
    shorter = min(len(query), len(known))
    needed = max(shorter - MAX_UNALIGNED, min(MIN_OVERLAP, shorter), 1)
    reverse = known[::-1, ::-1]  # ACGT order: the complement is the reversed column order
    for strand, oriented in (("+", known), ("-", reverse)):
        for offset in range(needed - len(known), len(query) - needed + 1):
            columns = [q for q in range(len(query)) if 0 <= q - offset < len(known)]
            score = float(np.mean([column_correlation(query[q], oriented[q - offset]) for q in columns]))
            yield {"correlation": score, "strand": strand, "offset": offset, "overlap": len(columns)}


def best_alignment(query, known, near_ties, label):
    every = list(placements(query, known))
    best = None
    for candidate in every:  # '+' first, offsets ascending: strict > keeps '+' and the leftmost on ties
        if best is None or candidate["correlation"] > best["correlation"] or (
                candidate["correlation"] == best["correlation"] and candidate["strand"] == best["strand"]
                and candidate["overlap"] > best["overlap"]):
            best = candidate
    runner_up = max((c["correlation"] for c in every if c is not best), default=-np.inf)
    if best["correlation"] - runner_up <= NEAR:
        near_ties.append(f"{label}: two placements within {NEAR}")
    return best


def expected_result(out):
    positives, negatives = read_inputs(out)
    known = read_known(out / "known.meme")
    near_ties = []
    motifs = []
    for motif in discover(positives, negatives, near_ties):
        probabilities = motif["counts"] / len(motif["windows"])
        matches = [(best_alignment(probabilities, matrix, near_ties, f"{motif['key']} vs {name}"), name, alternate)
                   for name, alternate, matrix in known]
        best = None
        for alignment, name, alternate in matches:
            if best is None or alignment["correlation"] > best[0]["correlation"]:
                best = (alignment, name, alternate)
        others = [a["correlation"] for a, name, _ in matches if name != best[1]]
        if others and best[0]["correlation"] - max(others) <= NEAR:
            near_ties.append(f"{motif['key']}: two known motifs within {NEAR}")
        alignment, name, alternate = best
        motifs.append({
            "key": motif["key"],
            "sites": len(motif["windows"]),
            "sites_if_windows_must_end_before_the_sequence_end": motif["windows_ending_before_sequence_end"],
            "consensus": "".join("ACGT"[int(np.argmax(column))] for column in motif["counts"]),
            **motif["enrichment"],
            "counts": motif["counts"].astype(int).tolist(),
            "known_match": name,
            "known_name": alternate,
            "correlation": alignment["correlation"],
            "correlation_printed": f"{alignment['correlation']:.6g}",  # std::ostream's default precision
            "strand": alignment["strand"],
            "offset": alignment["offset"],
            "overlap": alignment["overlap"],
            "all_known": {n: a for a, n, _ in matches},
        })
    if near_ties:
        raise SystemExit("expected.json would rest on near-ties: " + "; ".join(near_ties))
    return {
        "command": "dnabert motifs --scores planted_scores.npy --input planted.csv --known known.meme --window 12",
        "note": "written by tests/reference/make_motif_cli_fixtures.py (numpy/scipy, independent of dnabert)",
        "positives": len(positives),
        "negatives": len(negatives),
        "motifs": motifs,
    }


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    write_fixtures(out)
    expected = expected_result(out)
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"{out}: planted.csv, planted_scores.npy, planted_atten_f8.npy, known.meme, expected.json")
    for m in expected["motifs"]:
        print(f"motif {m['key']} ({m['sites']} sites): best known match {m['known_match']} ({m['known_name']}), "
              f"correlation {m['correlation_printed']} on strand {m['strand']} at offset {m['offset']}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
