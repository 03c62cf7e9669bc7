#!/usr/bin/env python3
"""Goldens of DNABERT's released code where it differs from Hugging Face today, for dnabert's
--dnabert-2.5-compat (forward_options::dnabert_2_5_compat).

DNABERT runs on its fork of transformers 2.5.0, which computes two things otherwise than the
installed transformers does; this script reproduces both on the installed transformers:
  * the masked-LM head adds its bias twice (HF issue #2957: decoder.bias *is* cls.predictions.bias
    and BertLMPredictionHead.forward adds self.bias again): a forward hook on the decoder adds the
    bias once more, so logits = E t(h) + 2b and the bias gradient doubles;
  * DNABERT's get_extended_attention_mask (HEAD since June 2021, DNABERT issue #102) returns the
    raw 0/1 mask, so +1 is added to the scores of real keys and +0 to padded ones:
    BertModel._create_attention_masks is replaced by one that returns that raw mask as a
    [B, 1, 1, S] float tensor, which the eager attention adds to the scores.
Inputs are padded as DNABERT pads them: fine-tuning inputs to max_seq_length (BertTokenizer with
truncation and padding="max_length", DNABERT's glue_convert_examples_to_features), pre-training
inputs per batch with no attention mask at all (run_pretrain.py passes attention_mask=None).

Models and inputs are the parity fixtures of make_parity_goldens.py (run it first):
  * cls_k6 (2 classes, 64 positions): its three sequences at max_seq_length 48 (the longest, 62
    k-mers, is cut to its first 46): logits, pooled, every hidden state, and the cross-entropy
    loss of its labels with every parameter's gradient (eval mode: no dropout);
  * mlm_k3 (64 positions): its masked batch (mlm_input_ids, mlm_labels of golden.safetensors),
    no attention mask: logits at every position, and the masked-LM loss with every gradient.
Writes tests/data/compat/golden.safetensors (float32) and tests/data/compat/inputs.json, and
tests/cli/expected/predict_compat_cls_k6.tsv: what `dnabert predict --dnabert-2.5-compat
--max-seq-length 48` must print for cls_k6's sequences (tests/data/cli/three_labelled.csv).

Usage: python3 tests/reference/make_compat_goldens.py
"""
import json
import math
import pathlib

import safetensors.torch
import torch
import transformers
from transformers import BertForMaskedLM, BertForSequenceClassification, BertModel, BertTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
PARITY = ROOT / "tests/data/parity"
OUT = ROOT / "tests/data/compat"
EXPECTED = ROOT / "tests/cli/expected/predict_compat_cls_k6.tsv"
MAX_SEQ_LENGTH = 48  # DNABERT's --max_seq_length for the classifier's inputs (below the model's 64)
K = 6


def raw_mask_attention(self, attention_mask, encoder_attention_mask, **_):
    """DNABERT's get_extended_attention_mask as released: the 0/1 mask itself, added to the scores.
    No mask (pre-training) stays none: transformers 2.5.0 made it all ones, +1 on every score,
    which softmax does not see."""
    assert encoder_attention_mask is None
    if attention_mask is None:
        return None, None
    return attention_mask[:, None, None, :].to(torch.float32), None


def add_bias_again(module, _inputs, output):
    """transformers 2.5.0: decoder(h) (whose bias is cls.predictions.bias) + cls.predictions.bias."""
    return output + module.bias


