"""Process-wide settings of the dashboard server (no Streamlit import: benchmarks read them)."""

from __future__ import annotations

import sys

from store.memory import keep_freed_memory

# The interpreter's switch interval in the server (Python's default is 5 ms). DuckDB's Python
# client takes the GIL between the tasks of a query, so while one session builds figures in
# Python, another session's query waits up to this long at each task. benchmarks/bench_gil.py:
# the full attainment beside a thread building figures took 9.8 s at 5 ms and 0.45 s at 0.5 ms
# (77–81 ms alone), while that thread built 197 and 170 figures a second.
SWITCH_INTERVAL = 0.0005


def tune_interpreter() -> None:
    """Apply the server's interpreter and memory settings (idempotent; each script run may call it)."""
    keep_freed_memory()  # store/memory.py: the tables' columns reuse freed memory, not fresh pages
    if sys.getswitchinterval() != SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
