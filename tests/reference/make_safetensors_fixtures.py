#!/usr/bin/env python3
"""Writes the safetensors fixtures of tests/unit/io/safetensors_test.cpp with Hugging Face's own
`safetensors` writer, and the float32 values torch converts them to, as the independent reference.

Run from the repository root (needs torch, safetensors, numpy from PyPI):
    python3 tests/reference/make_safetensors_fixtures.py
Outputs (small, committed): tests/data/safetensors/*.safetensors and expected.json, plus fuzz seeds
in tests/fuzz/corpus/safetensors/.
"""

import json
import math
import pathlib
import shutil
import struct

import numpy as np
import torch
from safetensors.torch import load_file, save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "safetensors"
CORPUS = ROOT / "tests" / "fuzz" / "corpus" / "safetensors"

# Values that exercise every branch of an exact half -> float conversion: normals, the largest
# finite value, the smallest normal, subnormals, signed zeros, infinities and NaN.
HALF_VALUES = [1.0, -2.5, 65504.0, 2.0**-14, 2.0**-24, 3 * 2.0**-24, 1023 * 2.0**-24, 0.0, -0.0,
               math.inf, -math.inf, math.nan, 0.333251953125, -1.0009765625]
# The same for bfloat16 (8-bit exponent like float32, so its subnormals reach 2^-133).
BFLOAT16_VALUES = [1.0, -3.140625, 3.3895313892515355e38, 2.0**-126, 2.0**-133, 127 * 2.0**-133,
                   0.0, -0.0, math.inf, -math.inf, math.nan, 1.0078125]


def float32_bits(tensor: torch.Tensor) -> list[int]:
    """The float32 bit patterns of a tensor's values, flattened in C order. Half goes through numpy,
    whose conversion is IEEE-exact for NaN too (torch's CPU path turns half NaN 0x7e00 into
    0x7fffffff, where hardware and numpy give 0x7fc00000); numpy has no bfloat16, torch's is exact."""
    if tensor.dtype == torch.float16:
        as_float = tensor.contiguous().numpy().astype(np.float32)
    else:
        as_float = tensor.to(torch.float32).contiguous().numpy()
    return [int(bits) for bits in as_float.view(np.uint32).reshape(-1)]


def mixed_tensors() -> dict[str, torch.Tensor]:
    """One tensor of each kind a BERT checkpoint may hold, in every shape corner case."""
    return {
        "bert.embeddings.word_embeddings.weight": torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25 - 1.0,
        "bert.pooler.dense.bias": torch.tensor([1.5, -0.0, 1e-45, 3.4028234663852886e38], dtype=torch.float32),
        "scalar": torch.tensor(3.5, dtype=torch.float32),
        "empty": torch.zeros((0, 4), dtype=torch.float32),
        "half": torch.tensor(HALF_VALUES, dtype=torch.float16).reshape(2, 7),
        "brain": torch.tensor(BFLOAT16_VALUES, dtype=torch.bfloat16),
        "bert.embeddings.position_ids": torch.arange(6, dtype=torch.int64).reshape(1, 6),
        "flags": torch.tensor([True, False, True]),
    }


def f32_tensors() -> dict[str, torch.Tensor]:
    """Float32 only, as write_safetensors produces; the C++ writer must reproduce this file byte for byte."""
    generator = torch.Generator().manual_seed(20240601)
    return {
        "bert.encoder.layer.0.attention.self.query.weight": torch.randn(4, 4, generator=generator),
        "bert.encoder.layer.0.attention.self.query.bias": torch.randn(4, generator=generator),
        "Z.upper.case.sorts.first": torch.randn(3, generator=generator),
        "classifier.weight": torch.randn(2, 4, generator=generator),
        "scalar": torch.tensor(-7.25),
        "empty": torch.zeros(0),
        'name with "quotes" and \\ and \u00e9': torch.tensor([0.5, 0.25]),
    }


def int8_tensors() -> dict[str, torch.Tensor]:
    """A quantized folder's tensors (docs/precision.md): I8 weights [out, in] beside their F32 scales
    and other F32 tensors; the C++ writer must reproduce this file byte for byte (F32 before I8)."""
    return {
        "layer.weight": torch.tensor([[127, -127, 0], [-128, 5, 64]], dtype=torch.int8),
        "layer.weight_scale": torch.tensor([0.5, 0.25]),
        "layer.bias": torch.tensor([1.0, -1.0]),
        "z.weight": torch.tensor([[1, 2, 3]], dtype=torch.int8),
        "a.scalar": torch.tensor(2.0),
    }


def expected_values(tensors: dict[str, torch.Tensor]) -> dict:
    """Shape and float32 bits of every floating tensor (integer and boolean buffers are skipped)."""
    return {
        name: {"shape": list(tensor.shape), "bits": float32_bits(tensor)}
        for name, tensor in tensors.items()
        if tensor.is_floating_point()
    }


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    CORPUS.mkdir(parents=True, exist_ok=True)
    metadata = {"format": "pt", "source": "dnabert fixture"}

    mixed = mixed_tensors()
    save_file(mixed, DATA / "mixed.safetensors", metadata=metadata)
    f32 = f32_tensors()
    # One metadata key only: the Rust writer emits a multi-key map in hash order.
    save_file(f32, DATA / "f32_only.safetensors", metadata={"format": "pt"})
    save_file({}, DATA / "no_tensors.safetensors")
    int8 = int8_tensors()
    save_file(int8, DATA / "int8.safetensors", metadata={"format": "pt"})

    # Reading back with the reference reader proves the files are what we meant to write.
    for name, tensor in load_file(DATA / "mixed.safetensors").items():
        raw = tensor.flatten().view(torch.uint8)  # bytes, so that NaN compares equal to itself
        assert torch.equal(raw, mixed[name].flatten().view(torch.uint8)), name

    expected = {
        "mixed.safetensors": {
            "tensors": expected_values(mixed),
            "skipped": sorted(name for name, tensor in mixed.items() if not tensor.is_floating_point()),
            "metadata": metadata,
        },
        "f32_only.safetensors": {"tensors": expected_values(f32), "skipped": [], "metadata": {"format": "pt"}},
        "no_tensors.safetensors": {"tensors": {}, "skipped": [], "metadata": {}},
        "int8.safetensors": {
            "tensors": expected_values(int8),
            "skipped": [],
            "metadata": {"format": "pt"},
            "int8": {
                name: {"shape": list(tensor.shape), "values": tensor.flatten().tolist()}
                for name, tensor in int8.items()
                if tensor.dtype == torch.int8
            },
        },
    }
    (DATA / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")

    for name in expected:
        shutil.copyfile(DATA / name, CORPUS / name)
    # A fuzz seed the Python writer never makes: header length 1 (mod 4), so F32 data are unaligned.
    header = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}}'
    header += b" " * ((1 - len(header)) % 4)
    data = struct.pack("<2fe", 1.25, -2.0, 0.5)
    (CORPUS / "unaligned.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + data)


if __name__ == "__main__":
    main()
