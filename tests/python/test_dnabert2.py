"""DNABERT-2 folders through the Python module: the tiny MosaicBERT models of tests/data/dnabert2,
against tests/reference/make_dnabert2_goldens.py's PyTorch reference (the sequences of three.fa
tokenized by the `tokenizers` library)."""

import numpy as np

import dnabert
from conftest import DATA, EXPECTED, TOLERANCE, read_number_text, read_predictions

DNABERT2 = DATA / "dnabert2"


def test_dnabert2_classifier_predicts_the_reference_logits(three):
    _, _, logits = read_predictions(EXPECTED / "predict_dnabert2_cls_k.tsv")
    model = dnabert.load(DNABERT2 / "cls_k", threads=1)
    np.testing.assert_allclose(model.predict(three, logits=True), logits, atol=TOLERANCE, rtol=0)
    mean = read_number_text(EXPECTED / "embed_dnabert2_cls_k_mean.txt")
    np.testing.assert_allclose(model.embed(three, pooling="mean"), mean, atol=TOLERANCE, rtol=0)


def test_dnabert2_model_reads_bpe_tokens(three):
    model = dnabert.load(DNABERT2 / "cls_k", threads=1)
    assert model.k is None
    assert isinstance(model.tokenizer, dnabert.BpeTokenizer)
    assert model.config["alibi_starting_size"] == 16
    scores = model.attention_scores(three)
    lines = (EXPECTED / "attention_dnabert2_cls_k.tsv").read_text().splitlines()[1:]
    expected = [float(line.split("\t")[2]) for line in lines if line.startswith("seq0\t")]
    np.testing.assert_allclose(scores[0, : len(expected)], expected, atol=TOLERANCE, rtol=0)
