#!/usr/bin/env python3
"""DNABERT-2 (MosaicBERT) reference: tiny random models in DNABERT-2's folder layout and their outputs.

DNABERT-2 publishes its architecture as `bert_layers.py` beside its weights (trust_remote_code).
This script is an independent PyTorch implementation of that architecture, written from its
description (facts, not code): embeddings are word + token type (no position embeddings) then
LayerNorm; each layer's attention takes Q, K, V from one fused `Wqkv` linear and adds to the
scaled scores the ALiBi bias -slope_h * |i - j| (slopes 2^(-8(h+1)/n) for n heads a power of two;
otherwise those of the nearest lower power of two followed by every other slope of twice as many
heads) and -10000 on padding; then dense + dropout + LayerNorm(x + residual) as BERT; the
feed-forward is a GEGLU: `gated_layers` (no bias) gives [gate | value] of 2 * intermediate,
GELU(exact)(gate) * value, then `wo`, dropout, LayerNorm(x + residual) (`mlp.layernorm`). The
pooler is BERT's (dense + tanh on [CLS]); the classifier a linear layer on it; the masked-LM head
BERT's transform (dense, GELU, LayerNorm with eps 1e-12 whatever the config says) and a decoder
tied to the word embeddings with its own bias.

Writes under tests/data/dnabert2/ (from the repository root):
  * cls_k/ and mlm/: config.json (DNABERT-2-117M's fields, tiny sizes), model.safetensors (the
    tensor names of bert_layers.py), and tokenizer.json (the 200-token BPE vocabulary of
    tests/data/bpe/chr17_bpe200, so the vocabulary size is 200);
  * mlm_pytorch_model.bin: the mlm folder's weights as torch.save writes a state dict (the tied
    decoder weight included, sharing the word embeddings' storage);
  * golden.safetensors: for each model, the inputs (ids, token types, mask), the logits, every
    hidden state and, for the classifier, the pooled output; batches padded on the right,
    including one longer than alibi_starting_size (the bias is rebuilt past it);
  * README.md: what each tensor is;
  * tests/cli/expected/{predict_dnabert2_cls_k.tsv, embed_dnabert2_cls_k_mean.txt,
    attention_dnabert2_cls_k.tsv}: what `dnabert predict`, `embed --pooling mean` and `attention
    --format tsv` must give for tests/data/cli/three.fa with cls_k, its sequences tokenized by the
    `tokenizers` library (attention: each nucleotide the [CLS] score of the token whose offsets hold it).

Run from the repository root: python3 tests/reference/make_dnabert2_goldens.py
(needs torch, safetensors and tokenizers, tests/reference/requirements.txt). CPU, float32, 1 thread,
deterministic.
"""
import json
import math
import pathlib
import shutil

import torch
from safetensors.torch import save_file
from torch import nn

from make_cli_expected_outputs import fasta_sequences, number  # the CLI goldens' readers and number format

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "dnabert2"
BPE = ROOT / "tests" / "data" / "bpe" / "chr17_bpe200" / "tokenizer.json"
CLI = ROOT / "tests" / "cli" / "expected"


def alibi_slopes(heads: int) -> list[float]:
    """ALiBi's head slopes, as DNABERT-2 computes them."""
    if math.log2(heads).is_integer():
        start = 2.0 ** (-8.0 / heads)
        return [start ** (h + 1) for h in range(heads)]
    lower = 2 ** math.floor(math.log2(heads))
    return alibi_slopes(lower) + alibi_slopes(2 * lower)[0::2][: heads - lower]


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.heads = c["num_attention_heads"]
        self.Wqkv = nn.Linear(h, 3 * h)
        self.dense = nn.Linear(h, h)
        self.attention_norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.gated_layers = nn.Linear(h, 2 * i, bias=False)
        self.wo = nn.Linear(i, h)
        self.mlp_norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.intermediate = i

    def forward(self, x, bias):
        b, s, h = x.shape
        d = h // self.heads
        q, k, v = self.Wqkv(x).view(b, s, 3, self.heads, d).permute(2, 0, 3, 1, 4)  # each [b, heads, s, d]
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + bias
        self.probabilities = scores.softmax(-1)
        context = (self.probabilities @ v).transpose(1, 2).reshape(b, s, h)
        x = self.attention_norm(self.dense(context) + x)
        gate_value = self.gated_layers(x)
        gated = nn.functional.gelu(gate_value[..., : self.intermediate]) * gate_value[..., self.intermediate :]
        return self.mlp_norm(self.wo(gated) + x)

    def state(self, prefix):
        return {
            f"{prefix}.attention.self.Wqkv.weight": self.Wqkv.weight, f"{prefix}.attention.self.Wqkv.bias": self.Wqkv.bias,
            f"{prefix}.attention.output.dense.weight": self.dense.weight,
            f"{prefix}.attention.output.dense.bias": self.dense.bias,
            f"{prefix}.attention.output.LayerNorm.weight": self.attention_norm.weight,
            f"{prefix}.attention.output.LayerNorm.bias": self.attention_norm.bias,
            f"{prefix}.mlp.gated_layers.weight": self.gated_layers.weight,
            f"{prefix}.mlp.wo.weight": self.wo.weight, f"{prefix}.mlp.wo.bias": self.wo.bias,
            f"{prefix}.mlp.layernorm.weight": self.mlp_norm.weight, f"{prefix}.mlp.layernorm.bias": self.mlp_norm.bias,
        }


