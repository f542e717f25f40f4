"""Cleaning and validating one recognised sheet: raw cells -> typed columns, resolved localities, problems.

Works column by column on distinct values (values.convert_column), so the cost follows the
variety of a sheet, not its length. Every problem is collected (lazy validation): the user gets
the full list in one report, not the first error.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import infer_dtype

from ingest import values as V
from ingest.localities import LocalityResolver, Resolution
from ingest.problems import MASK, Problem, display_value
from ingest.reading import RawSheet
from ingest.registry import Column, Dataset, datasets, normalise_text
from ingest.shape import Shape
from store.access import User, can


@dataclass
class Context:
    """What cleaning needs besides the sheet: file name, resolver, default locality, person-key secret,
    and the uploading user (None: a trusted local process, every locality)."""

    file: str
    resolver: LocalityResolver
    default_locality: Resolution | None
    person_secret: bytes
    user: User | None = None
    # (column type, categories) -> the memo of convert_uniques for that converter, when set: the row
    # ranges of a large sheet, cleaned one by one, then convert each repeated date or number once.
    conversions: dict[tuple[str, str | None], dict] | None = field(default=None, repr=False, compare=False)


@dataclass
class CleanSheet:
    """A sheet's typed values: one array per dataset column, plus row numbers, validity and problems."""

    dataset: Dataset
    columns: dict[str, np.ndarray]
    source_rows: np.ndarray
    valid: np.ndarray
    problems: list[Problem] = field(default_factory=list)
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    skipped_totals: int = 0
    present: frozenset[str] = frozenset()
    # column -> (codes, distinct converted values): columns[c] == uniques[codes]; lets per-value
    # work (authority codes, duplicate keys) run once per distinct value instead of once per row.
    factors: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # text column -> its factor's distinct values as an Arrow string array (without the trailing
    # None), where cleaning had them so: equal to factors[c][1] at every code the column uses.
    # Lets the store rows and the duplicate check skip turning a column of names into Arrow.
    arrow_uniques: dict[str, pa.Array] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.source_rows)

    def per_value(self, name: str, fn: Callable[[Any], Any]) -> np.ndarray:
        """`fn` applied to every value of a column, computed once per distinct value when possible."""
        if name in self.factors:
            codes, uniques = self.factors[name]
            return np.array([fn(u) for u in uniques], dtype=object)[codes]
        return np.array([fn(v) for v in self.columns[name]], dtype=object)

    def has_column(self, name: str) -> bool:
        """Whether the sheet had this column (as opposed to an all-empty placeholder)."""
        return name in self.present


def person_key(name: object, secret: bytes) -> str | None:
    """A keyed hash of a participant's name: the same person gets the same key, the name is not kept."""
    if V.is_blank(name):
        return None
    text = re.sub(r"[\"'.\-]", " ", normalise_text(str(name)).casefold())
    text = " ".join(text.split())
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


def _converter(col: Column, ctx: Context) -> Callable[[object], V.Converted]:
    return V.guarded(_plain_converter(col, ctx))


def _plain_converter(col: Column, ctx: Context) -> Callable[[object], V.Converted]:
    match col.type:
        case "text":
            return V.clean_text
        case "int":
            return V.parse_int
        case "number":
            return V.parse_number
        case "date":
            return V.parse_date
        case "bool":
            return V.parse_bool
        case "year":
            return V.parse_year
        case "period":
            return V.parse_period
        case "category":
            return V.category_parser(col.categories or "")
        case "person":
            return lambda v: (person_key(v, ctx.person_secret), None)
        case "locality":
            return lambda v: _resolve(v, ctx)
    raise ValueError(f"unknown column type {col.type}")


def _resolve(value: object, ctx: Context) -> V.Converted:
    if V.is_blank(value):
        return None, None
    res = ctx.resolver.resolve(value)
    if res.ok:
        return res, None
    if res.locality_code is not None:
        return None, (
            f"היישוב '{value}' אינו שייך לאף רשות מקומית ברשימת הלמ\"ס",
            f"locality '{value}' belongs to no local authority in the CBS list",
        )
    sugg = ", ".join(res.suggestions)
    return res, (
        f"היישוב '{value}' לא זוהה" + (f". אולי: {sugg}" if sugg else ""),
        f"locality '{value}' was not recognised" + (f". Did you mean: {sugg}" if sugg else ""),
    )


