"""Backup and restore: a round trip brings back every row, batch, target and migration, and the same
metrics; a restore never replaces a file another process holds, and keeps the old one as .bak."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from ingest.first_run import ensure_ready
from metrics.engine import attainment
from store import Store, StoreLockedError
from store.backup import BackupError, backup, read_manifest, restore, table_counts
from store.batches import rollback_batch
from store.targets import set_target

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("import_batches", "targets", "schema_migrations", "meetings", "programs", "store_meta")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A store with the sample data, a target override and a rolled-back batch, closed."""
    db = tmp_path_factory.mktemp("src") / "yaad.duckdb"
    with Store(db) as store:
        assert ensure_ready(store) == 12
        set_target(store, "round_table_meetings", 2025, 2630, 5, None, "test", note="override")
        rollback_batch(store, int(store.query_one("SELECT max(batch_id) FROM import_batches")), "test")
    return db


def _dump(db: Path) -> dict[str, pd.DataFrame]:
    with Store(db) as store, store.cursor() as cur:
        counts = table_counts(cur)
        frames = {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").df() for t in counts}
        frames["__attainment__"] = attainment(store, as_of="2025-12-31")
        frames["__next_batch__"] = pd.DataFrame(
            {"v": [cur.execute("SELECT nextval('batch_seq')").fetchone()[0]]}
        )
    return frames


def test_round_trip_brings_back_every_row_and_the_same_metrics(source, tmp_path):
    before = _dump(source)
    out = tmp_path / "backup.zip"
    manifest = backup(source, out)
    assert manifest["tables"]["import_batches"] == 12
    assert manifest["tables"]["meetings"] > 1000
    assert set(TABLES) <= set(manifest["tables"])
    target = tmp_path / "restored" / "yaad.duckdb"
    restore(out, target)
    after = _dump(target)
    assert set(after) == set(before)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, check_dtype=False, obj=name)
    assert len(before["__attainment__"]) > 100
    statuses = set(after["import_batches"]["status"])
    assert statuses == {"committed", "rolled_back"}


def test_restore_keeps_the_old_file_as_bak_and_replaces_it(source, tmp_path):
    out = tmp_path / "b.zip"
    backup(source, out)
    target = tmp_path / "yaad.duckdb"
    with Store(target) as empty:
        assert empty.query_one("SELECT count(*) FROM import_batches") == 0
    restore(out, target)
    with Store(target) as restored:
        assert restored.query_one("SELECT count(*) FROM import_batches") == 12
    with Store(target.with_name("yaad.duckdb.bak")) as old:
        assert old.query_one("SELECT count(*) FROM import_batches") == 0


def test_backup_of_an_open_store_is_consistent_and_leaves_it_usable(source, tmp_path):
    db = tmp_path / "live.duckdb"
    restore_from = tmp_path / "seed.zip"
    backup(source, restore_from)
    restore(restore_from, db)
    with Store(db) as store:
        version = store.data_version()
        manifest = backup(store, tmp_path / "live.zip")
        assert manifest["data_version"] == version
        set_target(store, "round_table_meetings", 2026, None, 7, None, "test")  # still writable
    assert read_manifest(tmp_path / "live.zip")["tables"] == manifest["tables"]


def test_restore_refuses_a_database_held_by_another_process(source, tmp_path):
    out = tmp_path / "b.zip"
    backup(source, out)
    target = tmp_path / "held.duckdb"
    with Store(target):
        pass
    before = target.read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(target)!r}); print('ready', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError, match="held by another process"):
            restore(out, target)
        cli = subprocess.run(
            [sys.executable, "-m", "store", "restore", str(out), "--db", str(target), "--lang", "en"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 2
        assert "held by another process" in cli.stderr and "Traceback" not in cli.stderr
    finally:
        os.killpg(holder.pid, signal.SIGTERM)
        holder.wait(timeout=20)
    assert target.read_bytes() == before
    assert not target.with_name("held.duckdb.bak").exists()


def test_a_broken_or_foreign_backup_is_refused_and_nothing_changes(source, tmp_path):
    target = tmp_path / "yaad.duckdb"
    with Store(target):
        pass
    before = target.read_bytes()
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(BackupError, match="not a valid Yaad backup"):
        restore(junk, target)
    good = tmp_path / "good.zip"
    backup(source, good)
    lying = tmp_path / "lying.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(lying, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item == "manifest.json":
                data = data.replace(b'"import_batches": 12', b'"import_batches": 13')
            dst.writestr(item, data)
    with pytest.raises(BackupError, match="incomplete"):
        restore(lying, target)
    assert target.read_bytes() == before
    assert not target.with_name("yaad.duckdb.restoring").exists()


def test_cli_backup_then_restore(source, tmp_path):
    out = tmp_path / "cli.zip"
    run = [sys.executable, "-m", "store"]
    b = subprocess.run(
        [*run, "backup", "--out", str(out), "--db", str(source)], cwd=ROOT, capture_output=True, text=True
    )
    assert b.returncode == 0, b.stderr
    assert "נכתב גיבוי" in b.stdout and out.exists()
    target = tmp_path / "x" / "yaad.duckdb"
    r = subprocess.run(
        [*run, "restore", str(out), "--db", str(target), "--lang", "en"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "restored" in r.stdout
    with Store(target) as store:
        assert store.query_one("SELECT count(*) FROM import_batches") == 12
    h = subprocess.run([*run, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert "backup" in h.stdout and "restore" in h.stdout
