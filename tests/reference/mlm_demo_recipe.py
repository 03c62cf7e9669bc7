"""The demo's masked-LM pre-training recipe in PyTorch + transformers, side by side with dnabert (issue 18).

`dnabert demo` pre-trained (until issue 18 changed its recipe and data; docs/benchmarks.md) a DNABERT-6 with 2 layers, hidden 64, 4 heads, FFN 256, 128 k-mers per
piece, on htslib-test's C. elegans sample less the last 15 % of its largest record, for 2500 steps of
batch 32 with AdamW (lr 1e-3, betas 0.9/0.98, eps 1e-6, weight decay 0.01 except biases and
LayerNorm weights), 125 warmup steps (5 % of the run) then linear decay, clipping at 1.0, dropout 0.1.
This script does the same in PyTorch: DNABERT's cut_no_overlap pieces (full, 133 nt, with probability
0.5, else max(int(U*133), 5) nt; cut anew and shuffled every epoch), DNABERT's span masking (centre
probability 0.025, span c-2..c+3 clipped to the real k-mers, 80 % [MASK] / 10 % random id / 10 % kept)
and the loss averaged over the masked tokens. Random streams differ from dnabert's, so the curves agree
in distribution, not bit for bit.

  split   GENOME OUTDIR                 writes OUTDIR/pretrain.fa (the demo's pre-training part) and
                                        OUTDIR/heldout.fa (the last 15 % of the largest record)
  train   --train FA --heldout FA --out DIR [recipe options]
                                        trains, writes DIR/log.jsonl (loss per step, held-out loss and
                                        accuracy every --eval-steps) and the model (a Hugging Face folder)
  eval    --heldout FA MODEL_DIR...     held-out masked-token loss and accuracy of Hugging Face folders
                                        (dnabert's output folders load as they are), on one fixed
                                        masking of the held-out pieces, and what copying can reach
  plot    --out SVG NAME=LOG.jsonl...   smoothed training-loss curves of log.jsonl files in one SVG

Run with `nice` and one thread (torch.set_num_threads(1) is set here).
"""
import argparse, itertools, json, math, os, random, sys, time

import torch
from transformers import BertConfig, BertForMaskedLM, get_linear_schedule_with_warmup

torch.set_num_threads(1)
PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4


def read_fasta(path):
    records, name, parts = [], None, []
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            if name is not None:
                records.append((name, "".join(parts)))
            name, parts = line[1:].split()[0], []
        elif line:
            parts.append(line)
    if name is not None:
        records.append((name, "".join(parts)))
    return records


def kmer_vocab(k):
    """DNABERT's vocabulary: 5 specials, then k-mers in itertools.product('ATCG') order."""
    return {"".join(t): i + 5 for i, t in enumerate(itertools.product("ATCG", repeat=k))}


def cut_no_overlap(seq, full, rng):
    """DNABERT's cut_no_overlap over the N-free stretches of seq (dnabert drops N runs)."""
    pieces = []
    for stretch in seq.upper().replace("N", " ").split():
        pos = 0
        while len(stretch) - pos > full:
            n = full if rng.random() < 0.5 else max(int(rng.random() * full), 5)
            pieces.append(stretch[pos:pos + n])
            pos += n
        pieces.append(stretch[pos:])
    return pieces


def tokens(piece, k, vocab):
    return [CLS] + [vocab.get(piece[i:i + k], UNK) for i in range(len(piece) - k + 1)] + [SEP]


def mask_row(ids, p, k, vocab_size, rng):
    """DNABERT's mask_tokens on one row of real tokens ([CLS] ... [SEP]): returns inputs, labels."""
    before, after = (k - 1) // 2, k // 2
    first, last = 1, len(ids) - 2
    masked = [False] * len(ids)
    for c in range(first, last + 1):
        if rng.random() < p:
            for t in range(max(first, c - before), min(last, c + after) + 1):
                masked[t] = True
    inputs, labels = list(ids), [-100] * len(ids)
    for t in range(first, last + 1):
        if not masked[t]:
            continue
        labels[t] = ids[t]
        if rng.random() < 0.8:
            inputs[t] = MASK
        elif rng.random() < 0.5:
            inputs[t] = rng.randrange(vocab_size)
    return inputs, labels


