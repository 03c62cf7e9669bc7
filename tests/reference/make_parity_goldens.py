#!/usr/bin/env python3
"""Golden outputs and gradients of tiny Hugging Face BERTs, for dnabert's parity tests.

For every model in MODELS this writes tests/data/parity/<name>/ holding:
  * config.json + model.safetensors (save_pretrained of the installed transformers; the tied
    MLM decoder and its bias are left out of the file, as transformers does),
  * pytorch_model.bin (torch.save of the full state_dict: tied tensors share storage, as in
    DNABERT's released checkpoints),
  * vocab.txt (DNABERT's vocabulary for k, built from the formula),
  * inputs.json (k, raw sequences, labels, tied names, notes),
  * golden.safetensors (float32 only): input_ids, attention_mask, logits, hidden_states.{i},
    attentions.{i}, pooled (classifiers only), labels, loss and grad.<parameter name> of
    a loss on the same batch (cross-entropy, MSE for num_labels 1, BCEWithLogitsLoss for
    problem_type multi_label_classification with float 0/1 label vectors, masked-LM cross-entropy).
The models run in eval() mode (no dropout), float32 on the CPU, with the eager attention path.
The script checks its own files before it writes the goldens: both weight files reload to the
same logits, the decoder tie survives, the tokenisation agrees with transformers' BertTokenizer.

Needs torch, transformers, safetensors (pip install torch transformers safetensors).
Run from anywhere:  python3 tests/reference/make_parity_goldens.py [--out DIR] [--only NAME]
"""

import argparse
import itertools
import json
import pathlib
import random
import shutil
import tempfile

import safetensors.torch
import torch
import transformers
from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertTokenizer

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(5)
IGNORED_LABEL = -100  # CrossEntropyLoss's ignore_index: positions without an MLM label

# Names in the state_dict that are the same tensor as an entry of named_parameters().
MLM_TIED = {
    "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
    "cls.predictions.decoder.bias": "cls.predictions.bias",
}

# One entry per folder. kmers: k-mer count of each of the three sequences (the longest may be
# at most max_position_embeddings - 2 so that [CLS] and [SEP] fit); labels: one per sequence.
MODELS = {
    "mlm_k3": dict(
        model_class=BertForMaskedLM, k=3, seed=301,
        config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64),
        kmers=[62, 17, 40], labels=None,
    ),
    "cls_k6": dict(
        model_class=BertForSequenceClassification, k=6, seed=602,
        config=dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=48,
                    num_labels=2),
        kmers=[23, 62, 9], labels=[1, 0, 1],
    ),
    "cls3_k3": dict(
        model_class=BertForSequenceClassification, k=3, seed=303,
        config=dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=4, intermediate_size=96,
                    num_labels=3, layer_norm_eps=1e-5),
        kmers=[12, 31, 45], labels=[2, 0, 1],
    ),
    "reg_k6": dict(
        model_class=BertForSequenceClassification, k=6, seed=604,
        config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=40,
                    num_labels=1, problem_type="regression"),
        kmers=[30, 14, 21], labels=[0.75, -1.5, 2.25],
    ),
    "mlc_k3": dict(  # Basset-style multi-label (DNABERT issue #34): sigmoid per label, BCE loss
        model_class=BertForSequenceClassification, k=3, seed=305,
        config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=40,
                    num_labels=5, problem_type="multi_label_classification"),
        kmers=[27, 50, 11], labels=[[1, 0, 0, 1, 1], [0, 0, 1, 1, 0], [1, 1, 0, 1, 0]],
    ),
}

