"""Recognising a sheet's shape: which row is the header, which dataset it is, which column is which.

Pure functions over raw cells and the registry (datasets.yaml), so a new sheet type or header
spelling is a YAML entry. Localities put title rows and merged group headers above the real
header, so every one of the first rows is tried and the best match wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ingest.registry import Dataset, datasets, header_key

HEADER_SCAN_ROWS = 30
DATASET_OVERRIDE_KEY = "__dataset__"  # in column_overrides: force a sheet's dataset


@dataclass
class Shape:
    """What a sheet is: its dataset (or why none), header row and column mapping."""

    dataset: str | None
    header_index: int | None  # index into RawSheet.rows
    mapping: dict[int, str] = field(default_factory=dict)  # column index -> dataset column name
    headers: list[str] = field(default_factory=list)  # the header row as text
    unmapped: list[str] = field(default_factory=list)
    reason_he: str = ""
    reason_en: str = ""
    missing: list[str] = field(default_factory=list)


@cache
def _lookups() -> dict[str, dict[str, str]]:
    """dataset -> {header key -> column name}."""
    out: dict[str, dict[str, str]] = {}
    for name, ds in datasets().items():
        table: dict[str, str] = {}
        for col in ds.columns:
            for key in sorted(col.header_keys()):
                table.setdefault(key, col.name)
        # Canonical headers win over another column's synonym.
        for col in ds.columns:
            table[header_key(col.he)] = col.name
            table[header_key(col.en)] = col.name
        out[name] = table
    return out


def _match_row(cells: list[Any], ds: Dataset) -> dict[int, str]:
    lookup = _lookups()[ds.name]
    mapping: dict[int, str] = {}
    used: set[str] = set()
    for j, cell in enumerate(cells):
        if not isinstance(cell, str) or not cell.strip():
            continue
        col = lookup.get(header_key(cell))
        if col is not None and col not in used:
            mapping[j] = col
            used.add(col)
    return mapping


def _recognition_required(ds: Dataset) -> list[str]:
    # A sheet may lack the locality column: the user then names the locality.
    return [c.name for c in ds.required if c.type != "locality"]


def recognise(
    rows: list[list[Any]], sheet_name: str = "", overrides: dict[str, str | None] | None = None
) -> Shape:
    """Find the header row and dataset of a sheet; `overrides` maps header text -> column (or None).

    The special key `__dataset__` in `overrides` forces the dataset.
    """
    overrides = dict(overrides or {})
    forced = overrides.pop(DATASET_OVERRIDE_KEY, None)
    candidates = [forced] if forced in datasets() else list(datasets())
    sheet_key = header_key(sheet_name)
    best: tuple | None = None
    near: tuple | None = None
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        for name in candidates:
            ds = datasets()[name]
            mapping = _apply_overrides(row, _match_row(row, ds), overrides, ds)
            if not mapping:
                continue
            cols = set(mapping.values())
            required = _recognition_required(ds)
            have = sum(1 for r in required if r in cols)
            hint = int(bool(sheet_key) and sheet_key in (header_key(ds.he), header_key(ds.en), ds.name))
            score = (have == len(required), len(cols) + 2 * hint, have, -i)
            if have == len(required):
                if best is None or score > best[0]:
                    best = (score, i, name, mapping)
            elif near is None or (have, len(cols)) > near[0]:
                near = ((have, len(cols)), i, name, mapping)
    if best is None:
        return _unrecognised(rows, near)
    _, i, name, mapping = best
    headers = ["" if v is None else str(v).strip() for v in rows[i]]
    unmapped = [h for j, h in enumerate(headers) if h and j not in mapping]
    return Shape(name, i, mapping, headers, unmapped)


def _apply_overrides(
    row: list[Any], mapping: dict[int, str], overrides: dict[str, str | None], ds: Dataset
) -> dict[int, str]:
    if not overrides:
        return mapping
    by_key = {header_key(k): v for k, v in overrides.items()}
    valid = {c.name for c in ds.columns}
    out = dict(mapping)
    for j, cell in enumerate(row):
        if cell is None or not str(cell).strip():
            continue
        key = header_key(cell)
        if key in by_key:
            target = by_key[key]
            out.pop(j, None)
            if target in valid:
                for other in [k for k, v in out.items() if v == target]:
                    out.pop(other)
                out[j] = target
    return out


def _unrecognised(rows: list[list[Any]], near: tuple | None) -> Shape:
    if near is None:
        return Shape(
            None,
            None,
            reason_he="לא נמצאה שורת כותרות מוכרת: הגיליון אינו מתאים לאף סוג נתונים (תוכניות, מפגשים, "
            "שיתופי פעולה, מתנדבים, הכשרות, תקציב, אשכולות, מאפיינים, יעדים).",
            reason_en="No known header row: the sheet matches no dataset type.",
        )
    _, i, name, mapping = near
    ds = datasets()[name]
    cols = set(mapping.values())
    missing = [c for c in _recognition_required(ds) if c not in cols]
    missing_he = ", ".join(ds.column(c).he for c in missing)
    missing_en = ", ".join(ds.column(c).en for c in missing)
    return Shape(
        None,
        i,
        mapping,
        ["" if v is None else str(v) for v in rows[i]],
        reason_he=f"נראה כמו '{ds.he}' אבל חסרות עמודות חובה: {missing_he}.",
        reason_en=f"Looks like '{ds.en}' but required columns are missing: {missing_en}.",
        missing=missing,
    )
