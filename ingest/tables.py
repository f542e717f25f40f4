"""Clean sheet -> rows shaped like the store's tables (one frame per table), plus duplicate problems.

One function per dataset where the table differs from the sheet (meetings, clusters, volunteers,
targets); the rest are a rename. Frames carry provenance (`sheet`, `source_row`); the batch id is
added by store.batches when it writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import infer_dtype

from ingest.clean import CleanSheet, cell_value
from ingest.problems import MASK, Problem
from ingest.registry import Dataset
from ingest.values import ARROW_POOL, Period

_ARROW = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "str": pa.string(),
}
_PANDAS = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


@dataclass(frozen=True)
class Factored:
    """A column given as codes into its distinct values (`uniques[codes]`, -1 = the last one).

    `arrow`: the uniques but the last as Arrow strings, where cleaning had them (CleanSheet.arrow_uniques).
    """

    codes: np.ndarray
    uniques: np.ndarray
    arrow: pa.Array | None = None


@dataclass(frozen=True)
class Empty:
    """A column of `length` empty values (a column the sheet does not have)."""

    length: int


def _arrow_array(values: object, kind: str) -> pa.Array:
    if isinstance(values, Empty):
        return pa.nulls(values.length, type=_ARROW[kind], memory_pool=ARROW_POOL)
    if isinstance(values, Factored) and values.arrow is not None and kind == "str":
        # Gathered in Arrow: no Python string is touched (code -1, an empty cell, gives a null).
        indices = pa.array(values.codes, type=pa.int64(), mask=values.codes < 0, memory_pool=ARROW_POOL)
        return pc.take(values.arrow, indices, memory_pool=ARROW_POOL)
    if isinstance(values, Factored) and 4 * len(values.uniques) > len(values.codes):
        values = values.uniques[values.codes]  # mostly distinct (names): gathering would only add a copy
    if isinstance(values, Factored):
        # Convert each distinct value once, then gather: cheap for any number of rows.
        codes = np.where(values.codes < 0, len(values.uniques) - 1, values.codes)
        uniques = pa.array(
            values.uniques.tolist(), type=_ARROW[kind], from_pandas=True, memory_pool=ARROW_POOL
        )
        return pc.take(
            uniques, pa.array(codes, type=pa.int64(), memory_pool=ARROW_POOL), memory_pool=ARROW_POOL
        )
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu" and kind == "int":
        return pa.array(values, type=_ARROW[kind], memory_pool=ARROW_POOL)  # row numbers: no Python objects
    vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return pa.array(vals, type=_ARROW[kind], from_pandas=True, memory_pool=ARROW_POOL)


def typed_frame(columns: dict[str, tuple[object, str]]) -> pd.DataFrame:
    """A frame with store-friendly dtypes (Int64, boolean, datetime64, float, str) built via Arrow."""
    arrays, names = [], []
    for name, (values, kind) in columns.items():
        array = _arrow_array(values, kind)
        if array.type == pa.string():  # as pandas holds text: it would cast it in pyarrow's own pool
            array = pc.cast(array, pa.large_string(), memory_pool=ARROW_POOL)
        arrays.append(array)
        names.append(name)
    table = pa.Table.from_arrays(arrays, names=names)
    return table.to_pandas(types_mapper=_PANDAS.get, date_as_object=False, memory_pool=ARROW_POOL)


def meeting_id(authority_code: int, day: object, meeting_type: str) -> str:
    """A stable id for a meeting: the same authority, date and type is the same meeting."""
    return hashlib.sha1(f"{authority_code}|{day}|{meeting_type}".encode()).hexdigest()[:16]


def _authority(clean: CleanSheet) -> np.ndarray:
    return clean.per_value("locality", cell_value)


def _locality_code(clean: CleanSheet) -> np.ndarray:
    return clean.per_value("locality", lambda v: getattr(v, "locality_code", None))


def _per_locality(clean: CleanSheet, fn: Callable[[object], object], mask: np.ndarray) -> object:
    """`fn` of each masked row's locality, factored when cleaning kept the distinct localities."""
    if "locality" in clean.factors:
        codes, uniques = clean.factors["locality"]
        return Factored(codes[mask], np.array([fn(u) for u in uniques], dtype=object))
    return clean.per_value("locality", fn)[mask]


