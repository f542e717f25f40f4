"""The vectorised fast paths of cleaning agree with the per-value Python they skip; the pre-parse
scan sees every spelling of a cell reference python-calamine accepts."""

from __future__ import annotations

import random

import numpy as np
import pytest

from ingest import values as V
from ingest.reading import ReadError, read_workbook
from ingest.registry import normalise_text
from tests.odd_files import raw_xlsx

PIECES = [
    "a", "Z", "1", " ", "  ", "\t", "\u00a0", "\u2003", "`", "'", '"', "\u05f3", "\u05f4", "\u2019",
    "\u200f", "\u202b", "\u05bc", "e\u0301", "\u05be", "-", "#", "E", "#DIV/0!", "#N/A", "Err:502",
    "א", "ת", "תוכנית", "סה\"כ", "Total", "\x00", "\x1c", "\u200b",
]  # fmt: skip


def _values(n: int = 20_000, seed: int = 7) -> np.ndarray:
    rnd = random.Random(seed)
    vals: list[object] = ["".join(rnd.choice(PIECES) for _ in range(rnd.randrange(0, 5))) for _ in range(n)]
    vals += [1.0, 2, True, None, "x" * (V.MAX_CELL_CHARS + 1)]
    return np.array(vals, dtype=object)


def test_plain_text_is_exactly_what_normalise_and_clean_text_keep():
    uniques = _values()
    plain = V.plain_text_mask(uniques)
    assert plain.sum() > 1000  # the fast path is really taken
    for value in uniques[plain]:
        assert normalise_text(value) == value
        assert V.clean_text(value) == (value, None)
        # (error values and over-long text can be plain too: cleaning takes them out with cell_error_mask)


def test_fast_cell_error_mask_matches_cell_error():
    uniques = _values(seed=11)
    expected = np.array([V.cell_error(u) is not None for u in uniques])
    assert (V.cell_error_mask(uniques) == expected).all()
    assert expected.sum() > 10


def test_plain_total_candidates_cover_every_plain_totals_label():
    uniques = _values(seed=13)
    plain = V.plain_text_mask(uniques)
    candidates = V.plain_total_candidates(uniques, plain)
    for value, is_plain, is_candidate in zip(uniques, plain, candidates, strict=True):
        if is_plain and V.is_total_label(value):
            assert is_candidate


def test_convert_uniques_with_identity_equals_the_converter():
    uniques = _values(seed=17)
    codes = np.arange(len(uniques))
    fast, bad_fast = V.convert_uniques(codes, uniques, V.clean_text, V.plain_text_mask(uniques))
    slow, bad_slow = V.convert_uniques(codes, uniques, V.clean_text)
    assert list(fast) == list(slow) and bad_fast == bad_slow


@pytest.mark.parametrize(
    "body",
    [
        '<row r="1048576"><c r="xfd1048576"><v>1</v></c></row>',  # lower case: calamine aborts on it
        '<row><c r="xfd200000"><v>1</v></c></row>',
        "<row r='1048576'><c r = 'XFD1048576'><v>1</v></c></row>",
    ],
)
def test_scan_refuses_every_spelling_of_a_whole_grid_reference(body):
    data = raw_xlsx('<row r="1"><c r="A1"><v>1</v></c></row>' + body)
    with pytest.raises(ReadError) as exc:
        read_workbook(data, "grid.xlsx")
    assert "XFD1048576" in exc.value.message_en


def test_memo_keys_tell_apart_equal_values_of_another_type_or_sign():
    keys = [V.memo_key(v) for v in (1, 1.0, True, 0.0, -0.0, "1", None)]
    assert len(set(keys)) == len(keys)
    assert V.memo_key(2.5) == V.memo_key(2.5) and V.memo_key("תוכנית") == V.memo_key("תוכנית")


