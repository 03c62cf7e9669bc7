"""finetune, pretrain, evaluate, variants and scan from Python: the command-line program's commands."""

import pathlib

import numpy as np
import pytest

import dnabert
from conftest import DATA, EXPECTED, PARITY, TOLERANCE, read_fasta_text, read_predictions

CE_FASTA = pathlib.Path("/usr/share/htslib-test/test/ce.fa")  # Debian's htslib-test (the README installs it)


class FakeBar:
    """What dnabert uses of a tqdm bar."""

    def __init__(self):
        self.total, self.n, self.postfix = None, 0, None

    def update(self, steps):
        self.n += steps

    def set_postfix(self, refresh=True, **values):
        self.postfix = values


def test_finetune_at_zero_learning_rate_keeps_transformers_logits(tmp_path):
    reports = []
    output = dnabert.finetune(model=PARITY / "cls_k6", train=DATA / "cli" / "three_labelled.csv", dev=DATA / "cli" / "three_labelled.csv",
                              output=tmp_path / "out",
                              epochs=2, batch_size=2, lr=1e-30, threads=1, progress=reports.append)
    assert [r["step"] for r in reports] == [1, 2, 3, 4]
    assert all(r["total_steps"] == 4 and np.isfinite(r["loss"]) and r["learning_rate"] <= 1e-30 for r in reports)
    _, sequences = read_fasta_text(DATA / "cli" / "three.fa")
    _, _, logits = read_predictions(EXPECTED / "predict_cls_k6.tsv")
    got = dnabert.load(output, threads=1).predict(sequences, logits=True)
    np.testing.assert_allclose(got, logits, atol=TOLERANCE, rtol=0)


def test_finetune_reports_to_a_tqdm_bar_and_its_folder_evaluates(tmp_path):
    bar = FakeBar()
    output = dnabert.finetune(model=PARITY / "cls_k6", train=DATA / "cli" / "three_labelled.csv", dev=DATA / "cli" / "three_labelled.csv",
                              output=tmp_path / "out",
                              epochs=3, batch_size=3, lr=1e-3, warmup=0, threads=1, progress=bar)
    assert bar.total == 3 and bar.n == 3 and "loss" in bar.postfix
    metrics = dnabert.evaluate(model=output, input=DATA / "cli" / "three_labelled.csv", threads=1)
    assert set(metrics) >= {"acc", "f1", "mcc", "auc"}


def test_callback_errors_stop_training_and_reach_python(tmp_path):
    def fail(report):
        raise RuntimeError(f"stop at step {report['step']}")

    with pytest.raises(RuntimeError, match="stop at step 1"):
        dnabert.finetune(model=PARITY / "cls_k6", train=DATA / "cli" / "three_labelled.csv", dev=DATA / "cli" / "three_labelled.csv",
                              output=tmp_path / "out",
                         epochs=1, batch_size=1, threads=1, progress=fail)


def test_pretrain_steps_and_writes_a_loadable_model(tmp_path):
    corpus = tmp_path / "corpus.txt"
    rng = np.random.default_rng(3)
    corpus.write_text("".join("".join(rng.choice(list("ACGT"), size=60)) + "\n" for _ in range(8)))
    reports = []
    output = dnabert.pretrain(model=PARITY / "mlm_k3", input=corpus, output=tmp_path / "mlm", max_steps=3, batch_size=2,
                              threads=1, progress=reports.append)
    assert [r["step"] for r in reports] == [1, 2, 3]
    assert dnabert.load(output, threads=1).embed(["ACGTACGTACGT"]).shape == (1, 32)


def test_variants_mut_file_gives_dnabert_mutations_tsv():
    table = dnabert.variants(model=PARITY / "cls_k6", input=DATA / "variants" / "dev.tsv",
                             mut_file=DATA / "variants" / "mut.txt", threads=1)
    lines = (DATA / "variants" / "mutations.tsv").read_text().splitlines()
    expected = [line.split("\t") for line in lines[1:]]
    assert table.dtype.names == ("index", "idx", "orig_seq", "orig_pred", "mut_seq", "mut_pred", "diff", "logOR")
    assert len(table) == len(expected)
    for row, want in zip(table, expected):
        assert row["orig_seq"] == want[2] and row["mut_seq"] == want[4]
        for field, column in [("orig_pred", 3), ("mut_pred", 5), ("logOR", 7)]:
            assert abs(row[field] - float(want[column])) < TOLERANCE


def test_scan_gives_transformers_window_probabilities():
    assert CE_FASTA.exists(), "apt-get install htslib-test"
    cells, peaks = dnabert.scan(model=PARITY / "cls_k6", fasta=CE_FASTA, regions=DATA / "scan" / "ce_regions.bed",
                                stride=25, threshold=0.05, peaks=True, threads=1)
    golden = [line.split("\t") for line in (DATA / "scan" / "ce_regions.bedGraph").read_text().splitlines()
              if not line.startswith("#")]
    assert len(cells) == len(golden)
    for cell, want in zip(cells, golden):
        assert (cell["contig"], cell["start"], cell["end"]) == (want[0], int(want[1]), int(want[2]))
        assert abs(cell["score"] - float(want[3])) < TOLERANCE
    assert peaks[0]["contig"] == "CHROMOSOME_I" and (peaks[0]["start"], peaks[0]["end"]) == (1050, 1117)
