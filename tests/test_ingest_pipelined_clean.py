"""A large sheet's row ranges are recognised and cleaned while calamine still parses the next
(read_workbook's `ranges`, clean.clean_rows / join_cleaned, pipeline._early_sheet).

Whatever the layout, the result must be the whole-sheet read's: the same stored rows and the same
problems (file, sheet, Excel row, column, value, messages), in the same order. Where cleaning the
ranges apart could differ (a merged range over the first rows, a value that equals one of another
type in an earlier range), the sheet is cleaned whole instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import sys

import pytest

from ingest import clean, pipeline, reading
from ingest.pipeline import analyse, commit
from store import Store
from store.reference import load_reference

HEADER = ["יישוב", "שם התוכנית", "גוף מפעיל", "תוכנית דגל", "תאריך התחלה", "סטטוס", "מספר משתתפים"]
LOCALITIES = ["ערד", "דימונה", "ק. גת", "נתניה"]
ROWS = 6000


@pytest.fixture
def small_parts(monkeypatch):
    """Scan in 16 KB chunks and treat sheets over 64 KB as large: the ranges path on small files.
    Records what the pipeline cleaned early and how each join went."""
    monkeypatch.setattr(reading, "CHUNK", 16 * 1024)
    monkeypatch.setattr(reading, "SCAN_LAG", 1024)
    monkeypatch.setattr(reading, "SPLIT_MIN_BYTES", 64 * 1024)
    seen = {"ranges": [], "joined": []}
    clean_rows, join_cleaned = pipeline.clean_rows, pipeline.join_cleaned

    def spied_rows(raw, shape, ctx, start):
        seen["ranges"].append((raw.first_row, len(raw.rows), start))
        return clean_rows(raw, shape, ctx, start)

    def spied_join(raw, shape, ctx, parts):
        joined = join_cleaned(raw, shape, ctx, parts)
        seen["joined"].append((len(parts), joined is not None))
        return joined

    monkeypatch.setattr(pipeline, "clean_rows", spied_rows)
    monkeypatch.setattr(pipeline, "join_cleaned", spied_join)
    return seen


def _programs(*, merged_title: bool = False, rows: int = ROWS, cell=None) -> bytes:
    """A programs list under a title and an empty row, with errors spread over all its rows.

    `cell(r)` may return (column, value) to write one more cell on row r (0-based)."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    date = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet = book.add_worksheet("תוכניות")
    if merged_title:
        sheet.merge_range(0, 0, 0, 3, "תוכניות הרשות 2025")
    else:
        sheet.write(0, 0, "תוכניות הרשות 2025")
    sheet.write_row(2, 0, HEADER)
    for r in range(3, rows):
        if r % 211 == 0:
            continue  # an empty row
        values = [
            LOCALITIES[r % len(LOCALITIES)],
            f"תוכנית {r}",
            ["רשות", "עמותה"][r % 2],
            ["כן", "לא"][r % 2],
            None,
            ["פעילה", "בהקמה"][r % 2],
            r % 40,
        ]
        if r == 100:
            values[4] = "32/13/2020"  # not a date: first range
        if r == 3100:
            values[6] = -3  # below the minimum: second range
        if r == rows - 300:
            values[0] = "יישוב שאינו קיים"  # unknown locality: last range
        if r == rows - 200:
            values[1] = "תוכנית 50"  # duplicates row 51 (Excel) of the first range
            values[0] = LOCALITIES[50 % len(LOCALITIES)]
        if r == rows - 100:
            values[1] = None  # a required value missing: last range
        for c, v in enumerate(values):
            if c == 4 and v is None:
                sheet.write_datetime(r, c, dt.datetime(2020, 1, 1) + dt.timedelta(days=r % 900), date)
            elif v is not None:
                sheet.write(r, c, v)
        if cell is not None and (extra := cell(r)) is not None:
            sheet.write(r, *extra)
    sheet.write_row(rows, 0, ['סה"כ', None, None, None, None, None, 999])  # a totals row
    book.close()
    return buf.getvalue()


def _problems(analysis: pipeline.FileAnalysis) -> list[tuple]:
    return [dataclasses.astuple(p) for p in analysis.problems]


def _both(data: bytes, tmp_path, monkeypatch, name: str = "p.xlsx"):
    """The analysis and stored rows of `data` read in ranges, then of the same read whole."""
    out = []
    for k, whole in enumerate((False, True)):
        if whole:
            monkeypatch.setattr(reading, "SPLIT_MIN_BYTES", 1 << 40)  # one parse, one clean
        with Store(tmp_path / f"s{k}.duckdb") as store:
            load_reference(store)
            analysis = analyse(data, name, store)
            result = commit(analysis, store, user="test", skip_invalid=True)
            stored = store.query_df("SELECT * EXCLUDE (batch_id) FROM programs ORDER BY source_row").to_dict(
                "records"
            )
        out.append((analysis, result, stored))
    return out


def _assert_same(ranged, whole) -> None:
    (a, ra, rows_a), (b, rb, rows_b) = ranged, whole
    assert _problems(a) == _problems(b)
    assert ra.status == rb.status == "loaded" and ra.errors == rb.errors
    assert rows_a == rows_b
    assert set(a.tables) == set(b.tables)
    for t in a.tables:
        assert a.tables[t].equals(b.tables[t]), t
    sa, sb = a.sheets[0], b.sheets[0]
    assert (sa.header_row, sa.mapping, sa.unmapped, sa.rows_total, sa.rows_valid, sa.skipped_totals) == (
        sb.header_row,
        sb.mapping,
        sb.unmapped,
        sb.rows_total,
        sb.rows_valid,
        sb.skipped_totals,
    )
    assert sa.localities.equals(sb.localities) and sa.preview.equals(sb.preview)


