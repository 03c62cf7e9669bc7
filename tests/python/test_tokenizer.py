"""KmerTokenizer against the tokenizer goldens (DNABERT's ids) and DNABERT's vocab.txt; BpeTokenizer against `tokenizers`."""

import hashlib
import numpy as np
import pytest

import dnabert
from conftest import DATA, EXPECTED, ROOT


def goldens():
    lines = (DATA / "tokenizer" / "goldens.tsv").read_text().splitlines()[1:]
    return [(int(k), sequence, [int(i) for i in ids.split()]) for k, sequence, ids in (line.split("\t") for line in lines)]


@pytest.mark.parametrize("k, sequence, ids", goldens())
def test_encode_gives_dnabert_ids(k, sequence, ids):
    encoded = dnabert.KmerTokenizer(k).encode(sequence)
    assert encoded.dtype == np.int32
    assert encoded.tolist() == ids


def test_encode_without_special_tokens_and_decode_round_trip():
    tokenizer = dnabert.KmerTokenizer(3)
    ids = tokenizer.encode("ACGTN", add_special_tokens=False)
    assert ids.tolist() == [16, 50, 1]
    assert tokenizer.decode(tokenizer.encode("ACGTA")) == "[CLS] ACG CGT GTA [SEP]"
    assert tokenizer.decode(tokenizer.encode("ACGTA"), skip_special_tokens=True) == "ACG CGT GTA"


# SHA-256 of DNABERT's released vocab-<k>.txt files (as tests/unit/io/vocab_file_test.cpp).
PUBLISHED_VOCAB_SHA256 = {
    3: "868b0b1ca9c6dfe72771d7c98b406c21ab712d70b0df65216a19868149934b7d",
    4: "a78f8d49dfd18288b2838dacb207dc71932c078f1c5083df2c4465658ae39c34",
    5: "3d422649f2193de4cb8af321b42dd5b4a98151138ad68653649638fa5aa91101",
    6: "d8f61c247fc10f9b8c7f6baf4d31876f30076d4aaf9f31ff47b9e68badd62e61",
}


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_vocab_is_dnabert_vocab_txt(k):
    tokenizer = dnabert.KmerTokenizer(k)
    text = "\n".join(tokenizer.vocab) + ("\n" if k == 6 else "")  # as DNABERT ships them: only vocab-6 ends in a newline
    assert hashlib.sha256(text.encode()).hexdigest() == PUBLISHED_VOCAB_SHA256[k]
    assert tokenizer.vocab_size == 4**k + 5


def test_bad_letters_and_ids_are_value_errors():
    tokenizer = dnabert.KmerTokenizer(6)
    with pytest.raises(ValueError, match="position 3 is not a sequence letter"):
        tokenizer.encode("ACG1TTT")
    with pytest.raises(ValueError, match="outside the k=6 vocabulary"):
        tokenizer.decode([4101])
    with pytest.raises(ValueError, match="k-mer size"):
        dnabert.KmerTokenizer(16)


def bpe_expected(name):
    rows = [line.split("\t") for line in (EXPECTED / f"tokenize_bpe_{name}.tsv").read_text().splitlines()[1:]]
    return [[int(i) for i in ids.split()] for _, ids in rows]


@pytest.mark.parametrize("name, folder", [("chr17_bpe200", DATA / "bpe" / "chr17_bpe200"),
                                          ("dnabert2-117m", ROOT.parent / "shared" / "data" / "dnabert2-117m")])
def test_bpe_tokenizer_gives_the_tokenizers_library_ids(name, folder, three):
    assert (folder / "tokenizer.json").exists(), f"{folder} is missing (DNABERT-2's files live in ../shared)"
    tokenizer = dnabert.tokenizer(folder)
    assert isinstance(tokenizer, dnabert.BpeTokenizer)
    assert [tokenizer.encode(s).tolist() for s in three] == bpe_expected(name)
    assert tokenizer.vocab[1] == "[CLS]" and tokenizer.vocab_size == len(tokenizer.vocab)


def test_bpe_decode_spells_the_tokens(three):
    tokenizer = dnabert.BpeTokenizer(str(DATA / "bpe" / "chr17_bpe200" / "tokenizer.json"))
    ids = tokenizer.encode(three[0], add_special_tokens=False)
    assert tokenizer.decode(ids) == "T C GGTT [UNK] aa gt T C GCC CCA T CCT AA CC G"  # the tokenizers library's tokens


def test_folder_tokenizer_of_a_dnabert_folder_is_its_kmers():
    assert dnabert.tokenizer(DATA / "parity" / "cls_k6").k == 6


def test_hostile_tokenizer_json_is_a_format_error(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"model": {"type": "WordPiece", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "Whitespace"}}')
    with pytest.raises(dnabert.FormatError, match="model type 'WordPiece' is not supported"):
        dnabert.BpeTokenizer(str(bad))
