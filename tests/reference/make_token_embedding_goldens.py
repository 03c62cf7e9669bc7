#!/usr/bin/env python3
"""Per-token, per-layer embedding goldens for `classifier::embed_tokens`, `embed --layer` and
`dnabert embed --pooling none`.

Loads tests/data/parity/cls_k6 with Hugging Face transformers (BertModel, eval,
output_hidden_states=True) and, for three sequences (one longer than the model's 62 k-mers, so cut
into pieces), writes tests/data/embeddings/:
  * golden.safetensors:
      - states.{layer}.{i} float32 [tokens, hidden]: hidden_states[layer] (0 the embeddings output,
        1..3 the encoder layers) of every token of sequence i, its pieces' tokens one after another,
        each piece [CLS] k-mers [SEP] run through the model on its own;
      - tokens.{i} [tokens]: the token ids; starts.{i}: each token's 0-based nucleotide start (-1 for
        [CLS] and [SEP]); pieces.{i}: each token's piece (float32, exact for these small whole
        numbers: dnabert's safetensors reader reads floating-point tensors only);
      - cls.{layer} / mean.{layer} float32 [N, hidden]: the pooled embeddings of `dnabert embed`
        (docs/formats.md): cls is the mean over a sequence's pieces of each piece's [CLS] state; mean
        the mean over all of the sequence's tokens, [CLS] and [SEP] included;
  * tokens_layer1.npy float32 [N, L_max, hidden]: states.1 of every sequence, NaN rows past each
    sequence's tokens (what `dnabert embed --pooling none --layer 1` must write), with
    tokens_layer1.tokens.tsv (id, token, piece, kmer, start) and tokens_layer1.ids.txt;
  * cls_layer0.npy, mean_layer2.npy float32 [N, hidden]: cls.0 and mean.2, what `dnabert embed
    --pooling cls --layer 0` and `--pooling mean --layer 2` must write;
  * inputs.fa: the sequences, and inputs.json.
Pieces are cut as DNABERT's tokenizer cuts long inputs, with DNABERT's 510 k-mers read as
64 - 2 = 62 for this model (make_attention_goldens.py describes the rule), except that an exact
multiple gets no trailing empty piece (none of these sequences is one). Written from DNABERT's code,
not from dnabert's tokenizer; k-mers are looked up upper-cased (dnabert's documented rule).

Needs torch, transformers, safetensors, numpy. Run from the repository root:
    python3 tests/reference/make_token_embedding_goldens.py
"""

import json
import pathlib

import numpy as np
import safetensors.torch
import torch
from transformers import BertModel

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "data" / "parity" / "cls_k6"
OUT = ROOT / "tests" / "data" / "embeddings"
UNK_ID, CLS_ID, SEP_ID = 1, 2, 3
K = 6

IDS = ["short_with_n", "long", "tiny"]
SEQUENCES = [
    "TCGGTTNaagtTCGCCCCATCCTAACCG",  # 28 nt, an N ([UNK] k-mers) and lower case
    # 152 nt: 147 6-mers, pieces of 62, 62 and 23.
    "ACGTTGCAAGCTTACGGATCCATGCAGTCGATCGGATTACAGGCATGAGCCACCGCGCCCGGCCtaggatcgatcgaaTTCGAGCTCGG"
    "TACCCGGGGATCCTCTAGAGTCGACCTGCAGGCATGCAAGCTTGGCGTAATCATGGTCATAGC",
    "GCAACAtcacgCAA",  # 14 nt
]


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = BertModel.from_pretrained(MODEL, add_pooling_layer=False)
    model.eval()
    vocab_list = (MODEL / "vocab.txt").read_text().split("\n")
    vocab = {token: i for i, token in enumerate(vocab_list) if token}
    max_single = min(510, model.config.max_position_embeddings - 2)
    layers = model.config.num_hidden_layers
    tensors = {}
    stitched = {layer: [] for layer in range(layers + 1)}
    tsv = ["id\ttoken\tpiece\tkmer\tstart"]
    for i, sequence in enumerate(SEQUENCES):
        upper = sequence.upper()
        kmers = [upper[x:x + K] for x in range(len(upper) + 1 - K)]  # DNABERT's seq2kmer
        ids = [vocab.get(word, UNK_ID) for word in kmers]
        states = {layer: [] for layer in range(layers + 1)}
        tokens, starts, pieces = [], [], []
        for p, first in enumerate(range(0, len(ids), max_single)):
            piece = [CLS_ID] + ids[first:first + max_single] + [SEP_ID]
            with torch.no_grad():
                out = model(input_ids=torch.tensor([piece]), output_hidden_states=True)
            for layer in range(layers + 1):
                states[layer].append(out.hidden_states[layer][0].numpy())
            tokens += piece
            starts += [-1] + list(range(first, first + len(piece) - 2)) + [-1]
            pieces += [p] * len(piece)
        for t, token in enumerate(tokens):
            text = vocab_list[token]
            tsv.append(f"{IDS[i]}\t{t}\t{pieces[t]}\t{text}\t{starts[t]}")
        for layer in range(layers + 1):
            per_token = np.concatenate(states[layer]).astype(np.float32)
            stitched[layer].append(per_token)
            tensors[f"states.{layer}.{i}"] = torch.from_numpy(per_token.copy())
        tensors[f"tokens.{i}"] = torch.tensor(tokens, dtype=torch.float32)
        tensors[f"starts.{i}"] = torch.tensor(starts, dtype=torch.float32)
        tensors[f"pieces.{i}"] = torch.tensor(pieces, dtype=torch.float32)
    for layer in range(layers + 1):
        cls, mean = [], []
        for i in range(len(SEQUENCES)):
            per_token = stitched[layer][i].astype(np.float64)
            piece_of = tensors[f"pieces.{i}"].numpy().astype(np.int64)
            firsts = [np.flatnonzero(piece_of == p)[0] for p in range(piece_of.max() + 1)]
            cls.append(per_token[firsts].mean(axis=0))
            mean.append(per_token.mean(axis=0))
        tensors[f"cls.{layer}"] = torch.tensor(np.array(cls), dtype=torch.float32)
        tensors[f"mean.{layer}"] = torch.tensor(np.array(mean), dtype=torch.float32)
    OUT.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(tensors, OUT / "golden.safetensors")
    longest = max(len(s) for s in stitched[1])
    padded = np.full((len(SEQUENCES), longest, model.config.hidden_size), np.nan, dtype=np.float32)
    for i, per_token in enumerate(stitched[1]):
        padded[i, :len(per_token)] = per_token
    np.save(OUT / "tokens_layer1.npy", padded)
    np.save(OUT / "cls_layer0.npy", tensors["cls.0"].numpy())
    np.save(OUT / "mean_layer2.npy", tensors["mean.2"].numpy())
    (OUT / "tokens_layer1.tokens.tsv").write_text("\n".join(tsv) + "\n")
    (OUT / "tokens_layer1.ids.txt").write_text("".join(f"{name}\n" for name in IDS))
    (OUT / "inputs.fa").write_text("".join(f">{name}\n{s}\n" for name, s in zip(IDS, SEQUENCES)))
    inputs = {"ids": IDS, "sequences": SEQUENCES, "model": "tests/data/parity/cls_k6",
              "note": "written by tests/reference/make_token_embedding_goldens.py"}
    (OUT / "inputs.json").write_text(json.dumps(inputs, indent=1) + "\n")
    print(f"wrote {len(tensors)} tensors and tokens_layer1.npy {padded.shape} to {OUT}")


if __name__ == "__main__":
    main()
