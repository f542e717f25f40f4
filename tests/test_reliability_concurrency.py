"""Concurrency: many sessions uploading and browsing at once lose nothing and see no lock errors;
the CLI import while the dashboard server holds the database goes through its inbox, exactly once.

Sessions are threads of one process sharing one Store, as Streamlit runs them: each upload goes
through ingest.pipeline.analyse + commit, readers run metrics.engine.attainment and store queries.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import pytest

from ingest.first_run import sample_files
from ingest.pipeline import analyse, commit
from metrics.engine import attainment
from store import DATASET_TABLES, Store
from store.batches import list_batches
from store.reference import load_reference
from tests import odd_files as O

ROOT = Path(__file__).resolve().parent.parent
FILES = [p for p in sample_files() if not p.name.startswith("national")]  # one locality each
TABLES = (*DATASET_TABLES, "targets")


def _rows_per_table(store: Store, batch_id: int) -> dict[str, int]:
    return {
        t: int(store.query_one(f"SELECT count(*) FROM {t} WHERE batch_id = ?", [batch_id])) for t in TABLES
    }


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict[str, dict[str, int]]:
    """Rows per table of every file, imported one at a time into a store of its own."""
    out = {}
    with Store(tmp_path_factory.mktemp("seq") / "yaad.duckdb") as store:
        load_reference(store)
        for path in FILES:
            result = commit(analyse(path.read_bytes(), path.name, store), store, user="seq")
            assert result.status == "loaded", result.errors[:3]
            out[path.name] = _rows_per_table(store, result.batch_id)
    return out


def test_concurrent_uploads_and_readers_lose_nothing(tmp_path, expected):
    assert len(FILES) >= 8
    store = Store(tmp_path / "yaad.duckdb")
    load_reference(store)
    errors: list[str] = []
    results: dict[str, object] = {}
    reads = {"attainment": 0, "queries": 0}
    writers_done = threading.Event()
    start = threading.Barrier(len(FILES) + 4)

    def upload(path: Path) -> None:
        try:
            start.wait()
            analysis = analyse(path.read_bytes(), path.name, store)
            results[path.name] = commit(analysis, store, user=f"session-{path.stem}")
        except Exception:
            errors.append(traceback.format_exc())

    def read_metrics() -> None:
        try:
            start.wait()
            while not writers_done.is_set():
                df = attainment(store, as_of="2025-12-31")
                assert set(df.columns) >= {"locality_code", "goal", "status"}
                reads["attainment"] += 1
        except Exception:
            errors.append(traceback.format_exc())

    def read_queries() -> None:
        try:
            start.wait()
            while not writers_done.is_set():
                store.data_version()
                list_batches(store)
                store.query_df("SELECT authority_code, count(*) FROM meetings GROUP BY 1")
                reads["queries"] += 1
        except Exception:
            errors.append(traceback.format_exc())

    writers = [threading.Thread(target=upload, args=(p,)) for p in FILES]
    readers = [threading.Thread(target=read_metrics) for _ in range(2)]
    readers += [threading.Thread(target=read_queries) for _ in range(2)]
    t0 = time.monotonic()
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(timeout=300)
    writers_done.set()
    for t in readers:
        t.join(timeout=300)
    seconds = time.monotonic() - t0
    try:
        assert not errors, errors[0]
        assert {name: r.status for name, r in results.items()} == {p.name: "loaded" for p in FILES}
        for name, result in results.items():
            assert _rows_per_table(store, result.batch_id) == expected[name], name
        for t in TABLES:
            total = store.query_one(f"SELECT count(*) FROM {t} WHERE superseded_by IS NULL")
            assert total == sum(e[t] for e in expected.values()), t
        assert store.query_one("SELECT count(*) FROM import_batches") == len(FILES)
        assert reads["attainment"] >= 2 and reads["queries"] >= 5, reads
    finally:
        store.close()
    print(json.dumps({"uploads": len(FILES), "readers": 4, "reads": reads, "seconds": round(seconds, 1)}))


def test_concurrent_writes_to_the_same_rows_are_serialised(tmp_path):
    """Eight sessions upload files for the same locality at once: every one commits, none conflicts,
    and exactly one batch's rows are current afterwards (each replaced the one before)."""
    store = Store(tmp_path / "yaad.duckdb")
    load_reference(store)
    files = []
    for i in range(8):
        rows = [O.TRAININGS_HEADER] + [
            ["ערד", f"{d:02d}/03/2025", f"נושא {i}-{d}", "סדנה", "רכזים", 10 + i, 2] for d in range(1, 21)
        ]
        files.append((f"arad_{i}.xlsx", O.xlsx({"הכשרות": rows})))
    errors: list[str] = []
    results = []
    start = threading.Barrier(len(files))

    def upload(name: str, data: bytes) -> None:
        try:
            start.wait()
            results.append(commit(analyse(data, name, store), store, user=name))
        except Exception:
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=upload, args=f) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    try:
        assert not errors, errors[0]
        assert sorted(r.status for r in results) == ["loaded"] * 8
        assert store.query_one("SELECT count(*) FROM trainings") == 8 * 20
        assert store.query_one("SELECT count(*) FROM trainings WHERE superseded_by IS NULL") == 20
        assert (
            store.query_one("SELECT count(DISTINCT batch_id) FROM trainings WHERE superseded_by IS NULL") == 1
        )
    finally:
        store.close()


# -- the CLI while the dashboard server holds the database ------------------------------------------
@pytest.mark.e2e
def test_cli_import_while_the_dashboard_runs_lands_exactly_once(tmp_path):
    from playwright.sync_api import sync_playwright

    from ingest.inbox import worker_alive
    from tests.browser import CHROMIUM_ARGS, chromium_path, streamlit_server

    db = tmp_path / "data" / "yaad.duckdb"
    db.parent.mkdir()
    upload = tmp_path / "arad_trainings.xlsx"
    rows = [O.TRAININGS_HEADER] + [
        ["ערד", f"{d:02d}/04/2025", f"cli {d}", "סדנה", "רכזים", 9, 1] for d in range(1, 8)
    ]
    upload.write_bytes(O.xlsx({"הכשרות": rows}))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ingest", str(upload), "--db", str(db), "--json", "--wait", "1", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    with streamlit_server(db) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url, wait_until="domcontentloaded")  # the first session opens the store
        deadline = time.monotonic() + 120
        while not worker_alive(db) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert worker_alive(db), "the dashboard did not start its inbox worker"
        first = cli()
        assert first.returncode == 0, first.stderr
        assert "שרת הדשבורד" in first.stderr  # told that the files were handed over
        payload = json.loads(first.stdout)
        assert [(r["file"], r["status"]) for r in payload] == [(upload.name, "loaded")]
        assert payload[0]["datasets"]["trainings"]["rows"] == 7
        again = cli("--lang", "en")
        assert again.returncode == 0 and json.loads(again.stdout)[0]["status"] == "unchanged"
        assert "dashboard server holds the database" in again.stderr
        page.reload()  # the dashboard keeps serving after the handed-over imports
        page.wait_for_selector('[data-testid="stSidebar"]', timeout=60_000)
        browser.close()
    with Store(db) as store:
        batches = store.query_df(
            "SELECT batch_id, status FROM import_batches WHERE file_name = ?", [upload.name]
        )
        assert batches["status"].tolist() == ["committed"]
        assert (
            store.query_one(
                "SELECT count(*) FROM trainings WHERE batch_id = ?", [int(batches["batch_id"].iloc[0])]
            )
            == 7
        )
