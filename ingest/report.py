"""The downloadable validation report: every problem listed, and the user's sheets with problem cells marked.

The user fixes their own file, so the report shows their sheets as they sent them (same rows,
same columns) with each problem cell filled and carrying the message as a comment.
Participant names are masked in the copy as everywhere else.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from ingest.problems import MASK, Problem

ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
MAX_COPIED_ROWS = 20_000  # beyond this the report lists problems only (openpyxl is slow on big sheets)

HEADERS = {
    "he": ["קובץ", "גיליון", "שורה", "עמודה", "ערך", "הודעה", "Message", "חומרה"],
    "en": ["File", "Sheet", "Row", "Column", "Value", "הודעה", "Message", "Severity"],
}
SEVERITY = {"he": {"error": "שגיאה", "warning": "אזהרה"}, "en": {"error": "error", "warning": "warning"}}


def problems_to_excel(analysis_or_problems: object, *, lang: str = "he", mark_sheets: bool = True) -> bytes:
    """An .xlsx report: a 'problems' sheet, then each problem sheet with its problem cells marked.

    Accepts a FileAnalysis (whose raw sheets are copied and marked) or any iterable of Problems.
    """
    problems: list[Problem]
    raw_sheets = []
    masked_cols: dict[str, tuple[int, set[int]]] = {}
    if hasattr(analysis_or_problems, "problems") and hasattr(analysis_or_problems, "sheets"):
        problems = list(analysis_or_problems.problems)
        raw_sheets = list(getattr(analysis_or_problems, "raw_sheets", []) or [])
        masked_cols = dict(getattr(analysis_or_problems, "person_columns", {}) or {})
    else:
        problems = list(analysis_or_problems)  # type: ignore[arg-type]

    wb = Workbook()
    ws = wb.active
    ws.title = "בעיות" if lang == "he" else "Problems"
    ws.sheet_view.rightToLeft = lang == "he"
    ws.append(HEADERS[lang])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for p in problems:
        ws.append(
            [
                p.file,
                p.sheet,
                p.row,
                p.column,
                p.value,
                p.message_he,
                p.message_en,
                SEVERITY[lang][p.severity],
            ]
        )
        ws.cell(ws.max_row, 8).fill = ERROR_FILL if p.is_error else WARNING_FILL
    for i, width in enumerate((18, 18, 7, 18, 24, 60, 60, 9), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions

    if mark_sheets:
        by_sheet: dict[str, list[Problem]] = {}
        for p in problems:
            if p.sheet is not None and p.row is not None:
                by_sheet.setdefault(p.sheet, []).append(p)
        for raw in raw_sheets:
            if raw.name in by_sheet and len(raw.rows) <= MAX_COPIED_ROWS:
                header_row, masked = masked_cols.get(raw.name, (0, set()))
                _marked_copy(wb, raw, by_sheet[raw.name], header_row, masked, lang)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _marked_copy(
    wb: Workbook,
    raw,  # noqa: ANN001 - a RawSheet
    problems: Iterable[Problem],
    header_row: int,
    masked: set[int],
    lang: str,
) -> None:
    title = raw.name[:31]
    if title in wb.sheetnames:
        title = (title[:28] + "(2)")[:31]
    ws = wb.create_sheet(title)
    ws.sheet_view.rightToLeft = True
    for i, row in enumerate(raw.rows):
        for j, value in enumerate(row):
            if value in (None, ""):
                continue
            col, excel_row = raw.first_col + j, raw.first_row + i
            cell = ws.cell(excel_row, col, MASK if col in masked and excel_row > header_row else value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text
    for p in problems:
        fill = ERROR_FILL if p.is_error else WARNING_FILL
        cols = (
            [p.col_index] if p.col_index else range(raw.first_col, raw.first_col + max(1, len(raw.rows[0])))
        )
        for col in cols:
            cell = ws.cell(p.row, col)
            if cell.fill != ERROR_FILL:
                cell.fill = fill
        anchor = ws.cell(p.row, cols[0] if p.col_index else raw.first_col)
        text = p.message(lang)
        anchor.comment = Comment(
            text if anchor.comment is None else anchor.comment.text + "\n" + text, "Yaad"
        )