# Shared by every model: DNABERT's fixed sizes (tiny otherwise) and HF's defaults spelled out.
COMMON_CONFIG = dict(max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu", pad_token_id=PAD_ID)


def dnabert_vocab_tokens(k):
    """DNABERT's vocabulary: the five specials, then k-mers in itertools.product('ATCG') order."""
    return SPECIAL_TOKENS + ["".join(p) for p in itertools.product("ATCG", repeat=k)]


def dnabert_vocab_text(k):
    """vocab.txt bytes as DNABERT ships them: only the k=6 file ends with a newline."""
    return "\n".join(dnabert_vocab_tokens(k)) + ("\n" if k == 6 else "")


def make_sequences(k, kmer_counts, rng):
    """Raw DNA of the given k-mer counts, with lower-case stretches and at least one N each in
    the first two sequences, so [UNK]s and case folding are both exercised."""
    sequences = []
    for index, count in enumerate(kmer_counts):
        bases = [rng.choice("ACGT") for _ in range(count + k - 1)]
        start = rng.randrange(len(bases) // 2)
        for i in range(start, min(len(bases), start + 5)):
            bases[i] = bases[i].lower()
        if index < 2:
            bases[rng.randrange(len(bases))] = rng.choice("Nn")
        sequences.append("".join(bases))
    return sequences


def kmer_ids(sequence, k):
    """DNABERT token ids of one sequence: upper-case, L-k+1 overlapping k-mers, [UNK] for any
    k-mer with a letter outside ACGT, wrapped in [CLS] ... [SEP]."""
    index = {token: i for i, token in enumerate(dnabert_vocab_tokens(k))}
    upper = sequence.upper()
    kmers = [upper[i:i + k] for i in range(len(upper) - k + 1)]
    return [CLS_ID] + [index.get(kmer, UNK_ID) for kmer in kmers] + [SEP_ID]


def encode_batch(sequences, k):
    """input_ids [B,S] (right-padded with [PAD] to the longest) and attention_mask [B,S]."""
    rows = [kmer_ids(s, k) for s in sequences]
    width = max(len(r) for r in rows)
    input_ids = torch.tensor([r + [PAD_ID] * (width - len(r)) for r in rows], dtype=torch.long)
    attention_mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], dtype=torch.long)
    return input_ids, attention_mask


def check_against_hf_tokenizer(folder, sequences, k, input_ids):
    """BertTokenizer on DNABERT's k-mer sentences must give the same ids: an independent check of
    vocab.txt's order and of the [UNK] rule (no k-mer prefix is in the vocabulary, so WordPiece
    cannot split an unknown k-mer)."""
    tokenizer = BertTokenizer(str(folder / "vocab.txt"), do_lower_case=False)
    for row, sequence in zip(input_ids.tolist(), sequences):
        upper = sequence.upper()
        sentence = " ".join(upper[i:i + k] for i in range(len(upper) - k + 1))
        expected = tokenizer(sentence)["input_ids"]
        assert row[:len(expected)] == expected, f"tokenisation differs from BertTokenizer for {sequence}"
        assert all(t == PAD_ID for t in row[len(expected):])


def build_model(spec):
    """A transformers model whose every parameter is random, biases and LayerNorm included, so
    that a wiring mistake on the C++ side shows up in the numbers."""
    torch.manual_seed(spec["seed"])
    config = BertConfig(vocab_size=4 ** spec["k"] + len(SPECIAL_TOKENS), attn_implementation="eager",
                        **COMMON_CONFIG, **spec["config"])
    model = spec["model_class"](config)
    with torch.no_grad():
        # named_parameters() lists a tied tensor once, so in-place writes keep the tie.
        for name, parameter in model.named_parameters():
            noise = torch.randn_like(parameter)
            if name.endswith("LayerNorm.weight"):
                parameter.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                parameter.copy_(0.1 * noise)
            else:
                parameter.copy_(0.2 * noise)
    return model.eval()


def assert_mlm_tied(model):
    decoder = model.cls.predictions.decoder
    assert decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr(), "decoder untied"
    assert decoder.bias.data_ptr() == model.cls.predictions.bias.data_ptr(), "decoder bias untied"


def save_folder(folder, model, k):
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder, safe_serialization=True)
    # transformers 5 always writes safetensors, so the .bin comes from torch.save.
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "vocab.txt").write_text(dnabert_vocab_text(k))


