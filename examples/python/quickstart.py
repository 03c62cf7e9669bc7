# %% [markdown]
# # dnabert from Python
#
# A notebook-style tour (each `# %%` is a cell in VS Code or Jupyter; `python quickstart.py`
# runs it whole). It uses the small models and sequences of the repository's tests, so it runs
# offline in seconds; give it your own folders for real work. tests/python/test_example.py runs it.

# %%
import pathlib
import sys
import tempfile

import numpy as np

import dnabert

repository = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
data = repository / "tests" / "data"

# %% [markdown]
# ## Tokenize: DNABERT's ids, overlapping k-mers in [CLS] ... [SEP]

# %%
tokenizer = dnabert.KmerTokenizer(6)
ids = tokenizer.encode("ACGTACGTNN")
print(ids, tokenizer.decode(ids))

# %% [markdown]
# ## Load a fine-tuned classifier and read sequences

# %%
model = dnabert.load(data / "parity" / "cls_k6", device="cpu", precision="fp32")
records = list(dnabert.read_fasta(data / "cli" / "three.fa"))
sequences = [record.sequence for record in records]
print(model, model.config["num_hidden_layers"], "layers")

# %% [markdown]
# ## Predict, embed, look at attention

# %%
probabilities = model.predict(sequences)
for record, p in zip(records, probabilities):
    print(f"{record.id}\tP(class 1) = {p[1]:.4f}")

vectors = model.embed(sequences, pooling="mean")
print("embeddings", vectors.shape)
tokens = model.embed(sequences, pooling="none", layer=1)
print("per-token states", tokens.shape, "(NaN past each sequence's tokens)")

scores = model.attention_scores(sequences)
top = int(np.nanargmax(scores[1]))
print(f"{records[1].id}: most attended nucleotide {top} ({sequences[1][top]})")

# %% [markdown]
# ## Fine-tune, with a progress callback, then evaluate

# %%
with tempfile.TemporaryDirectory() as scratch:
    table = data / "cli" / "three_labelled.csv"
    losses = []
    folder = dnabert.finetune(model=data / "parity" / "cls_k6", train=table, dev=table, output=pathlib.Path(scratch) / "out",
                              epochs=2, batch_size=3, lr=1e-3, progress=lambda step: losses.append(step["loss"]))
    print("losses by step", np.round(losses, 4))
    print("dev metrics", {k: round(v, 4) for k, v in dnabert.evaluate(model=folder, input=table).items()
                          if isinstance(v, float)})
