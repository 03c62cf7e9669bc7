#!/usr/bin/env python3
"""Golden logits, loss and gradients of long-sequence classifiers (DNABERT-XL), in PyTorch.

Three tiny k = 3 BERTs with 512 positions (DNABERT-XL's chunks are 512 tokens) read sequences of
up to SPLIT pieces of 510 k-mers:
  * concat: DNABERT-XL's BertForLongSequenceClassificationCat (DNABERT's `dnalongcat`), written
    as DNABERT-XL writes it (architectures, "split", classifier1/classifier2) and run as its
    forward does: the DNABERT tokenizer's pieces ([CLS] 510 k-mers [SEP], a trailing [CLS][SEP]
    after an exact multiple of 510, cut to 512 * split tokens), padded to 512 * split, viewed as
    [split * B, 512], BertModel, pooled viewed as [B, split * hidden], classifier1, ReLU,
    classifier2. A chunk that is all padding has an attention mask of ones here: transformers
    2.5, which trained DNABERT-XL, adds -10000 to every one of its keys, which softmax ignores
    (modern transformers' finfo.min would make it uniform instead).
  * mean / max: each real piece ([CLS] k-mers [SEP]) through BertModel alone, the pooled
    vectors' mean / element-wise max, then Linear(hidden, labels) ("classifier").
Dropout is 0 (eval mode); the loss is cross-entropy over the batch. For each model this writes
tests/data/long/<name>/ (config.json, model.safetensors, vocab.txt) and golden.safetensors:
logits, loss and grad.<parameter> of every parameter, plus inputs.json (the sequences, labels).
It also writes the same sequences as tests/data/long/sequences.csv (DNABERT-2's sequence,label),
what `dnabert predict` must print for them with each model (tests/cli/expected/predict_long_<name>.tsv),
and tests/data/long/dnalong/: a DNABERT-XL dnalong folder (BertForLongSequenceClassification with
its bidirectional LSTM's rnn.* tensors), which dnabert refuses by name.

Usage: python3 tests/reference/make_long_sequence_goldens.py
"""
import itertools
import json
import math
import pathlib
import random

import safetensors.torch
import torch
from transformers import BertConfig, BertModel

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/data/long"
EXPECTED = ROOT / "tests/cli/expected"
K = 3
SPLIT = 3
PIECE = 510
CHUNK = PIECE + 2
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
KMERS = ["".join(p) for p in itertools.product("ATCG", repeat=K)]
IDS = {kmer: i + len(SPECIALS) for i, kmer in enumerate(KMERS)}


def kmer_ids(sequence):
    return [IDS.get(sequence[i:i + K], 1) for i in range(len(sequence) - K + 1)]


def dnabert_pieces(ids, split):
    """DNABERT's tokenizer with max_length = 512 * split: cut, wrap each 510 ids, hard-cut."""
    if len(ids) + 2 > CHUNK * split:
        ids = ids[:CHUNK * split - 2]
    count = len(ids) // PIECE + 1 if len(ids) >= PIECE else 1
    tokens = []
    for i in range(count):
        tokens += [2] + ids[PIECE * i:PIECE * (i + 1)] + [3]
    return tokens[:CHUNK * split]


def real_pieces(ids, split):
    """dnabert's mean/max input: the first `split` pieces of at most 510 k-mers, no empty piece."""
    return [[2] + ids[i:i + PIECE] + [3] for i in range(0, len(ids), PIECE)][:split]


class LongClassifier(torch.nn.Module):
    def __init__(self, config, pooling):
        super().__init__()
        self.pooling = pooling
        self.bert = BertModel(config)
        hidden = config.hidden_size
        if pooling == "concat":
            self.classifier1 = torch.nn.Linear(hidden * SPLIT, hidden)
            self.classifier2 = torch.nn.Linear(hidden, config.num_labels)
        else:
            self.classifier = torch.nn.Linear(hidden, config.num_labels)

    def forward(self, sequences):
        if self.pooling == "concat":
            rows, masks = [], []
            for sequence in sequences:
                tokens = dnabert_pieces(kmer_ids(sequence), SPLIT)
                padded = tokens + [0] * (CHUNK * SPLIT - len(tokens))
                mask = [1] * len(tokens) + [0] * (CHUNK * SPLIT - len(tokens))
                for c in range(SPLIT):
                    chunk_mask = mask[c * CHUNK:(c + 1) * CHUNK]
                    masks.append(chunk_mask if any(chunk_mask) else [1] * CHUNK)
                    rows.append(padded[c * CHUNK:(c + 1) * CHUNK])
            pooled = self.bert(torch.tensor(rows), attention_mask=torch.tensor(masks)).pooler_output
            joined = pooled.view(len(sequences), -1)
            return self.classifier2(torch.relu(self.classifier1(joined)))
        vectors = []
        for sequence in sequences:
            pieces = real_pieces(kmer_ids(sequence), SPLIT)
            length = max(len(p) for p in pieces)
            ids = torch.tensor([p + [0] * (length - len(p)) for p in pieces])
            mask = torch.tensor([[1] * len(p) + [0] * (length - len(p)) for p in pieces])
            pooled = self.bert(ids, attention_mask=mask).pooler_output
            vectors.append(pooled.mean(0) if self.pooling == "mean" else pooled.max(0).values)
        return self.classifier(torch.stack(vectors))


