#!/usr/bin/env python3
"""Hugging Face transformers on checkpoints that dnabert trained: they must load as they are,
and their outputs become the goldens of tests/unit/model/trained_checkpoint_test.cpp.

The two folders under tests/data/trained/ were written by the dnabert CLI (build/dnabert), from the
repository root, with the committed tiny configuration tests/data/trained/pretrain_config.json
(--lr 0.01 moves the weights well off their N(0, 0.02) start in so few steps):

    dnabert pretrain --input tests/data/cli/genome.fa --config tests/data/trained/pretrain_config.json \\
        --output /tmp/pre --max-steps 30 --save-steps 30 --batch-size 8 --lr 0.01 --threads 1 --seed 3
    cp -r /tmp/pre/checkpoint-30 tests/data/trained/mlm_checkpoint     # all five files
    dnabert finetune --model tests/data/trained/mlm_checkpoint --num-labels 2 \\
        --train tests/data/cli/three_labelled.csv --dev tests/data/cli/three_labelled.csv \\
        --output /tmp/ft --max-steps 10 --batch-size 2 --lr 0.01 --threads 1
    mkdir -p tests/data/trained/classifier && cp /tmp/ft/{config.json,vocab.txt,model.safetensors} tests/data/trained/classifier/

This script then, without touching those folders:
  * loads mlm_checkpoint with BertForMaskedLM.from_pretrained and classifier with
    BertForSequenceClassification.from_pretrained (eval mode, eager attention), and fails if
    transformers reports a missing or mismatched key, an unexpected one other than the MLM
    file's bert.pooler.* (see ALLOWED_UNEXPECTED), or if any loaded parameter differs bit for
    bit from model.safetensors (nothing may be freshly initialised);
  * checks vocab.txt against transformers' BertTokenizer on the inputs;
  * checks optimizer.safetensors (safetensors.torch.load_file): exp_avg and exp_avg_sq of every
    parameter of the MLM model, in the parameter's shape, finite, exp_avg_sq >= 0, step 30;
    and trainer_state.json (plain JSON): kind "pretrain", step 30;
  * writes tests/data/trained/inputs.json (k, the raw sequences) and goldens.safetensors
    (float32): input_ids, attention_mask, mlm.logits [B,S,V], mlm.last_hidden_state [B,S,H],
    classifier.logits [B,2], classifier.last_hidden_state [B,S,H], classifier.pooled [B,H].

Needs torch, transformers, safetensors.  Run: python3 tests/reference/make_trained_checkpoint_goldens.py
"""

import json
import math
import pathlib

import safetensors.torch
import torch
import transformers
from transformers import BertForMaskedLM, BertForSequenceClassification

# Same folder: DNABERT's k-mer ids, the padded batch and the BertTokenizer cross-check.
from make_parity_goldens import assert_mlm_tied, check_against_hf_tokenizer, encode_batch

TRAINED = pathlib.Path(__file__).resolve().parent.parent / "data" / "trained"
K = 3
CHECKPOINT_STEP = 30

# The only keys transformers may report: DNABERT's masked-LM model keeps BERT's pooler (and so does
# dnabert's file, as DNABERT's released checkpoints do), while transformers builds BertForMaskedLM
# without one; transformers 5 reports them as unexpected and ignores them.
ALLOWED_UNEXPECTED = {BertForMaskedLM: {"bert.pooler.dense.weight", "bert.pooler.dense.bias"},
                      BertForSequenceClassification: set()}

# Three lengths (so two rows are padded), lower-case stretches, an N and an n (so [UNK]s).
SEQUENCES = [
    "GATTACACATGCATTCAAAACCATGTCCGTAATGtaggcgAAATAGTAAACCAGATTA",
    "ccaaATTCCTCNTTATTCAGG",
    "TGACGGATATATATTAAAAAGTGnTTTAAGATGATTACACATGCGTT",
]