def _base(clean: CleanSheet, sheet: str, mask: np.ndarray) -> dict[str, tuple[object, str]]:
    return {
        "authority_code": (_per_locality(clean, cell_value, mask), "int"),
        "locality_code": (_per_locality(clean, lambda v: getattr(v, "locality_code", None), mask), "int"),
        "sheet": (Factored(np.zeros(int(mask.sum()), dtype=np.intp), np.array([sheet], dtype=object)), "str"),
        "source_row": (clean.source_rows[mask], "int"),
    }


def _column(clean: CleanSheet, name: str, mask: np.ndarray) -> object:
    """A clean column's values on the masked rows, factored when cleaning kept its distinct values."""
    if name in clean.factors:
        codes, uniques = clean.factors[name]
        return Factored(codes[mask], uniques, clean.arrow_uniques.get(name))
    if not clean.has_column(name):  # (join_cleaned's placeholder: all None)
        return Empty(int(np.count_nonzero(mask)))
    return clean.columns[name][mask]


_KINDS = {
    "text": "str",
    "category": "str",
    "int": "int",
    "number": "float",
    "date": "date",
    "bool": "bool",
    "year": "int",
}


def _simple(
    clean: CleanSheet, sheet: str, mask: np.ndarray, drop: tuple[str, ...] = ()
) -> dict[str, pd.DataFrame]:
    cols = _base(clean, sheet, mask)
    for col in clean.dataset.columns:
        if col.type in _KINDS and col.name not in drop:
            cols[col.name] = (_column(clean, col.name, mask), _KINDS[col.type])
    return {clean.dataset.name: typed_frame(cols)}


def _volunteers(clean: CleanSheet, sheet: str, mask: np.ndarray) -> dict[str, pd.DataFrame]:
    periods: list[Period] = list(clean.columns["period"][mask])
    cols = _base(clean, sheet, mask)
    cols["period"] = ([p.label for p in periods], "str")
    cols["period_kind"] = ([p.kind for p in periods], "str")
    cols["period_start"] = ([p.start for p in periods], "date")
    cols["period_end"] = ([p.end for p in periods], "date")
    for name, kind in (
        ("cluster", "str"),
        ("volunteers", "int"),
        ("new_volunteers", "int"),
        ("hours", "float"),
    ):
        cols[name] = (clean.columns[name][mask], kind)
    return {"volunteers": typed_frame(cols)}


def _clusters(clean: CleanSheet, sheet: str, mask: np.ndarray) -> dict[str, pd.DataFrame]:
    cols = _base(clean, sheet, mask)
    for name in ("cluster_name", "domain", "status"):
        cols[name] = (clean.columns[name][mask], "str")
    cols["established"] = (clean.columns["established"][mask], "date")
    cols["work_plan"] = (clean.columns["work_plan"][mask], "bool")
    # Only whether each role of the leading trio is filled; the names are never kept.
    for person, flag in (
        ("coordinator", "has_coordinator"),
        ("authority_rep", "has_authority_rep"),
        ("ngo_rep", "has_ngo_rep"),
    ):
        cols[flag] = ([v is not None for v in clean.columns[person][mask]], "bool")
    return {"clusters": typed_frame(cols)}


