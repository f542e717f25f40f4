"""Any table shown in the dashboard as an .xlsx: Hebrew headers, a right-to-left sheet, no formulas.

A cell that starts with = + - @ (or a tab / carriage return) would run as a formula when a
committee member opens the file (CSV/formula injection). Every text cell is written as text with
Excel's quote prefix, so Excel shows it literally and never evaluates it; numbers stay numbers.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Mapping

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from charts.style import status_label

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
MAX_SHEET_NAME = 31  # Excel's limit
_BAD_SHEET_CHARS = str.maketrans(dict.fromkeys("[]:*?/\\", " "))

# Headers of the tidy attainment frame (docs/CONTRACTS.md), for tables shown on the pages.
ATTAINMENT_HEADERS: dict[str, dict[str, str]] = {
    "locality_code": {"he": "סמל רשות", "en": "Authority code"},
    "locality_name": {"he": "רשות", "en": "Locality"},
    "locality_name_en": {"he": "רשות (אנגלית)", "en": "Locality (English)"},
    "goal": {"he": "מזהה יעד", "en": "Goal id"},
    "label_he": {"he": "יעד", "en": "Goal (Hebrew)"},
    "label_en": {"he": "יעד (אנגלית)", "en": "Goal"},
    "goal_label": {"he": "יעד", "en": "Goal"},
    "period": {"he": "תקופה", "en": "Period"},
    "year": {"he": "שנה", "en": "Year"},
    "value": {"he": "ערך", "en": "Value"},
    "target": {"he": "יעד מספרי", "en": "Target"},
    "target_low": {"he": "יעד מינימום", "en": "Target minimum"},
    "target_high": {"he": "יעד מקסימום", "en": "Target maximum"},
    "target_op": {"he": "סוג יעד", "en": "Target rule"},
    "expected_by_now": {"he": "צפוי עד עכשיו", "en": "Expected by now"},
    "ratio": {"he": "שיעור מהיעד", "en": "Share of target"},
    "score": {"he": "ציון", "en": "Score"},
    "status": {"he": "סטטוס", "en": "Status"},
    "status_label": {"he": "סטטוס", "en": "Status"},
    "forecast": {"he": "תחזית לסוף התקופה", "en": "Forecast"},
    "unit": {"he": "יחידה", "en": "Unit"},
    "eval_date": {"he": "נכון לתאריך", "en": "As of"},
    "data_rows": {"he": "שורות נתונים", "en": "Data rows"},
    "reason": {"he": "הסבר", "en": "Reason"},
    "dataset": {"he": "סוג גיליון", "en": "Dataset"},
    "batch_id": {"he": "מספר טעינה", "en": "Import batch"},
    "file_name": {"he": "קובץ", "en": "File"},
    "sheet": {"he": "גיליון", "en": "Sheet"},
    "source_row": {"he": "שורה בקובץ", "en": "Row in file"},
    "authority_code": {"he": "סמל רשות", "en": "Authority code"},
}
ATTAINMENT_COLUMNS = ("locality_name", "label_he", "period", "value", "target", "status", "forecast", "ratio")


def safe_sheet_name(name: str) -> str:
    """A sheet name Excel accepts: no []:*?/\\, at most 31 characters, not empty."""
    cleaned = str(name).translate(_BAD_SHEET_CHARS).strip().strip("'") or "Sheet1"
    return cleaned[:MAX_SHEET_NAME]


def is_formula_like(text: str) -> bool:
    """True for text Excel would treat as a formula (or a DDE payload) when typed in."""
    return text.startswith(FORMULA_STARTS)


def write_value(cell: Cell, value: object) -> None:
    """Put one value in a cell: numbers and dates as such, all text as literal text (never a formula)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return
    if isinstance(value, float) and math.isnan(value):
        return
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, (bool, int, float, dt.date, dt.datetime)):
        cell.value = value
        if isinstance(value, dt.datetime):
            cell.number_format = "dd/mm/yyyy hh:mm" if value.time() != dt.time() else "dd/mm/yyyy"
        elif isinstance(value, dt.date):
            cell.number_format = "dd/mm/yyyy"
        return
    text = str(value)
    cell.value = text
    cell.data_type = "s"  # openpyxl marks text starting with '=' as a formula; force text
    if is_formula_like(text):
        cell.quotePrefix = True  # Excel shows it literally and keeps it text when edited


def write_frame(
    ws: Worksheet,
    df: pd.DataFrame,
    headers: Mapping[str, str] | None = None,
    *,
    rtl: bool = True,
) -> None:
    """Write a header row and the frame's rows into `ws`, styled for reading (frozen header, filter)."""
    headers = headers or {}
    ws.sheet_view.rightToLeft = rtl
    columns = list(df.columns)
    for j, column in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=j)
        write_value(cell, headers.get(str(column), str(column)))
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for i, row in enumerate(df.itertuples(index=False, name=None), start=2):
        for j, value in enumerate(row, start=1):
            write_value(ws.cell(row=i, column=j), value)
    for j, column in enumerate(columns, start=1):
        sample = [str(headers.get(str(column), column))] + [str(v) for v in df[column].head(200).tolist()]
        ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, max(len(s) for s in sample) + 2))
    ws.freeze_panes = "A2"
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, len(df) + 1)}"


def table_to_excel(
    df: pd.DataFrame,
    *,
    sheet_name: str = "נתונים",
    headers_he: Mapping[str, str] | None = None,
    lang: str = "he",
) -> bytes:
    """One table as .xlsx bytes, for a download button under any table on a page.

    `headers_he` maps column -> header shown; columns of the attainment frame and of the rows
    behind a number get Hebrew (or English, `lang="en"`) headers by default.
    """
    headers = {col: names[lang] for col, names in ATTAINMENT_HEADERS.items()}
    headers.update(headers_he or {})
    wb = Workbook()
    ws = wb.active
    ws.title = safe_sheet_name(sheet_name)
    write_frame(ws, df, headers, rtl=lang == "he")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def attainment_to_excel(
    att: pd.DataFrame, *, lang: str = "he", columns: tuple[str, ...] | None = None
) -> bytes:
    """The attainment table as users read it: goal labels, status words, the main columns."""
    columns = columns or ATTAINMENT_COLUMNS
    if lang != "he":
        columns = tuple("label_en" if c == "label_he" else c for c in columns)
    view = att.loc[:, [c for c in columns if c in att.columns]].copy()
    if "status" in view:
        view["status"] = view["status"].map(lambda s: status_label(str(s), lang))
    name = "עמידה ביעדים" if lang == "he" else "Attainment"
    return table_to_excel(view, sheet_name=name, lang=lang)
