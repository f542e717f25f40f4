"""Blank Excel templates, one per sheet type of the ingest registry (ingest/datasets.yaml).

A filled-in template must load with no mapping step, so the data sheet carries exactly the
registry's canonical Hebrew headers on row 1, under the dataset's Hebrew name. Dropdowns offer the
category labels and the authorities (kept on a hidden sheet the validations point to), and an
instructions sheet explains each column in Hebrew.

The registry is read through `ingest.registry`, a pure data module (YAML in, frozen models out);
it is the single source of sheet types, so the template and the importer cannot disagree.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from exports.excel import HEADER_FILL, HEADER_FONT, safe_sheet_name, write_value
from ingest.registry import Column, Dataset, categories, datasets
from metrics.catalog import load_catalog
from store.reference import build_tables, read_reference

TEMPLATE_ROWS = 500  # rows prepared with dropdowns and formats
LISTS_SHEET = "רשימות"
INSTRUCTIONS_SHEET = "הוראות"
REQUIRED_FILL = PatternFill("solid", fgColor="C00000")
BOOL_LABELS = ("כן", "לא")
DATE_FORMAT = "dd/mm/yyyy"

TYPE_HINTS: dict[str, str] = {
    "text": "טקסט חופשי",
    "int": "מספר שלם",
    "number": "מספר",
    "date": "תאריך, למשל 29/01/2026",
    "bool": "כן / לא",
    "category": "בחירה מהרשימה",
    "locality": "שם הרשות או היישוב (בחירה מהרשימה, או הקלדת שם יישוב ברשות אזורית)",
    "period": "חודש (01/2026), רבעון (רבעון 1 2026) או שנה (2026)",
    "year": "שנה, למשל 2026",
    "person": "שם (לספירת משתתפים בלבד: השמות אינם נשמרים ואינם מוצגים)",
}


class UnknownSheetType(KeyError):
    """The sheet type is not in the ingest registry; the message lists the known ones."""


def template_names() -> dict[str, str]:
    """Sheet type name -> Hebrew name, for a selectbox on the upload page."""
    return {name: ds.he for name, ds in datasets().items()}


@cache
def authority_names() -> tuple[str, ...]:
    """Every local authority's Hebrew name, sorted, from the CBS reference list."""
    _, authorities = build_tables(read_reference())
    return tuple(sorted(str(n) for n in authorities["name"].dropna().unique()))


def _list_values(
    dataset: Dataset, column: Column, localities: tuple[str, ...] | None = None
) -> tuple[str, ...] | None:
    """The dropdown values of a column, or None for free entry (`localities`: the user's own)."""
    if column.type == "category" and column.categories:
        return tuple(cat.he for cat in categories()[column.categories].values())
    if column.type == "bool":
        return BOOL_LABELS
    if column.type == "locality":
        return localities if localities is not None else authority_names()
    if dataset.name == "targets" and column.name == "goal":
        return tuple(load_catalog().goal_ids)
    return None


def _validation(column: Column, source: str | None) -> DataValidation | None:
    """The data validation of one column: a dropdown, or a type check with a hint."""
    hint = TYPE_HINTS.get(column.type, "")
    if source is not None:
        # Localities: a warning only, since a settlement inside a regional council is valid too.
        strict = column.type != "locality"
        dv = DataValidation(
            type="list",
            formula1=source,
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="stop" if strict else "warning",
            errorTitle="ערך לא מהרשימה",
            error="בחרו ערך מהרשימה." if strict else "השם לא ברשימת הרשויות. ודאו שזה שם יישוב נכון.",
        )
    elif column.type in ("int", "number", "year"):
        low = 2000 if column.type == "year" else (column.min if column.min is not None else -1e12)
        high = 2100 if column.type == "year" else 1e12
        dv = DataValidation(
            type="whole" if column.type in ("int", "year") else "decimal",
            operator="between",
            formula1=str(low),
            formula2=str(high),
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="מספר לא תקין",
            error=f"{column.he}: {hint}" + (f", לפחות {column.min:g}" if column.min is not None else ""),
        )
    elif column.type == "date":
        dv = DataValidation(
            type="date",
            operator="greaterThan",
            formula1="36526",  # 1/1/2000
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="תאריך לא תקין",
            error="הקלידו תאריך, למשל 29/01/2026.",
        )
    else:
        dv = DataValidation(allow_blank=True)
    dv.showInputMessage = True
    dv.promptTitle = column.he[:32]
    dv.prompt = (hint + (" · חובה" if column.required else ""))[:255]
    return dv