def batch_tensors(rows):
    """Pads (inputs, labels, ids) rows into tensors with an attention mask."""
    width = max(len(r[0]) for r in rows)
    pad = lambda xs, v: xs + [v] * (width - len(xs))
    inputs = torch.tensor([pad(r[0], PAD) for r in rows])
    labels = torch.tensor([pad(r[1], -100) for r in rows])
    attention = torch.tensor([[1] * len(r[0]) + [0] * (width - len(r[0])) for r in rows])
    return inputs, labels, attention


def masked_logits(model, inputs, labels, attention):
    """Logits at the masked positions only (the same numbers as the full head, less work)."""
    hidden = model.bert(input_ids=inputs, attention_mask=attention).last_hidden_state
    where = labels != -100
    return model.cls(hidden[where]), labels[where]


def heldout_batches(path, k, max_kmers, p, vocab_size, seed=1234, batch=64):
    """The held-out pieces (epoch-0 cuts) with one fixed masking, and for each masked token how many
    of its k nucleotides no unmasked k-mer of its row covers (what copying cannot recover)."""
    vocab, rng = kmer_vocab(k), random.Random(seed)
    rows, unknown = [], []
    for _, seq in read_fasta(path):
        for piece in cut_no_overlap(seq, max_kmers + k - 1, rng):
            if len(piece) < k:
                continue
            ids = tokens(piece, k, vocab)
            inputs, labels = mask_row(ids, p, k, vocab_size, rng)
            # token t (1-based) covers nucleotides t-1 .. t+k-2 of the piece
            seen = [False] * len(piece)
            for t in range(1, len(ids) - 1):
                if labels[t] == -100:
                    for x in range(t - 1, t - 1 + k):
                        seen[x] = True
            unknown += [sum(not seen[x] for x in range(t - 1, t - 1 + k)) for t in range(1, len(ids) - 1) if labels[t] != -100]
            rows.append((inputs, labels))
    return [batch_tensors(rows[i:i + batch]) for i in range(0, len(rows), batch)], unknown


@torch.no_grad()
def evaluate(model, batches):
    """Masked-token loss and accuracy, overall and by what the input showed at the masked position:
    [MASK] (80 %), a random id (10 %) or the token itself (10 %)."""
    model.eval()
    sums = {kind: [0.0, 0, 0] for kind in ("all", "mask", "random", "kept")}
    for inputs, labels, attention in batches:
        logits, target = masked_logits(model, inputs, labels, attention)
        shown = inputs[labels != -100]
        losses = torch.nn.functional.cross_entropy(logits.float(), target, reduction="none")
        right = logits.argmax(-1) == target
        for kind, where in (("all", torch.ones_like(right)), ("mask", shown == MASK), ("kept", shown == target),
                            ("random", (shown != MASK) & (shown != target))):
            sums[kind][0] += losses[where].sum().item()
            sums[kind][1] += right[where].sum().item()
            sums[kind][2] += int(where.sum().item())
    model.train()
    return {kind: {"loss": l / max(n, 1), "accuracy": c / max(n, 1), "tokens": n} for kind, (l, c, n) in sums.items()}


