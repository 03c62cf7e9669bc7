"""examples/python/quickstart.py runs start to end and prints what it promises."""

import subprocess
import sys

from conftest import ROOT


def test_quickstart_runs():
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "python" / "quickstart.py"), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "seq1\tP(class 1) = 0.04" in done.stdout
    assert "per-token states (3, 64, 32)" in done.stdout
    assert "losses by step" in done.stdout and "dev metrics" in done.stdout
