"""The write side of imports: batches, supersede, diff preview, rollback and history.

The store owns all database I/O; `ingest` hands it plain frames shaped like the tables. A batch
never updates rows in place: it marks the rows it replaces (`superseded_by = batch_id`) and
appends its own, so a rollback (delete own rows, clear the marks) restores exactly the state
before it. Target overrides are versioned the same way, except that `superseded_by` holds the
replacing `target_id` (targets are replaced one key at a time, not per batch scope).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import duckdb
import pandas as pd
import pyarrow as pa

from store import DATASET_TABLES, Store, audit
from store.access import AccessDenied, User, actor, require, require_authorities, scope_condition
from store.errors import BilingualError

PROVENANCE = ("batch_id", "sheet", "source_row", "superseded_by")

# The columns that identify a row of each table, for the added / changed / removed preview.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "programs": ("authority_code", "locality_code", "program_name"),
    "meetings": ("meeting_id",),
    "meeting_participants": ("meeting_id", "person_key", "source_row"),
    "partnerships": ("authority_code", "locality_code", "partnership_name"),
    "volunteers": ("authority_code", "locality_code", "period", "cluster"),
    "trainings": ("authority_code", "locality_code", "training_date", "topic"),
    "budgets": ("authority_code", "locality_code", "year", "source"),
    "clusters": ("authority_code", "locality_code", "cluster_name"),
    "locality_attributes": ("authority_code", "attribute"),
    "targets": ("goal", "year", "authority_code"),
}
# Year of a row, for the `years` replace rule (a newer log replaces the years it covers).
YEAR_EXPR: dict[str, str] = {
    "meetings": "year({t}.meeting_date)",
    "volunteers": "year({t}.period_start)",
    "trainings": "year({t}.training_date)",
    "budgets": "{t}.year",
    "programs": "year({t}.start_date)",
    "partnerships": "year({t}.start_date)",
    "clusters": "year({t}.established)",
}
# Tables whose rows ride along with another table's (participants belong to their meeting).
DEPENDENT = {"meeting_participants": "meetings"}
TABLE_DATASET = {"meeting_participants": "meetings"}


class BatchError(BilingualError):
    """A batch operation refused, with a message for the user in Hebrew and English."""


def _columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    rows = cur.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def _value_columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    skip = {*PROVENANCE, "target_id", "set_by", "set_at", "note"}
    return [(c, t) for c, t in _columns(cur, table) if c not in skip]


def _select_values(alias: str, cols: list[tuple[str, str]], present: set[str] | None = None) -> str:
    parts = []
    for c, t in cols:
        src = f"{alias}.{c}" if present is None or c in present else "NULL"
        parts.append(f"CAST({src} AS {t}) AS {c}")
    return ", ".join(parts)


def _scope(table: str, rule: str, new: str) -> str:
    """SQL condition on alias `t`: the current rows a new batch for the same authorities replaces."""
    if table in DEPENDENT:
        parent = DEPENDENT[table]
        return f"t.meeting_id IN (SELECT meeting_id FROM {parent} t WHERE t.superseded_by IS NULL AND " + (
            _scope(parent, rule, f"new_{parent}") + ")"
        )
    if rule == "years" and table in YEAR_EXPR:
        year_t, year_n = YEAR_EXPR[table].format(t="t"), YEAR_EXPR[table].format(t="n")
        return (
            f"EXISTS (SELECT 1 FROM {new} n WHERE n.authority_code = t.authority_code "
            f"AND {year_n} = {year_t})"
        )
    if rule == "attributes":
        return (
            f"EXISTS (SELECT 1 FROM {new} n WHERE n.authority_code = t.authority_code "
            "AND n.attribute = t.attribute)"
        )
    return f"t.authority_code IN (SELECT DISTINCT authority_code FROM {new})"


def _current(table: str, rule: str) -> str:
    if table == "targets":
        return (
            "SELECT * FROM targets t WHERE t.superseded_by IS NULL AND EXISTS (SELECT 1 FROM new_targets n "
            "WHERE n.goal = t.goal AND n.year = t.year AND n.authority_code IS NOT DISTINCT "
            "FROM t.authority_code)"
        )
    return f"SELECT * FROM {table} t WHERE t.superseded_by IS NULL AND {_scope(table, rule, f'new_{table}')}"


def _register(cur: duckdb.DuckDBPyConnection, tables: Mapping[str, pd.DataFrame]) -> None:
    for table, frame in tables.items():
        cur.register(f"new_{table}", _arrow(frame))


def _arrow(frame: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """The frame as an Arrow table: DuckDB scans Arrow columns natively (about twice as fast to insert
    as a pandas frame of Python objects). A frame Arrow cannot type is registered as it is."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return frame


