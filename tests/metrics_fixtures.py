"""Insert dataset rows into a real store for metrics tests, filling provenance and defaults."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from store import Store

BATCH_ID = 1
FILE_NAME = "cases.xlsx"


def _volunteer_period(text: str) -> dict[str, Any]:
    """'2025' | '2025-Q2' | '2025-03' -> period, period_kind, period_start, period_end."""
    text = str(text)
    if "-Q" in text:
        y, q = text.split("-Q")
        start = dt.date(int(y), 3 * int(q) - 2, 1)
        end = (pd.Timestamp(start) + pd.offsets.QuarterEnd(0)).date()
        kind = "quarter"
    elif "-" in text:
        y, m = text.split("-")
        start = dt.date(int(y), int(m), 1)
        end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
        kind = "month"
    else:
        start, end, kind = dt.date(int(text), 1, 1), dt.date(int(text), 12, 31), "year"
    return {"period": text, "period_kind": kind, "period_start": start, "period_end": end}


DEFAULTS: dict[str, dict[str, Any]] = {
    "programs": {"program_name": "תוכנית", "operator": "jdc", "status": "active"},
    "partnerships": {"partnership_name": "שותפות", "status": "active"},
    "clusters": {
        "cluster_name": "אשכול",
        "has_coordinator": True,
        "has_authority_rep": True,
        "has_ngo_rep": True,
        "status": "active",
    },
    "trainings": {"topic": "נושא", "training_kind": "workshop"},
    "budgets": {"source": "welfare"},
    "meetings": {"meeting_type": "round_table"},
    "meeting_participants": {},
    "volunteers": {},
    "locality_attributes": {},
}


def meeting_id(row: dict[str, Any]) -> str:
    return f"{row['authority_code']}|{row['meeting_date']}|{row.get('meeting_type', 'round_table')}"


def insert_rows(
    store: Store,
    rows: dict[str, list[dict[str, Any]]],
    *,
    batch_id: int = BATCH_ID,
    file_name: str = FILE_NAME,
    imported_at: str = "2025-01-01 09:00:00",
) -> None:
    """Insert case rows (table -> list of dicts) plus a matching import_batches row."""
    with store.transaction() as cur:
        exists = cur.execute("SELECT count(*) FROM import_batches WHERE batch_id = ?", [batch_id]).fetchone()[
            0
        ]
        if not exists:
            cur.execute(
                "INSERT INTO import_batches "
                "(batch_id, file_name, content_hash, imported_by, imported_at, status) "
                "VALUES (?, ?, 'hash', 'tests', CAST(? AS TIMESTAMP), 'committed')",
                [batch_id, file_name, imported_at],
            )
        for table, table_rows in rows.items():
            records = []
            for i, raw in enumerate(table_rows):
                row = {**DEFAULTS[table], **raw}
                if table == "meetings":
                    row.setdefault("meeting_id", meeting_id(row))
                if table == "meeting_participants" and "meeting_id" not in row:
                    row["meeting_id"] = meeting_id(row)
                    row.setdefault("meeting_type", "round_table")
                if table == "volunteers":
                    row.update(_volunteer_period(row["period"]))
                row.setdefault("batch_id", batch_id)
                row.setdefault("sheet", table)
                row.setdefault("source_row", i + 2)
                records.append(row)
            if not records:
                continue
            df = pd.DataFrame(records)
            cur.register("case_rows", df)
            cols = ", ".join(df.columns)
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM case_rows")
            cur.unregister("case_rows")