def train(a):
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    k, vocab_size = 6, 4 ** 6 + 5
    vocab = kmer_vocab(k)
    config = BertConfig(vocab_size=vocab_size, hidden_size=a.hidden, num_hidden_layers=a.layers,
                        num_attention_heads=a.heads, intermediate_size=4 * a.hidden,
                        max_position_embeddings=a.max_kmers + 2, pad_token_id=0)
    model = BertForMaskedLM(config)
    if a.init == "composition":  # each k-mer's row = sum of per-position nucleotide vectors (not DNABERT's init)
        with torch.no_grad():
            parts = torch.randn(k, 4, a.hidden) * config.initializer_range / math.sqrt(k)
            for kmer, index in vocab.items():
                model.bert.embeddings.word_embeddings.weight[index] = sum(parts[p, "ATCG".index(c)] for p, c in enumerate(kmer))
    model.train()
    no_decay = [n for n, _ in model.named_parameters() if "bias" in n or "LayerNorm.weight" in n]
    groups = [{"params": [p for n, p in model.named_parameters() if n not in no_decay], "weight_decay": 0.01},
              {"params": [p for n, p in model.named_parameters() if n in no_decay], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.98), eps=1e-6)
    warmup = a.warmup if a.warmup >= 0 else min(10000, a.steps // 20)
    schedule = get_linear_schedule_with_warmup(opt, warmup, a.steps)
    records = [seq for _, seq in read_fasta(a.train)]
    rng = random.Random(a.seed)
    held, _ = heldout_batches(a.heldout, k, a.max_kmers, a.mask_probability, vocab_size)
    os.makedirs(a.out, exist_ok=True)
    log = open(os.path.join(a.out, "log.jsonl"), "w")
    epoch, queue, start = 0, [], time.time()
    for step in range(1, a.steps + 1):
        if len(queue) < a.batch:  # a new epoch: cut every record anew, shuffle (the last short batch is kept)
            if not queue:
                pieces = [p for s in records for p in cut_no_overlap(s, a.max_kmers + k - 1, rng) if len(p) >= k]
                rng.shuffle(pieces)
                queue = pieces
                epoch += 1
        part, queue = queue[:a.batch], queue[a.batch:]
        rows = [mask_row(tokens(p, k, vocab), a.mask_probability, k, vocab_size, rng) for p in part]
        inputs, labels, attention = batch_tensors(rows)
        logits, target = masked_logits(model, inputs, labels, attention)
        loss = torch.nn.functional.cross_entropy(logits, target)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        schedule.step()
        entry = {"step": step, "loss": loss.item(), "epoch": epoch}
        if step % a.eval_steps == 0 or step == a.steps:
            result = evaluate(model, held)
            entry["eval_loss"], entry["eval_accuracy"] = result["all"]["loss"], result["all"]["accuracy"]
            entry["eval_mask_loss"], entry["eval_mask_accuracy"] = result["mask"]["loss"], result["mask"]["accuracy"]
            entry["seconds"] = round(time.time() - start, 1)
            print(json.dumps(entry), flush=True)
        log.write(json.dumps(entry) + "\n")
    model.save_pretrained(a.out)


def evaluate_folders(a):
    batches, unknown = heldout_batches(a.heldout, 6, a.max_kmers, a.mask_probability, 4 ** 6 + 5)
    n = len(unknown)
    share = [sum(u == i for u in unknown) / n for i in range(7)]
    summary = {"masked_tokens": n, "unknown_nucleotides_share": [round(s, 4) for s in share],
               "copying_bound_loss": sum(unknown) / n * math.log(4)}
    if a.train:  # what the k-mer frequencies of the training part alone reach (no context)
        counts, vocab = [1.0] * (4 ** 6 + 5), kmer_vocab(6)
        for _, seq in read_fasta(a.train):
            seq = seq.upper()
            for i in range(len(seq) - 5):
                counts[vocab.get(seq[i:i + 6], UNK)] += 1
        total = sum(counts)
        targets = [t for _, labels, _ in batches for t in labels[labels != -100].tolist()]
        summary["unigram_loss"] = sum(-math.log(counts[t] / total) for t in targets) / len(targets)
    print(json.dumps(summary))
    for folder in a.models:
        model = BertForMaskedLM.from_pretrained(folder)
        result = evaluate(model, batches)
        print(json.dumps({"model": folder, "perplexity": math.exp(result["all"]["loss"]), **result}))


def smooth(values, window):
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot(a):
    """A plain SVG: smoothed (trailing mean) training loss per step of each log, with reference lines."""
    curves = []
    for spec in a.logs:
        name, path = spec.split("=", 1)
        points = [json.loads(line) for line in open(path) if line.strip()]
        points = [(p["step"], p["loss"]) for p in points if "loss" in p and p["loss"] == p["loss"]]
        stride = max(1, len(points) // 1000)  # a smoothed curve loses nothing at 1,000 points; the file stays small
        curves.append((name, [s for s, _ in points][::stride], smooth([l for _, l in points], a.window)[::stride]))
    lines = [(math.log(4096), "ln 4096 (uniform guess)")] + [(float(v), t) for v, t in (x.split("=", 1) for x in a.line)]
    W, H, L, R, T, B = 720, 420, 60, 20, 40, 50
    xmax = max(max(s) for _, s, _ in curves)
    ys = [y for _, _, c in curves for y in c] + [v for v, _ in lines]
    ylo, yhi = math.floor(min(ys) * 2) / 2, math.ceil(max(ys) * 2) / 2
    X = lambda s: L + (W - L - R) * s / xmax
    Y = lambda v: T + (H - T - B) * (yhi - v) / (yhi - ylo)
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{a.title}</text>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
           f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">optimizer step</text>',
           f'<text x="16" y="{(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 {(T + H - B) / 2})">'
           f'masked-LM loss (nats), mean of the last {a.window} steps</text>']
    for i in range(6):
        s = xmax * i / 5
        svg.append(f'<text x="{X(s):.1f}" y="{H - B + 16}" text-anchor="middle">{int(s)}</text>')
    v = ylo
    while v <= yhi + 1e-9:
        svg.append(f'<line x1="{L - 4}" y1="{Y(v):.1f}" x2="{L}" y2="{Y(v):.1f}" stroke="black"/>'
                   f'<text x="{L - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:.1f}</text>')
        v += 0.5
    for value, text in lines:
        svg.append(f'<line x1="{L}" y1="{Y(value):.1f}" x2="{W - R}" y2="{Y(value):.1f}" stroke="#888" stroke-dasharray="4 3"/>'
                   f'<text x="{W - R - 4}" y="{Y(value) - 4:.1f}" text-anchor="end" fill="#555">{text}</text>')
    for i, (name, steps, values) in enumerate(curves):
        color = colors[i % len(colors)]
        pts = " ".join(f"{X(s):.1f},{Y(v):.1f}" for s, v in zip(steps, values))
        svg.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{pts}"/>')
        legend = (T + H - B) / 2 + 18 * i  # mid-height: curves start at the top and end at the bottom
        svg.append(f'<line x1="{L + 20}" y1="{legend}" x2="{L + 44}" y2="{legend}" stroke="{color}" stroke-width="2"/>'
                   f'<text x="{L + 50}" y="{legend + 4}">{name}</text>')
    svg.append("</svg>")
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(svg) + "\n")
    os.replace(tmp, a.out)