def load_as_is(model_class, folder):
    """from_pretrained that tolerates nothing but ALLOWED_UNEXPECTED: no missing or mismatched key,
    and every parameter loaded bit for bit from model.safetensors (so none was re-initialised)."""
    model, info = model_class.from_pretrained(folder, output_loading_info=True, attn_implementation="eager")
    unexpected = set(info.pop("unexpected_keys"))
    assert unexpected == ALLOWED_UNEXPECTED[model_class], f"{folder.name}: unexpected keys {sorted(unexpected)}"
    problems = {key: value for key, value in info.items() if value}
    assert not problems, f"{folder.name}: transformers reports {problems}"
    stored = safetensors.torch.load_file(str(folder / "model.safetensors"))
    for name, parameter in model.named_parameters():
        assert name in stored, f"{folder.name}: {name} is not in model.safetensors"
        assert torch.equal(parameter, stored[name]), f"{folder.name}: {name} differs from model.safetensors"
    print(f"{folder.name}: {model_class.__name__} loaded all {len(list(model.named_parameters()))} parameters "
          f"bit for bit; unused: {sorted(unexpected) or 'none'}")
    return model.eval()


def check_optimizer_state(folder, model):
    """optimizer.safetensors holds Adam's moments for every parameter, after CHECKPOINT_STEP steps."""
    state = safetensors.torch.load_file(str(folder / "optimizer.safetensors"))
    assert state["optimizer.steps_taken"].item() == CHECKPOINT_STEP, state["optimizer.steps_taken"]
    for name, parameter in model.named_parameters():
        exp_avg, exp_avg_sq = state[name + ".exp_avg"], state[name + ".exp_avg_sq"]
        assert exp_avg.shape == parameter.shape and exp_avg_sq.shape == parameter.shape, name
        assert torch.isfinite(exp_avg).all() and torch.isfinite(exp_avg_sq).all(), name
        assert (exp_avg_sq >= 0).all() and (exp_avg_sq > 0).any(), f"{name}: no squared gradient recorded"
        assert state[name + ".step"].item() == CHECKPOINT_STEP, name
    print(f"{folder.name}/optimizer.safetensors: {len(state)} tensors; exp_avg, exp_avg_sq (shape, finite, "
          f"exp_avg_sq >= 0 and not all 0) and step {CHECKPOINT_STEP} checked for all "
          f"{len(list(model.named_parameters()))} parameters of {type(model).__name__}")


def check_trainer_state(folder):
    state = json.loads((folder / "trainer_state.json").read_text())
    assert state["kind"] == "pretrain" and state["step"] == CHECKPOINT_STEP, state
    print(f"{folder.name}/trainer_state.json: kind {state['kind']}, step {state['step']}, "
          f"tokens_seen {state['tokens_seen']}")


def outputs(model, input_ids, attention_mask):
    with torch.no_grad():
        out = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
    return out.logits, out.hidden_states[-1]


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"safetensors {safetensors.__version__}")

    mlm_folder, classifier_folder = TRAINED / "mlm_checkpoint", TRAINED / "classifier"
    input_ids, attention_mask = encode_batch(SEQUENCES, K)
    assert input_ids.shape[1] <= json.loads((mlm_folder / "config.json").read_text())["max_position_embeddings"]
    goldens = {"input_ids": input_ids, "attention_mask": attention_mask}
    for prefix, model_class, folder in (("mlm", BertForMaskedLM, mlm_folder),
                                         ("classifier", BertForSequenceClassification, classifier_folder)):
        model = load_as_is(model_class, folder)
        check_against_hf_tokenizer(folder, SEQUENCES, K, input_ids)
        if prefix == "mlm":
            assert_mlm_tied(model)
            check_optimizer_state(folder, model)
            check_trainer_state(folder)
        logits, last_hidden_state = outputs(model, input_ids, attention_mask)
        assert math.isfinite(logits.abs().max().item())
        goldens[prefix + ".logits"] = logits
        goldens[prefix + ".last_hidden_state"] = last_hidden_state
        if model.bert.pooler is not None:  # the classifier's logits are small; its pooler output is not
            with torch.no_grad():
                goldens[prefix + ".pooled"] = model.bert.pooler(last_hidden_state)
        print(f"{prefix}: logits {list(logits.shape)}, max |logit| {logits.abs().max().item():.4f}")

    safetensors.torch.save_file({key: value.to(torch.float32).contiguous() for key, value in goldens.items()},
                                str(TRAINED / "goldens.safetensors"))
    (TRAINED / "inputs.json").write_text(json.dumps({"k": K, "sequences": SEQUENCES}, indent=1) + "\n")


if __name__ == "__main__":
    main()
