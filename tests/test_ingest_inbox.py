"""The CLI while the dashboard holds the database: a real second process runs the import worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ingest.inbox import worker_alive
from store import Store
from tests import odd_files as O

ROOT = Path(__file__).resolve().parent.parent

SERVER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from store import Store
    from store.reference import load_reference
    from ingest.inbox import start_worker
    store = Store({db!r})
    load_reference(store)
    start_worker(store, interval=0.2)
    start_worker(store, interval=0.2)  # idempotent
    print("ready", flush=True)
    while True:
        time.sleep(1)
    """
)


def _cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "ingest", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_hands_files_to_the_running_server_and_prints_its_results(tmp_path):
    db = tmp_path / "data" / "yaad.duckdb"
    db.parent.mkdir()
    good = tmp_path / "budget.csv"
    good.write_bytes(O.csv_windows_1255_semicolons())
    bad = tmp_path / "photo.xlsx"
    bad.write_bytes(O.not_a_spreadsheet())
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT), db=str(db))],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        deadline = time.time() + 20
        while not worker_alive(db) and time.time() < deadline:
            time.sleep(0.1)
        assert worker_alive(db)
        proc = _cli(good, bad, "--db", db, "--json", "--wait", "0.5")
        assert proc.returncode == 1, proc.stderr  # one file rejected
        assert "שרת הדשבורד" in proc.stderr
        payload = json.loads(proc.stdout)
        assert [(r["file"], r["status"]) for r in payload] == [
            ("budget.csv", "loaded"),
            ("photo.xlsx", "rejected"),
        ]
        assert payload[0]["datasets"]["budgets"]["rows"] == 2
        assert "photo.xlsx" in payload[1]["errors"][0]["message"]
        again = _cli(good, "--db", db, "--json", "--wait", "0.5", "--lang", "en")
        assert again.returncode == 0 and json.loads(again.stdout)[0]["status"] == "unchanged"
        assert not any(p.is_dir() for p in (db.parent / "inbox").iterdir())  # jobs cleaned up
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    # The server is gone: the file opens, and holds exactly the one batch.
    with Store(db) as store:
        assert store.query_one("SELECT count(*) FROM import_batches") == 1
        assert store.query_one("SELECT sum(amount) FROM budgets") == 1550.0


def test_cli_without_a_worker_explains_and_fails_cleanly(tmp_path):
    db = tmp_path / "yaad.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ready', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        path = tmp_path / "b.csv"
        path.write_bytes(O.csv_utf8_bom_tabs())
        proc = _cli(path, "--db", db, "--wait", "0.3", "--lang", "en")
        assert proc.returncode == 2
        assert "no dashboard import worker is running" in proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        os.killpg(holder.pid, signal.SIGTERM)
        holder.wait(timeout=20)
