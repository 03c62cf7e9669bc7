#!/usr/bin/env python3
"""Goldens for the AdamW optimizer: PyTorch's torch.optim.AdamW with DNABERT's no-decay
groups, transformers' get_linear_schedule_with_warmup and torch.nn.utils.clip_grad_norm_.

The parameters are the tiny classifier of tests/data/parity/cls3_k3/model.safetensors. The
gradient of step s is the stored golden gradient (golden.safetensors, "grad.<name>") times
FACTORS[s], so the C++ test rebuilds it without running the model; in step SKIP_STEP the
parameter SKIP_PARAM gets no gradient (torch then leaves it and its step count alone).
Two runs: DNABERT's pre-training defaults, and one with a large rate and weight decay so that
decay groups and eps show at the 1e-5 bar. Writes tests/data/optimizer/adamw_golden.safetensors:
  <run>.<name>      the parameter after the last step (float32)
  <run>.lr          the learning rate used at each step
  <run>.grad_norm   the norm clip_grad_norm_ returned at each step
Run from the repository root: python3 tests/reference/make_optimizer_goldens.py
"""
import pathlib

import torch
from safetensors.torch import load_file, save_file
from transformers import get_linear_schedule_with_warmup

ROOT = pathlib.Path(__file__).resolve().parents[2]
PARITY = ROOT / "tests/data/parity/cls3_k3"
OUT = ROOT / "tests/data/optimizer/adamw_golden.safetensors"

FACTORS = [1.0, -0.5, 3.0, 0.05, 2.0]  # norms straddle max_norm 1.0: some steps clip, some not
SKIP_STEP = 2  # 0-based
SKIP_PARAM = "classifier.bias"
WARMUP, TOTAL, MAX_NORM = 2, 10, 1.0
RUNS = {
    "pretrain": dict(lr=4e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01),
    "amplified": dict(lr=1e-2, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.5),
}
NO_DECAY = ["bias", "LayerNorm.weight"]  # DNABERT's run_pretrain.py / run_finetune.py


def run(name, options):
    weights = load_file(PARITY / "model.safetensors")
    golden = load_file(PARITY / "golden.safetensors")
    params = {n: torch.nn.Parameter(t.clone()) for n, t in weights.items()}
    groups = [
        {"params": [p for n, p in params.items() if not any(nd in n for nd in NO_DECAY)],
         "weight_decay": options["weight_decay"]},
        {"params": [p for n, p in params.items() if any(nd in n for nd in NO_DECAY)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=options["lr"], betas=options["betas"], eps=options["eps"],
                                  foreach=False)
    scheduler = get_linear_schedule_with_warmup(optimizer, WARMUP, TOTAL)
    lrs, norms = [], []
    for step, factor in enumerate(FACTORS):
        for n, p in params.items():
            p.grad = None if (step == SKIP_STEP and n == SKIP_PARAM) else golden["grad." + n] * factor
        norms.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()), MAX_NORM)))
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    out = {f"{name}.{n}": p.detach().clone().contiguous() for n, p in params.items()}
    out[f"{name}.lr"] = torch.tensor(lrs, dtype=torch.float32)
    out[f"{name}.grad_norm"] = torch.tensor(norms, dtype=torch.float32)
    print(name, "lr", lrs, "grad norms", norms)
    return out


def main():
    torch.manual_seed(0)
    tensors = {}
    for name, options in RUNS.items():
        tensors.update(run(name, options))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, OUT)
    print("wrote", OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
