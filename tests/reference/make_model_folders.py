#!/usr/bin/env python3
"""Writes tiny Hugging Face model folders that the C++ tests read (tests/data/models/<name>/).

Each model is a real transformers BERT with random weights from a fixed seed, saved the ways
DNABERT checkpoints exist in the wild:
  * save_pretrained() of the installed transformers -> model.safetensors (tied MLM decoder left
    out; transformers >= 4 also drops BertForMaskedLM's unused pooler),
  * torch.save(state_dict) -> pytorch_model.bin, as transformers <= 4.x wrote it: the legacy
    (torch < 1.6) format of DNABERT's 2020 checkpoints, or the zip format of torch >= 1.6, with
    the tied decoder sharing the embedding's storage.
Every folder also gets DNABERT's vocab.txt (built from the formula, not copied) and a
reference.json of a few tensors' shapes, sums and first values for the C++ tests to compare.

Needs torch, transformers and safetensors (pip install torch transformers safetensors).
Run from anywhere:  python3 tests/reference/make_model_folders.py [--out DIR] [--only NAME]
"""

import argparse
import itertools
import json
import pathlib
import shutil

import torch
from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# One entry per model: transformers class, k, BertConfig sizes, seed.
MODELS = {
    "mlm-k3": dict(
        model_class=BertForMaskedLM,
        k=3,
        config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                    max_position_embeddings=64),
        seed=3,
    ),
    "cls-k6": dict(
        model_class=BertForSequenceClassification,
        k=6,
        # hidden 16 keeps the 4101-row embedding at 262 KB per copy.
        config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
                    max_position_embeddings=64, num_labels=3,
                    id2label={0: "promoter", 1: "enhancer", 2: "other"},
                    label2id={"promoter": 0, "enhancer": 1, "other": 2}),
        seed=6,
    ),
}

# Tensors whose values reference.json records (when the model has them).
REFERENCE_TENSORS = [
    "bert.embeddings.word_embeddings.weight",
    "bert.embeddings.LayerNorm.bias",
    "bert.encoder.layer.0.attention.self.query.weight",
    "bert.encoder.layer.0.intermediate.dense.bias",
    "bert.pooler.dense.weight",
    "cls.predictions.bias",
    "cls.predictions.transform.LayerNorm.weight",
    "classifier.weight",
    "classifier.bias",
]


def dnabert_vocab_text(k):
    """DNABERT's vocab.txt bytes: specials, then itertools.product('ATCG') order; only the k=6
    file ends with a newline."""
    tokens = SPECIAL_TOKENS + ["".join(p) for p in itertools.product("ATCG", repeat=k)]
    return "\n".join(tokens) + ("\n" if k == 6 else "")


def build_model(spec):
    """A transformers model with deterministic, distinctive weights (HF's init sets LayerNorm to
    1/0 and biases to 0; noise makes every tensor's values worth comparing)."""
    torch.manual_seed(spec["seed"])
    config = BertConfig(vocab_size=4 ** spec["k"] + 5, **spec["config"])
    model = spec["model_class"](config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model


def tensor_reference(tensor):
    values = tensor.detach().to(torch.float64).flatten()
    return {"shape": list(tensor.shape), "sum": values.sum().item(), "first": values[:4].tolist()}


def write_reference(folder, model, weight_file, bin_format):
    state = model.state_dict()
    reference = {
        "weight_file": weight_file,
        "torch_format": bin_format,
        "architecture": type(model).__name__,
        "vocab_size": model.config.vocab_size,
        "num_labels": model.config.num_labels,
        "tensors": {name: tensor_reference(state[name]) for name in REFERENCE_TENSORS if name in state},
    }
    (folder / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")


def dnabert_2020_config(config):
    """config.json as DNABERT ships it (bert-config-6): no layer_norm_eps, model_type or pad_token_id."""
    keys = ["architectures", "attention_probs_dropout_prob", "hidden_act", "hidden_dropout_prob", "hidden_size",
            "initializer_range", "intermediate_size", "max_position_embeddings", "num_attention_heads",
            "num_hidden_layers", "type_vocab_size", "vocab_size"]
    full = config.to_dict()
    full["architectures"] = ["BertForMaskedLM"]
    return {key: full[key] for key in keys}


def transformers_2_5_finetuned_config(config):
    """config.json as DNABERT's transformers 2.5.0 fork wrote after fine-tuning: num_labels set
    after the fact, so id2label still holds the two default labels."""
    full = dnabert_2020_config(config)
    full.update(architectures=["BertForSequenceClassification"], finetuning_task="dnaprom",
                num_labels=config.num_labels, id2label={"0": "LABEL_0", "1": "LABEL_1"},
                label2id={"LABEL_0": 0, "LABEL_1": 1}, output_attentions=False, output_hidden_states=False,
                torchscript=False, is_decoder=False, split=10, rnn="lstm", num_rnn_layer=1, rnn_dropout=0.0,
                rnn_hidden=768)
    return full


def save_safetensors_folder(folder, model, k):
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "vocab.txt").write_text(dnabert_vocab_text(k))
    write_reference(folder, model, "model.safetensors", None)


def save_torch_folder(folder, model, k, legacy):
    """pytorch_model.bin via torch.save of the full state_dict (tied tensors share storage); the
    zip variant also carries the position_ids buffer that transformers 4.0-4.30 saved. The legacy
    format keys storages by id(), so its bytes (never its tensors) differ between runs."""
    folder.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    if legacy:
        config = dnabert_2020_config(model.config)
    else:
        config = transformers_2_5_finetuned_config(model.config)
        state["bert.embeddings.position_ids"] = torch.arange(model.config.max_position_embeddings).unsqueeze(0)
    torch.save(state, folder / "pytorch_model.bin", _use_new_zipfile_serialization=not legacy)
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (folder / "vocab.txt").write_text(dnabert_vocab_text(k))
    write_reference(folder, model, "pytorch_model.bin", "legacy" if legacy else "zip")


def make(name, out):
    spec = MODELS[name]
    model = build_model(spec)
    for suffix in ("", "-bin"):
        shutil.rmtree(out / (name + suffix), ignore_errors=True)
    save_safetensors_folder(out / name, model, spec["k"])
    # The MLM copy takes DNABERT's 2020 legacy format; the classifier the zip format.
    save_torch_folder(out / (name + "-bin"), model, spec["k"], legacy=spec["model_class"] is BertForMaskedLM)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_out = pathlib.Path(__file__).resolve().parent.parent / "data" / "models"
    parser.add_argument("--out", type=pathlib.Path, default=default_out, help="output folder (default: %(default)s)")
    parser.add_argument("--only", choices=sorted(MODELS), help="write one model only")
    args = parser.parse_args()
    for name in [args.only] if args.only else sorted(MODELS):
        make(name, args.out)
        print("wrote", args.out / name, "and", args.out / (name + "-bin"))


if __name__ == "__main__":
    main()
