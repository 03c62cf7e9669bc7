#!/usr/bin/env python3
"""PyTorch + transformers on the same GPU as bench_cuda: BERT-base with DNABERT-6's vocabulary.

Inference tokens/s at 8x128, 64x128, 64x512, 256x128 and a fine-tuning step (AdamW, clipping)
at 32x128 and 32x512, in float32 (TF32 off), TF32 and bf16 autocast; median of timed repeats
(CUDA events). Also records the error of PyTorch's own bf16 against float32 logits (the yardstick
for a bf16 backend). Prints one JSON object. Used by bench/gpu/run.sh.
"""
import json
import statistics
import sys

import torch
from transformers import BertConfig, BertForSequenceClassification


def timed(fn, repeats):
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def set_mode(mode):
    tf32 = mode == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


def main():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=4101, num_labels=2)
    model = BertForSequenceClassification(config).cuda()
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "attention": model.config._attn_implementation, "inference": [], "train_step": []}
    shapes = [(8, 128), (64, 128), (64, 512), (256, 128)]
    for mode in ["fp32", "tf32", "bf16"]:
        set_mode(mode)
        model.eval()
        for rows, length in shapes:
            ids = torch.randint(5, 4101, (rows, length), device="cuda")

            def forward():
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=mode == "bf16"):
                    model(input_ids=ids)

            seconds = timed(forward, 20 if rows * length <= 16384 else 10)
            result["inference"].append({"mode": mode, "rows": rows, "length": length, "seconds": seconds,
                                        "tokens_per_s": rows * length / seconds})
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
        for rows, length in [(32, 128), (32, 512)]:
            ids = torch.randint(5, 4101, (rows, length), device="cuda")
            labels = torch.arange(rows, device="cuda") % 2

            def step():
                optimizer.zero_grad(set_to_none=True)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=mode == "bf16"):
                    loss = model(input_ids=ids, labels=labels).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()

            seconds = timed(step, 10)
            result["train_step"].append({"mode": mode, "rows": rows, "length": length, "seconds": seconds,
                                         "tokens_per_s": rows * length / seconds})
        print(json.dumps(result["inference"][-len(shapes):] + result["train_step"][-2:]), file=sys.stderr)
    # PyTorch's own bf16 error against float32 on the same inputs (max |diff| / max |fp32|).
    set_mode("fp32")
    model.eval()
    ids = torch.randint(5, 4101, (8, 128), device="cuda")
    with torch.no_grad():
        reference = model(input_ids=ids, output_hidden_states=True).hidden_states[-1].float()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            low = model(input_ids=ids, output_hidden_states=True).hidden_states[-1].float()
    result["bf16_vs_fp32_last_hidden_rel_error"] = ((low - reference).abs().max() / reference.abs().max()).item()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
