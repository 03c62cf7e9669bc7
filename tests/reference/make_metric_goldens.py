#!/usr/bin/env python3
"""Golden classification metrics from scikit-learn for the C++ metrics tests.

Each case is a fixed, seeded set of labels, predictions and softmax probabilities [N, C]
with every metric scikit-learn computes for it, called the way DNABERT does
(src/transformers/data/metrics/__init__.py): binary precision/recall/F1, macro ones with
zero_division=0, matthews_corrcoef, roc_auc_score (binary on P(1), one-vs-one macro for
3+ classes) and average_precision_score (binary).

Usage: python3 tests/reference/make_metric_goldens.py tests/data/metrics/goldens.json
"""
import json
import sys
import warnings

import numpy as np
from sklearn import metrics


def binary_case(name, labels, scores, predicted=None):
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=float)
    if predicted is None:
        predicted = (scores >= 0.5).astype(int)
    probabilities = np.stack([1.0 - scores, scores], axis=1)
    return name, labels, np.asarray(predicted, dtype=int), probabilities


def softmax_case(name, labels, logits, predicted=None):
    logits = np.asarray(logits, dtype=float)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = exp / exp.sum(axis=1, keepdims=True)
    if predicted is None:
        predicted = probabilities.argmax(axis=1)
    return name, np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int), probabilities


def make_cases():
    rng = np.random.default_rng(20240605)
    cases = []

    # Scores rounded to one decimal: many tied thresholds, each mixing both classes.
    labels = rng.integers(0, 2, 120)
    scores = np.clip(np.round(0.3 * labels + rng.uniform(0.1, 0.7, 120), 1), 0.0, 1.0)
    cases.append(binary_case("binary_ties", labels, scores))

    # 10 % positives, continuous scores.
    labels = (rng.uniform(size=200) < 0.1).astype(int)
    scores = 1.0 / (1.0 + np.exp(-(1.5 * labels - 1.0 + rng.normal(0, 1, 200))))
    cases.append(binary_case("binary_imbalanced", labels, scores))

    labels = rng.integers(0, 2, 40)
    scores = np.where(labels == 1, rng.uniform(0.6, 1.0, 40), rng.uniform(0.0, 0.4, 40))
    cases.append(binary_case("binary_perfect", labels, scores))

    labels = rng.integers(0, 2, 40)
    scores = np.where(labels == 1, rng.uniform(0.0, 0.4, 40), rng.uniform(0.6, 1.0, 40))
    cases.append(binary_case("binary_all_wrong", labels, scores))

    # Every prediction 0: precision of class 1 is 0/0 -> 0, MCC 0.
    labels = rng.integers(0, 2, 50)
    scores = np.round(rng.uniform(0.0, 0.49, 50) + 0.05 * labels, 2)
    cases.append(binary_case("binary_all_predicted_0", labels, scores, predicted=np.zeros(50, dtype=int)))

    labels = rng.integers(0, 3, 90)
    logits = rng.normal(0, 1, (90, 3))
    logits[np.arange(90), labels] += 1.2
    cases.append(softmax_case("three_class", labels, logits))

    # Class 2 occurs in labels but is never predicted.
    labels = rng.integers(0, 3, 60)
    logits = rng.normal(0, 1, (60, 3))
    logits[np.arange(60), labels] += 1.0
    logits[:, 2] -= 10.0
    cases.append(softmax_case("three_class_never_predicts_2", labels, logits))

    # Four classes, probabilities rounded to float32 as the C++ classifier computes them.
    labels = rng.integers(0, 4, 80)
    logits = rng.normal(0, 1.5, (80, 4))
    logits[np.arange(80), labels] += 1.0
    name, labels, predicted, probabilities = softmax_case("four_class_float32", labels, logits)
    cases.append((name, labels, predicted, probabilities.astype(np.float32).astype(float)))
    return cases


def expected_metrics(labels, predicted, probabilities):
    num_classes = probabilities.shape[1]
    out = {
        "acc": metrics.accuracy_score(labels, predicted),
        "precision_macro": metrics.precision_score(labels, predicted, average="macro", zero_division=0),
        "recall_macro": metrics.recall_score(labels, predicted, average="macro", zero_division=0),
        "f1_macro": metrics.f1_score(labels, predicted, average="macro", zero_division=0),
        "mcc": metrics.matthews_corrcoef(labels, predicted),
    }
    if num_classes == 2:
        scores = probabilities[:, 1]
        out["precision"] = metrics.precision_score(labels, predicted, zero_division=0)
        out["recall"] = metrics.recall_score(labels, predicted, zero_division=0)
        out["f1"] = metrics.f1_score(labels, predicted, zero_division=0)
        out["auc"] = metrics.roc_auc_score(labels, scores)
        out["aupr"] = metrics.average_precision_score(labels, scores)
    else:
        out["auc"] = metrics.roc_auc_score(labels, probabilities, multi_class="ovo", average="macro")
    return {key: float(value) for key, value in out.items()}


def main():
    warnings.simplefilter("error")  # a golden must not rest on an sklearn warning
    cases = []
    for name, labels, predicted, probabilities in make_cases():
        cases.append({
            "name": name,
            "num_classes": int(probabilities.shape[1]),
            "labels": labels.tolist(),
            "predicted": predicted.tolist(),
            "probabilities": probabilities.reshape(-1).tolist(),
            "expected": expected_metrics(labels, predicted, probabilities),
        })
    import sklearn
    with open(sys.argv[1], "w") as out:
        json.dump({"generator": f"scikit-learn {sklearn.__version__}", "cases": cases}, out)
        out.write("\n")


if __name__ == "__main__":
    main()