def check_reload(folder, model, input_ids, attention_mask):
    """Both weight files, loaded alone by from_pretrained, must give bit-identical logits."""
    with torch.no_grad():
        expected = model(input_ids=input_ids, attention_mask=attention_mask).logits
    for weights in ("model.safetensors", "pytorch_model.bin"):
        with tempfile.TemporaryDirectory() as scratch:
            scratch = pathlib.Path(scratch)
            shutil.copy(folder / "config.json", scratch)
            shutil.copy(folder / weights, scratch)
            reloaded = type(model).from_pretrained(scratch, attn_implementation="eager").eval()
        if isinstance(model, BertForMaskedLM):
            assert_mlm_tied(reloaded)
        with torch.no_grad():
            # Loaded tensors can sit 32 bytes off a 64-byte boundary, which sends the CPU GEMM
            # down another kernel and moves some logits by one ulp; fresh storage is aligned
            # like the original model's. Tied parameters are one object, so the tie survives.
            for parameter in reloaded.parameters():
                parameter.data = parameter.data.clone()
            logits = reloaded(input_ids=input_ids, attention_mask=attention_mask).logits
        assert torch.equal(logits, expected), f"{folder.name}: {weights} reloads to different logits"


def mlm_batch(input_ids, attention_mask, rng):
    """Masked-LM inputs: about 15 % of each row's k-mer positions (at least two) become [MASK]
    and are labelled with their original id; every other position is labelled -100."""
    mlm_input_ids = input_ids.clone()
    labels = torch.full_like(input_ids, IGNORED_LABEL)
    for row, length in enumerate(attention_mask.sum(dim=1).tolist()):
        kmer_positions = list(range(1, length - 1))  # [CLS] and [SEP] are never masked
        for position in rng.sample(kmer_positions, max(2, round(0.15 * len(kmer_positions)))):
            labels[row, position] = input_ids[row, position]
            mlm_input_ids[row, position] = MASK_ID
    return mlm_input_ids, labels


def forward_goldens(model, input_ids, attention_mask):
    """Eval-mode outputs: logits, every hidden state and attention map, the pooler output."""
    with torch.no_grad():
        out = model(input_ids=input_ids, attention_mask=attention_mask,
                    output_hidden_states=True, output_attentions=True)
    goldens = {"logits": out.logits}
    goldens.update({f"hidden_states.{i}": h for i, h in enumerate(out.hidden_states)})
    goldens.update({f"attentions.{i}": a for i, a in enumerate(out.attentions)})
    padded_keys = attention_mask[:, None, None, :] == 0
    for attention in out.attentions:
        assert torch.all(attention.masked_select(padded_keys) == 0), "a padded key got attention"
    if model.bert.pooler is not None:
        goldens["pooled"] = model.bert.pooler(out.hidden_states[-1]).detach()
    return goldens


def independent_loss(model, logits, labels):
    """The loss written out by hand, to check the one transformers computes."""
    if isinstance(model, BertForMaskedLM):
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORED_LABEL)
    if model.config.problem_type == "multi_label_classification":
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    if model.config.num_labels == 1:
        return torch.nn.functional.mse_loss(logits.squeeze(-1), labels)
    return torch.nn.functional.cross_entropy(logits, labels)


def gradient_goldens(model, input_ids, attention_mask, labels):
    """loss and grad.<name> for every entry of named_parameters() (tied tensors appear once)."""
    model.zero_grad(set_to_none=True)
    out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    torch.testing.assert_close(out.loss, independent_loss(model, out.logits, labels), rtol=0, atol=1e-6)
    out.loss.backward()
    goldens = {"loss": out.loss.detach().reshape(1)}
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name} got no gradient"
        goldens["grad." + name] = parameter.grad.detach().clone()
    model.zero_grad(set_to_none=True)
    return goldens


