#!/usr/bin/env python3
"""DNABERT-viz attention-score goldens for dnabert's `analysis::attention_scores` tests.

Loads two parity folders (tests/data/parity/cls_k6 and cls3_k3) with Hugging Face transformers
(eval, eager attention, output_attentions=True), and for three sequences, one longer than the
models' 62 k-mers so that it is cut into pieces, writes tests/data/attention/golden.safetensors:
  * attentions.{l}: [heads, S, S] probabilities of layer l of cls_k6 for sequence 0 alone,
  * <model>.<layer>.<head>.{i}: nucleotide scores of sequence i by the DNABERT-viz formula
    (spec section 5): per piece, sum over the chosen layers and heads of A[l, h, 0, 1..n] (the
    [CLS] query row at every k-mer, [CLS] and [SEP] excluded); the pieces' k-mer scores placed
    one after another; each nucleotide the mean of the k-mers covering it; L2-normalised.
    layer is an index, "last" or "all" (summed); head an index or "sum",
  * combined.{i}: cls_k6.last.sum + cls3_k3.last.sum (DNABERT's several-model combination),
and inputs.json with the sequences and the selections.
Each piece runs alone (no padding), so the goldens also check that dnabert's padded batches mask
padding. Long sequences are cut as DNABERT itself cuts them, written here from DNABERT's code
(https://github.com/jerryji1993/DNABERT/blob/master/src/transformers/tokenization_dna.py and
motif/motif_utils.py), not from dnabert's tokenizer:
  * seq2kmer: the L - k + 1 overlapping k-mers joined by blanks; DNATokenizer looks every word up
    whole in vocab.txt, anything unknown (N, IUPAC codes) is [UNK]. The sequence is upper-cased
    first: dnabert's documented rule (DNABERT would make a lower-case k-mer [UNK]; the tokenizer
    goldens of make_tokenizer_goldens.py pin the same rule);
  * build_inputs_with_special_tokens: fewer than S = 510 ids give [CLS] ids [SEP]; otherwise
    len // S + 1 pieces [CLS] ids[S*i : S*(i+1)] [SEP] one after another (the DNABERT-XL input;
    an exact multiple of S gets a trailing empty [CLS][SEP] piece). DNABERT's S = 510 is its
    512 positions minus [CLS] and [SEP]; these models have 64 positions, so S = min(510, 64 - 2)
    = 62 here (DNABERT's 510 would not fit them);
  * every [CLS] ... [SEP] piece of that token list runs through the model on its own, and its
    k-mer scores are placed one after another (an empty piece adds none).
DNABERT-viz itself truncates to max_seq_length instead (spec section 5); scoring every piece is
the DNABERT-XL cut applied to the viz formula.

Needs torch, transformers, safetensors. Run from the repository root:
    python3 tests/reference/make_attention_goldens.py
"""

import json
import pathlib

import numpy as np
import safetensors.torch
import torch
from transformers import BertModel

ROOT = pathlib.Path(__file__).resolve().parents[2]
PARITY = ROOT / "tests" / "data" / "parity"
OUT = ROOT / "tests" / "data" / "attention"
UNK_ID, CLS_ID, SEP_ID = 1, 2, 3

SEQUENCES = [
    "TCGGTTNaagtTCGCCCCATCCTAACCG",  # 28 nt, an N and lower case (from cls_k6/inputs.json)
    # 152 nt: 147 6-mers (pieces of 62, 62, 23) and 150 3-mers (62, 62, 26).
    "ACGTTGCAAGCTTACGGATCCATGCAGTCGATCGGATTACAGGCATGAGCCACCGCGCCCGGCCtaggatcgatcgaaTTCGAGCTCGG"
    "TACCCGGGGATCCTCTAGAGTCGACCTGCAGGCATGCAAGCTTGGCGTAATCATGGTCATAGC",
    "GCAACAtcacgCAA",  # 14 nt (from cls_k6/inputs.json)
]
# (model, layer, head) selections to write; layer: index, "last" or "all"; head: index or "sum".
SELECTIONS = [("cls_k6", "last", "sum"), ("cls_k6", "all", "sum"), ("cls_k6", 0, 1), ("cls_k6", 1, "sum"),
              ("cls3_k3", "last", "sum")]


def load(name):
    model = BertModel.from_pretrained(PARITY / name, attn_implementation="eager", add_pooling_layer=False)
    model.eval()
    vocab = (PARITY / name / "vocab.txt").read_text().split("\n")
    ids = {token: i for i, token in enumerate(vocab) if token}
    return model, ids


