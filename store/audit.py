"""The audit log: who did what, when, to what. Append-only from the app (only INSERT paths exist).

Writes that change data record their entry inside their own transaction (`record(cur, ...)`), so
an upload, rollback or target change and its audit entry commit or roll back together. Events
that change no data (exports, sign-ins) use `log`, which does not bump the data version.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd

from store import Store
from store.access import User, actor, require

ACTIONS: tuple[str, ...] = (
    "upload",
    "rollback",
    "target",
    "user_create",
    "user_update",
    "export",
    "sign_in",
    "sign_in_failed",
)


def record(
    cur: duckdb.DuckDBPyConnection,
    user: User | str | None,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry using the caller's open transaction cursor."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    cur.execute(
        "INSERT INTO audit_log (username, action, target, details) VALUES (?, ?, ?, ?)",
        [
            actor(user).username,
            action,
            target,
            json.dumps(details or {}, ensure_ascii=False, default=str),
        ],
    )


def log(
    store: Store,
    user: User | str | None,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry in its own transaction (no data version bump: no number changed)."""
    with store.transaction(bump_version=False) as cur:
        record(cur, user, action, target, details)


def entries(
    store: Store,
    user: User | str | None,
    *,
    action: str | None = None,
    username: str | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """The newest entries first (admins only)."""
    require(user, "view_audit")
    where, params = [], []
    if action:
        where.append("action = ?")
        params.append(action)
    if username:
        where.append("username = ?")
        params.append(username)
    return store.query_df(
        "SELECT id, logged_at, username, action, target, details FROM audit_log "
        + ("WHERE " + " AND ".join(where) + " " if where else "")
        + f"ORDER BY id DESC LIMIT {int(limit)}",
        params,
    )