def split(a):
    records = read_fasta(a.genome)
    largest = max(range(len(records)), key=lambda i: len(records[i][1]))
    name, seq = records[largest]
    held = len(seq) * 85 // 100  # the demo's split: test windows come from the last 15 %
    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "pretrain.fa"), "w") as f:
        for i, (n, s) in enumerate(records):
            f.write(f">{n}\n{s[:held] if i == largest else s}\n")
    with open(os.path.join(a.outdir, "heldout.fa"), "w") as f:
        f.write(f">{name}_heldout\n{seq[held:]}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("split")
    s.add_argument("genome")
    s.add_argument("outdir")
    t = sub.add_parser("train")
    t.add_argument("--train", required=True)
    t.add_argument("--heldout", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--steps", type=int, default=2500)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--warmup", type=int, default=-1, help="-1: dnabert's default, min(10000, 5 %% of the steps)")
    t.add_argument("--hidden", type=int, default=64)
    t.add_argument("--layers", type=int, default=2)
    t.add_argument("--heads", type=int, default=4)
    t.add_argument("--max-kmers", type=int, default=128)
    t.add_argument("--mask-probability", type=float, default=0.025)
    t.add_argument("--eval-steps", type=int, default=250)
    t.add_argument("--init", choices=["bert", "composition"], default="bert",
                   help="k-mer embedding init: BERT's N(0, 0.02), or sums of per-position nucleotide vectors")
    t.add_argument("--seed", type=int, default=42)
    e = sub.add_parser("eval")
    e.add_argument("--heldout", required=True)
    e.add_argument("--max-kmers", type=int, default=128)
    e.add_argument("--mask-probability", type=float, default=0.025)
    e.add_argument("--train", help="training FASTA: also report the loss of its k-mer frequencies")
    e.add_argument("models", nargs="*")
    g = sub.add_parser("plot")
    g.add_argument("--out", required=True)
    g.add_argument("--window", type=int, default=100)
    g.add_argument("--title", default="masked-LM training loss")
    g.add_argument("--line", action="append", default=[], help="VALUE=LABEL: a dashed reference line")
    g.add_argument("logs", nargs="+", help="NAME=LOG.jsonl")
    a = p.parse_args()
    {"split": split, "train": train, "eval": evaluate_folders, "plot": plot}[a.command](a)


if __name__ == "__main__":
    main()