def test_ranges_cleaned_apart_equal_the_whole_sheet(small_parts, tmp_path, monkeypatch):
    ranged, whole = _both(_programs(), tmp_path, monkeypatch)
    # the first range from the row after the header, the next from its own first row, the rest
    # after the parse: three ranges joined, as the whole sheet was cleaned in one
    (first_row, n0, start0), (second_row, n1, start1), (_, _, start2) = small_parts["ranges"][:3]
    assert (first_row, start0, start1) == (1, 3, 0)
    assert second_row == first_row + n0 and start2 == n0 + n1 < ROWS
    assert small_parts["joined"] == [(3, True)]
    assert ranged[0].raw_sheets[0].early_rows == n0 + n1
    _assert_same(ranged, whole)

    analysis = ranged[0]
    errors = [(p.row, p.column, p.value, p.message_en) for p in analysis.errors]
    # column by column (locality, date, participants), then required values, then duplicates
    assert errors == [
        (ROWS - 299, "יישוב", "יישוב שאינו קיים", errors[0][3]),
        (101, "תאריך התחלה", "32/13/2020", "'32/13/2020' is not a recognised date (e.g. 29/01/2025)"),
        (3101, "מספר משתתפים", "-3", "the value must be at least 0"),
        (ROWS - 99, "שם התוכנית", None, "required column 'שם התוכנית' is empty"),
        (ROWS - 199, None, "ק. גת | תוכנית 50", "duplicate row: same Locality, Program name as row 51"),
    ]
    assert errors[0][3].startswith("locality 'יישוב שאינו קיים' was not recognised")
    assert all(p.file == "p.xlsx" and p.sheet == "תוכניות" for p in analysis.errors)
    # 3..ROWS-1 data rows, less the empty ones; the totals row skipped; five rows refused
    data_rows = sum(1 for r in range(3, ROWS) if r % 211)
    assert analysis.sheets[0].rows_total == data_rows and analysis.sheets[0].skipped_totals == 1
    stored = ranged[2]
    assert len(stored) == data_rows - 5
    assert stored[0]["source_row"] == 4 and stored[0]["program_name"] == "תוכנית 3"
    assert stored[-1]["source_row"] == ROWS and stored[-1]["program_name"] == f"תוכנית {ROWS - 1}"


def test_a_merged_title_over_the_first_rows_cleans_the_sheet_whole(small_parts, tmp_path, monkeypatch):
    ranged, whole = _both(_programs(merged_title=True), tmp_path, monkeypatch)
    assert small_parts["ranges"] and ranged[0].raw_sheets[0].early_rows == 0
    assert small_parts["joined"] == []  # the early ranges were dropped: clean_sheet, in one range
    _assert_same(ranged, whole)
    assert ranged[0].raw_sheets[0].rows[0][:4] == ["תוכניות הרשות 2025"] * 4


def test_a_value_equal_to_another_type_in_an_earlier_range_cleans_the_sheet_whole(
    small_parts, tmp_path, monkeypatch
):
    # TRUE (a boolean) early in a column and 1 (a number) late: one factorize takes them as one value
    def flag(r: int):
        return (3, True) if r == 10 else (3, 1) if r == ROWS - 50 else None

    ranged, whole = _both(_programs(cell=flag), tmp_path, monkeypatch)
    assert ranged[0].raw_sheets[0].early_rows > 0
    assert small_parts["joined"][0] == (3, False)  # refused to join: cleaned whole instead
    _assert_same(ranged, whole)


def test_same_representatives():
    same = clean._same_representatives
    assert same(_arr(["a", "b"]), _arr([1.0, "a"]))
    assert same(_arr([1.0, 2.0]), _arr([2.0, 3.0]))
    assert not same(_arr([True, 2.0]), _arr([1.0]))
    assert not same(_arr([0.0]), _arr([-0.0]))
    assert not same(_arr([1, "x"]), _arr([1.0]))


def _arr(values: list):
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def test_switch_interval_is_short_while_a_file_is_cleaned_and_restored_after(
    small_parts, tmp_path, monkeypatch
):
    seen = []
    spied_rows = pipeline.clean_rows

    def rows(raw, shape, ctx, start):
        seen.append(sys.getswitchinterval())
        return spied_rows(raw, shape, ctx, start)

    monkeypatch.setattr(pipeline, "clean_rows", rows)
    before = sys.getswitchinterval()
    with Store(tmp_path / "s.duckdb") as store:
        load_reference(store)
        analysis = analyse(_programs(), "p.xlsx", store)
    assert analysis.sheets[0].rows_valid > 0
    assert len(seen) >= 3 and set(seen) == {min(before, pipeline.SWITCH_INTERVAL)}
    assert sys.getswitchinterval() == before
    # overlapping analyses (two uploads at once): the first to finish leaves it short
    with pipeline._quick_gil_handoff():
        with pipeline._quick_gil_handoff():
            assert sys.getswitchinterval() == min(before, pipeline.SWITCH_INTERVAL)
        assert sys.getswitchinterval() == min(before, pipeline.SWITCH_INTERVAL)
    assert sys.getswitchinterval() == before