def test_convert_uniques_with_a_memo_converts_each_value_once_and_equals_the_converter():
    calls: list[object] = []

    def converter(value: object) -> V.Converted:
        calls.append(value)
        return V.parse_number(value)

    memo: dict = {}
    ranges = [_objects([1.0, "2", "x", -0.0]), _objects(["2", 1, 0.0, "x", True, 1.0])]
    for uniques in ranges:
        codes = np.arange(len(uniques))
        with_memo = V.convert_uniques(codes, uniques, converter, memo=memo)
        plain = V.convert_uniques(codes, uniques, V.parse_number)
        assert [repr(v) for v in with_memo[0]] == [repr(v) for v in plain[0]] and with_memo[1] == plain[1]
    # "2", "x" and 1.0 the second time come from the memo; 1, 0.0 and True are other values
    assert calls == [1.0, "2", "x", -0.0, 1, 0.0, True]


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def test_duplicate_codes_and_store_rows_from_arrow_uniques_equal_the_python_path(tmp_path):
    import dataclasses

    import pyarrow as pa

    from ingest import clean as C
    from ingest import tables as T
    from ingest.localities import LocalityResolver
    from ingest.pipeline import _context, person_secret
    from ingest.reading import RawSheet
    from ingest.registry import datasets
    from ingest.shape import recognise
    from store import Store
    from store.reference import load_reference

    header = ["יישוב", "שם התוכנית", "גוף מפעיל", "סטטוס"]
    rows: list[list[object]] = [header]
    for i in range(3000):
        name: object = f"תוכנית {i % 1800}"  # the last 1,200 repeat the first: duplicates
        if i % 500 == 7:
            name = None  # a required value missing
        elif i % 450 == 3:
            name = "None"  # the text 'None' (the empty cells' slot in the duplicate key)
        rows.append([["ערד", "דימונה", "ק. גת"][i % 3], name, ["רשות", "עמותה"][i % 2], "פעילה"])
    raw = RawSheet("תוכניות", rows)
    with Store(tmp_path / "s.duckdb") as store:
        load_reference(store)
        ctx, _ = _context("f.xlsx", LocalityResolver.from_store(store), person_secret(store), None, None)
        shape = recognise(raw.rows, raw.name, None)
        fast = C.clean_sheet(raw, shape, ctx)
        slow = dataclasses.replace(C.clean_sheet(raw, shape, ctx), arrow_uniques={})
    assert set(fast.arrow_uniques) == {"program_name"} and isinstance(
        fast.arrow_uniques["program_name"], pa.Array
    )
    a, b = T._text_codes(fast, "program_name"), T._text_codes(slow, "program_name")
    assert (a[:, None] == a[None, :]).tolist() == (b[:, None] == b[None, :]).tolist()
    problems_fast, problems_slow = (
        T.find_duplicates(fast, "f.xlsx", raw.name),
        T.find_duplicates(slow, "f.xlsx", raw.name),
    )
    assert problems_fast == problems_slow and len(problems_fast) > 1000
    assert (fast.valid == slow.valid).all()
    tables_fast, tables_slow = T.build_tables(fast, raw.name), T.build_tables(slow, raw.name)
    frame = tables_fast["programs"]
    assert frame.equals(tables_slow["programs"]) and frame.dtypes.equals(tables_slow["programs"].dtypes)
    assert len(frame) == int(fast.valid.sum()) and "None" in set(frame["program_name"])
    assert frame["program_name"].iloc[0] == "תוכנית 0" and datasets()["programs"].name == "programs"


@pytest.mark.parametrize("seed", range(5))
def test_key_codes_find_the_duplicates_and_first_rows_pandas_finds(seed):
    import pandas as pd

    from ingest.tables import _key_codes

    rng = np.random.default_rng(seed)
    n = 5000
    columns = [rng.integers(0, m, n) for m in (3, 40, 30)[: 1 + seed % 3]]
    keys = _key_codes(columns)
    frame = pd.DataFrame({f"k{j}": c for j, c in enumerate(columns)})
    assert (keys == frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()).all()
    new = np.r_[True, keys[1:] > np.maximum.accumulate(keys)[:-1]]
    expected = frame.duplicated(keep="first").to_numpy()
    assert (~new == expected).all() and expected.sum() > 100
    rows = np.arange(n) + 2
    frame["_row"] = rows
    first = frame.groupby(list(frame.columns[:-1]), sort=False)["_row"].transform("first").to_numpy()
    assert (rows[np.flatnonzero(new)][keys] == first).all()
    assert len(_key_codes([])) == 0


