"""Writes tests/data/npy/: .npy files made by numpy itself, for dnabert's .npy reader.

Run from the repository root: python3 tests/reference/make_npy_fixtures.py (needs numpy).
"""
import pathlib

import numpy as np

out = pathlib.Path(__file__).resolve().parents[1] / "data" / "npy"
out.mkdir(parents=True, exist_ok=True)
matrix = np.array([[0.5, -1.25, np.nan], [3.0, 1e-7, 65504.0]], dtype="<f4")
np.save(out / "matrix_2x3.npy", matrix)
# Format version 2.0 (4-byte header length), as numpy writes for very large headers.
with open(out / "matrix_2x3_v2.npy", "wb") as f:
    np.lib.format.write_array(f, matrix, version=(2, 0))
np.save(out / "float64_2x3.npy", matrix.astype("<f8"))
np.save(out / "fortran_2x3.npy", np.asfortranarray(matrix))
np.save(out / "vector_3.npy", matrix[0])
np.save(out / "empty_0x5.npy", np.zeros((0, 5), dtype="<f4"))