@dataclass
class CleanRows:
    """The row-by-row part of cleaning one range of a sheet's data rows (see `clean_rows`).

    Ranges of one sheet, cleaned apart (the first while calamine still parses the rest), are
    joined by `join_cleaned` into what cleaning them as one range gives.
    """

    source_rows: np.ndarray  # Excel row numbers of the rows kept
    valid: np.ndarray
    # column -> (codes, converted distinct values + a trailing None for empty cells)
    factors: dict[str, tuple[np.ndarray, np.ndarray]]
    columns: dict[str, np.ndarray]  # column -> converted values, factors[c][1][factors[c][0]]
    raw_uniques: dict[str, np.ndarray]  # column -> the distinct raw values (pd.factorize's)
    raw_kinds: dict[str, str]  # column -> pandas infer_dtype of raw_uniques
    converted: dict[str, list[Problem]]  # column -> problems of conversion, in row order
    below_min: dict[str, list[Problem]]  # column -> values below the column's minimum
    resolutions: dict[str, Resolution]
    skipped_totals: int
    # the locality column's distinct raw values on kept rows, and those only on dropped rows
    # (empty, totals): the order of `resolutions` follows the column's first appearances
    localities_kept: frozenset = frozenset()
    localities_dropped: frozenset = frozenset()
    # text column -> the distinct raw values as Arrow strings, where every kept one is its own
    # clean text (see CleanSheet.arrow_uniques)
    arrow_uniques: dict[str, pa.Array] = field(default_factory=dict)


def clean_sheet(raw: RawSheet, shape: Shape, ctx: Context) -> CleanSheet:
    """Typed, validated columns of a recognised sheet (empty and totals rows dropped)."""
    joined = join_cleaned(raw, shape, ctx, [clean_rows(raw, shape, ctx, (shape.header_index or 0) + 1)])
    assert joined is not None  # (one range: nothing to disagree with)
    return joined


