#!/usr/bin/env python3
"""How far the peers' reduced CPU precisions are from float32 on the parity fixtures: the yardsticks
for dnabert's cpu_math::bf16 and cpu_math::int8 (issue 16, "Accuracy").

For each model folder in tests/data/parity, a batch of 64 random k-mer sequences of random lengths
(seeded; right-padded; [CLS] ... [SEP] as DNABERT's tokenizer makes them) runs on the CPU, one
thread. A larger batch than the fixture's golden one (3 sequences): the maximum error over a
handful of logits moves by up to 2x when the weights move by 1e-6 (int8 rounding boundaries), over
64 sequences it is a stable yardstick. The batch and its float32 logits are written to
tests/data/precision/batches.safetensors (NAME.input_ids, NAME.attention_mask, NAME.logits) for the
C++ test to run the same inputs:
  * fp32: transformers, attn_implementation="eager", eval(), torch.no_grad(): the reference logits
    (on the fixture's golden batch they are its golden logits: the script fails beyond 1e-5);
  * torch_bf16_autocast: the same float32 model under torch.autocast("cpu", dtype=torch.bfloat16),
    as a PyTorch user runs bf16 inference on a CPU (linear layers and matmuls in bf16);
  * onnxruntime_int8: the model exported to ONNX in float32 (TorchScript exporter, opset 14), then
    onnxruntime.quantization.quantize_dynamic(weight_type=QuantType.QInt8) with its other defaults
    (per_channel=False, reduce_range=False, every op type it quantizes: MatMul, Gather, ...), run
    by ONNX Runtime's CPUExecutionProvider with default graph optimisations, 1 thread.
For each of torch_bf16_autocast and onnxruntime_int8, against the fp32 logits:
  * max_abs_logit_error = max |logits - logits_fp32| over every element of the logits tensor;
  * relative_logit_error = max_abs_logit_error / max |logits_fp32| (max_abs_logit_fp32).
Also per fixture: onnxruntime_fp32_max_abs_logit_error, the float32 ONNX model's max |logits -
logits_fp32| (the export is the same model: the script fails beyond 1e-4), and
onnxruntime_int8_nodes, how many nodes of the quantized graph are int8 matmuls, float matmuls and
int8 embedding tables. Writes tests/data/precision/cpu_precision_error.json, with the torch,
onnxruntime and onnx versions.

Used by tests/unit/model/precision_test.cpp (max_abs_logit_error): dnabert's bf16 logits must be
within 2x torch_bf16_autocast's error of the golden logits, its int8 logits within 1.5x
onnxruntime_int8's.

The numbers depend on the CPU's kernels (bf16 with or without AVX512_BF16/AMX, int8 with or without
VNNI), so .ci/check_goldens compares this file with its own, looser tolerance (PATH_TOLERANCES in
tests/reference/compare_goldens.py; the evidence is in tests/reference/README.md).

Run from the repository root: python3 tests/reference/make_cpu_precision_error.py
"""
import collections
import json
import pathlib
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from safetensors.torch import load_file, save_file
from transformers import BertForMaskedLM, BertForSequenceClassification

FIXTURES = ["mlm_k3", "cls_k6", "cls3_k3", "reg_k6"]
BATCH_ROWS = 64
FIRST_KMER_ID = 5  # [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4 (DNABERT's vocab.txt)
# What quantize_dynamic made of the graph: MatMulInteger = int8 matmuls (every Linear, the MLM
# decoder included), MatMul = matmuls left in float32 (attention scores and context),
# DequantizeLinear = int8 tables read by Gather (word, position and token-type embeddings).
QUANTIZATION_OPS = ["MatMulInteger", "MatMul", "DequantizeLinear"]
# The float32 ONNX model must reproduce PyTorch's float32 logits this closely (last-bit noise only).
EXPORT_TOLERANCE = 1e-4
# PyTorch's float32 logits here against the fixture's (make_parity_goldens.py): the same model.
GOLDEN_TOLERANCE = 1e-5

root = pathlib.Path(__file__).resolve().parents[1] / "data"