def _meetings(clean: CleanSheet, sheet: str, mask: np.ndarray) -> dict[str, pd.DataFrame]:
    auth = _authority(clean)[mask]
    loc = _locality_code(clean)[mask]
    dates = clean.columns["meeting_date"][mask]
    types = clean.columns["meeting_type"][mask]
    ids = [meeting_id(a, d, t) for a, d, t in zip(auth, dates, types, strict=True)]
    rows = clean.source_rows[mask]
    persons = clean.columns["participant_name"][mask]
    per_participant = clean.has_column("participant_name")
    frame = pd.DataFrame(
        {
            "meeting_id": ids,
            "authority_code": auth,
            "locality_code": loc,
            "meeting_date": dates,
            "meeting_type": types,
            "topic": clean.columns["topic"][mask],
            "participants": clean.columns["participants"][mask],
            "source_row": rows,
            "person_key": persons,
        }
    )
    if per_participant:
        # Unnamed rows still count as one participant each.
        frame["person"] = [p if p is not None else f"row{r}" for p, r in zip(persons, rows, strict=True)]
        meetings = (
            frame.groupby("meeting_id", sort=False)
            .agg(
                authority_code=("authority_code", "first"),
                locality_code=("locality_code", "first"),
                meeting_date=("meeting_date", "first"),
                meeting_type=("meeting_type", "first"),
                topic=("topic", "first"),
                participants=("person", "nunique"),
                source_row=("source_row", "min"),
            )
            .reset_index()
        )
    else:
        meetings = frame.drop(columns=["person_key"])
    out = {
        "meetings": typed_frame(
            {
                "meeting_id": (meetings["meeting_id"].to_numpy(), "str"),
                "authority_code": (meetings["authority_code"].to_numpy(), "int"),
                "locality_code": (meetings["locality_code"].to_numpy(), "int"),
                "meeting_date": (meetings["meeting_date"].to_numpy(), "date"),
                "meeting_type": (meetings["meeting_type"].to_numpy(), "str"),
                "topic": (meetings["topic"].to_numpy(), "str"),
                "participants": (meetings["participants"].to_numpy(), "int"),
                "sheet": ([sheet] * len(meetings), "str"),
                "source_row": (meetings["source_row"].to_numpy(), "int"),
            }
        )
    }
    if per_participant:
        out["meeting_participants"] = typed_frame(
            {
                "meeting_id": (ids, "str"),
                "authority_code": (auth, "int"),
                # the row's own date and type cells, so per-participant measures need no join
                "meeting_date": (dates, "date"),
                "meeting_type": (types, "str"),
                "person_key": (persons, "str"),
                "organisation": (clean.columns["organisation"][mask], "str"),
                "sector": (clean.columns["sector"][mask], "str"),
                "role": (clean.columns["role"][mask], "str"),
                "sheet": ([sheet] * int(mask.sum()), "str"),
                "source_row": (rows, "int"),
            }
        )
    return out


def _attributes(clean: CleanSheet, sheet: str, mask: np.ndarray) -> dict[str, pd.DataFrame]:
    return {
        "locality_attributes": typed_frame(
            {
                "authority_code": (_authority(clean)[mask], "int"),
                "attribute": (clean.columns["attribute"][mask], "str"),
                "value": (clean.columns["value"][mask], "str"),
                "sheet": ([sheet] * int(mask.sum()), "str"),
                "source_row": (clean.source_rows[mask], "int"),
            }
        )
    }


def _targets(clean: CleanSheet, sheet: str, mask: np.ndarray) -> dict[str, pd.DataFrame]:
    return {
        "targets": typed_frame(
            {
                "goal": (clean.columns["goal"][mask], "str"),
                "year": (clean.columns["year"][mask], "int"),
                "authority_code": (_authority(clean)[mask], "int"),
                "target_low": (clean.columns["target_low"][mask], "float"),
                "target_high": (clean.columns["target_high"][mask], "float"),
                "sheet": ([sheet] * int(mask.sum()), "str"),
                "source_row": (clean.source_rows[mask], "int"),
            }
        )
    }


BUILDERS: dict[str, Callable[[CleanSheet, str, np.ndarray], dict[str, pd.DataFrame]]] = {
    "programs": _simple,
    "partnerships": _simple,
    "trainings": _simple,
    "budgets": _simple,
    "volunteers": _volunteers,
    "clusters": _clusters,
    "meetings": _meetings,
    "locality_attributes": _attributes,
    "targets": _targets,
}


# The columns that identify a row within one file, for duplicate detection (sheet columns).
def duplicate_key(ds: Dataset, clean: CleanSheet) -> list[str]:
    """Columns that make a row unique in a file: the dataset key, minus columns the sheet lacks."""
    key = [k for k in ds.key if clean.has_column(k) or k == "locality"]
    if ds.name == "meetings" and not clean.has_column("participant_name"):
        key = [k for k in key if k != "participant_name"]
    return key


def _key_text(name: str) -> Callable[[object], str]:
    if name == "locality":
        return lambda v: f"{cell_value(v)}|{getattr(v, 'locality_code', None)}"
    return str