class MosaicBert(nn.Module):
    def __init__(self, c, head):
        super().__init__()
        h = c["hidden_size"]
        self.c, self.head = c, head
        self.word = nn.Embedding(c["vocab_size"], h)
        self.token_type = nn.Embedding(c["type_vocab_size"], h)
        self.embedding_norm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        if head == "cls":
            self.pooler = nn.Linear(h, h)
            self.classifier = nn.Linear(h, c["num_labels"])
        else:
            self.transform = nn.Linear(h, h)
            self.transform_norm = nn.LayerNorm(h, eps=1e-12)
            self.decoder_bias = nn.Parameter(torch.zeros(c["vocab_size"]))

    def forward(self, ids, types, mask):
        x = self.embedding_norm(self.word(ids) + self.token_type(types))
        s = ids.shape[1]
        position = torch.arange(s)
        distance = (position[None, :] - position[:, None]).abs().float()
        slopes = torch.tensor(alibi_slopes(self.c["num_attention_heads"]))
        bias = -slopes[:, None, None] * distance[None] + ((1.0 - mask.float()) * -10000.0)[:, None, None, :]
        states = [x]
        for layer in self.layers:
            x = layer(x, bias)
            states.append(x)
        out = {"hidden_states": torch.stack(states)}
        if self.head == "cls":
            out["pooled"] = torch.tanh(self.pooler(x[:, 0]))
            out["logits"] = self.classifier(out["pooled"])
        else:
            t = self.transform_norm(nn.functional.gelu(self.transform(x)))
            out["logits"] = t @ self.word.weight.T + self.decoder_bias
        return out

    def state(self):
        """A checkpoint's tensors: copies of the parameters under DNABERT-2's names."""
        return {name: tensor.detach().clone().contiguous() for name, tensor in self.state_with_parameters().items()}

    def state_with_parameters(self):
        """The parameters themselves by their names in DNABERT-2's checkpoints."""
        state = {"bert.embeddings.word_embeddings.weight": self.word.weight,
                 "bert.embeddings.token_type_embeddings.weight": self.token_type.weight,
                 "bert.embeddings.LayerNorm.weight": self.embedding_norm.weight,
                 "bert.embeddings.LayerNorm.bias": self.embedding_norm.bias}
        for n, layer in enumerate(self.layers):
            state |= layer.state(f"bert.encoder.layer.{n}")
        if self.head == "cls":
            state |= {"bert.pooler.dense.weight": self.pooler.weight, "bert.pooler.dense.bias": self.pooler.bias,
                      "classifier.weight": self.classifier.weight, "classifier.bias": self.classifier.bias}
        else:
            state |= {"cls.predictions.transform.dense.weight": self.transform.weight,
                      "cls.predictions.transform.dense.bias": self.transform.bias,
                      "cls.predictions.transform.LayerNorm.weight": self.transform_norm.weight,
                      "cls.predictions.transform.LayerNorm.bias": self.transform_norm.bias,
                      "cls.predictions.decoder.bias": self.decoder_bias}
        return state