def clean_rows(raw: RawSheet, shape: Shape, ctx: Context, start: int) -> CleanRows:
    """Clean `raw.rows[start:]` (rows after the header): flags, conversions and their problems."""
    ds = datasets()[shape.dataset or ""]
    data = raw.rows[start:]
    first_excel_row = raw.first_row + start
    width = len(shape.headers)
    if data and set(map(len, data)) != {width}:
        data = [list(r[:width]) + [None] * (width - len(r)) for r in data]
    n = len(data)
    # One object grid, one copy: its columns are views (much cheaper than zip(*rows) + arrays).
    grid = np.empty((n, width), dtype=object, order="F")  # columns contiguous
    if n and width:
        grid[:] = data
    source_rows = np.arange(first_excel_row, first_excel_row + n, dtype=np.int64)

    # Factorize each mapped column once: flags and conversions work on distinct values only.
    factors: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    blank = np.ones(n, dtype=bool)
    totals = np.zeros(n, dtype=bool)
    # Totals labels sit in the first columns; further right, 'סה"כ…' may be a topic.
    label_columns = set(sorted(shape.mapping)[:2])
    plains: dict[int, np.ndarray] = {}
    texts: dict[int, object] = {}  # column -> its distinct values as Arrow strings (long columns)
    kinds: dict[int, str] = {}
    for j in shape.mapping:
        codes, uniques = pd.factorize(grid[:, j], use_na_sentinel=True)
        factors[j] = (codes, uniques)
        kinds[j] = infer_dtype(uniques)  # (no NA among them: pd.factorize took it out)
        header = shape.headers[j]
        flags_blank = np.ones(len(uniques) + 1, dtype=bool)  # the last slot is the NA sentinel (-1)
        flags_total = np.zeros(len(uniques) + 1, dtype=bool)
        if len(uniques) >= V.FAST_PATH_MIN and kinds[j] in _NO_TEXT:
            # Dates or numbers only (a long column of them): none is blank (pd.factorize took out
            # None and NaN) and none is text, so none is a header or a totals label.
            texts[j], plains[j] = None, np.zeros(len(uniques), dtype=bool)
            flags_blank[:-1] = False
            blank &= flags_blank[codes]
            continue
        # Plain text (V.plain_text_mask: most cells of a long free-text column) is neither blank
        # nor padded: it is a totals row only as a repeated header or a totals label, and only
        # the few that start like one need the Python checks below.
        strings = texts[j] = V.arrow_strings(uniques) if len(uniques) >= V.FAST_PATH_MIN else None
        plain = plains[j] = V.plain_text_mask(uniques, strings)
        slow = ~plain
        if plain.any():
            flags_blank[:-1][plain] = False
            flags_total[:-1][plain & (uniques == header)] = True
            if j in label_columns:
                slow |= V.plain_total_candidates(uniques, plain, strings)
        for k in np.flatnonzero(slow):
            u = uniques[k]
            if type(u) is str:
                stripped = u.strip()
                flags_blank[k] = not stripped
                flags_total[k] = bool(stripped) and (
                    stripped == header or (j in label_columns and V.is_total_label(stripped))
                )
            else:
                flags_blank[k] = V.is_blank(u)
        blank &= flags_blank[codes]
        totals |= flags_total[codes]
    # Which rows carry data: not empty, not a totals row, not a repeated header row.
    keep = ~blank & ~totals
    skipped_totals = int((totals & ~blank).sum())
    idx = np.flatnonzero(keep)
    source_rows = source_rows[idx]

    valid = np.ones(len(idx), dtype=bool)
    columns: dict[str, np.ndarray] = {}
    resolutions: dict[str, Resolution] = {}
    column_factors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    converted_problems: dict[str, list[Problem]] = {}
    low_problems: dict[str, list[Problem]] = {}
    localities_kept: frozenset = frozenset()
    localities_dropped: frozenset = frozenset()
    arrow_uniques: dict[str, pa.Array] = {}
    for j, name in shape.mapping.items():
        col = ds.column(name)
        codes, uniques = factors[j]
        kept_codes = codes[idx]
        # clean_text keeps plain text as is; error values and over-long text still go to the guard
        identity = None
        if col.type == "text":
            identity = plains[j] & ~V.cell_error_mask(uniques, texts[j]) if plains[j].any() else plains[j]
        memo = None if ctx.conversions is None else ctx.conversions.setdefault((col.type, col.categories), {})
        out_uniques, bad = V.convert_uniques(kept_codes, uniques, _converter(col, ctx), identity, memo)
        errors = V.rows_with_errors(kept_codes, bad)
        raw_values = _RawColumn(kept_codes, uniques)
        if col.type == "locality":
            present = np.zeros(len(uniques) + 1, dtype=bool)
            present[kept_codes] = True
            localities_kept = frozenset(uniques[present[:-1]].tolist())
            localities_dropped = frozenset(uniques[~present[:-1]].tolist())
            for value in out_uniques:
                if value is not None:
                    resolutions[value.raw] = value
            out_uniques = np.array([r if r is not None and r.ok else None for r in out_uniques], dtype=object)
        columns[name] = out_uniques[kept_codes]
        column_factors[name] = (kept_codes, out_uniques)
        if identity is not None and texts[j] is not None:
            used = np.zeros(len(uniques) + 1, dtype=bool)
            used[kept_codes] = True
            if identity[used[:-1]].all():  # every kept value is its own text: as Arrow already
                arrow_uniques[name] = texts[j]
        problems = converted_problems[name] = []
        for i, (he, en) in errors.items():
            valid[i] = False
            shown = MASK if col.type == "person" else display_value(raw_values[i])
            problems.append(
                Problem(
                    ctx.file,
                    raw.name,
                    int(source_rows[i]),
                    shape.headers[j],
                    shown,
                    he,
                    en,
                    "error",
                    j + raw.first_col,
                )
            )
        if col.min is not None and col.type in ("int", "number"):
            low = np.array([v is not None and v < col.min for v in out_uniques], dtype=bool)
            problems = low_problems[name] = []
            for i in np.flatnonzero(low[kept_codes]):
                valid[i] = False
                problems.append(
                    Problem(
                        ctx.file,
                        raw.name,
                        int(source_rows[i]),
                        shape.headers[j],
                        display_value(raw_values[i]),
                        f"הערך חייב להיות {col.min:g} לפחות",
                        f"the value must be at least {col.min:g}",
                        "error",
                        j + raw.first_col,
                    )
                )

    return CleanRows(
        source_rows,
        valid,
        column_factors,
        columns,
        {name: factors[j][1] for j, name in shape.mapping.items()},
        {name: kinds[j] for j, name in shape.mapping.items()},
        converted_problems,
        low_problems,
        resolutions,
        skipped_totals,
        localities_kept,
        localities_dropped,
        arrow_uniques,
    )