def write_inputs_json(folder, spec, model, sequences, mlm_labels):
    is_mlm = isinstance(model, BertForMaskedLM)
    info = {
        "k": spec["k"],
        "architecture": type(model).__name__,
        "sequences": sequences,
        "labels": spec["labels"],
        "loss": ("cross_entropy over the masked positions of mlm_input_ids (mean)" if is_mlm
                 else "binary_cross_entropy_with_logits (logits vs float 0/1 labels [B, num_labels], mean)"
                 if model.config.problem_type == "multi_label_classification"
                 else "mse (logits[:, 0] vs float labels, mean)" if model.config.num_labels == 1
                 else "cross_entropy over the batch (mean)"),
        "tied": MLM_TIED if is_mlm else {},
    }
    if is_mlm:
        info["labels_note"] = "MLM labels are mlm_labels in golden.safetensors ([B,S], -100 = unlabelled)"
        info["mlm_masked_positions"] = [[row, col] for row, col in (mlm_labels != IGNORED_LABEL).nonzero().tolist()]
        info["pooled_note"] = ("no 'pooled': transformers builds BertForMaskedLM without a pooler "
                               "(add_pooling_layer=False), so the checkpoint holds no bert.pooler.*")
    # One key per line keeps the position list readable; json.dumps(indent=...) would put
    # every number on a line of its own.
    lines = [f" {json.dumps(key)}: {json.dumps(value)}" for key, value in info.items()]
    (folder / "inputs.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")


def make(name, out):
    spec = MODELS[name]
    k = spec["k"]
    rng = random.Random(spec["seed"])
    model = build_model(spec)
    is_mlm = isinstance(model, BertForMaskedLM)
    if is_mlm:
        assert_mlm_tied(model)
    assert max(spec["kmers"]) <= model.config.max_position_embeddings - 2

    sequences = make_sequences(k, spec["kmers"], rng)
    input_ids, attention_mask = encode_batch(sequences, k)
    folder = out / name
    save_folder(folder, model, k)
    check_against_hf_tokenizer(folder, sequences, k, input_ids)
    check_reload(folder, model, input_ids, attention_mask)

    goldens = {"input_ids": input_ids, "attention_mask": attention_mask}
    goldens.update(forward_goldens(model, input_ids, attention_mask))
    mlm_labels = None
    if is_mlm:
        mlm_input_ids, mlm_labels = mlm_batch(input_ids, attention_mask, rng)
        goldens.update(mlm_input_ids=mlm_input_ids, mlm_labels=mlm_labels, labels=mlm_labels)
        goldens.update(gradient_goldens(model, mlm_input_ids, attention_mask, mlm_labels))
    else:
        multi_label = model.config.problem_type == "multi_label_classification"
        label_dtype = torch.float32 if model.config.num_labels == 1 or multi_label else torch.long
        labels = torch.tensor(spec["labels"], dtype=label_dtype)
        goldens["labels"] = labels
        goldens.update(gradient_goldens(model, input_ids, attention_mask, labels))

    safetensors.torch.save_file({key: value.to(torch.float32).contiguous() for key, value in goldens.items()},
                                str(folder / "golden.safetensors"))
    write_inputs_json(folder, spec, model, sequences, mlm_labels)
    size = sum(f.stat().st_size for f in folder.iterdir())
    print(f"{name}: {type(model).__name__} k={k} batch {list(input_ids.shape)}, "
          f"max |logit| {goldens['logits'].abs().max().item():.4f}, loss {goldens['loss'].item():.6f}, "
          f"{size / 1024:.0f} KiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_out = pathlib.Path(__file__).resolve().parent.parent / "data" / "parity"
    parser.add_argument("--out", type=pathlib.Path, default=default_out, help="output folder (default: %(default)s)")
    parser.add_argument("--only", choices=sorted(MODELS), help="write one model only")
    args = parser.parse_args()

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # one summation order, so a rerun on the same machine writes the same bytes
    transformers.logging.set_verbosity_error()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"safetensors {safetensors.__version__}")
    for name in [args.only] if args.only else list(MODELS):
        make(name, args.out)


if __name__ == "__main__":
    main()