class Logits(torch.nn.Module):
    """The model with (input_ids, attention_mask) in and the logits tensor out, for the exporter."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def ort_session(path):
    """An ONNX Runtime CPU session as a user opens one, restricted to one thread for determinism."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Exact int32 accumulation on every x86 CPU. Without VNNI (AVX2, AVX512 before Cascade Lake,
    # Zen 1-3) ORT's default u8s8 kernel sums byte pairs with vpmaddubsw, which saturates at int16:
    # on these fixtures cls_k6's int8 error would be 6.4x larger there (emulated, README.md). With
    # VNNI or AMX (this machine has VNNI) the option changes nothing: the default kernel is exact.
    options.add_session_config_entry("session.x64quantprecision", "1")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def error(got, reference):
    """max |got - reference| and that divided by max |reference| (float64 arithmetic)."""
    got, reference = np.asarray(got, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    max_abs = float(np.abs(got - reference).max())
    return {"max_abs_logit_error": max_abs, "relative_logit_error": max_abs / float(np.abs(reference).max())}


def random_batch(config, length, generator):
    """BATCH_ROWS sequences of 1..length-2 random k-mer ids between [CLS] and [SEP], right-padded."""
    ids = torch.zeros(BATCH_ROWS, length, dtype=torch.long)
    mask = torch.zeros(BATCH_ROWS, length, dtype=torch.long)
    for row in range(BATCH_ROWS):
        kmers = int(torch.randint(1, length - 1, (1,), generator=generator))
        ids[row, 0], ids[row, kmers + 1] = 2, 3
        ids[row, 1 : kmers + 1] = torch.randint(FIRST_KMER_ID, config.vocab_size, (kmers,), generator=generator)
        mask[row, : kmers + 2] = 1
    return ids, mask


def measure(name, workdir, batches):
    folder = root / "parity" / name
    golden = load_file(str(folder / "golden.safetensors"))
    model_class = BertForMaskedLM if name.startswith("mlm") else BertForSequenceClassification
    model = model_class.from_pretrained(str(folder), attn_implementation="eager").eval()
    with torch.no_grad():
        golden_fp32 = model(input_ids=golden["input_ids"].long(), attention_mask=golden["attention_mask"].long()).logits
    golden_deviation = error(golden_fp32.numpy(), golden["logits"].numpy())["max_abs_logit_error"]
    if not golden_deviation <= GOLDEN_TOLERANCE:
        raise RuntimeError(f"{name}: float32 logits differ from golden.safetensors by {golden_deviation:.3g}")

    ids, mask = random_batch(model.config, golden["input_ids"].shape[1], torch.Generator().manual_seed(16))
    with torch.no_grad():
        fp32 = model(input_ids=ids, attention_mask=mask).logits
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = model(input_ids=ids, attention_mask=mask).logits
    batches[f"{name}.input_ids"] = ids.to(torch.float32)  # float, as golden.safetensors (the reader takes float tensors)
    batches[f"{name}.attention_mask"] = mask.to(torch.float32)
    batches[f"{name}.logits"] = fp32.contiguous()
    fp32 = fp32.numpy()

    onnx_fp32, onnx_int8 = workdir / f"{name}.onnx", workdir / f"{name}.int8.onnx"
    torch.onnx.export(
        Logits(model),
        (ids, mask),
        str(onnx_fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        opset_version=14,
        dynamo=False,  # the TorchScript exporter needs no onnxscript (as bench/compare_peers.py)
    )
    quantize_dynamic(onnx_fp32, onnx_int8, weight_type=QuantType.QInt8)
    feed = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    (ort_fp32,) = ort_session(onnx_fp32).run(None, feed)
    (ort_int8,) = ort_session(onnx_int8).run(None, feed)

    export_deviation = error(ort_fp32, fp32)["max_abs_logit_error"]
    if not export_deviation <= EXPORT_TOLERANCE:
        raise RuntimeError(f"{name}: the float32 ONNX model differs from PyTorch by {export_deviation:.3g}")
    ops = collections.Counter(node.op_type for node in onnx.load(str(onnx_int8)).graph.node)
    return {
        "max_abs_logit_fp32": float(np.abs(fp32.astype(np.float64)).max()),
        "torch_bf16_autocast": error(bf16.float().numpy(), fp32),
        "onnxruntime_int8": error(ort_int8, fp32),
        "onnxruntime_fp32_max_abs_logit_error": export_deviation,
        "onnxruntime_int8_nodes": {op: ops[op] for op in QUANTIZATION_OPS},
    }


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    result = {"torch": torch.__version__, "onnxruntime": ort.__version__, "onnx": onnx.__version__}
    batches = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in FIXTURES:
            result[name] = measure(name, pathlib.Path(workdir), batches)
    (root / "precision").mkdir(exist_ok=True)
    save_file(batches, str(root / "precision" / "batches.safetensors"))
    (root / "precision" / "cpu_precision_error.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
