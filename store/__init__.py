"""The DuckDB store: the one place that owns the schema, migrations and connections.

DuckDB allows one read-write process per file and one connection per process shared through
cursors (RECIPES.md). So a process opens the file once (`Store`), every reader takes its own
cursor, and every write goes through one lock and one transaction.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "yaad.duckdb"

DATASET_TABLES: tuple[str, ...] = (
    "programs",
    "meetings",
    "meeting_participants",
    "partnerships",
    "volunteers",
    "trainings",
    "budgets",
    "clusters",
    "locality_attributes",
)


class StoreLockedError(RuntimeError):
    """Another process holds the database file (DuckDB allows one writer process)."""


def default_db_path() -> Path:
    """The embedded default database, overridable with YAAD_DB for tests and deployments."""
    return Path(os.environ.get("YAAD_DB", DEFAULT_DB_PATH))


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


# Committed version-bumping writes per database file in this process, shared by every Store
# object on that file (DuckDB gives them one database). A Store remembers the data version it last
# read together with this count and the file's stat; while neither moved, no write committed.
_WRITES: dict[str, int] = {}
_WRITES_LOCK = threading.Lock()


def _writes(key: str) -> int:
    return _WRITES.get(key, 0)


def _count_write(key: str) -> None:
    with _WRITES_LOCK:
        _WRITES[key] = _WRITES.get(key, 0) + 1


class Store:
    """One open DuckDB database: cursors for readers, a lock and a transaction for writers."""

    def __init__(self, path: str | Path | None = None, *, wait_seconds: float = 0.0) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.RLock()
        in_memory = str(self.path) == ":memory:"
        # An in-memory database belongs to this object alone; a file is shared in the process.
        self._writes_key = f"memory:{id(self)}" if in_memory else str(self.path.resolve())
        self._stat_paths = () if in_memory else (self.path, Path(f"{self.path}.wal"))
        self._version_seen: tuple[object, int] | None = None
        self._con = self._connect(wait_seconds)
        self.migrate()

    def _connect(self, wait_seconds: float) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + wait_seconds
        delay = 0.1
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreLockedError(
                        f"מסד הנתונים {self.path} פתוח בתהליך אחר (למשל שרת הדשבורד). "
                        f"/ The database {self.path} is held by another process."
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    # -- reading ---------------------------------------------------------------------------
    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A private cursor for this thread or script run; never share one across threads."""
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def query_df(self, sql: str, params: list | dict | None = None) -> pd.DataFrame:
        """Run a read query on a fresh cursor and return a DataFrame."""
        with self.cursor() as cur:
            return cur.execute(sql, params or []).df()

    def query_one(self, sql: str, params: list | dict | None = None):  # noqa: ANN201 - any scalar
        """Run a read query and return the first column of the first row (or None)."""
        with self.cursor() as cur:
            row = cur.execute(sql, params or []).fetchone()
        return None if row is None else row[0]

    def data_version(self) -> int:
        """A counter bumped by every committed write: the key for caches of derived results.

        Read from the database only when something may have changed since the last read: a
        version-bumping commit by any Store on this file in this process, or a change in the size
        or time of the file or its write-ahead log (any other writer). Costs two `stat` calls
        otherwise, where a query costs a millisecond on every page run.
        """
        stamp = (_writes(self._writes_key), self._file_stamp())  # before the query: never stale
        seen = self._version_seen
        if seen is not None and seen[0] == stamp:
            return seen[1]
        version = int(self.query_one("SELECT value FROM store_meta WHERE key = 'data_version'"))
        self._version_seen = (stamp, version)
        return version

    def _file_stamp(self) -> tuple[tuple[int, int, int] | None, ...]:
        """(inode, size, mtime) of the database file and its write-ahead log."""
        out = []
        for path in self._stat_paths:
            try:
                st = os.stat(path)
            except OSError:
                out.append(None)
            else:
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(out)

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self, *, bump_version: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """Serialised, all-or-nothing write; bumps the data version when it commits.

        `bump_version=False` for writes that change no dashboard number (the audit log, users),
        so they do not invalidate every cached result.
        """
        with self._write_lock:
            cur = self._con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                yield cur
                if bump_version:
                    cur.execute(
                        "UPDATE store_meta SET value = CAST(CAST(value AS INTEGER) + 1 AS VARCHAR) "
                        "WHERE key = 'data_version'"
                    )
                cur.execute("COMMIT")
            except BaseException:
                try:
                    cur.execute("ROLLBACK")
                except duckdb.Error:
                    pass
                raise
            finally:
                cur.close()
                if bump_version:  # also after a failed commit: a re-read costs one query
                    _count_write(self._writes_key)

    # -- schema ----------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The highest migration applied to this file (0 for an empty file)."""
        with self.cursor() as cur:
            exists = cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
            ).fetchone()[0]
            if not exists:
                return 0
            return int(cur.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])

    def migrate(self) -> list[int]:
        """Apply the migrations this file lacks, each in its own transaction; returns their numbers."""
        applied: list[int] = []
        with self._write_lock:
            cur = self._con.cursor()
            try:
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
                )
                done = {r[0] for r in cur.execute("SELECT version FROM schema_migrations").fetchall()}
                for number, name, sql in available_migrations():
                    if number in done:
                        continue
                    cur.execute("BEGIN TRANSACTION")
                    try:
                        cur.execute(sql)
                        cur.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [number, name])
                        cur.execute("COMMIT")
                    except BaseException:
                        cur.execute("ROLLBACK")
                        raise
                    applied.append(number)
            finally:
                cur.close()
        return applied

    def close(self) -> None:
        """Release the file so another process may open it."""
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def available_migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every file in migrations/, in order: NNN_name.sql."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        number = int(path.name.split("_", 1)[0])
        found.append((number, path.stem, path.read_text(encoding="utf-8")))
    return found