def config(pooling):
    c = BertConfig(vocab_size=4 ** K + 5, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                   intermediate_size=64, max_position_embeddings=CHUNK, hidden_dropout_prob=0.0,
                   attention_probs_dropout_prob=0.0, num_labels=3, attn_implementation="eager")
    return c


def save(name, model, pooling, sequences, labels):
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    c = model.bert.config.to_dict()
    keep = ["attention_probs_dropout_prob", "hidden_act", "hidden_dropout_prob", "hidden_size", "initializer_range",
            "intermediate_size", "layer_norm_eps", "max_position_embeddings", "num_attention_heads",
            "num_hidden_layers", "pad_token_id", "type_vocab_size", "vocab_size"]
    document = {key: c[key] for key in keep}
    document["model_type"] = "bert"
    document["num_labels"] = 3
    document["split"] = SPLIT
    if pooling == "concat":  # as DNABERT-XL's run_finetune.py saves it (config.split, its class name)
        document["architectures"] = ["BertForLongSequenceClassificationCat"]
    else:
        document["architectures"] = ["BertForSequenceClassification"]
        document["long_sequence_pooling"] = pooling
    (folder / "config.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    (folder / "vocab.txt").write_text("\n".join(SPECIALS + KMERS))
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()
             if not name.endswith("position_ids")}
    safetensors.torch.save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})

    model.zero_grad()
    logits = model(sequences)
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels))
    loss.backward()
    golden = {"logits": logits.detach(), "loss": loss.detach().reshape(1)}
    for parameter_name, parameter in model.named_parameters():
        if parameter.grad is not None:
            golden["grad." + parameter_name] = parameter.grad.detach().contiguous()
    safetensors.torch.save_file(golden, str(folder / "golden.safetensors"))
    lines = ["id\tpredicted\tprob_0\tprob_1\tprob_2\tlogit_0\tlogit_1\tlogit_2"]
    for row, values in enumerate(logits.detach().tolist()):
        top = max(values)
        exps = [math.exp(x - top) for x in values]
        probs = [e / sum(exps) for e in exps]
        lines.append("\t".join([str(row), str(max(range(3), key=lambda c: values[c]))] + [f"{p:.9g}" for p in probs] +
                               [f"{x:.9g}" for x in values]))
    (EXPECTED / f"predict_long_{name}.tsv").write_text("\n".join(lines) + "\n")
    (folder / "inputs.json").write_text(json.dumps({"k": K, "split": SPLIT, "sequences": sequences, "labels": labels},
                                                   indent=1) + "\n")


def main():
    rng = random.Random(20261207)
    dna = lambda n: "".join(rng.choice("ACGT") for _ in range(n))
    # In k-mers: one short piece; exactly one piece (concat adds [CLS][SEP]); two pieces; exactly
    # two; more than SPLIT pieces (cut); one piece with an N.
    kmer_counts = [40, 510, 700, 1020, 1700, 90]
    sequences = [dna(n + K - 1) for n in kmer_counts]
    sequences[5] = sequences[5][:30] + "N" + sequences[5][31:]
    labels = [0, 1, 2, 1, 0, 2]
    for seed, pooling in enumerate(["mean", "max", "concat"]):
        torch.manual_seed(100 + seed)
        model = LongClassifier(config(pooling), pooling)
        with torch.no_grad():  # distinctive weights: noise on LayerNorms and biases too
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.05)
        model.eval()
        save(pooling, model, pooling, sequences, labels)
    with open(OUT / "sequences.csv", "w", newline="\n") as csv:
        csv.write("sequence,label\n")
        for sequence, label in zip(sequences, labels):
            csv.write(f"{sequence},{label}\n")
    write_dnalong_folder()


def write_dnalong_folder():
    """DNABERT-XL's dnalong: BertModel, a bidirectional LSTM (hidden = hidden_size) and classifier."""
    torch.manual_seed(7)
    c = config("none")
    bert = BertModel(c)
    rnn = torch.nn.LSTM(c.hidden_size, c.hidden_size, num_layers=1, bidirectional=True, batch_first=True)
    classifier = torch.nn.Linear(c.hidden_size, 3)
    state = {"bert." + k: v for k, v in bert.state_dict().items() if not k.endswith("position_ids")}
    state.update({"rnn." + k: v for k, v in rnn.state_dict().items()})
    state.update({"classifier." + k: v for k, v in classifier.state_dict().items()})
    folder = OUT / "dnalong"
    folder.mkdir(parents=True, exist_ok=True)
    document = json.loads((OUT / "mean" / "config.json").read_text())
    document.pop("long_sequence_pooling")
    document.update({"architectures": ["BertForLongSequenceClassification"], "rnn": "lstm", "num_rnn_layer": 1})
    (folder / "config.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    (folder / "vocab.txt").write_text("\n".join(SPECIALS + KMERS))
    safetensors.torch.save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "model.safetensors"),
                                metadata={"format": "pt"})


if __name__ == "__main__":
    main()