def join_cleaned(raw: RawSheet, shape: Shape, ctx: Context, parts: list[CleanRows]) -> CleanSheet | None:
    """The clean sheet of consecutive ranges of its rows, validated as a whole (required values,
    the user's localities); None when the ranges cannot be joined exactly (see _same_representatives),
    and the sheet must be cleaned as one range."""
    ds = datasets()[shape.dataset or ""]
    names = list(shape.mapping.values())
    if len(parts) > 1 and not _joinable(parts, names):
        return None
    if len(parts) == 1:
        source_rows, valid = parts[0].source_rows, parts[0].valid
        columns, column_factors = dict(parts[0].columns), dict(parts[0].factors)
        arrow_uniques = dict(parts[0].arrow_uniques)
    else:
        source_rows = np.concatenate([p.source_rows for p in parts])
        valid = np.concatenate([p.valid for p in parts])
        columns = {n: np.concatenate([p.columns[n] for p in parts]) for n in names}
        column_factors = {n: _join_factors([p.factors[n] for p in parts]) for n in names}
        arrow_uniques = {  # aligned with _join_factors' uniques: the parts' one after the other
            n: pa.concat_arrays([p.arrow_uniques[n] for p in parts], memory_pool=V.ARROW_POOL)
            for n in names
            if all(n in p.arrow_uniques for p in parts)
        }
    problems: list[Problem] = []
    for n in names:  # each column's problems in row order, as one pass over the column gives them
        problems.extend(q for p in parts for q in p.converted.get(n, ()))
        problems.extend(q for p in parts for q in p.below_min.get(n, ()))
    resolutions: dict[str, Resolution] = {}
    for p in parts:
        for key, res in p.resolutions.items():
            resolutions.setdefault(key, res)
    skipped_totals = sum(p.skipped_totals for p in parts)
    header_of = {name: shape.headers[j] for j, name in shape.mapping.items()}
    col_of = {name: j + raw.first_col for j, name in shape.mapping.items()}
    m = len(source_rows)
    present = set(shape.mapping.values())
    if "locality" not in columns and any(c.type == "locality" for c in ds.columns):
        loc_col = next(c for c in ds.columns if c.type == "locality")
        if ctx.default_locality is not None and ctx.default_locality.ok:
            columns["locality"] = np.array([ctx.default_locality] * m, dtype=object)
            column_factors["locality"] = (
                np.zeros(m, dtype=np.intp),
                np.array([ctx.default_locality, None], dtype=object),
            )
            present.add("locality")
            resolutions[ctx.default_locality.raw] = ctx.default_locality
        elif loc_col.required and m:
            problems.append(
                Problem(
                    ctx.file,
                    raw.name,
                    None,
                    loc_col.he,
                    None,
                    "בגיליון אין עמודת יישוב: בחרו את היישוב שהקובץ שייך אליו (בדף ההעלאה, או "
                    "--locality בשורת הפקודה).",
                    "The sheet has no locality column: choose the locality the file belongs to "
                    "(on the upload page, or --locality on the command line).",
                )
            )
            valid[:] = False
    for col in ds.columns:
        if col.name not in columns:
            columns[col.name] = np.full(m, None, dtype=object)
        if not col.required or col.name not in header_of:
            continue
        if col.name in arrow_uniques:  # text in every used slot: only empty cells are empty
            empty = column_factors[col.name][0] < 0
        elif col.name in column_factors:  # per distinct value: the same test, once per value
            codes, uniques = column_factors[col.name]
            empty = pd.isna(uniques)[codes]
        else:
            empty = pd.isna(pd.Series(columns[col.name], dtype=object)).to_numpy()
        for i in np.flatnonzero(empty & valid):
            # a value that failed conversion already has its own problem
            valid[i] = False
            problems.append(
                Problem(
                    ctx.file,
                    raw.name,
                    int(source_rows[i]),
                    header_of[col.name],
                    None,
                    f"חסר ערך בעמודת החובה '{header_of[col.name]}'",
                    f"required column '{header_of[col.name]}' is empty",
                    "error",
                    col_of[col.name],
                )
            )
    problems.extend(_out_of_scope(ds, columns, column_factors, source_rows, valid, ctx, raw.name, col_of))
    return CleanSheet(
        ds,
        columns,
        source_rows,
        valid,
        problems,
        resolutions,
        skipped_totals,
        frozenset(present),
        column_factors,
        arrow_uniques,
    )


def _joinable(parts: list[CleanRows], names: list[str]) -> bool:
    """Whether cleaning the ranges apart gave what one pass over them gives: every value converted
    as the same representative (see _same_representatives), and the localities found in the same
    order (one first seen in a dropped row of an earlier range would come earlier in one pass)."""
    dropped: frozenset = frozenset()
    for k, part in enumerate(parts):
        if k and not part.localities_kept.isdisjoint(dropped):
            return False
        dropped |= part.localities_dropped
    return all(
        _same_representatives(
            parts[0].raw_uniques[n], p.raw_uniques[n], (parts[0].raw_kinds[n], p.raw_kinds[n])
        )
        for p in parts[1:]
        for n in names
    )


