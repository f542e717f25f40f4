"""store/memory.py: freed memory is kept for reuse, so rebuilding big columns does not page-fault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Like one attainment table: thirty 512 KB columns alive at once, then all freed, five times over.
SCRIPT = """
import resource, sys
import numpy as np
from store.memory import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "on" else False
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def table():
    columns = [np.ones(65536) for _ in range(30)]
    return sum(float(c[-1]) for c in columns)
table()
f0 = faults()
for _ in range(5):
    table()
print(kept, (faults() - f0) / 5)
"""


def _faults(mode: str) -> tuple[bool, float]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0] == "True", float(out[1])


def test_rebuilding_columns_reuses_freed_memory() -> None:
    kept, faults_kept = _faults("on")
    assert kept is True  # glibc took both settings
    _, faults_default = _faults("off")
    # 30 columns of 128 pages each: by default most pages are faulted in again on every table
    assert faults_default > 1500
    assert faults_kept < 200
