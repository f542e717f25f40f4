"""Benchmark: a national deck plus a deck per locality for every authority of the national sample.

    python benchmarks/bench_exports.py [--year 2025] [--as-of 2026-01-15] [--format pptx|pdf|both]
                                       [--db PATH] [--keep PATH]

Builds a national store (255 authorities, 2025–2026) from `python -m sample_data.generate
--national --years 2025-2026` loaded with `ingest.pipeline.import_paths` (its time is reported but
not counted), or uses --db. Then runs the CLI exactly as staff would, each in its own process:
  (1) python -m exports deck --national ... --out national.pptx   (and .pdf with --format pdf/both)
  (2) python -m exports deck --all-localities ... --out-dir DIR --format FORMAT
and reports wall time and the peak memory of the whole process tree (Python, Chromium and
LibreOffice together: the sum of PSS from /proc/PID/smaps_rollup, sampled every 0.2 s), plus
the deck count and total size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            tree.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    return tree


def _pss_kb(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them, so a sum over
    Chromium's many processes is not inflated the way a sum of RSS is."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_memory_mb(root: int) -> float:
    """Memory (PSS) of a process and all its descendants, in MB."""
    tree = _children()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _pss_kb(pid)
        todo.extend(tree.get(pid, []))
    return total / 1024


def run_measured(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a command; return (seconds, peak MB of its process tree, result)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_memory_mb(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    result = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err[-2000:]}")
    return seconds, peak, result


def build_national_store(path: Path, work: Path) -> float:
    """Generate the national sample (255 authorities, 2025–2026) and import it; returns seconds."""
    from ingest.pipeline import import_paths
    from sample_data.generate import generate
    from store import Store
    from store.reference import load_reference

    started = time.perf_counter()
    files = generate(work / "workbooks", national=True, years=range(2025, 2027))
    with Store(path) as store:
        load_reference(store)
        results = import_paths(store, files, user="bench")
    bad = [r.file for r in results if not r.ok]
    if bad:
        raise SystemExit(f"import failed for {len(bad)} files: {bad[:5]}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=2025, help="deck year")
    parser.add_argument("--as-of", default="2026-01-15", help="evaluation date")
    parser.add_argument(
        "--format", choices=("pptx", "pdf", "both"), default="pptx", help="per-locality decks"
    )
    parser.add_argument("--db", type=Path, help="use this store instead of building the national sample")
    parser.add_argument("--keep", type=Path, help="keep the built store (and the decks) under this folder")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="yaad_bench_exports_")
    work = args.keep or Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    db = args.db
    if db is None:
        db = work / "national.duckdb"
        if not db.exists():
            seconds = build_national_store(db, work)
            print(f"national store built and imported in {seconds:,.1f} s (not counted)")
    base = [
        sys.executable,
        "-m",
        "exports",
        "deck",
        "--year",
        str(args.year),
        "--as-of",
        args.as_of,
        "--db",
        str(db),
    ]
    rows = []
    for suffix in ("pptx", "pdf") if args.format != "pptx" else ("pptx",):
        out = work / f"national.{suffix}"
        seconds, peak, _ = run_measured([*base, "--national", "--out", str(out)])
        rows.append((f"national deck (.{suffix})", seconds, peak, 1, out.stat().st_size))
    out_dir = work / "decks"
    seconds, peak, result = run_measured(
        [*base, "--all-localities", "--out-dir", str(out_dir), "--format", args.format]
    )
    files = [p for p in out_dir.iterdir() if p.suffix in (".pptx", ".pdf")]
    decks = len({p.stem for p in files})
    rows.append(
        (
            f"per-locality decks (--format {args.format})",
            seconds,
            peak,
            decks,
            sum(p.stat().st_size for p in files),
        )
    )

    print(f"\nyear {args.year}, as of {args.as_of}, store {db}")
    print(f"{'step':<40} {'time':>9} {'peak PSS':>10} {'decks':>6} {'size':>9}")
    for name, secs, mb, n, size in rows:
        print(f"{name:<40} {secs:>8.1f}s {mb:>8.0f}MB {n:>6} {size / 2**20:>7.1f}MB")
    per_deck = rows[-1][1] / max(1, rows[-1][3])
    print(f"per locality deck: {per_deck:.2f} s")
    print(result.stderr.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