def seq2kmer(sequence, k):
    """DNABERT's motif_utils.seq2kmer: the L - k + 1 overlapping k-mers, joined by single blanks."""
    return " ".join(sequence[x:x + k] for x in range(len(sequence) + 1 - k))


def kmer_ids(sequence, k, vocab):
    """DNATokenizer on seq2kmer's sentence (upper-cased first, see above): one id per word, [UNK] when
    the word is not in vocab.txt."""
    return [vocab.get(word, UNK_ID) for word in seq2kmer(sequence.upper(), k).split()]


def dnabert_pieces(ids, max_single):
    """DNATokenizer.build_inputs_with_special_tokens(ids) with its 510 as `max_single`, cut back into
    its [CLS] ... [SEP] pieces."""
    if len(ids) < max_single:
        tokens = [CLS_ID] + ids + [SEP_ID]
    else:
        tokens = []
        for i in range(len(ids) // max_single + 1):
            tokens += [CLS_ID] + ids[max_single * i:min(len(ids), max_single * (i + 1))] + [SEP_ID]
    pieces = []
    for token in tokens:
        if token == CLS_ID:
            pieces.append([])
        pieces[-1].append(token)
    assert all(p[0] == CLS_ID and p[-1] == SEP_ID for p in pieces)
    return pieces


def kmer_scores(model, vocab, sequence, layer, head):
    """The [CLS]-row score of every k-mer of `sequence`, piece by piece, stitched."""
    k = len(next(t for t in vocab if not t.startswith("[")))
    max_single = min(510, model.config.max_position_embeddings - 2)
    layers = model.config.num_hidden_layers
    chosen_layers = range(layers) if layer == "all" else [layers - 1 if layer == "last" else layer]
    scores = []
    for ids in dnabert_pieces(kmer_ids(sequence, k, vocab), max_single):
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                        output_attentions=True)
        piece = np.zeros(len(ids) - 2, dtype=np.float64)
        for l in chosen_layers:
            cls_row = out.attentions[l][0, :, 0, 1:-1].double().numpy()  # [heads, n]
            piece += cls_row.sum(axis=0) if head == "sum" else cls_row[head]
        scores.extend(piece)
    assert len(scores) == len(sequence) - k + 1
    return np.array(scores)


def nucleotide_scores(kmer, k, length):
    """DNABERT-viz: each nucleotide the mean of the k-mers covering it, then L2-normalised."""
    total = np.zeros(length)
    count = np.zeros(length)
    for j, value in enumerate(kmer):
        total[j:j + k] += value
        count[j:j + k] += 1
    real = total / count
    return real / np.linalg.norm(real)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    models = {name: load(name) for name in {s[0] for s in SELECTIONS}}
    tensors = {}
    # Per-layer attention probabilities of cls_k6 for sequence 0 alone.
    model, vocab = models["cls_k6"]
    ids = [CLS_ID] + kmer_ids(SEQUENCES[0], 6, vocab) + [SEP_ID]
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), output_attentions=True)
    for l, probabilities in enumerate(out.attentions):
        tensors[f"attentions.{l}"] = probabilities[0].float().contiguous()
    results = {}
    for name, layer, head in SELECTIONS:
        model, vocab = models[name]
        k = len(next(t for t in vocab if not t.startswith("[")))
        for i, sequence in enumerate(SEQUENCES):
            scores = nucleotide_scores(kmer_scores(model, vocab, sequence, layer, head), k, len(sequence))
            results[(name, layer, head, i)] = scores
            tensors[f"{name}.{layer}.{head}.{i}"] = torch.tensor(scores, dtype=torch.float32)
    for i in range(len(SEQUENCES)):
        combined = results[("cls_k6", "last", "sum", i)] + results[("cls3_k3", "last", "sum", i)]
        tensors[f"combined.{i}"] = torch.tensor(combined, dtype=torch.float32)
    OUT.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(tensors, OUT / "golden.safetensors")
    inputs = {"sequences": SEQUENCES, "selections": [list(s) for s in SELECTIONS],
              "note": "written by tests/reference/make_attention_goldens.py"}
    (OUT / "inputs.json").write_text(json.dumps(inputs, indent=1) + "\n")
    print(f"wrote {len(tensors)} tensors to {OUT}")


if __name__ == "__main__":
    main()
