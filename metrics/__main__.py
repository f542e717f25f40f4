"""Command line: the attainment table for a store, as text, JSON or CSV.

python -m metrics [--db PATH] [--year YYYY] [--as-of YYYY-MM-DD] [--locality NAME]... [--goal ID]...
                  [--json|--csv]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from metrics.engine import attainment
from store import Store, StoreLockedError, default_db_path
from store.memory import keep_freed_memory

CLI_COLUMNS = (
    "locality_code",
    "locality_name",
    "goal",
    "period",
    "year",
    "value",
    "target",
    "target_op",
    "status",
    "forecast",
    "expected_by_now",
    "ratio",
    "unit",
    "target_version",
    "target_source",
    "reason",
)
WAIT_SECONDS = 3.0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m metrics",
        description="Goal attainment per locality × goal × period (one record each).",
    )
    p.add_argument("--db", type=Path, default=None, help="DuckDB file (default: store.default_db_path())")
    p.add_argument("--year", type=int, help="only this year's periods")
    p.add_argument(
        "--as-of", dest="as_of", type=dt.date.fromisoformat, help="evaluation date (default today)"
    )
    p.add_argument("--locality", action="append", help="authority name or code; repeatable")
    p.add_argument("--goal", action="append", help="goal id; repeatable")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON array of records")
    out.add_argument("--csv", action="store_true", help="CSV with a header row")
    return p


def _records(df: pd.DataFrame) -> list[dict]:
    """JSON-ready records: missing numbers as null, never as 0 or NaN."""
    out = df.astype(object).where(df.notna(), None)
    return out.to_dict(orient="records")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    keep_freed_memory()
    path = args.db or default_db_path()
    if not Path(path).exists():
        print(f"error: no database at {path}", file=sys.stderr)
        return 2
    try:
        store = Store(path, wait_seconds=WAIT_SECONDS)
    except StoreLockedError:
        print(
            f"error: the database {path} is held by another process (probably the dashboard server). "
            "Stop it or point --db at a copy, then try again.",
            file=sys.stderr,
        )
        return 3
    try:
        df = attainment(store, year=args.year, as_of=args.as_of, localities=args.locality, goals=args.goal)
    except (KeyError, LookupError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    df = df.loc[:, list(CLI_COLUMNS)]
    if args.json:
        json.dump(_records(df), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    elif args.csv:
        df.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.width", 200, "display.max_rows", None, "display.max_columns", None):
            print(df.to_string(index=False) if not df.empty else "(no rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
