"""Tables to Excel: Hebrew headers, a right-to-left sheet, and no cell that Excel would run as a formula."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from exports.excel import attainment_to_excel, is_formula_like, safe_sheet_name, table_to_excel

HOSTILE = [
    "=1+1",
    '=HYPERLINK("http://evil.example","לחצו")',
    "+972501234567",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=cmd",
    "\r=cmd",
    "=cmd|' /C calc'!A0",
]


def _read(data: bytes) -> openpyxl.worksheet.worksheet.Worksheet:
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_hostile_text_comes_back_as_the_literal_string() -> None:
    df = pd.DataFrame({"note": HOSTILE, "n": range(len(HOSTILE))})
    ws = _read(table_to_excel(df, sheet_name="בדיקה", headers_he={"note": "הערה", "n": "מספר"}))
    values = [ws.cell(row=i, column=1).value for i in range(2, len(HOSTILE) + 2)]
    assert values == HOSTILE
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    for i in range(2, len(HOSTILE) + 2):
        assert ws.cell(row=i, column=1).quotePrefix, ws.cell(row=i, column=1).value


def test_the_raw_xml_has_no_formula_elements() -> None:
    import zipfile

    data = table_to_excel(pd.DataFrame({"x": HOSTILE}))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet


def test_hebrew_headers_rtl_sheet_and_types_kept() -> None:
    df = pd.DataFrame(
        {
            "locality_name": ["נתניה", "עפולה"],
            "value": [5.0, np.nan],
            "count": pd.array([3, None], dtype="Int64"),
            "day": [dt.date(2025, 1, 29), None],
            "negative": [-4, 2],
        }
    )
    ws = _read(table_to_excel(df, sheet_name="עמידה ביעדים", headers_he={"count": "ספירה"}))
    assert ws.sheet_view.rightToLeft is True
    assert ws.title == "עמידה ביעדים"
    assert [c.value for c in ws[1]] == ["רשות", "ערך", "ספירה", "day", "negative"]
    assert ws["A2"].value == "נתניה"
    assert ws["B2"].value == 5 and ws["B3"].value is None  # NaN is an empty cell, not "nan"
    assert ws["C2"].value == 3 and ws["C3"].value is None
    assert ws["D2"].value.date() == dt.date(2025, 1, 29)
    assert ws["E2"].value == -4 and ws["E2"].data_type == "n"  # a real negative number stays a number
    assert ws.freeze_panes == "A2"


def test_attainment_export_uses_status_words_and_labels() -> None:
    att = pd.DataFrame(
        {
            "locality_name": ["נתניה"],
            "label_he": ["מפגשי שולחן עגול"],
            "label_en": ["Round-table meetings"],
            "period": ["2025"],
            "value": [5.0],
            "target": [3.0],
            "status": ["achieved"],
            "forecast": [5.0],
            "ratio": [5 / 3],
        }
    )
    ws = _read(attainment_to_excel(att))
    assert [c.value for c in ws[1]][:3] == ["רשות", "יעד", "תקופה"]
    assert [c.value for c in ws[2]][:6] == ["נתניה", "מפגשי שולחן עגול", "2025", 5, 3, "הושג"]
    ws_en = _read(attainment_to_excel(att, lang="en"))
    assert ws_en.sheet_view.rightToLeft is False
    assert ws_en["B2"].value == "Round-table meetings" and ws_en["F2"].value == "Achieved"


@pytest.mark.parametrize(("text", "expected"), [("=x", True), ("-1", True), ("a=b", False), ("", False)])
def test_formula_like(text: str, expected: bool) -> None:
    assert is_formula_like(text) is expected


def test_sheet_names_excel_accepts() -> None:
    assert safe_sheet_name("a/b:c?" + "x" * 40) == ("a b c " + "x" * 40)[:31]
    assert safe_sheet_name("   ") == "Sheet1"
