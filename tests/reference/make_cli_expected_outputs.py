#!/usr/bin/env python3
"""Expected outputs of `dnabert predict` and `dnabert embed`, derived from the Hugging Face goldens.

tests/data/parity/<model>/golden.safetensors holds what transformers computed for the sequences of
inputs.json (tests/reference/make_parity_goldens.py). From those tensors alone this writes into
tests/cli/expected/:
  * predict_cls_k6.tsv: `dnabert predict` of tests/data/cli/three.fa (cls_k6's three sequences, in
    order; checked below): softmax of the golden logits (float64) and the logits themselves;
  * reg_k6.fa and predict_reg_k6.tsv: reg_k6's sequences as FASTA and their golden scores;
  * embed_cls_k6_mean.txt: `dnabert embed --pooling mean` of three.fa, as compare_numbers reads a
    .npy: the mean of the last hidden state over each row's non-pad tokens ([CLS] and [SEP] included),
    with the golden attention_mask as the weights.
Needs numpy and safetensors only. Run from anywhere: python3 tests/reference/make_cli_expected_outputs.py
"""

import json
import pathlib

import numpy as np
from safetensors.numpy import load_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
PARITY = ROOT / "tests" / "data" / "parity"
OUT = ROOT / "tests" / "cli" / "expected"


def goldens(model):
    return load_file(str(PARITY / model / "golden.safetensors")), json.loads((PARITY / model / "inputs.json").read_text())


def fasta_sequences(path):
    records, current = [], None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            current = [line[1:].split()[0], ""]
            records.append(current)
        elif line.strip():
            current[1] += line.strip()
    return records


def number(x):
    return f"{x:.9g}"


def main():
    OUT.mkdir(exist_ok=True)

    cls, cls_inputs = goldens("cls_k6")
    three = fasta_sequences(ROOT / "tests" / "data" / "cli" / "three.fa")
    assert [s for _, s in three] == cls_inputs["sequences"], "three.fa no longer holds cls_k6's inputs"
    logits = cls["logits"].astype(np.float64)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    rows = ["id\tpredicted\tprob_0\tprob_1\tlogit_0\tlogit_1"]
    for (name, _), p, z in zip(three, probabilities, cls["logits"]):
        rows.append("\t".join([name, str(int(p.argmax()))] + [number(v) for v in p] + [number(v) for v in z]))
    (OUT / "predict_cls_k6.tsv").write_text("\n".join(rows) + "\n")

    mask = cls["attention_mask"].astype(np.float64)
    last = max(int(key.split(".")[1]) for key in cls if key.startswith("hidden_states."))
    hidden = cls[f"hidden_states.{last}"].astype(np.float64)
    mean = (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    lines = [f"npy <f4 shape ({mean.shape[0]}, {mean.shape[1]})"]
    lines += [" ".join(number(np.float32(v)) for v in row) for row in mean]
    (OUT / "embed_cls_k6_mean.txt").write_text("\n".join(lines) + "\n")

    reg, reg_inputs = goldens("reg_k6")
    names = [f"seq{i}" for i in range(len(reg_inputs["sequences"]))]
    (OUT / "reg_k6.fa").write_text("".join(f">{n} from tests/data/parity/reg_k6/inputs.json\n{s}\n"
                                           for n, s in zip(names, reg_inputs["sequences"])))
    (OUT / "predict_reg_k6.tsv").write_text(
        "id\tscore\n" + "".join(f"{n}\t{number(z[0])}\n" for n, z in zip(names, reg["logits"])))


if __name__ == "__main__":
    main()
