"""Backup and restore of the whole store, as one portable zip.

A backup is DuckDB's `EXPORT DATABASE` (schema.sql, load.sql and one Parquet file per table)
taken under the store's write lock, zipped with a manifest of row counts. Parquet rather than a
copy of the .duckdb file, so a backup still restores after a DuckDB upgrade changes the file
format; the manifest lets a restore prove it got every row back before it replaces anything.

A restore builds the new database next to the target, checks it against the manifest, and only
then swaps it in; the previous file is kept as `<db>.bak`. It refuses to touch a file another
process holds (the dashboard): replacing a file under a running server would lose its writes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import duckdb

from store import Store, StoreLockedError, _is_lock_error
from store.errors import BilingualError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class BackupError(BilingualError, RuntimeError):
    """A backup or restore refused or failed, with a message in Hebrew and English."""


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per base table of the main schema: what a backup must bring back."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()
    ]
    return {n: int(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names}


def _write_zip(export_dir: Path, manifest: dict, out: Path) -> None:
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
        for path in sorted(export_dir.iterdir()):
            zf.write(path, f"export/{path.name}")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(out)  # a half-written backup never carries the final name


def backup(store_or_path: Store | str | Path, out_path: str | Path) -> dict:
    """Write a consistent backup zip of the store; returns its manifest (row counts per table).

    With a Store (e.g. inside the dashboard process) the export runs under its write lock, so no
    import can land half-way; with a path the file is opened here (StoreLockedError if held).
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    own = not isinstance(store_or_path, Store)
    store = Store(store_or_path) if own else store_or_path
    try:
        with tempfile.TemporaryDirectory(prefix="yaad-backup-", dir=out.parent) as tmp:
            export_dir = Path(tmp) / "export"
            with store._write_lock, store.cursor() as cur:  # same package: the writers lock
                counts = table_counts(cur)
                version = store.schema_version()
                data_version = store.data_version()
                cur.execute(f"EXPORT DATABASE {_quote(export_dir)} (FORMAT parquet)")
            manifest = {
                "format": FORMAT_VERSION,
                "created": dt.datetime.now().isoformat(timespec="seconds"),
                "source": str(store.path),
                "duckdb": duckdb.__version__,
                "schema_version": version,
                "data_version": data_version,
                "tables": counts,
            }
            _write_zip(export_dir, manifest, out)
    finally:
        if own:
            store.close()
    return manifest


def read_manifest(backup_path: str | Path) -> dict:
    """The manifest of a backup zip (BackupError when it is not one of ours)."""
    path = Path(backup_path)
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read(MANIFEST))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise BackupError(
            f"הקובץ {path} אינו גיבוי תקין של יעד.",
            f"{path} is not a valid Yaad backup.",
        ) from exc
    if manifest.get("format") != FORMAT_VERSION or not isinstance(manifest.get("tables"), dict):
        raise BackupError(
            f"הקובץ {path} אינו גיבוי תקין של יעד (גרסה לא מוכרת).",
            f"{path} is not a Yaad backup this version can read.",
        )
    return manifest


def _ensure_not_held(db: Path) -> None:
    """Refuse when another process holds the file (opening it is the only reliable test)."""
    if not db.exists():
        return
    try:
        duckdb.connect(str(db)).close()
    except duckdb.IOException as exc:
        if _is_lock_error(exc):
            raise StoreLockedError(
                f"מסד הנתונים {db} פתוח בתהליך אחר (למשל שרת הדשבורד). עצרו אותו ונסו לשחזר שוב; "
                "הקובץ לא שונה. / "
                f"The database {db} is held by another process (e.g. the dashboard server). Stop it "
                "and run the restore again; the file was not changed."
            ) from exc
        raise


def restore(backup_path: str | Path, db_path: str | Path) -> dict:
    """Replace the database at `db_path` with a backup; the old file is kept as `<db>.bak`.

    Nothing is replaced until the restored copy has every row the manifest lists.
    """
    db = Path(db_path)
    manifest = read_manifest(backup_path)
    _ensure_not_held(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    staged = db.with_name(db.name + ".restoring")
    for leftover in (staged, Path(f"{staged}.wal")):
        leftover.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="yaad-restore-", dir=db.parent) as tmp:
        with zipfile.ZipFile(backup_path) as zf:
            for member in zf.namelist():
                if member.startswith("export/") and "/" not in member[len("export/") :]:
                    (Path(tmp) / member[len("export/") :]).write_bytes(zf.read(member))
        con = duckdb.connect(str(staged))
        try:
            con.execute(f"IMPORT DATABASE {_quote(Path(tmp))}")
            got = table_counts(con)
            con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            con.close()
            staged.unlink(missing_ok=True)
            raise BackupError(
                f"שחזור הגיבוי נכשל ({exc}); מסד הנתונים {db} לא שונה.",
                f"Restoring the backup failed ({exc}); the database {db} was not changed.",
            ) from exc
        con.close()
    if got != manifest["tables"]:
        staged.unlink(missing_ok=True)
        raise BackupError(
            f"הגיבוי אינו שלם (מספרי השורות אינם תואמים); מסד הנתונים {db} לא שונה.",
            f"The backup is incomplete (row counts differ from its manifest); {db} was not changed.",
        )
    _swap(staged, db)
    return manifest


def _swap(staged: Path, db: Path) -> None:
    bak = db.with_name(db.name + ".bak")
    wal, bak_wal = Path(f"{db}.wal"), Path(f"{bak}.wal")
    bak_wal.unlink(missing_ok=True)
    moved = db.exists()
    if moved:
        _ensure_not_held(db)  # a server may have started since the first check
        shutil.move(db, bak)
        if wal.exists():
            shutil.move(wal, bak_wal)
    try:
        staged.replace(db)
    except OSError:
        if moved:
            shutil.move(bak, db)
            if bak_wal.exists():
                shutil.move(bak_wal, wal)
        raise
