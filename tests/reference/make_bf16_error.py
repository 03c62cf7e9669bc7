#!/usr/bin/env python3
"""How far PyTorch's own bfloat16 is from its float32 on the parity fixtures: the yardstick for
dnabert's bf16 CUDA backend (tests/cuda/cuda_backend_test.cpp allows twice this error).

For each model folder in tests/data/parity, the golden batch (input_ids, attention_mask) runs
through transformers in float32 and with the whole model cast to bfloat16 (weights and
activations, as dnabert's cuda_bf16 backend stores them); the error is max |bf16 - fp32| divided
by max |fp32|, for the logits and the last hidden state. Writes tests/data/bf16/torch_bf16_error.json.
"""
import json
import pathlib

import torch
from safetensors.torch import load_file
from transformers import BertForMaskedLM, BertForSequenceClassification

root = pathlib.Path(__file__).resolve().parents[1] / "data"
result = {"torch": torch.__version__}
for name in ["mlm_k3", "cls_k6", "cls3_k3", "reg_k6"]:
    folder = root / "parity" / name
    golden = load_file(str(folder / "golden.safetensors"))
    model_class = BertForMaskedLM if name.startswith("mlm") else BertForSequenceClassification
    model = model_class.from_pretrained(str(folder), attn_implementation="eager").eval()
    inputs = {"input_ids": golden["input_ids"].long(), "attention_mask": golden["attention_mask"].long()}
    with torch.no_grad():
        full = model(**inputs, output_hidden_states=True)
        half = model.to(torch.bfloat16)(**inputs, output_hidden_states=True)
    errors = {}
    for key, a, b in [("logits", full.logits, half.logits), ("last_hidden", full.hidden_states[-1], half.hidden_states[-1])]:
        errors[key] = ((b.float() - a).abs().max() / a.abs().max()).item()
    result[name] = errors
(root / "bf16").mkdir(exist_ok=True)
(root / "bf16" / "torch_bf16_error.json").write_text(json.dumps(result, indent=1) + "\n")
print(json.dumps(result, indent=1))
