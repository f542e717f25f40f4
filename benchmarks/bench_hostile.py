"""Reliability figures: hostile inputs (peak memory, time, outcome), SIGKILLs during imports, and
concurrent uploads with readers — the table the README shows.

    python benchmarks/bench_hostile.py [--kills 56] [--soak N] [--json FILE]

Each hostile input runs in its own process (peak memory = that process's VmHWM). The kills use
the crash harness of tests/hostile_corpus.py: a worker importing a 20,000-row two-sheet workbook
is SIGKILLed at random points and the store is checked after each kill. `--soak N` runs N kills
and N/25 rounds of 11 concurrent uploads + 4 readers (e.g. --soak 500: about 8 minutes).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.first_run import sample_files  # noqa: E402
from ingest.pipeline import analyse, commit  # noqa: E402
from metrics.engine import attainment  # noqa: E402
from store import DATASET_TABLES, Store  # noqa: E402
from store.reference import load_reference  # noqa: E402
from tests import hostile_corpus as H  # noqa: E402


def hostile(work: Path) -> list[dict]:
    """Every corpus input through analyse + commit in its own process, on a copy of a sample store."""
    files = H.build_corpus(work / "files")
    base = H.prepared_store(work / "base.duckdb")
    rows = []
    for case in H.CORPUS:
        db = work / "run.duckdb"
        db.write_bytes(base.read_bytes())
        with Store(db) as store:
            before = H.snapshot(store)
        r = H.measure(db, files[case.name])
        with Store(db) as store:
            after = H.snapshot(store)
        expected = "refused" if case.refused else "loaded"
        outcome = {"rejected": "refused", "loaded": "loaded"}.get(r["status"], r["status"])
        rows.append(
            {
                "input": case.name,
                "group": case.group,
                "bytes": files[case.name].stat().st_size,
                "outcome": outcome,
                "as_expected": outcome == expected,
                "cell_problems": r.get("cell_problems", 0),
                "peak_mb": r.get("peak_mb"),
                "seconds": r.get("seconds"),
                "store_unchanged": before == after if outcome == "refused" else None,
                "message": (r.get("messages") or [""])[0][:90],
            }
        )
        print(
            f"  {case.name:26} {outcome:8} {r.get('peak_mb', '?'):>7} MB {r.get('seconds', '?'):>7} s",
            flush=True,
        )
    return rows


def kills(work: Path, n: int) -> dict:
    """n SIGKILLs during imports on one store file; every state checked (the harness raises if not)."""
    workbook = work / H.CRASH_FILE
    workbook.write_bytes(H.crash_workbook())
    base = H.prepared_store(work / "crash_base.duckdb")
    done = [0]

    def progress(_record: H.KillRecord) -> None:
        done[0] += 1
        if done[0] % 25 == 0:
            print(f"  {done[0]} kills", flush=True)

    report = H.run_kills(base, workbook, work, n, progress=progress)
    return {
        "kills": len(report.kills),
        "by_phase": report.by_phase(),
        "phase_seconds": {k: round(v, 3) for k, v in report.durations.items()},
        "max_reopen_seconds": max(k.reopen_seconds for k in report.kills),
        "seconds": round(report.seconds, 1),
    }


def concurrent(work: Path, rounds: int) -> dict:
    """Rounds of 11 uploads (one per sample locality) + 2 attainment readers + 2 query readers."""
    files = [p for p in sample_files() if not p.name.startswith("national")]
    totals = {"rounds": rounds, "uploads": 0, "loaded": 0, "errors": 0, "attainment_reads": 0, "queries": 0}
    lost = 0
    t0 = time.monotonic()
    for r in range(rounds):
        store = Store(work / f"concurrent{r}.duckdb")
        load_reference(store)
        errors: list[str] = []
        results = {}
        done = threading.Event()
        counts = {"a": 0, "q": 0}

        def upload(path: Path, store: Store = store, errors: list = errors, results: dict = results) -> None:
            try:
                results[path.name] = commit(analyse(path.read_bytes(), path.name, store), store, user="bench")
            except Exception:
                errors.append(traceback.format_exc())

        def read(kind: str, store: Store = store, errors: list = errors, done=done, counts=counts) -> None:  # noqa: ANN001
            try:
                while not done.is_set():
                    if kind == "a":
                        attainment(store, as_of="2025-12-31")
                    else:
                        store.query_df("SELECT authority_code, count(*) FROM meetings GROUP BY 1")
                    counts[kind] += 1
            except Exception:
                errors.append(traceback.format_exc())

        writers = [threading.Thread(target=upload, args=(p,)) for p in files]
        readers = [threading.Thread(target=read, args=(k,)) for k in ("a", "a", "q", "q")]
        for t in readers + writers:
            t.start()
        for t in writers:
            t.join()
        done.set()
        for t in readers:
            t.join()
        expected = sum(
            r.datasets[d]["rows"] for r in results.values() if r.status == "loaded" for d in r.datasets
        )
        stored = sum(
            int(store.query_one(f"SELECT count(*) FROM {t} WHERE superseded_by IS NULL"))
            for t in DATASET_TABLES
            if t != "meeting_participants"
        )
        lost += expected - stored
        totals["uploads"] += len(files)
        totals["loaded"] += sum(1 for r in results.values() if r.status == "loaded")
        totals["errors"] += len(errors)
        totals["attainment_reads"] += counts["a"]
        totals["queries"] += counts["q"]
        store.close()
    totals["rows_lost"] = lost
    totals["seconds"] = round(time.monotonic() - t0, 1)
    return totals


def markdown(result: dict) -> str:
    """The README table."""
    lines = ["| Fault / input | Tried | Outcome | Peak memory | Time |", "|---|---|---|---|---|"]
    k = result["kills"]
    phases = ", ".join(f"{p} {v['before'] + v['after']}" for p, v in k["by_phase"].items())
    whole = sum(v["after"] for v in k["by_phase"].values())
    none = sum(v["before"] for v in k["by_phase"].values())
    lines.append(
        f"| SIGKILL during import ({phases}) | {k['kills']} | whole batch {whole}, none {none}, partial 0; "
        f"store reopened every time (max {k['max_reopen_seconds']} s) | – | {k['seconds']} s |"
    )
    c = result["concurrent"]
    lines.append(
        f"| concurrent uploads + 4 readers (threads, one Store) | {c['uploads']} uploads, "
        f"{c['attainment_reads']} attainment reads, {c['queries']} queries | {c['loaded']} loaded, "
        f"{c['errors']} errors, {c['rows_lost']} rows lost | – | {c['seconds']} s |"
    )
    for r in result["hostile"]:
        extra = f", {r['cell_problems']} cell problems" if r["cell_problems"] else ""
        unchanged = ", store unchanged" if r["store_unchanged"] else ""
        lines.append(
            f"| {r['group']}: `{r['input']}` ({r['bytes'] / 1e6:.2f} MB) | 1 | "
            f"{r['outcome']}{extra}{unchanged} | {r['peak_mb']} MB | {r['seconds']} s |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run everything and print the table; exit 1 when any figure shows a loss or a surprise."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kills", type=int, default=56, help="SIGKILLs during imports (default 56)")
    p.add_argument(
        "--soak", type=int, default=0, metavar="N", help="a longer run: N kills, N/25 concurrency rounds"
    )
    p.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = p.parse_args(argv)
    n_kills = args.soak or args.kills
    rounds = max(1, args.soak // 25) if args.soak else 1
    with tempfile.TemporaryDirectory(prefix="yaad-bench-hostile-") as tmp:
        work = Path(tmp)
        print("hostile inputs:", flush=True)
        result = {"hostile": hostile(work)}
        print(f"kills: {n_kills}", flush=True)
        result["kills"] = kills(work, n_kills)
        print(f"concurrency rounds: {rounds}", flush=True)
        result["concurrent"] = concurrent(work, rounds)
    print()
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    ok = (
        all(r["as_expected"] and r["store_unchanged"] is not False for r in result["hostile"])
        and result["concurrent"]["rows_lost"] == 0
        and result["concurrent"]["errors"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
