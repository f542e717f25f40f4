"""Target overrides: versioned writes and their history (the store owns the I/O).

A change never edits a target in place: it appends a row and marks the row it replaces with
`superseded_by`, so the history (who, when, old -> new) is the table itself. A row with both
bounds NULL clears an override (the catalog default applies again), and is versioned the same way.
Which goals exist and which bounds they need is the metrics layer's business (metrics.targets).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from store import Store, audit
from store.access import User, actor, require, require_authorities, scope_condition


def _supersede_and_insert(cur: Any, row: Mapping[str, Any], user: str) -> int:
    previous = [
        r[0]
        for r in cur.execute(
            "SELECT target_id FROM targets WHERE goal = ? AND year = ? "
            "AND authority_code IS NOT DISTINCT FROM ? AND superseded_by IS NULL",
            [row["goal"], int(row["year"]), row.get("authority_code")],
        ).fetchall()
    ]
    new_id = cur.execute(
        "INSERT INTO targets (goal, year, authority_code, target_low, target_high, set_by, set_at, note, "
        "batch_id) VALUES (?, ?, ?, ?, ?, ?, current_timestamp, ?, ?) RETURNING target_id",
        [
            row["goal"],
            int(row["year"]),
            None if row.get("authority_code") is None else int(row["authority_code"]),
            row.get("low"),
            row.get("high"),
            user,
            row.get("note"),
            row.get("batch_id"),
        ],
    ).fetchone()[0]
    if previous:
        cur.execute(
            f"UPDATE targets SET superseded_by = ? WHERE target_id IN ({', '.join('?' * len(previous))})",
            [new_id, *previous],
        )
    return int(new_id)


def set_targets(store: Store, rows: Iterable[Mapping[str, Any]], user: User | str) -> list[int]:
    """Apply many overrides in one transaction (a targets sheet); returns the new version ids.

    Each row: goal, year, authority_code (None = every locality that year), low, high, note, batch_id.
    Only roles that may edit targets get here (AccessDenied otherwise); each change is audited.
    """
    who = require(user, "edit_targets")
    rows = list(rows)
    require_authorities(who, [r.get("authority_code") for r in rows])
    with store.transaction() as cur:
        ids = []
        for row in rows:
            new_id = _supersede_and_insert(cur, row, who.username)
            ids.append(new_id)
            audit.record(
                cur,
                who,
                "target",
                f"{row['goal']}/{int(row['year'])}/{row.get('authority_code') or 'all'}",
                {
                    "target_id": new_id,
                    "low": row.get("low"),
                    "high": row.get("high"),
                    "note": row.get("note"),
                },
            )
        return ids


def set_target(
    store: Store,
    goal: str,
    year: int,
    authority_code: int | None,
    low: float | None,
    high: float | None,
    user: User | str,
    note: str | None = None,
) -> int:
    """Override one goal's target for a year (authority_code None = all localities); returns its id."""
    row = {
        "goal": goal,
        "year": year,
        "authority_code": authority_code,
        "low": low,
        "high": high,
        "note": note,
    }
    return set_targets(store, [row], user)[0]


def clear_target(store: Store, goal: str, year: int, authority_code: int | None, user: User | str) -> int:
    """Back to the default (or the year-wide override), recorded as a version like any change."""
    return set_target(store, goal, year, authority_code, None, None, user, note="cleared")


def target_history(
    store: Store,
    goal: str | None = None,
    *,
    year: int | None = None,
    authority_code: int | None = None,
    user: User | str | None = None,
) -> pd.DataFrame:
    """Every version, newest first: who, when, old -> new bounds, and whether it is current.

    A scoped user sees the national (all-locality) versions and their own localities' ones.
    """
    where, params = [], []
    if not actor(user).sees_all:
        where.append(f"(t.authority_code IS NULL OR {scope_condition(user, 't.authority_code')})")
    for column, value in (("t.goal", goal), ("t.year", year), ("t.authority_code", authority_code)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    return store.query_df(
        f"""
        SELECT t.target_id, t.goal, t.year, t.authority_code, a.name AS locality_name,
               old.target_id AS replaces, old.target_low AS old_low, old.target_high AS old_high,
               t.target_low AS new_low, t.target_high AS new_high,
               t.set_by, t.set_at, t.note, t.batch_id, t.superseded_by IS NULL AS current
        FROM targets t
        LEFT JOIN targets old ON old.superseded_by = t.target_id
        LEFT JOIN authorities a ON a.code = t.authority_code
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY t.target_id DESC
        """,
        params,
    )


def current_targets(store: Store, year: int | None = None, user: User | str | None = None) -> pd.DataFrame:
    """The overrides in force (cleared ones excluded), one row per goal × year × scope."""
    return store.query_df(
        "SELECT target_id, goal, year, authority_code, target_low, target_high, set_by, set_at, note "
        "FROM targets WHERE superseded_by IS NULL AND (target_low IS NOT NULL OR target_high IS NOT NULL) "
        f"AND (authority_code IS NULL OR {scope_condition(user)}) "
        + ("AND year = ? " if year is not None else "")
        + "ORDER BY goal, year, authority_code NULLS FIRST",
        [year] if year is not None else [],
    )
