"""Benchmark: a DuckDB-heavy step while another session's thread is busy in Python (the GIL).

    python benchmarks/bench_gil.py [--db PATH] [--runs 15]

DuckDB's Python client takes the GIL between the tasks of a query (to check for Ctrl-C). The
Streamlit server runs each session in its own thread, so while one session builds figures in
Python, another session's query waits for the GIL at each of its tasks — up to the interpreter's
switch interval each time (5 ms by default). This measures the full attainment table (what the
overview computes after an upload) alone and beside a thread building plotly figures, at the
default switch interval and at the one the server sets (pages/_server.py), side by side.
Without --db a national store is generated (as benchmarks/bench_metrics.py does).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_metrics import AS_OF, build_store  # noqa: E402

from metrics.engine import attainment  # noqa: E402
from pages._server import SWITCH_INTERVAL  # noqa: E402
from store import Store  # noqa: E402


def _figures(stop: threading.Event, built: list[int]) -> None:
    """Another session: build and serialise a scatter figure over and over (plotly is Python)."""
    x = np.arange(2_000)
    while not stop.is_set():
        go.Figure(go.Scatter(x=x, y=x * 2, mode="markers", text=[str(v) for v in x])).to_json()
        built[0] += 1


def _median_ms(store: Store, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        attainment(store, as_of=AS_OF)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="an existing national store (else one is generated)")
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        store = Store(args.db) if args.db else build_store(Path(d) / "national.duckdb", 10, 7)[0]
        attainment(store, as_of=AS_OF)  # warm
        rows = []
        for interval in (0.005, SWITCH_INTERVAL):
            sys.setswitchinterval(interval)
            alone = _median_ms(store, args.runs)
            stop, built = threading.Event(), [0]
            busy = threading.Thread(target=_figures, args=(stop, built), daemon=True)
            started = time.perf_counter()
            busy.start()
            try:
                beside = _median_ms(store, args.runs)
            finally:
                stop.set()
                busy.join()
            rate = built[0] / (time.perf_counter() - started)
            rows.append((interval, alone, beside, rate))
        store.close()
    head = (
        "switch interval",
        "attainment alone",
        "beside a thread building figures",
        "slowdown",
        "figures/s",
    )
    print("| " + " | ".join(head) + " |\n" + "|---" * len(head) + "|")
    for interval, alone, beside, rate in rows:
        cells = (
            f"{interval * 1000:g} ms",
            f"{alone:.1f} ms",
            f"{beside:.1f} ms",
            f"{beside / alone:.1f}×",
            f"{rate:.0f}",
        )
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
