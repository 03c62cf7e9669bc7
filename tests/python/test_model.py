"""dnabert.load(...).predict / embed / attention_scores against goldens made by transformers."""

import gc
import json

import numpy as np
import pytest

import dnabert
from conftest import (DATA, EXPECTED, PARITY, TOLERANCE, read_fasta_text, read_number_text, read_predictions,
                      read_safetensors, sequence_of_sentence)


@pytest.fixture(scope="module")
def cls_k6():
    return dnabert.load(PARITY / "cls_k6", threads=1)


@pytest.mark.parametrize("folder", ["cls_k6", "cls3_k3", "reg_k6", "mlc_k3"])
def test_predict_gives_transformers_logits(folder):
    if folder == "mlc_k3":
        rows = (DATA / "multi_label" / "table.tsv").read_text().splitlines()[1:]
        sequences = [sequence_of_sentence(row.split("\t")[0]) for row in rows]
        expected = EXPECTED / "predict_multi_label_mlc_k3.tsv"
    else:
        _, sequences = read_fasta_text(DATA / "cli" / "three.fa" if folder == "cls_k6" else EXPECTED / f"{folder}.fa")
        expected = EXPECTED / f"predict_{folder}.tsv"
    _, probabilities, logits = read_predictions(expected)
    model = dnabert.load(PARITY / folder, threads=1)
    got = model.predict(sequences, logits=True)
    assert got.dtype == np.float32 and got.shape == logits.shape
    np.testing.assert_allclose(got, logits, atol=TOLERANCE, rtol=0)
    if folder == "reg_k6":  # a regression model's score is its logit
        np.testing.assert_allclose(model.predict(sequences), logits, atol=TOLERANCE, rtol=0)
    else:
        np.testing.assert_allclose(model.predict(sequences), probabilities, atol=TOLERANCE, rtol=0)


def test_sequences_as_str_list_bytes_and_numpy_arrays_agree(cls_k6, three):
    reference = cls_k6.predict(three)
    np.testing.assert_array_equal(cls_k6.predict(np.array(three, dtype=bytes)), reference)
    np.testing.assert_array_equal(cls_k6.predict(np.array(three)), reference)
    np.testing.assert_array_equal(cls_k6.predict(tuple(s.encode() for s in three)), reference)
    np.testing.assert_array_equal(cls_k6.predict(three[1])[0], reference[1])


def test_predict_pairs_gives_transformers_logits(cls_k6):
    rows = [line.split(",") for line in (DATA / "pairs" / "pairs.csv").read_text().splitlines()[1:]]
    _, _, logits = read_predictions(EXPECTED / "predict_pairs_cls_k6.tsv")
    got = cls_k6.predict([a for a, _, _ in rows], second=[b for _, b, _ in rows], logits=True)
    np.testing.assert_allclose(got, logits, atol=TOLERANCE, rtol=0)
    with pytest.raises(ValueError, match="a pair needs one of each"):
        cls_k6.predict([a for a, _, _ in rows], second=[rows[0][1]])


@pytest.mark.parametrize("pooling", ["mean", "max", "concat"])
def test_long_sequence_classifiers_give_pytorch_logits(pooling):
    rows = [line.split(",") for line in (DATA / "long" / "sequences.csv").read_text().splitlines()[1:]]
    _, _, logits = read_predictions(EXPECTED / f"predict_long_{pooling}.tsv")
    model = dnabert.load(DATA / "long" / pooling, threads=1)
    np.testing.assert_allclose(model.predict([s for s, _ in rows], logits=True, batch_size=4), logits, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("folder, pooling", [(f, p) for f in ["cls_k6", "cls3_k3", "reg_k6"] for p in ["cls", "mean", "pooler"]]
                         + [("mlm_k3", "cls"), ("mlm_k3", "mean")])
def test_embed_gives_transformers_vectors(folder, pooling):
    fasta = DATA / "cli" / "three.fa" if folder == "cls_k6" else EXPECTED / f"{folder}.fa"
    _, sequences = read_fasta_text(fasta)
    expected = read_number_text(EXPECTED / f"embed_{folder}_{pooling}.txt")
    got = dnabert.load(PARITY / folder, threads=1).embed(sequences, pooling)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("golden, pooling, layer", [("cls_layer0", "cls", 0), ("mean_layer2", "mean", 2),
                                                    ("tokens_layer1", "none", 1)])
def test_embed_layers_and_tokens_give_transformers_states(golden, pooling, layer):
    inputs = json.loads((DATA / "embeddings" / "inputs.json").read_text())
    expected = np.load(DATA / "embeddings" / f"{golden}.npy")
    got = dnabert.load(PARITY / "cls_k6", threads=1).embed(inputs["sequences"], pooling, layer)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))  # NaN past each sequence's tokens
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(expected), atol=TOLERANCE, rtol=0)


def test_attention_scores_give_dnabert_viz_of_transformers_attention():
    inputs = json.loads((DATA / "attention" / "inputs.json").read_text())
    golden = read_safetensors(DATA / "attention" / "golden.safetensors")
    sequences = inputs["sequences"]
    for folder, layer, head in inputs["selections"]:
        model = dnabert.load(PARITY / folder, threads=1)
        got = model.attention_scores(sequences, layer=layer if layer != "last" else -1, head=-1 if head == "sum" else head)
        assert got.shape == (len(sequences), max(len(s) for s in sequences))
        for i, sequence in enumerate(sequences):
            expected = golden[f"{folder}.{layer}.{head}.{i}"]
            np.testing.assert_allclose(got[i, : len(sequence)], expected, atol=TOLERANCE, rtol=0)
            assert np.isnan(got[i, len(sequence) :]).all()


def test_config_and_properties(cls_k6):
    config = json.loads((PARITY / "cls_k6" / "config.json").read_text())
    got = cls_k6.config
    for key in ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size",
                "max_position_embeddings"]:
        assert got[key] == config[key]
    assert cls_k6.k == 6 and cls_k6.num_labels == 2
    assert cls_k6.tokenizer.vocab_size == 4101
    assert "cls_k6" in repr(cls_k6)


def test_outputs_own_their_memory(three):
    model = dnabert.load(PARITY / "cls_k6", threads=1)
    first, second = model.predict(three), model.predict(three)
    assert not np.shares_memory(first, second)  # each call's result is its own buffer
    expected = first.copy()
    del model, second
    gc.collect()  # the arrays outlive the call, the other result and the model
    np.testing.assert_array_equal(first, expected)
    first[:] = 0  # writable
    assert not first.any()
