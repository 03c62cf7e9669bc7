"""Bad input from Python: clear exceptions with dnabert's message, never a crash or silent garbage."""

import shutil

import pytest

import dnabert
from conftest import DATA, PARITY


def folder_with(tmp_path, weights: bytes, name="model.safetensors"):
    """A copy of cls_k6's config and vocab beside `weights` written as `name`."""
    for file in ["config.json", "vocab.txt"]:
        shutil.copy(PARITY / "cls_k6" / file, tmp_path / file)
    (tmp_path / name).write_bytes(weights)
    return tmp_path


def test_truncated_safetensors_is_a_format_error_naming_the_file(tmp_path):
    whole = (PARITY / "cls_k6" / "model.safetensors").read_bytes()
    folder = folder_with(tmp_path, whole[: len(whole) // 2])
    with pytest.raises(dnabert.FormatError, match="model.safetensors") as caught:
        dnabert.load(folder)
    assert isinstance(caught.value, ValueError)


def test_checkpoint_with_os_system_is_refused_without_running_it(tmp_path, capfd):
    # The pickle would call os.system("echo pwned"); the reader refuses the global by name.
    folder = folder_with(tmp_path, (DATA / "torch" / "hostile_os_system.bin").read_bytes(), "pytorch_model.bin")
    with pytest.raises(ValueError, match="pytorch_model.bin.*os"):
        dnabert.load(folder)
    assert "pwned" not in capfd.readouterr().out


def test_files_that_cannot_be_opened_are_os_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does-not-exist: is not a directory") as caught:
        dnabert.load(tmp_path / "does-not-exist")
    assert caught.value.filename == str(tmp_path / "does-not-exist")
    with pytest.raises(FileNotFoundError, match="nope.fa: cannot open: No such file or directory"):
        list(dnabert.read_fasta(tmp_path / "nope.fa"))
    with pytest.raises(IsADirectoryError, match="is a directory, expected a file"):
        list(dnabert.read_fasta(tmp_path))
    (tmp_path / "model").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json: cannot open"):
        dnabert.load(tmp_path / "model")
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        dnabert.finetune(model=PARITY / "cls_k6", train=tmp_path / "missing.csv", dev=tmp_path / "missing.csv",
                         output=tmp_path / "out")


def test_config_that_does_not_match_the_weights(tmp_path):
    folder = folder_with(tmp_path, (PARITY / "cls_k6" / "model.safetensors").read_bytes())
    config = (folder / "config.json").read_text().replace('"hidden_size": 32', '"hidden_size": 64')
    (folder / "config.json").write_text(config)
    with pytest.raises(ValueError, match="expected shape"):
        dnabert.load(folder)


def test_malformed_fasta_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nACGT\n>b\nAC1GT\n")
    records = dnabert.read_fasta(bad)
    assert next(records) == ("a", "ACGT", "")
    with pytest.raises(dnabert.FormatError, match=r"bad.fa:4"):
        next(records)


def test_read_fasta_yields_records():
    records = list(dnabert.read_fasta(DATA / "cli" / "three.fa"))
    assert [r.id for r in records] == ["seq0", "seq1", "seq2"]
    assert records[0].sequence == "TCGGTTNaagtTCGCCCCATCCTAACCG"
    assert records[0].description.startswith("from tests/data/parity")


def test_bad_sequences_are_value_errors():
    model = dnabert.load(PARITY / "cls_k6", threads=1)
    with pytest.raises(ValueError, match=r"sequences\[1\]: byte 32 at position 2"):
        model.predict(["ACGTACGT", "AC GTACGT"])
    with pytest.raises(ValueError, match=r"sequences\[0\]"):
        model.predict(["ACG"])  # shorter than k
    with pytest.raises(ValueError, match="pooling 'sum'"):
        model.embed(["ACGTACGTAC"], "sum")
    with pytest.raises(ValueError, match="layer 9 does not exist"):
        model.embed(["ACGTACGTAC"], "cls", 9)
    with pytest.raises(TypeError):
        model.predict([1, 2, 3])


def test_pretrained_folder_cannot_predict_but_embeds():
    with pytest.warns(UserWarning, match=r"mlm_k3/model.safetensors: unused masked-LM head"):
        model = dnabert.load(PARITY / "mlm_k3", threads=1)
    assert model.embed(["ACGTACGTAC"]).shape == (1, 32)
    with pytest.raises(ValueError, match="fine-tune"):
        model.predict(["ACGTACGTAC"])


def test_device_and_precision_choices():
    with pytest.raises(ValueError, match="--device gpu"):
        dnabert.load(PARITY / "cls_k6", device="gpu")
    with pytest.raises(ValueError, match="tf32 needs --device cuda"):
        dnabert.load(PARITY / "cls_k6", precision="tf32")


def test_unknown_command_option_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="--no-such-option"):
        dnabert.finetune(model=PARITY / "cls_k6", train=DATA / "cli" / "three_labelled.csv",
                         dev=DATA / "cli" / "three_labelled.csv", output=tmp_path / "o", no_such_option=3)
    assert "--lr FLOAT" in dnabert.help("finetune")
