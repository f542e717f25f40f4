"""Remembered column-mapping corrections, per source file and sheet."""

from __future__ import annotations

import re
from pathlib import Path

from store import Store


def source_key(file_name: str) -> str:
    """A file's source identity: its name without extension, dates and version numbers.

    `programs_afula_2025-06.xlsx` and `programs_afula_2026-01.xlsx` are the same source.
    """
    stem = Path(file_name).stem.lower()
    stem = re.sub(r"[\d_\-.() ]+", " ", stem)
    return re.sub(r"\s+", " ", stem).strip() or Path(file_name).name


def overrides_for(store: Store, file_name: str) -> dict[str, dict[str, str | None]]:
    """sheet -> {header -> column (None: ignore)} remembered for this file's source."""
    rows = store.query_df(
        "SELECT sheet, header, column_name FROM column_memory WHERE source = ?", [source_key(file_name)]
    )
    out: dict[str, dict[str, str | None]] = {}
    for sheet, header, column in rows.itertuples(index=False):
        out.setdefault(sheet, {})[header] = None if column is None or column != column else column
    return out


def remember(store: Store, file_name: str, sheet: str, corrections: dict[str, str | None], user: str) -> int:
    """Store corrections (header -> column or None) for this source and sheet; returns how many."""
    with store.transaction() as cur:
        for header, column in corrections.items():
            cur.execute(
                "INSERT OR REPLACE INTO column_memory VALUES (?, ?, ?, ?, ?, now())",
                [source_key(file_name), sheet, header, column, user],
            )
    return len(corrections)