def _text_codes(clean: CleanSheet, name: str) -> np.ndarray:
    """Integer codes of a column, equal exactly where the text of the (key) values is equal."""
    text = _key_text(name)
    if name in clean.arrow_uniques and text is str:
        # The same codes as factorizing the texts below, by Arrow's hash table (the empty cells'
        # slot is the text 'None', as str(None) gives there).
        codes = clean.factors[name][0]
        encoded = pc.dictionary_encode(clean.arrow_uniques[name], memory_pool=ARROW_POOL)
        none = pc.index(encoded.dictionary, "None", memory_pool=ARROW_POOL).as_py()
        slots = np.append(encoded.indices.to_numpy(), none if none >= 0 else len(encoded.dictionary))
        return slots[codes]
    if name in clean.factors:
        codes, uniques = clean.factors[name]
        if text is str and infer_dtype(uniques[:-1], skipna=False) == "string":
            texts = uniques.copy()  # text already (a long column of names): str() of each is itself
            texts[-1] = str(texts[-1])  # the empty cells' slot
        else:
            texts = np.array([text(u) for u in uniques], dtype=object)
        unique_codes, _ = pd.factorize(texts)
        return unique_codes[codes]
    return pd.factorize(np.array([text(v) for v in clean.columns[name]], dtype=object))[0]


def _shown(clean: CleanSheet, name: str, i: int) -> str:
    value = clean.columns[name][i]
    return str(getattr(value, "raw", value)) if name == "locality" else str(value)


def _key_codes(columns: list[np.ndarray]) -> np.ndarray:
    """One code per row for several columns of codes: equal exactly where every column is, and
    counting up from 0 in order of first appearance (pd.factorize's order)."""
    keys = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    for codes in columns:
        # both below the row count after factorizing: the pair's number cannot overflow
        keys = pd.factorize(keys * (int(codes.max(initial=0)) + 1) + codes.astype(np.int64))[0]
    return keys


def find_duplicates(clean: CleanSheet, file: str, sheet: str) -> list[Problem]:
    """Rows repeating an earlier row's key within the sheet: errors naming the first; marks them invalid."""
    ds = clean.dataset
    key = duplicate_key(ds, clean)
    if not key or not len(clean):
        return []
    # Rows are compared by the text of their key values (a locality by its authority and
    # locality codes), as integer codes computed once per distinct value, then one code per key.
    at = np.flatnonzero(clean.valid)  # the valid rows: an invalid row is no row's first
    keys = _key_codes([_text_codes(clean, k)[at] for k in key])
    # Codes count up from 0 in order of first appearance: a key is new where its code is above
    # every code before it; any other row repeats an earlier row's key.
    new = np.zeros(len(keys), dtype=bool)
    if len(keys):
        new[0] = True
        new[1:] = keys[1:] > np.maximum.accumulate(keys)[:-1]
    dup = ~new
    if not dup.any():
        return []
    rows = clean.source_rows[at]
    first = rows[np.flatnonzero(new)][keys]  # the row each key first appears on
    problems = []
    per_participant = ds.name == "meetings" and clean.has_column("participant_name")
    labels = [ds.column(k).he for k in key]
    labels_en = [ds.column(k).en for k in key]
    for i in np.flatnonzero(dup):
        clean.valid[at[i]] = False
        row = int(rows[i])
        values = [MASK if ds.column(k).type == "person" else _shown(clean, k, at[i]) for k in key]
        if per_participant:
            # The same person listed twice at one meeting: counted once, not an error.
            problems.append(
                Problem(
                    file,
                    sheet,
                    row,
                    None,
                    " | ".join(values),
                    f"המשתתף/ת רשום/ה פעמיים באותו מפגש (כמו בשורה {int(first[i])}): נספר/ת פעם אחת",
                    f"the participant is listed twice at the same meeting (as in row {int(first[i])}): "
                    "counted once",
                    "warning",
                )
            )
            continue
        problems.append(
            Problem(
                file,
                sheet,
                row,
                None,
                " | ".join(values),
                f"שורה כפולה: זהה לשורה {int(first[i])} ב-{', '.join(labels)}",
                f"duplicate row: same {', '.join(labels_en)} as row {int(first[i])}",
            )
        )
    return problems


def build_tables(clean: CleanSheet, sheet: str) -> dict[str, pd.DataFrame]:
    """The store rows of a clean sheet's valid rows, per table."""
    return BUILDERS[clean.dataset.name](clean, sheet, clean.valid)