def _write_lists(wb: Workbook, dataset: Dataset, localities: tuple[str, ...] | None = None) -> dict[str, str]:
    """The hidden lists sheet: one column per dropdown; returns column name -> range formula."""
    ws = wb.create_sheet(LISTS_SHEET)
    sources: dict[str, str] = {}
    j = 0
    for column in dataset.columns:
        values = _list_values(dataset, column, localities)
        if values is None:
            continue
        j += 1
        letter = get_column_letter(j)
        # Headers here are deliberately not dataset headers, so the importer never reads this as data.
        write_value(ws.cell(row=1, column=j), f"רשימה: {column.he}")
        for i, value in enumerate(values, start=2):
            write_value(ws.cell(row=i, column=j), value)
        ref = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(values) + 1}"
        name = f"list_{column.name}"
        wb.defined_names[name] = DefinedName(name, attr_text=ref)
        sources[column.name] = name
    ws.sheet_state = "hidden"
    ws.sheet_view.rightToLeft = True
    return sources


def _write_instructions(ws: Worksheet, dataset: Dataset) -> None:
    ws.sheet_view.rightToLeft = True
    lines = [
        f"תבנית: {dataset.he} ({dataset.en})",
        "",
        f"1. מלאו את הגיליון '{safe_sheet_name(dataset.he)}': שורה אחת לכל רשומה, החל משורה 2.",
        "2. אל תשנו את שורת הכותרות ואת שמות העמודות: כך המערכת מזהה את הקובץ בלי שלב התאמה.",
        "3. בעמודות עם רשימה נפתחת בחרו ערך מהרשימה. עמודות מסומנות באדום הן חובה.",
        "4. תאריכים בפורמט יום/חודש/שנה, למשל 29/01/2026. מספרים בלי סימני ₪ או %.",
        "5. אפשר למחוק את הגיליון הזה לפני ההעלאה, אך אין צורך: המערכת מדלגת עליו.",
        "6. העלו את הקובץ בעמוד 'העלאת נתונים' בדשבורד.",
        "",
    ]
    for i, text in enumerate(lines, start=1):
        write_value(ws.cell(row=i, column=1), text)
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    head = len(lines) + 1
    for j, title in enumerate(("עמודה", "מה לכתוב", "חובה", "ערכים אפשריים"), start=1):
        cell = ws.cell(row=head, column=j)
        write_value(cell, title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    for i, column in enumerate(dataset.columns, start=head + 1):
        # "1. name", never the bare header: a bare header here would make the importer read this
        # sheet as data.
        number = i - head
        values = _list_values(dataset, column)
        allowed = ""
        if values is not None and column.type != "locality":
            allowed = ", ".join(values)
        elif column.type == "locality":
            allowed = "רשימת הרשויות המקומיות"
        row = (
            f"{number}. {column.he}",
            TYPE_HINTS.get(column.type, ""),
            "כן" if column.required else "",
            allowed,
        )
        for j, value in enumerate(row, start=1):
            write_value(ws.cell(row=i, column=j), value)
            ws.cell(row=i, column=j).alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCD", (24, 60, 8, 60), strict=True):
        ws.column_dimensions[letter].width = width


def _write_data_sheet(ws: Worksheet, dataset: Dataset, sources: dict[str, str]) -> None:
    ws.sheet_view.rightToLeft = True
    for j, column in enumerate(dataset.columns, start=1):
        cell = ws.cell(row=1, column=j)
        write_value(cell, column.he)  # exactly the registry's canonical header
        cell.font = HEADER_FONT
        cell.fill = REQUIRED_FILL if column.required else HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(14, len(column.he) + 4)
        dv = _validation(column, sources.get(column.name))
        if dv is not None:
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        if column.type == "date":
            for i in range(2, TEMPLATE_ROWS + 2):
                ws.cell(row=i, column=j).number_format = DATE_FORMAT
    ws.freeze_panes = "A2"


def template_workbook(dataset_name: str, localities: Sequence[str] | None = None) -> bytes:
    """A blank .xlsx template for one sheet type (an ingest dataset name such as 'meetings').

    `localities` limits the locality dropdown (a locality manager's template lists only theirs).
    """
    known = datasets()
    if dataset_name not in known:
        raise UnknownSheetType(f"unknown sheet type {dataset_name!r}; known: {', '.join(known)}")
    dataset = known[dataset_name]
    wb = Workbook()
    data = wb.active
    data.title = safe_sheet_name(dataset.he)
    _write_instructions(wb.create_sheet(INSTRUCTIONS_SHEET), dataset)
    sources = _write_lists(wb, dataset, tuple(sorted(localities)) if localities is not None else None)
    _write_data_sheet(data, dataset, sources)
    wb.active = 0
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
