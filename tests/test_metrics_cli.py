"""python -m metrics as a subprocess against a real DuckDB file."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from store import Store
from store.reference import load_reference
from tests.metrics_fixtures import insert_rows

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "metrics", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.duckdb"
    s = Store(path)
    load_reference(s)
    insert_rows(
        s,
        {
            "meetings": [
                {"authority_code": 6200, "meeting_date": d}
                for d in ("2024-02-01", "2024-05-01", "2024-09-01")
            ]
            + [{"authority_code": 6200, "meeting_date": "2025-03-01"}],
            "trainings": [{"authority_code": 7700, "training_date": "2024-04-01"}],
        },
    )
    s.close()
    return path


def test_json_records(db):
    out = run("--db", str(db), "--as-of", "2025-06-30", "--goal", "round_table_meetings", "--json")
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert len(records) == 4  # 2 authorities × 2 years
    by_key = {(r["locality_code"], r["period"]): r for r in records}
    closed = by_key[(6200, "2024")]
    assert closed["locality_name"] == "בת ים"
    assert (closed["value"], closed["target"], closed["status"]) == (3, 3, "achieved")
    running = by_key[(6200, "2025")]
    assert running["status"] == "on_track" and running["forecast"] == pytest.approx(2.0166, rel=1e-3)
    assert by_key[(7700, "2024")]["value"] is None and by_key[(7700, "2024")]["status"] == "no_data"
    for key in ("locality_code", "locality_name", "goal", "period", "value", "target", "status", "forecast"):
        assert key in closed


def test_csv_year_and_locality_by_name(db):
    out = run("--db", str(db), "--as-of", "2025-06-30", "--year", "2024", "--locality", "עפולה", "--csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {r["locality_code"] for r in rows} == {"7700"} and {r["period"][:4] for r in rows} == {"2024"}
    training = next(r for r in rows if r["goal"] == "training_activities")
    assert (training["value"], training["status"]) == ("1.0", "missed")


def test_text_output_and_errors(db, tmp_path):
    out = run(
        "--db", str(db), "--as-of", "2025-06-30", "--goal", "round_table_meetings", "--locality", "6200"
    )
    assert out.returncode == 0 and "achieved" in out.stdout
    bad = run("--db", str(db), "--goal", "no_such_goal")
    assert bad.returncode == 2 and "unknown goal" in bad.stderr
    missing = run("--db", str(tmp_path / "none.duckdb"))
    assert missing.returncode == 2 and "no database" in missing.stderr


def test_locked_database_is_a_clear_error(db):
    holder = Store(db)  # the dashboard holding the file
    try:
        out = run("--db", str(db), "--json")
    finally:
        holder.close()
    assert out.returncode == 3
    assert "held by another process" in out.stderr and "Traceback" not in out.stderr


def test_help_lists_every_option():
    out = run("--help")
    for option in ("--db", "--year", "--as-of", "--locality", "--goal", "--json", "--csv"):
        assert option in out.stdout