def _unregister(cur: duckdb.DuckDBPyConnection, tables: Mapping[str, pd.DataFrame]) -> None:
    for table in tables:
        try:
            cur.unregister(f"new_{table}")
        except duckdb.Error:
            pass


def _rule(table: str, replace: Mapping[str, str]) -> str:
    return replace.get(TABLE_DATASET.get(table, table), "snapshot")


def _row_hash(alias: str, cols: list[tuple[str, str]]) -> str:
    parts = ", ".join(f"coalesce(CAST({alias}.{c} AS VARCHAR), chr(0))" for c, _ in cols)
    return f"md5(concat_ws(chr(31), {parts}))"


def _diff(
    cur: duckdb.DuckDBPyConnection, tables: Mapping[str, pd.DataFrame], replace: Mapping[str, str]
) -> pd.DataFrame:
    out = []
    for table, frame in tables.items():
        if table in DEPENDENT:
            continue
        current = cur.execute(f"SELECT count(*) FROM ({_current(table, _rule(table, replace))})").fetchone()[
            0
        ]
        if not current:  # nothing to compare with: every row is new (the common first load)
            added = frame.groupby("authority_code", dropna=False).size()
            df = pd.DataFrame(
                {
                    "authority_code": added.index,
                    "added": added.to_numpy(),
                    "changed": 0,
                    "removed": 0,
                    "unchanged": 0,
                }
            )
            df.insert(0, "dataset", TABLE_DATASET.get(table, table))
            out.append(df)
            continue
        cols = _value_columns(cur, table)
        present = set(frame.columns)
        key = TABLE_KEYS[table]
        key_expr = ", ".join(f"coalesce(CAST(x.{k} AS VARCHAR), chr(0))" for k in key)
        sql = f"""
            WITH n AS (SELECT {_select_values("n0", cols, present)} FROM new_{table} n0),
                 c AS ({_current(table, _rule(table, replace))}),
                 nk AS (SELECT x.authority_code, concat_ws(chr(31), {key_expr}) AS k,
                     {_row_hash("x", cols)} AS h
                        FROM n x),
                 ck AS (SELECT x.authority_code, concat_ws(chr(31), {key_expr}) AS k,
                     {_row_hash("x", cols)} AS h
                        FROM c x)
            SELECT coalesce(nk.authority_code, ck.authority_code) AS authority_code,
                   count(*) FILTER (WHERE ck.k IS NULL) AS added,
                   count(*) FILTER (WHERE nk.k IS NOT NULL AND ck.k IS NOT NULL AND nk.h <> ck.h) AS changed,
                   count(*) FILTER (WHERE nk.k IS NULL) AS removed,
                   count(*) FILTER (WHERE nk.h = ck.h) AS unchanged
            FROM nk FULL OUTER JOIN ck ON nk.k = ck.k AND nk.authority_code IS NOT DISTINCT FROM
                ck.authority_code
            GROUP BY ALL
        """
        df = cur.execute(sql).df()
        df.insert(0, "dataset", TABLE_DATASET.get(table, table))
        out.append(df)
    if not out:
        return pd.DataFrame(columns=["dataset", "authority_code", "added", "changed", "removed", "unchanged"])
    df = pd.concat(out, ignore_index=True)
    for c in ("added", "changed", "removed", "unchanged"):
        df[c] = df[c].astype(int)
    return df


