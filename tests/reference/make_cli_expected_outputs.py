#!/usr/bin/env python3
"""Expected outputs of `dnabert predict` and `dnabert embed`, derived from the Hugging Face goldens.

tests/data/parity/<model>/golden.safetensors holds what transformers computed for the sequences of
inputs.json (tests/reference/make_parity_goldens.py). From those tensors alone this writes into
tests/cli/expected/:
  * predict_cls_k6.tsv: `dnabert predict` of tests/data/cli/three.fa (cls_k6's three sequences, in
    order; checked below): softmax of the golden logits (float64) and the logits themselves;
  * reg_k6.fa and predict_reg_k6.tsv: reg_k6's sequences as FASTA and their golden scores;
  * cls3_k3.fa and predict_cls3_k3.tsv, and mlm_k3.fa: the same for the 3-class model, and the
    masked-LM model's sequences (embedded only);
  * embed_<model>_<pooling>.txt: `dnabert embed --pooling cls|mean|pooler` of those inputs (the
    masked-LM model: cls and mean), as compare_numbers reads a .npy: the last hidden state of [CLS];
    its mean over each row's non-pad tokens ([CLS] and [SEP] included), with the golden
    attention_mask as the weights; the golden pooler output.
tests/cli/drift.cmake checks the regression lock of tests/cli/expected/drift/ against these.
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


def predict_table(names, logits):
    """`dnabert predict`'s table: id, predicted class, softmax (float64) and logits."""
    logits64 = logits.astype(np.float64)
    probabilities = np.exp(logits64 - logits64.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    classes = logits.shape[1]
    rows = ["\t".join(["id", "predicted"] + [f"prob_{c}" for c in range(classes)] + [f"logit_{c}" for c in range(classes)])]
    for name, p, z in zip(names, probabilities, logits):
        rows.append("\t".join([name, str(int(p.argmax()))] + [number(v) for v in p] + [number(v) for v in z]))
    return "\n".join(rows) + "\n"


def write_embeddings(model, golden, poolings):
    """embed_<model>_<pooling>.txt for each pooling, as compare_numbers reads the .npy."""
    mask = golden["attention_mask"].astype(np.float64)
    last = max(int(key.split(".")[1]) for key in golden if key.startswith("hidden_states."))
    hidden = golden[f"hidden_states.{last}"].astype(np.float64)
    vectors = {
        "cls": hidden[:, 0],
        "mean": (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True),
        "pooler": golden.get("pooled"),
    }
    for pooling in poolings:
        rows = vectors[pooling]
        lines = [f"npy <f4 shape ({rows.shape[0]}, {rows.shape[1]})"]
        lines += [" ".join(number(np.float32(v)) for v in row) for row in rows]
        (OUT / f"embed_{model}_{pooling}.txt").write_text("\n".join(lines) + "\n")


def write_fasta(model, sequences):
    """<model>.fa: the model's golden sequences as seq0, seq1, ..."""
    names = [f"seq{i}" for i in range(len(sequences))]
    (OUT / f"{model}.fa").write_text("".join(f">{n} from tests/data/parity/{model}/inputs.json\n{s}\n"
                                             for n, s in zip(names, sequences)))
    return names


def main():
    OUT.mkdir(exist_ok=True)

    cls, cls_inputs = goldens("cls_k6")
    three = fasta_sequences(ROOT / "tests" / "data" / "cli" / "three.fa")
    assert [s for _, s in three] == cls_inputs["sequences"], "three.fa no longer holds cls_k6's inputs"
    (OUT / "predict_cls_k6.tsv").write_text(predict_table([name for name, _ in three], cls["logits"]))
    write_embeddings("cls_k6", cls, ["cls", "mean", "pooler"])

    reg, reg_inputs = goldens("reg_k6")
    names = write_fasta("reg_k6", reg_inputs["sequences"])
    (OUT / "predict_reg_k6.tsv").write_text(
        "id\tscore\n" + "".join(f"{n}\t{number(z[0])}\n" for n, z in zip(names, reg["logits"])))
    write_embeddings("reg_k6", reg, ["cls", "mean", "pooler"])

    cls3, cls3_inputs = goldens("cls3_k3")
    (OUT / "predict_cls3_k3.tsv").write_text(predict_table(write_fasta("cls3_k3", cls3_inputs["sequences"]), cls3["logits"]))
    write_embeddings("cls3_k3", cls3, ["cls", "mean", "pooler"])

    mlm, mlm_inputs = goldens("mlm_k3")
    write_fasta("mlm_k3", mlm_inputs["sequences"])
    write_embeddings("mlm_k3", mlm, ["cls", "mean"])  # BertForMaskedLM has no pooler


if __name__ == "__main__":
    main()
