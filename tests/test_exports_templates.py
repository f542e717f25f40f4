"""Blank templates per sheet type: Hebrew headers, dropdowns, instructions, and an exact re-import."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from exports.templates import INSTRUCTIONS_SHEET, LISTS_SHEET, UnknownSheetType, template_workbook
from ingest.pipeline import analyse
from ingest.registry import categories, datasets
from store import Store
from store.reference import load_reference

SHEET_TYPES = list(datasets())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    s = Store(Path(tmp_path_factory.mktemp("templates")) / "t.duckdb")
    load_reference(s)
    yield s
    s.close()


def _value(dataset: str, column, i: int):
    """A valid value a user would type in row i (rows differ in their key columns)."""
    if column.type == "category":
        labels = [c.he for c in categories()[column.categories].values()]
        return labels[i % len(labels)]
    if dataset == "targets" and column.name == "goal":
        return "round_table_meetings"
    return {
        "text": f"רשומה {i}",
        "int": 5 + i,
        "number": 2.5 * i,
        "date": dt.date(2025, 3, i),
        "bool": "כן" if i % 2 else "לא",
        "locality": "נתניה",
        "period": f"{i:02d}/2025",
        "year": 2022 + i,
        "person": f"משתתף {i}",
    }[column.type]


def _filled(dataset: str, rows: int = 3) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(template_workbook(dataset)))
    ws = wb.worksheets[0]
    for i in range(1, rows + 1):
        for j, column in enumerate(datasets()[dataset].columns, start=1):
            ws.cell(row=i + 1, column=j, value=_value(dataset, column, i))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("dataset", SHEET_TYPES)
def test_template_layout(dataset: str) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(template_workbook(dataset)))
    ds = datasets()[dataset]
    data = wb.worksheets[0]
    assert data.title == ds.he[:31]
    assert [c.value for c in data[1]] == [c.he for c in ds.columns]
    assert data.sheet_view.rightToLeft
    assert wb[INSTRUCTIONS_SHEET].sheet_view.rightToLeft
    assert "מלאו" in " ".join(str(c.value) for c in wb[INSTRUCTIONS_SHEET]["A"] if c.value)
    lists = wb[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    validations = {str(dv.sqref).split(":")[0]: dv for dv in data.data_validations.dataValidation}
    for j, column in enumerate(ds.columns, start=1):
        letter = openpyxl.utils.get_column_letter(j)
        dv = validations.get(f"{letter}2")
        assert dv is not None, column.name
        if column.type in ("category", "locality", "bool"):
            assert dv.type == "list"
            ref = wb.defined_names[dv.formula1].attr_text
            assert ref.startswith(f"'{LISTS_SHEET}'!")
            cells = lists[ref.split("!")[1].replace("$", "")]
            values = [row[0].value for row in cells]
            if column.type == "category":
                assert values == [c.he for c in categories()[column.categories].values()]
            elif column.type == "locality":
                assert "נתניה" in values and "מועצה אזורית משגב" in values and len(values) > 200


def test_meetings_template_offers_the_hebrew_meeting_types() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(template_workbook("meetings")))
    values = [c.value for c in wb[LISTS_SHEET]["A"]] + [c.value for c in wb[LISTS_SHEET]["B"]]
    assert "שולחן עגול" in values and "ועדת היגוי" in values


@pytest.mark.parametrize("dataset", SHEET_TYPES)
def test_filled_template_is_recognised_exactly(dataset: str, store: Store) -> None:
    analysis = analyse(_filled(dataset), f"{dataset}.xlsx", store)
    data_sheet = analysis.sheets[0]
    assert data_sheet.dataset == dataset
    assert sorted(data_sheet.mapping.values()) == sorted(c.name for c in datasets()[dataset].columns)
    assert data_sheet.unmapped == []
    assert data_sheet.problems == [], [p.message_en for p in data_sheet.problems]
    assert data_sheet.rows_valid == 3
    assert not analysis.errors, [p.message_en for p in analysis.errors]
    # The hidden lists sheet is not read at all; the instructions sheet is read, never data, and
    # gives no warning: a filled-in template loads without a single problem.
    assert [s.sheet for s in analysis.sheets] == [data_sheet.sheet, "הוראות"]
    assert analysis.sheets[1].dataset is None
    assert analysis.problems == [], [p.message_en for p in analysis.problems]


def test_unknown_sheet_type_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSheetType, match="meetings"):
        template_workbook("no_such_sheet")
