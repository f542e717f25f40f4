"""The schema, its migrations and the reference data, on a real database file."""

from __future__ import annotations

import threading

import duckdb
import pytest

from store import DATASET_TABLES, Store, StoreLockedError, available_migrations
from store.reference import REGIONAL_COUNCIL_OFFSET, load_reference, read_reference


def test_migrations_apply_once_and_are_recorded(tmp_path):
    path = tmp_path / "m.duckdb"
    s = Store(path)
    numbers = [n for n, _, _ in available_migrations()]
    assert s.schema_version() == max(numbers)
    tables = set(s.query_df("SELECT table_name FROM information_schema.tables")["table_name"])
    for t in (*DATASET_TABLES, "localities", "authorities", "import_batches", "targets", "store_meta"):
        assert t in tables
    s.close()
    # Reopening applies nothing new and keeps the recorded versions.
    s2 = Store(path)
    assert s2.migrate() == []
    assert s2.query_one("SELECT count(*) FROM schema_migrations") == len(numbers)
    s2.close()


def test_reference_builds_255_authorities(store):
    kinds = dict(store.query_df("SELECT kind, count(*) n FROM authorities GROUP BY kind").values)
    ref = read_reference()
    assert kinds["city"] == int((ref.municipal_status_id == 0).sum()) == 79
    assert kinds["local_council"] == int((ref.municipal_status_id == 99).sum()) == 122
    assert kinds["regional_council"] == 54
    # Misgav is derived from its settlements: population is their sum.
    misgav = store.query_df("SELECT * FROM authorities WHERE name = 'מועצה אזורית משגב'")
    assert misgav["code"].iloc[0] == REGIONAL_COUNCIL_OFFSET + 56
    expected_pop = int(ref.loc[ref.municipal_status_id == 56, "population"].fillna(0).sum())
    assert misgav["population"].iloc[0] == expected_pop
    # Settlements roll up to their council; a city rolls up to itself.
    assert store.query_one("SELECT authority_code FROM localities WHERE name = 'יודפת'") == 10056
    assert store.query_one("SELECT authority_code FROM localities WHERE code = 2630") == 2630
    # Loading twice adds nothing.
    assert load_reference(store) == 255
    assert store.query_one("SELECT count(*) FROM localities") == len(ref)


def test_transaction_is_all_or_nothing_and_bumps_version(store):
    v0 = store.data_version()
    with pytest.raises(RuntimeError):
        with store.transaction() as cur:
            cur.execute("INSERT INTO locality_attributes VALUES (2630, 'cohort', 'א', 1, 's', 2, NULL)")
            raise RuntimeError("boom")
    assert store.query_one("SELECT count(*) FROM locality_attributes") == 0
    assert store.data_version() == v0
    with store.transaction() as cur:
        cur.execute("INSERT INTO locality_attributes VALUES (2630, 'cohort', 'א', 1, 's', 2, NULL)")
    assert store.data_version() == v0 + 1


def test_threads_read_with_their_own_cursors(store):
    counts: list[int] = []
    errors: list[Exception] = []

    def read() -> None:
        try:
            for _ in range(20):
                counts.append(store.query_one("SELECT count(*) FROM authorities"))
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert counts == [255] * 160


def test_second_process_gets_a_clear_lock_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "locked.duckdb"
    s = Store(path)
    code = (
        "import sys; from store import Store, StoreLockedError\n"
        f"try:\n    Store({str(path)!r}, wait_seconds=0.3)\nexcept StoreLockedError as e:\n"
        "    print('LOCKED', e); sys.exit(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=".")
    s.close()
    assert proc.returncode == 3, proc.stderr
    assert "פתוח בתהליך אחר" in proc.stdout
    assert isinstance(StoreLockedError("x"), RuntimeError)
    assert duckdb.__version__.startswith("2.")


def test_data_version_is_read_once_until_a_write(tmp_path, monkeypatch):
    path = tmp_path / "v.duckdb"
    a, b = Store(path), Store(path)  # two objects on one file in one process (as tests and CLI do)
    v0 = a.data_version()
    queries: list[str] = []
    query_one = Store.query_one

    def counted(self: Store, sql: str, params: list | None = None) -> object:
        queries.append(sql)
        return query_one(self, sql, params)

    monkeypatch.setattr(Store, "query_one", counted)
    assert [a.data_version() for _ in range(5)] == [v0] * 5
    assert queries == [], "an unchanged store is not queried again"
    with b.transaction() as cur:  # a write through the other object
        cur.execute("INSERT INTO locality_attributes VALUES (2630, 'cohort', 'א', 1, 's', 2, NULL)")
    assert a.data_version() == b.data_version() == v0 + 1
    with a.transaction(bump_version=False) as cur:  # no bump: same version, read again at most once
        cur.execute("DELETE FROM locality_attributes")
    assert a.data_version() == v0 + 1
    b.close()
    a.close()


def test_data_version_sees_a_write_that_bypasses_the_store(tmp_path):
    path = tmp_path / "w.duckdb"
    s = Store(path)
    v0 = s.data_version()
    con = duckdb.connect(str(path))  # the same database instance in this process
    con.execute("UPDATE store_meta SET value = '999' WHERE key = 'data_version'")
    con.close()
    assert s.data_version() == 999 != v0
    s.close()
    # A new process (or object) after the file changed hands reads the file afresh.
    s2 = Store(path)
    assert s2.data_version() == 999
    s2.close()