def _identical(
    cur: duckdb.DuckDBPyConnection, tables: Mapping[str, pd.DataFrame], replace: Mapping[str, str]
) -> bool:
    """Would this batch change nothing? (same rows as the current ones it would replace)."""
    for table, frame in tables.items():
        current = cur.execute(f"SELECT count(*) FROM ({_current(table, _rule(table, replace))})").fetchone()[
            0
        ]
        if current != len(frame):
            return False
        if not current:
            continue
        cols = _value_columns(cur, table)
        new = f"SELECT {_select_values('n0', cols, set(frame.columns))} FROM new_{table} n0"
        cur_sql = f"SELECT {_select_values('c0', cols)} FROM ({_current(table, _rule(table, replace))}) c0"
        differs = cur.execute(
            f"SELECT (SELECT count(*) FROM ({new} EXCEPT ALL {cur_sql})) + "
            f"(SELECT count(*) FROM ({cur_sql} EXCEPT ALL {new}))"
        ).fetchone()[0]
        if differs:
            return False
    return True


def preview_diff(
    store: Store, tables: Mapping[str, pd.DataFrame], replace: Mapping[str, str]
) -> pd.DataFrame:
    """Per dataset and authority: rows a batch would add, change and remove (reads only)."""
    with store.cursor() as cur:
        _register(cur, tables)
        try:
            df = _diff(cur, tables, replace)
        finally:
            _unregister(cur, tables)
    names = store.query_df("SELECT code AS authority_code, name AS authority_name FROM authorities")
    df = df.merge(names, on="authority_code", how="left")
    return df[["dataset", "authority_code", "authority_name", "added", "changed", "removed", "unchanged"]]


def write_batch(
    store: Store,
    *,
    file_name: str,
    content_hash: str,
    user: User | str,
    tables: Mapping[str, pd.DataFrame],
    replace: Mapping[str, str],
    rows_per_dataset: Mapping[str, int] | None = None,
) -> int | None:
    """Write one file's rows as one batch, all or nothing; None when it would change nothing.

    `tables` maps table name -> frame shaped like the table (no batch_id / superseded_by);
    `replace` maps dataset -> its replace rule (snapshot | years | attributes | none).
    The acting user must be allowed to upload, every row must be in their localities, and target
    rows need the right to edit targets (checked again here, below the pipeline's own check).
    """
    who = require(user, "upload")
    tables = {t: f for t, f in tables.items() if f is not None}
    if "targets" in tables and len(tables["targets"]):
        require(who, "edit_targets")
    require_authorities(who, _authority_codes(tables), _names(store))
    try:
        return _write(store, file_name, content_hash, who, tables, replace, rows_per_dataset)
    except _Unchanged:
        return None


def _authority_codes(tables: Mapping[str, pd.DataFrame]) -> set[int | None]:
    """Every authority a batch's rows name (None: a national target row)."""
    codes: set[int | None] = set()
    for frame in tables.values():
        if "authority_code" in frame and len(frame):
            codes |= {None if pd.isna(c) else int(c) for c in frame["authority_code"].unique()}
    return codes


def _names(store: Store) -> dict[int, str]:
    return dict(store.query_df("SELECT code, name FROM authorities").itertuples(index=False))


class _Unchanged(Exception):
    """Raised inside the transaction so that it rolls back and bumps nothing."""