def classifier_goldens():
    folder = PARITY / "cls_k6"
    info = json.loads((folder / "inputs.json").read_text())
    tokenizer = BertTokenizer(str(folder / "vocab.txt"), do_lower_case=False)
    sentences = [" ".join(s.upper()[i:i + K] for i in range(len(s) - K + 1)) for s in info["sequences"]]
    encoded = tokenizer(sentences, truncation=True, max_length=MAX_SEQ_LENGTH, padding="max_length",
                        return_tensors="pt")
    input_ids, attention_mask = encoded["input_ids"], encoded["attention_mask"]
    assert input_ids.shape[1] == MAX_SEQ_LENGTH and int(attention_mask[1].sum()) == MAX_SEQ_LENGTH  # the long one is cut
    model = BertForSequenceClassification.from_pretrained(str(folder), attn_implementation="eager").eval()
    for parameter in model.parameters():  # fresh aligned storage (as make_parity_goldens.py's check_reload)
        parameter.data = parameter.data.clone()
    labels = torch.tensor(info["labels"], dtype=torch.long)
    out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels, output_hidden_states=True,
                output_attentions=True)
    padded_keys = attention_mask[:, None, None, :] == 0
    assert all(torch.all(a.masked_select(padded_keys) > 0) for a in out.attentions), "padding must be attended"
    out.loss.backward()
    goldens = {"cls.input_ids": input_ids, "cls.attention_mask": attention_mask, "cls.labels": labels,
               "cls.logits": out.logits, "cls.loss": out.loss.reshape(1),
               "cls.pooled": model.bert.pooler(out.hidden_states[-1])}
    goldens.update({f"cls.hidden_states.{i}": h for i, h in enumerate(out.hidden_states)})
    goldens.update({f"cls.grad.{name}": p.grad for name, p in model.named_parameters()})
    return goldens, info["sequences"]


def mlm_goldens():
    folder = PARITY / "mlm_k3"
    parity = safetensors.torch.load_file(str(folder / "golden.safetensors"))
    input_ids = parity["mlm_input_ids"].to(torch.long)
    labels = parity["mlm_labels"].to(torch.long)
    assert bool((parity["attention_mask"] == 0).any()), "the batch must hold padding"
    model = BertForMaskedLM.from_pretrained(str(folder), attn_implementation="eager").eval()
    for parameter in model.parameters():
        parameter.data = parameter.data.clone()
    assert model.cls.predictions.decoder.bias is model.cls.predictions.bias
    model.cls.predictions.decoder.register_forward_hook(add_bias_again)
    out = model(input_ids=input_ids, labels=labels)  # no attention mask, as run_pretrain.py
    plain = torch.nn.functional.cross_entropy(out.logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
    torch.testing.assert_close(out.loss, plain, rtol=0, atol=1e-6)
    out.loss.backward()
    goldens = {"mlm.input_ids": input_ids, "mlm.attention_mask": parity["attention_mask"], "mlm.labels": labels,
               "mlm.logits": out.logits, "mlm.loss": out.loss.reshape(1)}
    goldens.update({f"mlm.grad.{name}": p.grad for name, p in model.named_parameters()})
    return goldens


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    BertModel._create_attention_masks = raw_mask_attention
    goldens, sequences = classifier_goldens()
    goldens.update(mlm_goldens())
    OUT.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.detach().to(torch.float32).contiguous() for k, v in goldens.items()},
                                str(OUT / "golden.safetensors"))
    info = {"classifier": "parity/cls_k6", "max_seq_length": MAX_SEQ_LENGTH, "sequences": sequences,
            "masked_lm": "parity/mlm_k3 (its mlm_input_ids and mlm_labels, no attention mask)"}
    (OUT / "inputs.json").write_text(json.dumps(info, indent=1) + "\n")
    lines = ["id\tpredicted\tprob_0\tprob_1\tlogit_0\tlogit_1"]
    for row, logits in enumerate(goldens["cls.logits"].tolist()):
        exps = [math.exp(x - max(logits)) for x in logits]
        probs = [e / sum(exps) for e in exps]
        lines.append("\t".join([str(row), str(max(range(2), key=lambda c: logits[c]))] +
                               [f"{x:.9g}" for x in probs + logits]))
    EXPECTED.write_text("\n".join(lines) + "\n")
    print(f"compat: cls logits {goldens['cls.logits'].tolist()}, cls loss {goldens['cls.loss'].item():.6f}, "
          f"mlm loss {goldens['mlm.loss'].item():.6f}")


if __name__ == "__main__":
    main()
