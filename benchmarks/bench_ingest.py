"""Benchmark: loading a 100,000-row workbook, side by side, each measured in its own process.

    python benchmarks/bench_ingest.py [--rows 100000] [--repeat 3] [--skip-openpyxl]

Compares (1) python-calamine's raw parse of the file, (2) our full load (read, check, recognise,
clean, resolve, validate, diff and write one batch into a real DuckDB file), and (3)
pandas.read_excel(engine="openpyxl") followed by an insert into DuckDB. Peak RSS comes from
resource.getrusage in each child process. Targets (issue 3): ours <= 1.5x raw calamine,
>= 5x faster than openpyxl + insert, peak RSS < 600 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALITIES = [
    "קריית גת",
    "ק. גת",
    "דימונה",
    "ערד",
    "נתניה",
    "חדרה",
    "עפולה",
    "שדרות",
    "אור עקיבא",
    "מגדל העמק",
    "יוקנעם",
    "מ.א. משגב",
]
HEADER = [
    "יישוב",
    "שם התוכנית",
    "גוף מפעיל",
    "תוכנית דגל",
    "תחום",
    "אוכלוסיית יעד",
    "תאריך התחלה",
    "סטטוס",
    "מספר משתתפים",
    "עדכון אחרון",
]


def make_workbook(path: Path, rows: int, seed: int = 1) -> None:
    """A program list of `rows` rows x 10 columns, with the spellings and types localities use."""
    import openpyxl

    rnd = random.Random(seed)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("רשימת תוכניות")
    ws.append(HEADER)
    for i in range(rows):
        ws.append(
            [
                LOCALITIES[i % len(LOCALITIES)],
                f"תוכנית {i}",
                rnd.choice(["ג'וינט", "רשות", "עמותה", "משרד ממשלתי"]),
                rnd.choice(["כן", "לא"]),
                rnd.choice(["קהילה", "נוער", "זקנה", "תעסוקה"]),
                rnd.choice(["ילדים", "קשישים", "משפחות", "צעירים"]),
                dt.date(2015, 1, 1) + dt.timedelta(days=rnd.randrange(3000)),
                rnd.choice(["פעילה", "בהקמה", "הסתיימה", "phasing out"]),
                rnd.randrange(500),
                dt.date(2024, 1, 1) + dt.timedelta(days=rnd.randrange(600)),
            ]
        )
    wb.save(path)


PRELUDE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
"""
CHILDREN = {
    "calamine": """
import python_calamine as pc
t = time.perf_counter()
wb = pc.CalamineWorkbook.from_path({xlsx!r})
rows = wb.get_sheet_by_index(0).to_python()
seconds = time.perf_counter() - t
n = len(rows) - 1
""",
    "ours": """
from store import Store
from store.reference import load_reference
from ingest.pipeline import import_paths
store = Store({db!r}); load_reference(store)
t = time.perf_counter()
result = import_paths(store, [{xlsx!r}], user="bench")[0]
seconds = time.perf_counter() - t
assert result.status == "loaded", result.errors[:3]
n = store.query_one("SELECT count(*) FROM programs WHERE superseded_by IS NULL")
store.close()
""",
    "openpyxl": """
import duckdb, pandas as pd
t = time.perf_counter()
df = pd.read_excel({xlsx!r}, engine="openpyxl")
con = duckdb.connect({db!r})
con.register("df", df)
con.execute("CREATE TABLE programs AS SELECT * FROM df")
con.close()
seconds = time.perf_counter() - t
n = len(df)
""",
}
EPILOGUE = """
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "rss_mb": rss, "rows": n}}))
"""


def measure(kind: str, xlsx: Path, tmp: Path, run: int) -> dict:
    """Run one measurement in a fresh Python process; returns seconds, peak RSS (MB) and rows."""
    db = tmp / f"{kind}-{run}.duckdb"
    code = (PRELUDE + CHILDREN[kind] + EPILOGUE).format(root=str(ROOT), xlsx=str(xlsx), db=str(db))
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Generate the workbook, measure the three paths, print a table and whether targets are met."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000, help="data rows in the generated workbook")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the fast paths (the best is reported)")
    ap.add_argument("--skip-openpyxl", action="store_true", help="skip the slow openpyxl path")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        xlsx = tmp / "programs.xlsx"
        t = time.perf_counter()
        make_workbook(xlsx, args.rows)
        print(
            f"workbook: {args.rows:,} rows x 10 columns, {xlsx.stat().st_size / 2**20:.1f} MB "
            f"(generated in {time.perf_counter() - t:.1f} s)"
        )
        results: dict[str, dict] = {}
        for kind in ("calamine", "ours", "openpyxl"):
            if kind == "openpyxl" and args.skip_openpyxl:
                continue
            runs = [measure(kind, xlsx, tmp, i) for i in range(1 if kind == "openpyxl" else args.repeat)]
            best = min(runs, key=lambda r: r["seconds"])
            best["rss_mb"] = max(r["rss_mb"] for r in runs)
            results[kind] = best
    base = results["calamine"]["seconds"]
    print("\n| path | seconds | x calamine parse | peak RSS (MB) | rows |\n|---|---|---|---|---|")
    labels = {
        "calamine": "python-calamine raw parse",
        "ours": "Yaad full load into DuckDB",
        "openpyxl": "pandas.read_excel(openpyxl) + insert",
    }
    for kind, r in results.items():
        print(
            f"| {labels[kind]} | {r['seconds']:.2f} | {r['seconds'] / base:.2f} | "
            f"{r['rss_mb']:.0f} | {r['rows']:,} |"
        )
    ours = results["ours"]
    ok = [
        ("ours <= 1.5x calamine parse", ours["seconds"] <= 1.5 * base),
        ("peak RSS < 600 MB", ours["rss_mb"] < 600),
    ]
    if "openpyxl" in results:
        speedup = results["openpyxl"]["seconds"] / ours["seconds"]
        ok.append((f">= 5x faster than openpyxl + insert ({speedup:.1f}x)", speedup >= 5))
    print()
    for label, passed in ok:
        print(f"{'PASS' if passed else 'FAIL'}  {label}")
    return 0 if all(p for _, p in ok) else 1


if __name__ == "__main__":
    sys.exit(main())