_NUMBERS = (bool, int, float)
# pandas infer_dtype kinds that hold no str at all (dates, times, numbers, booleans)
_NO_TEXT = frozenset(
    {"floating", "integer", "mixed-integer-float", "boolean", "date", "datetime", "time", "timedelta"}
)
_SINGLE_TYPE = frozenset({"string", "date", "empty"})  # pandas infer_dtype: only values of one type


def _same_representatives(first: np.ndarray, later: np.ndarray, kinds: tuple[str, str] | None = None) -> bool:
    """Whether no distinct value of `later` equals one of `first` of another type or sign.

    pd.factorize takes equal values as one (True == 1 == 1.0, 0.0 == -0.0) and keeps the one it
    saw first: a whole column converts (and reports) the representative of the earlier range.
    `kinds`: infer_dtype of both, when known already.
    """
    if not len(first) or not len(later):
        return True
    if set(kinds or (infer_dtype(first), infer_dtype(later))) & _SINGLE_TYPE:
        return True
    seen = {v: v for v in first.tolist() if type(v) in _NUMBERS}
    for v in later.tolist():
        if type(v) in _NUMBERS and v in seen:
            w = seen[v]
            if type(w) is not type(v) or repr(w) != repr(v):
                return False
    return True


def _join_factors(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One (codes, uniques + trailing None) of consecutive ranges' (a value may occur twice)."""
    codes, uniques, offset = [], [], 0
    for part_codes, part_uniques in parts:
        codes.append(np.where(part_codes < 0, -1, part_codes + offset))
        uniques.append(part_uniques[:-1])
        offset += len(part_uniques) - 1
    return np.concatenate(codes), np.concatenate([*uniques, np.array([None], dtype=object)])


def _out_of_scope(
    ds: Dataset,
    columns: dict[str, np.ndarray],
    factors: dict[str, tuple[np.ndarray, np.ndarray]],
    source_rows: np.ndarray,
    valid: np.ndarray,
    ctx: Context,
    sheet: str,
    col_of: dict[str, int],
) -> list[Problem]:
    """Rows the uploading user may not write: another locality's, or targets without the right.

    Marks them invalid (so they are never loaded, even with skip-invalid) and says which file,
    sheet and row, and why. The store checks again when the batch is written.
    """
    user = ctx.user
    if user is None:
        return []
    m = len(source_rows)
    if ds.name == "targets" and not can(user, "edit_targets") and m:
        valid[:] = False
        return [
            Problem(
                ctx.file,
                sheet,
                None,
                None,
                None,
                f"הקובץ {ctx.file}, גיליון '{sheet}': גיליון יעדים נדחה — אין לך הרשאה לשנות יעדים.",
                f"File {ctx.file}, sheet '{sheet}': a targets sheet was rejected — you may not change "
                "targets.",
            )
        ]
    if user.sees_all or "locality" not in columns:
        return []
    if "locality" in factors:
        codes, uniques = factors["locality"]
        allowed_u = np.array([u is None or user.allows(u.authority_code) for u in uniques], dtype=bool)
        outside = ~allowed_u[codes]
    else:
        outside = np.array([v is not None and not user.allows(v.authority_code) for v in columns["locality"]])
    if ds.name == "targets":  # an empty locality in a targets sheet is a national target
        outside |= np.array([v is None for v in columns["locality"]], dtype=bool)
    problems = []
    for i in np.flatnonzero(outside):
        valid[i] = False
        res = columns["locality"][i]
        name = res.authority_name if res is not None else "כלל הרשויות"
        name_en = res.authority_name if res is not None else "all localities"
        row = int(source_rows[i])
        problems.append(
            Problem(
                ctx.file,
                sheet,
                row,
                None,
                name,
                f"הקובץ {ctx.file}, גיליון '{sheet}', שורה {row}: הרשות '{name}' אינה באחריותך — "
                "השורה נדחתה.",
                f"File {ctx.file}, sheet '{sheet}', row {row}: '{name_en}' is not one of your "
                "localities — the row was rejected.",
                "error",
                col_of.get("locality"),
            )
        )
    return problems


class _RawColumn:
    """The raw values of a column, looked up lazily (only problem cells need them)."""

    def __init__(self, codes: np.ndarray, uniques: np.ndarray) -> None:
        self.codes, self.uniques = codes, uniques

    def __getitem__(self, i: int) -> Any:
        code = self.codes[i]
        return None if code < 0 else self.uniques[code]


def cell_value(value: Any) -> Any:
    """A converted value as stored: a Resolution becomes its authority code."""
    return value.authority_code if isinstance(value, Resolution) else value