def config(heads, layers, labels, architecture):
    published = json.loads((ROOT.parent / "shared" / "data" / "dnabert2-117m" / "config.json").read_text()) \
        if (ROOT.parent / "shared" / "data" / "dnabert2-117m" / "config.json").exists() else {}
    c = {key: published[key] for key in ["alibi_starting_size", "auto_map", "gradient_checkpointing", "initializer_range",
                                         "position_embedding_type", "use_cache"] if key in published}
    c |= {"architectures": [architecture], "model_type": "bert", "attention_probs_dropout_prob": 0.0,
          "classifier_dropout": None, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 8 * heads,
          "intermediate_size": 40, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "num_attention_heads": heads,
          "num_hidden_layers": layers, "type_vocab_size": 2, "vocab_size": 200, "torch_dtype": "float32",
          "pad_token_id": 3, "alibi_starting_size": 16}
    if labels:
        c["num_labels"] = labels
    return c


def randomise(model, generator):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_((0.1 if name.endswith("bias") else 0.2) * torch.randn(p.shape, generator=generator))


def inputs(generator, batch, length, vocab):
    ids = torch.randint(5, vocab, (batch, length), generator=generator)
    ids[:, 0] = 1  # [CLS]
    mask = torch.ones(batch, length, dtype=torch.long)
    lengths = [length] + [max(3, length - 7 * (r + 1)) for r in range(batch - 1)]
    for r, n in enumerate(lengths):
        ids[r, n - 1] = 2  # [SEP]
        ids[r, n:] = 3     # [PAD]
        mask[r, n:] = 0
    types = torch.zeros_like(ids)
    return ids, types, mask


def gradients(model, head, ids, types, mask, generator, prefix):
    """Loss and every parameter's gradient (DNABERT-2's names) for one batch: cross-entropy on
    random labels for the classifier, on a few labelled real tokens (-100 elsewhere) for MLM."""
    model.zero_grad()
    out = model(ids, types, mask)
    if head == "cls":
        labels = torch.randint(0, out["logits"].shape[1], (ids.shape[0],), generator=generator)
        loss = nn.functional.cross_entropy(out["logits"], labels)
    else:
        labels = torch.full(ids.shape, -100)
        chosen = (torch.rand(ids.shape, generator=generator) < 0.3) & (mask == 1)
        labels[chosen] = torch.randint(0, out["logits"].shape[-1], ids.shape, generator=generator)[chosen]
        loss = nn.functional.cross_entropy(out["logits"].reshape(-1, out["logits"].shape[-1]), labels.reshape(-1))
    loss.backward()
    grads = {f"{prefix}.labels": labels.float(), f"{prefix}.loss": loss.detach().reshape(1)}
    named = {id(p): name for name, p in model.state_with_parameters().items()}
    for p in model.parameters():
        grads[f"{prefix}.grad.{named[id(p)]}"] = p.grad.detach().clone().contiguous()
    return grads