def _write(
    store: Store,
    file_name: str,
    content_hash: str,
    user: User,
    tables: Mapping[str, pd.DataFrame],
    replace: Mapping[str, str],
    rows_per_dataset: Mapping[str, int] | None,
) -> int:
    with store.transaction() as cur:
        _register(cur, tables)
        try:
            if _identical(cur, tables, replace):
                raise _Unchanged
            batch_id = cur.execute(
                "INSERT INTO import_batches VALUES (nextval('batch_seq'), ?, ?, ?, now(), 'committed', ?, "
                "NULL, NULL) RETURNING batch_id",
                [
                    file_name,
                    content_hash,
                    user.username,
                    json.dumps(dict(rows_per_dataset or {}), ensure_ascii=False),
                ],
            ).fetchone()[0]
            codes = sorted(c for c in _authority_codes(tables) if c is not None)
            for code in codes:
                cur.execute("INSERT INTO batch_authorities VALUES (?, ?)", [batch_id, code])
            audit.record(
                cur,
                user,
                "upload",
                file_name,
                {"batch_id": int(batch_id), "rows": dict(rows_per_dataset or {}), "localities": codes},
            )
            for table in tables:
                if table == "targets" or table in DEPENDENT:
                    continue
                cur.execute(
                    f"UPDATE {table} AS t SET superseded_by = ? WHERE t.superseded_by IS NULL AND "
                    f"{_scope(table, _rule(table, replace), f'new_{table}')}",
                    [batch_id],
                )
                if table == "meetings":
                    cur.execute(
                        "UPDATE meeting_participants SET superseded_by = ? WHERE superseded_by IS NULL AND "
                        "meeting_id IN (SELECT meeting_id FROM meetings WHERE superseded_by = ?)",
                        [batch_id, batch_id],
                    )
            for table, frame in tables.items():
                if table == "targets":
                    _write_targets(cur, frame, batch_id, user.username)
                elif len(frame):
                    cur.execute(
                        f"INSERT INTO {table} BY NAME SELECT *, {int(batch_id)} AS batch_id FROM new_{table}"
                    )
        finally:
            _unregister(cur, tables)
    return int(batch_id)


def _write_targets(cur: duckdb.DuckDBPyConnection, frame: pd.DataFrame, batch_id: int, user: str) -> None:
    """Append the targets that differ from the active ones and close the ones they replace."""
    cur.execute(
        """
        INSERT INTO targets (goal, year, authority_code, target_low, target_high, set_by, set_at,
            note, batch_id)
        SELECT n.goal, n.year, n.authority_code, n.target_low, n.target_high, ?, now(),
               'sheet ' || n.sheet || ' row ' || n.source_row, ?
        FROM new_targets n
        WHERE NOT EXISTS (
            SELECT 1 FROM targets t WHERE t.superseded_by IS NULL AND t.goal = n.goal AND t.year = n.year
              AND t.authority_code IS NOT DISTINCT FROM n.authority_code
              AND t.target_low IS NOT DISTINCT FROM n.target_low AND t.target_high IS NOT DISTINCT
                  FROM n.target_high)
        """,
        [user, batch_id],
    )
    cur.execute(
        """
        UPDATE targets AS o SET superseded_by = n.target_id
        FROM targets n
        WHERE n.batch_id = ? AND o.superseded_by IS NULL AND o.batch_id IS DISTINCT FROM ?
          AND o.goal = n.goal AND o.year = n.year AND o.authority_code IS NOT DISTINCT FROM n.authority_code
        """,
        [batch_id, batch_id],
    )


