"""The GIL is released while dnabert computes, and nothing leaks over many calls."""

import threading
import time

import numpy as np

import dnabert
from conftest import PARITY


def long_batch(count=64, length=2000):
    rng = np.random.default_rng(7)
    return ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(count)]


def test_python_runs_while_a_model_predicts():
    model = dnabert.load(PARITY / "cls_k6", threads=1)
    sequences = long_batch()
    entering, done = threading.Event(), threading.Event()

    def predict():
        entering.set()
        model.predict(sequences)
        done.set()

    worker = threading.Thread(target=predict)
    worker.start()
    entering.wait()
    ticks = 0
    while not done.is_set():  # held GIL: this loop could not run until predict returned
        ticks += 1
        time.sleep(0)
    worker.join()
    assert ticks > 50, f"the main thread ran {ticks} times while predict computed: the GIL was held"


def test_two_threads_predict_in_parallel_with_the_results_of_one():
    sequences = long_batch(count=16, length=500)
    models = [dnabert.load(PARITY / "cls_k6", threads=1) for _ in range(2)]
    expected = models[0].predict(sequences)
    results = [None, None]
    spans = [None, None]

    def predict(i):
        started = time.perf_counter()
        for _ in range(3):
            results[i] = models[i].predict(sequences)
        spans[i] = (started, time.perf_counter())

    threads = [threading.Thread(target=predict, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result, expected)
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]  # the two ran at the same time


def test_one_model_shared_by_threads_gives_the_same_results():
    model = dnabert.load(PARITY / "cls_k6", threads=1)
    sequences = long_batch(count=8, length=300)
    expected = model.predict(sequences)
    results = []
    threads = [threading.Thread(target=lambda: results.append(model.predict(sequences))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    for result in results:
        np.testing.assert_array_equal(result, expected)


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def test_no_leak_over_a_thousand_calls(three):
    model = dnabert.load(PARITY / "cls_k6", threads=1)
    tokenizer = dnabert.KmerTokenizer(6)
    for _ in range(100):  # warm up: allocator pools, caches
        model.predict(three)
        model.embed(three, "none")
    before = resident_bytes()
    for _ in range(1000):
        model.predict(three)
        model.embed(three, "none")
        model.attention_scores(three)
        tokenizer.encode(three[1])
    grown = resident_bytes() - before
    # Each round allocates ~60 kB of results; a leak of them would add ~60 MB.
    assert grown < 8 << 20, f"resident memory grew by {grown / 2**20:.1f} MiB over 1,000 rounds"