def cli_expectations(model):
    """What `dnabert predict`, `embed --pooling mean` and `attention --format tsv` give for
    tests/data/cli/three.fa with the cls_k folder: the sequences tokenized by the `tokenizers`
    library (its offsets map each token to its letters), padded, run through the reference."""
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(str(BPE))
    records = fasta_sequences(ROOT / "tests" / "data" / "cli" / "three.fa")
    encodings = [tokenizer.encode(sequence) for _, sequence in records]
    length = max(len(e.ids) for e in encodings)
    ids = torch.full((len(records), length), 3)
    mask = torch.zeros(len(records), length, dtype=torch.long)
    for r, e in enumerate(encodings):
        ids[r, :len(e.ids)] = torch.tensor(e.ids)
        mask[r, :len(e.ids)] = 1
    with torch.no_grad():
        out = model(ids, torch.zeros_like(ids), mask)
    logits = out["logits"].double()
    probabilities = logits.softmax(-1)
    rows = ["\t".join(["id", "predicted"] + [f"prob_{c}" for c in range(3)] + [f"logit_{c}" for c in range(3)])]
    for (name, _), p, z in zip(records, probabilities, out["logits"]):
        rows.append("\t".join([name, str(int(p.argmax()))] + [number(v) for v in p.tolist()] + [number(v) for v in z.tolist()]))
    (CLI / "predict_dnabert2_cls_k.tsv").write_text("\n".join(rows) + "\n")
    last = out["hidden_states"][-1].double()
    mean = (last * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True)
    lines = [f"npy <f4 shape ({mean.shape[0]}, {mean.shape[1]})"] + [" ".join(number(float(torch.tensor(v, dtype=torch.float32))) for v in row.tolist()) for row in mean]
    (CLI / "embed_dnabert2_cls_k_mean.txt").write_text("\n".join(lines) + "\n")
    # DNABERT-viz on BPE: the [CLS] row of the last layer summed over heads, each nucleotide the
    # score of the token whose offsets hold it, L2-normalised.
    probabilities = model.layers[-1].probabilities.double()
    lines = ["id\tposition\tscore"]
    for r, ((name, sequence), e) in enumerate(zip(records, encodings)):
        scores = torch.zeros(len(sequence), dtype=torch.float64)
        cls_row = probabilities[r, :, 0, :].sum(0)
        for t, (begin, end) in enumerate(e.offsets):
            if e.special_tokens_mask[t]:
                continue
            scores[begin:end] = cls_row[t]
        scores /= scores.norm()
        lines += [f"{name}\t{p}\t{number(float(torch.tensor(v, dtype=torch.float32)))}" for p, v in enumerate(scores.tolist())]
    (CLI / "attention_dnabert2_cls_k.tsv").write_text("\n".join(lines) + "\n")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(20261207)
    OUT.mkdir(parents=True, exist_ok=True)
    goldens = {}
    for name, head, heads, layers, labels, architecture in [
            ("cls_k", "cls", 6, 2, 3, "BertForSequenceClassification"),   # 6 heads: the slopes' non-power-of-two rule
            ("mlm", "mlm", 4, 2, 0, "BertForMaskedLM")]:
        c = config(heads, layers, labels, architecture)
        model = MosaicBert(c, head).eval()
        randomise(model, generator)
        folder = OUT / name
        folder.mkdir(exist_ok=True)
        (folder / "config.json").write_text(json.dumps(c, indent=2, sort_keys=True) + "\n")
        save_file(model.state(), str(folder / "model.safetensors"), metadata={"format": "pt"})
        if name == "mlm":  # the same weights as torch.save writes them, the tied decoder sharing the embeddings' storage
            state = {key: value.detach() for key, value in model.state_with_parameters().items()}
            state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"]
            torch.save(state, OUT / "mlm_pytorch_model.bin")
        shutil.copy(BPE, folder / "tokenizer.json")
        for case, (batch, length) in {"short": (3, 12), "past_alibi_start": (2, 40)}.items():
            ids, types, mask = inputs(generator, batch, length, c["vocab_size"])
            with torch.no_grad():
                out = model(ids, types, mask)
            prefix = f"{name}.{case}"
            # float32, as the other goldens store ids (exact below 2^24; dnabert's reader takes floats)
            goldens |= {f"{prefix}.input_ids": ids.float(), f"{prefix}.token_type_ids": types.float(),
                        f"{prefix}.attention_mask": mask.float()}
            goldens |= {f"{prefix}.{key}": value.contiguous() for key, value in out.items()}
            if case == "short":  # a training step's gradients, dropout off (model.eval())
                goldens |= gradients(model, head, ids, types, mask, generator, prefix)
        if name == "cls_k":
            cli_expectations(model)
    save_file(goldens, str(OUT / "golden.safetensors"))
    (OUT / "README.md").write_text(
        "# DNABERT-2 (MosaicBERT) goldens\n\nWritten by `tests/reference/make_dnabert2_goldens.py` (its docstring "
        f"describes the architecture) with torch {torch.__version__}. Folders `cls_k` (BertForSequenceClassification, "
        "6 heads, 2 layers, 3 labels) and `mlm` (BertForMaskedLM, 4 heads, 2 layers): hidden 8 x heads, intermediate "
        "40, vocabulary 200 (the BPE tokenizer of ../bpe/chr17_bpe200), alibi_starting_size 16.\n\n"
        "`golden.safetensors`: `<model>.<case>.{input_ids, token_type_ids, attention_mask}` (float32, [B, S], padded on "
        "the right with [PAD] = 3), `.logits` ([B, labels] or [B, S, vocab]), `.hidden_states` ([layers + 1, B, S, "
        "hidden]: the embeddings' output, then each layer's; padding rows are what the padded computation gives), "
        "`.pooled` (classifier); for `short`, `.labels`, `.loss` and `.grad.<parameter>` (cross-entropy, dropout off; "
        "MLM labels -100 except on about 30% of the real tokens). DNABERT-2 itself unpads, so compare real tokens only. Cases: `short` [3, 12] and `past_alibi_start` [2, 40] (longer than "
        "alibi_starting_size).\n")


if __name__ == "__main__":
    main()