def rollback_batch(store: Store, batch_id: int, user: User | str) -> None:
    """Undo one batch exactly: delete its rows and make the rows it had replaced current again.

    A batch whose rows were since replaced by a later batch cannot be undone alone (that would
    resurrect rows the later batch replaced): the later batch must be rolled back first.
    The acting user must be allowed to roll back, and the batch must lie within their localities.
    """
    who = require(user, "rollback")
    if not _batch_visible(store, who, batch_id):
        raise AccessDenied(
            f"אין לך הרשאה לבטל את ייבוא {batch_id}: הוא כולל נתונים של רשויות שאינן באחריותך.",
            f"You may not roll back batch {batch_id}: it holds rows of localities outside your scope.",
        )
    status = store.query_one("SELECT status FROM import_batches WHERE batch_id = ?", [batch_id])
    if status is None:
        raise BatchError(f"אין אצווה מספר {batch_id}.", f"There is no batch {batch_id}.")
    if status != "committed":
        raise BatchError(f"אצווה {batch_id} כבר בוטלה.", f"Batch {batch_id} was already rolled back.")
    with store.transaction() as cur:
        later: set[int] = set()
        for table in DATASET_TABLES:
            rows = cur.execute(
                f"SELECT DISTINCT superseded_by FROM {table} WHERE batch_id = ? AND "
                "superseded_by IS NOT NULL",
                [batch_id],
            ).fetchall()
            later |= {int(r[0]) for r in rows}
        rows = cur.execute(
            "SELECT DISTINCT n.batch_id FROM targets o JOIN targets n ON o.superseded_by = n.target_id "
            "WHERE o.batch_id = ? AND n.batch_id IS NOT NULL",
            [batch_id],
        ).fetchall()
        later |= {int(r[0]) for r in rows}
        later.discard(batch_id)
        if later:
            ids = ", ".join(str(b) for b in sorted(later))
            raise BatchError(
                f"לא ניתן לבטל את אצווה {batch_id}: אצוות מאוחרות יותר ({ids}) החליפו חלק "
                "משורותיה. בטלו אותן קודם.",
                f"Cannot roll back batch {batch_id}: later batches ({ids}) replaced some of its rows. "
                "Roll them back first.",
            )
        for table in DATASET_TABLES:
            cur.execute(f"UPDATE {table} SET superseded_by = NULL WHERE superseded_by = ?", [batch_id])
            cur.execute(f"DELETE FROM {table} WHERE batch_id = ?", [batch_id])
        cur.execute(
            "UPDATE targets SET superseded_by = NULL WHERE superseded_by IN "
            "(SELECT target_id FROM targets WHERE batch_id = ?)",
            [batch_id],
        )
        cur.execute("DELETE FROM targets WHERE batch_id = ?", [batch_id])
        cur.execute(
            "UPDATE import_batches SET status = 'rolled_back', rolled_back_at = now(), rolled_back_by = ? "
            "WHERE batch_id = ?",
            [who.username, batch_id],
        )
        file_name = cur.execute(
            "SELECT file_name FROM import_batches WHERE batch_id = ?", [batch_id]
        ).fetchone()
        audit.record(cur, who, "rollback", file_name[0] if file_name else None, {"batch_id": int(batch_id)})


def _visible_condition(user: User | str | None) -> str:
    """SQL on alias `b`: batches whose rows all belong to the user's authorities.

    National scope sees every batch; a scoped user sees a batch only when it wrote rows for at
    least one authority and for none outside their scope (so never a national targets sheet).
    """
    who = actor(user)
    if who.sees_all:
        return "TRUE"
    return (
        "EXISTS (SELECT 1 FROM batch_authorities ba WHERE ba.batch_id = b.batch_id) AND NOT EXISTS "
        "(SELECT 1 FROM batch_authorities ba WHERE ba.batch_id = b.batch_id AND NOT "
        f"{scope_condition(who, 'ba.authority_code')})"
    )


def _batch_visible(store: Store, user: User, batch_id: int) -> bool:
    if user.sees_all:
        return True
    return bool(
        store.query_one(
            f"SELECT count(*) FROM import_batches b WHERE b.batch_id = ? AND {_visible_condition(user)}",
            [int(batch_id)],
        )
    )


def list_batches(store: Store, user: User | str | None = None) -> pd.DataFrame:
    """Import history in the user's scope, newest first: file, who, when, status, rows, localities."""
    return store.query_df(
        "SELECT b.batch_id, b.file_name, b.content_hash, b.imported_by, b.imported_at, b.status, "
        "b.rows_per_dataset, b.rolled_back_at, b.rolled_back_by, "
        "(SELECT list(ba.authority_code ORDER BY ba.authority_code) FROM batch_authorities ba "
        " WHERE ba.batch_id = b.batch_id) AS authority_codes "
        f"FROM import_batches b WHERE {_visible_condition(user)} ORDER BY b.batch_id DESC"
    )