def test_clean_rows_fast_paths_equal_the_per_value_python(tmp_path, monkeypatch):
    import dataclasses
    import datetime as dt

    from ingest import clean as C
    from ingest.localities import LocalityResolver
    from ingest.pipeline import _context, person_secret
    from ingest.reading import RawSheet
    from ingest.shape import recognise
    from store import Store
    from store.reference import load_reference

    header = ["יישוב", "שם התוכנית", "גוף מפעיל", "תאריך התחלה", "מספר משתתפים", "סטטוס", "עדכון אחרון"]
    rows: list[list[object]] = [header]
    for i in range(2400):
        name: object = f"תוכנית {i}" if i % 7 else f"  תוכנית  {i}"  # some need cleaning
        day: object = dt.date(2016, 1, 1) + dt.timedelta(days=i % 1500)
        count: object = float(i % 700) if i % 11 else -float(i % 5)  # -0.0 and below the minimum
        if i % 300 == 1:
            name, day = "#N/A", "32/13/2020"  # an error value, a date that is none
        if i % 450 == 2:
            day = None  # an empty cell
        # dates only (with empty cells): the column's distinct values hold no text
        updated = dt.datetime(2024, 1, 1) + dt.timedelta(days=i % 600) if i % 13 else None
        rows.append([["ערד", "דימונה", "ק. גת"][i % 3], name, "רשות", day, count, "פעילה", updated])
        if i == 1500:
            rows.append([None] * 7)
            rows.append([None] * 6 + [dt.datetime(2024, 5, 1)])  # only a date: not an empty row
    rows.append(['סה"כ', None, None, None, 123456.0, None, None])
    raw = RawSheet("תוכניות", rows)
    kinds: list[str] = []
    infer = C.infer_dtype
    monkeypatch.setattr(C, "infer_dtype", lambda values, **kw: kinds.append(infer(values, **kw)) or kinds[-1])
    results = []
    with Store(tmp_path / "s.duckdb") as store:
        load_reference(store)
        for fast_from in (V.FAST_PATH_MIN, 10**9):
            monkeypatch.setattr(V, "FAST_PATH_MIN", fast_from)
            ctx, _ = _context("f.xlsx", LocalityResolver.from_store(store), person_secret(store), None, None)
            shape = recognise(raw.rows, raw.name, None)
            results.append(C.clean_sheet(raw, shape, ctx))
    fast, slow = results
    assert {"datetime", "floating"} <= set(kinds) & C._NO_TEXT  # the fast path was taken
    assert fast.skipped_totals == slow.skipped_totals == 1
    assert fast.source_rows.tolist() == slow.source_rows.tolist() and len(fast) == 2401
    assert fast.valid.tolist() == slow.valid.tolist() and 0 < fast.valid.sum() < 2400
    for name in fast.columns:
        assert [repr(v) for v in fast.columns[name]] == [repr(v) for v in slow.columns[name]], name
    assert [dataclasses.astuple(p) for p in fast.problems] == [dataclasses.astuple(p) for p in slow.problems]
    assert {p.column for p in fast.problems} >= {"שם התוכנית", "תאריך התחלה", "מספר משתתפים"}
    assert sum(v is None for v in fast.columns["last_updated"]) > 100


def test_a_column_the_sheet_lacks_is_the_same_empty_column():
    import pyarrow as pa

    from ingest import tables as T

    for kind, arrow_type in T._ARROW.items():
        empty = T._arrow_array(T.Empty(4), kind)
        assert empty.equals(T._arrow_array(np.array([None] * 4, dtype=object), kind)), kind
        assert empty.type == arrow_type and empty.null_count == 4 and isinstance(empty, pa.Array)
    frame = T.typed_frame(
        {"flag": (T.Empty(2), "bool"), "day": (T.Empty(2), "date"), "n": (T.Empty(2), "int")}
    )
    assert [str(t) for t in frame.dtypes] == ["boolean", "datetime64[ms]", "Int64"]
    assert frame.isna().all().all() and len(frame) == 2


def test_store_rows_take_arrow_memory_from_malloc_not_pyarrows_default_pool():
    import pyarrow as pa

    from ingest import tables as T

    default, system = pa.default_memory_pool(), pa.system_memory_pool()
    assert T.ARROW_POOL.backend_name == "system" != default.backend_name  # (else nothing to tell apart)
    names = np.array([f"תוכנית {i}" for i in range(20_000)] + [None], dtype=object)
    codes = np.arange(20_000)
    columns = {
        "name": (T.Factored(codes, names, T._arrow_array(names[:-1], "str")), "str"),
        "kind": (T.Factored(codes % 3, np.array(["a", "b", "c", None], dtype=object)), "str"),
        "n": (T.Factored(codes % 7, np.array([float(k) for k in range(7)] + [None], dtype=object)), "int"),
        "row": (codes + 2, "int"),
        "flag": (T.Empty(20_000), "bool"),
    }
    before, before_system = default.bytes_allocated(), system.bytes_allocated()
    frame = T.typed_frame(columns)
    assert default.bytes_allocated() - before < 4096  # none of the data lives in pyarrow's pool
    assert system.bytes_allocated() > before_system + 200_000  # its text does live in malloc's
    assert frame["name"].iloc[19_999] == "תוכנית 19999" and frame["kind"].tolist()[:4] == ["a", "b", "c", "a"]
    assert [str(t) for t in frame.dtypes] == ["str", "str", "Int64", "Int64", "boolean"]
