"""A corpus of odd and hostile files, built in code (nothing binary is checked in).

Each builder returns the bytes of one file as a locality (or an attacker) would send it.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pandas as pd

# -- helpers ----------------------------------------------------------------------------------


def xlsx(sheets: dict[str, list[list]], merges: dict[str, list[str]] | None = None) -> bytes:
    """An .xlsx written by openpyxl (dates as real Excel dates), with optional merged ranges."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        for rng in (merges or {}).get(name, []):
            ws.merge_cells(rng)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _col(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def raw_xlsx(sheet_xml_rows: str | bytes | None = None, *, rows: list[list] | None = None) -> bytes:
    """A minimal hand-written .xlsx: lets a test declare any cell reference or row count it wants."""
    if sheet_xml_rows is None:
        parts = []
        for i, row in enumerate(rows or [], start=1):
            cells = "".join(
                f'<c r="{_col(j)}{i}" t="inlineStr"><is><t>{escape(str(v))}</t></is></c>'
                if isinstance(v, str)
                else f'<c r="{_col(j)}{i}"><v>{v}</v></c>'
                for j, v in enumerate(row, start=1)
            )
            parts.append(f'<row r="{i}">{cells}</row>')
        sheet_xml_rows = "".join(parts)
    body = sheet_xml_rows.encode() if isinstance(sheet_xml_rows, str) else sheet_xml_rows
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook {ns} {rel_ns}><sheets><sheet name="נתונים" '
            'sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(f'<?xml version="1.0"?><worksheet {ns}><sheetData>'.encode())
            f.write(body)
            f.write(b"</sheetData></worksheet>")
    return buf.getvalue()


# -- odd but valid ----------------------------------------------------------------------------

TRAININGS_HEADER = ["יישוב", "תאריך", "נושא", "סוג", "קהל יעד", "משתתפים", "שעות"]


def title_rows_and_merged_cells() -> bytes:
    """Two title rows, a merged group header, the locality merged down, a totals row."""
    rows = [
        ["הכשרות 2025 - עיריית קריית גת"],
        ["עודכן: 15/11/2025"],
        ["פרטי ההכשרה", None, None, None, "נתונים", None, None],
        TRAININGS_HEADER,
        ["עיריית קריית גת", "05/01/2025", "סדנת מתנדבים", "סדנא", "רכזים", "12", "3"],
        [None, "20.2.25", "יום עיון שנתי", "יום עיון", "צוות", 40, "6"],
        [None, dt.date(2025, 3, 9), "קורס רכזים", "קורס", "רכזים", 15, 30],
        [],
        ['סה"כ', None, None, None, None, 67, 39],
    ]
    return xlsx({"הכשרות": rows}, {"הכשרות": ["A1:G1", "A3:D3", "E3:G3", "A5:A7"]})


def english_headers_and_synonyms() -> bytes:
    """English headers from an export, and Hebrew synonym headers on a second sheet."""
    programs = [
        ["City", "Program", "Operated by", "Flagship", "Start date", "Status", "Participants"],
        ["Kiryat Gat", "Youth at risk", "JDC", "yes", "2021-09-01", "active", 40],
    ]
    budgets = [
        ["רשות", "שנת תקציב", "מקור מימון", 'סכום בש"ח'],
        ["ק. גת", 2025, "משרד הרווחה", "₪ 120,000"],
        ["ק. גת", "2025", "קרן", '45,500 ש"ח'],
        ["ק. גת", "שנת 2025", "רשות", 30000],
    ]
    return xlsx({"Programs": programs, "תקציב": budgets})


def dates_every_way() -> bytes:
    """Trainings dated as Excel dates, bare serials, d.m.yy, yyyy-mm-dd, and Hebrew month names."""
    rows = [
        TRAININGS_HEADER,
        ["קריית גת", dt.date(2025, 1, 5), "א", "סדנה", None, 10, 2],
        ["קריית גת", 45700, "ב", "סדנה", None, 10, 2],  # serial 45700 = 2025-02-12
        ["קריית גת", "3.3.25", "ג", "סדנה", None, 10, 2],
        ["קריית גת", "2025-04-07", "ד", "סדנה", None, 10, 2],
        ["קריית גת", "12 במאי 2025", "ה", "סדנה", None, 10, 2],
        ["קריית גת", "29/06/2025", "ו", "סדנה", None, 10, 2],
    ]
    return xlsx({"הכשרות": rows})


DATES_EXPECTED = [
    dt.date(2025, 1, 5),
    dt.date(2025, 2, 12),
    dt.date(2025, 3, 3),
    dt.date(2025, 4, 7),
    dt.date(2025, 5, 12),
    dt.date(2025, 6, 29),
]


def periods_every_way() -> bytes:
    """Volunteer counts per month, quarter and year, written in several ways."""
    rows = [
        ["יישוב", "תקופה", "אשכול", "מספר מתנדבים", "מתנדבים חדשים", "שעות התנדבות"],
        ["יוקנעם", "Q1 2025", "נוער", "1,200", 30, "450.5"],
        ["יוקנעם", "רבעון 2 2025", "נוער", 80, 5, 300],
        ["יוקנעם", "03/2025", "קשישים", 12, "", None],
        ["יוקנעם", "מרץ 2024", "קשישים", 10, 1, 20],
        ["יוקנעם", 2023, "כללי", 150, 40, 5000],
    ]
    return xlsx({"מתנדבים": rows})


PERIODS_EXPECTED = [
    ("2025-Q1", "quarter"),
    ("2025-Q2", "quarter"),
    ("2025-03", "month"),
    ("2024-03", "month"),
    ("2023", "year"),
]


def clusters_yes_no() -> bytes:
    """Clusters with the leading trio named (names must not be stored) and yes/no variants."""
    rows = [
        [
            "יישוב",
            "שם האשכול",
            "תחום",
            "רכז/ת מתנדבים",
            "נציג/ת רשות",
            "נציג/ת עמותה",
            "תאריך הקמה",
            "תוכנית עבודה מאושרת",
        ],
        ["מ.א. משגב", "חירום וביטחון", "חירום", "רונית אבירם", "משה דהן", None, "01/03/2024", "V"],
        ["מועצה אזורית משגב", "נוער", "נוער", "עוזי כהן", None, "שרה לוי", "2024-05-01", "לא"],
        ["יודפת", "קשישים", "זקנה", "דנה ישראלי", "יעל בר", "רחל גל", "1/9/24", "✓"],
    ]
    return xlsx({"אשכולות": rows})


CLUSTER_NAMES = ["רונית", "אבירם", "משה דהן", "עוזי", "שרה לוי", "דנה ישראלי", "יעל בר", "רחל גל"]


def csv_windows_1255_semicolons() -> bytes:
    """A CSV from Hebrew Windows Excel: windows-1255 and semicolons."""
    text = 'יישוב;שנה;מקור;סכום ₪\r\nקרית גת;2025;משרד הרווחה;"1,250"\r\nקרית גת;2025;פילנתרופיה;300\r\n'
    return text.replace("₪", 'ש"ח').encode("windows-1255")


def csv_utf8_bom_tabs() -> bytes:
    """A UTF-8 CSV with BOM, tab separated."""
    return "\ufeffיישוב\tשנה\tמקור\tסכום\nעפולה\t2025\tרשות\t700\n".encode()


def ods_partnerships() -> bytes:
    """An OpenDocument spreadsheet (LibreOffice)."""
    df = pd.DataFrame(
        {
            "יישוב": ["שדרות", "שדרות"],
            "שם השותפות": ['מרכז צעירים + מתנ"ס', "חוסן קהילתי"],
            "שותפים": ['מתנ"ס; עירייה', "משרד הרווחה"],
            "תאריך התחלה": ["01/02/2024", "15/06/2025"],
            "רמה": ["תיאום", 'שת"פ'],
            "סטטוס": ["פעיל", "פעילה"],
        }
    )
    buf = io.BytesIO()
    df.to_excel(buf, engine="odf", index=False, sheet_name="שיתופי פעולה")
    return buf.getvalue()


def xls_programs() -> bytes:
    """A legacy .xls (BIFF8) written by xlwt, as older systems export."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("programs")
    rows = [
        ["יישוב", "שם התוכנית", "גוף מפעיל", "סטטוס"],
        ["דימונה", "הורים וילדים", "ג'וינט", "פעילה"],
        ["דימונה", "גיל הזהב", "עירייה", "בהקמה"],
    ]
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            ws.write(i, j, v)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def locality_variants() -> bytes:
    """Every spelling the issue lists, one per row, in a locality-attributes sheet."""
    rows = [["יישוב", "מאפיין", "ערך"]]
    for i, name in enumerate(
        [
            "ק. גת",
            "קרית גת",
            "קריית-גת",
            "יוקנעם",
            "מ.א. משגב",
            "מועצה אזורית משגב",
            "עיריית נתניה",
            "תל אביב",
            "בית יצחק",
            "קרית  שמונה",
            "דימונא",
        ]
    ):
        rows.append([name, f"attr{i}", "x"])
    return xlsx({"מאפיינים": rows})


# None: a regional-council settlement (checked separately) or below the fuzzy threshold (an error).
LOCALITY_EXPECTED = [2630, 2630, 2630, 240, 10056, 10056, 7400, 5000, None, 2800, None]


def with_errors() -> bytes:
    """Trainings with one good row and one error of each kind."""
    rows = [
        TRAININGS_HEADER,
        ["קריית גת", "05/01/2025", "טובה", "סדנה", None, 10, 2],
        ["קריית גת", "31/02/2025", "תאריך שגוי", "סדנה", None, 10, 2],
        ["קריית גת", "05/01/2025", "קטגוריה", "הרצאה", None, 10, 2],
        ["קריית גת", "05/01/2025", "שלילי", "סדנה", None, -3, 2],
        ["כפר שלא קיים", "05/01/2025", "יישוב", "סדנה", None, 10, 2],
        ["קריית גת", "05/01/2025", "טובה", "סדנה", None, 10, 2],
        ["קריית גת", "05/01/1990", "ישן", "סדנה", None, 10, 2],
    ]
    return xlsx({"הכשרות": rows})


# -- hostile and broken -----------------------------------------------------------------------


def whole_grid_cell() -> bytes:
    """Two real rows and a value at XFD1048576: python-calamine would abort the process."""
    body = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>יישוב</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>ערד</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    )
    return raw_xlsx(body)


def wide_sparse_cell() -> bytes:
    """A value far right and far down (ZZ150000): a dense reader would allocate 100M cells."""
    return raw_xlsx(
        '<row r="1"><c r="A1"><v>1</v></c></row><row r="150000"><c r="ZZ150000"><v>1</v></c></row>'
    )


def too_many_rows(n: int = 300_000) -> bytes:
    """A sheet with more rows than the cap (hand-written XML: quick to build)."""
    body = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>' for i in range(1, n + 1))
    return raw_xlsx(body)


def zip_bomb() -> bytes:
    """A small xlsx whose sheet inflates ~1000:1 (40 MB of spaces)."""
    return raw_xlsx(b" " * (40 * 1024 * 1024))


def encrypted() -> bytes:
    """A password-protected xlsx (the OLE container Excel writes), via msoffcrypto-tool."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(xlsx({"x": [["יישוב"], ["ערד"]]}))).encrypt("secret", out)
    return out.getvalue()


def truncated() -> bytes:
    """An xlsx cut in the middle (a failed download)."""
    data = xlsx({"x": [["יישוב", "שנה"], ["ערד", 2025]] * 50})
    return data[: len(data) // 2]


def not_a_spreadsheet() -> bytes:
    """A PNG image renamed to .xlsx."""
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def word_document() -> bytes:
    """A .docx (a zip, but not a workbook)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    return buf.getvalue()


def empty_workbook() -> bytes:
    """A workbook whose only sheet has no cells."""
    wb = openpyxl.Workbook()
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_million_rows() -> bytes:
    """A CSV with 1,000,001 lines."""
    return ("יישוב,שנה,מקור,סכום\n" + "ערד,2025,רשות,1\n" * 1_000_000).encode()


HOSTILE = {
    "whole_grid.xlsx": (whole_grid_cell, "XFD1048576"),
    "wide_sparse.xlsx": (wide_sparse_cell, "טווח תאים עצום"),
    # (a large sheet is refused once the scan has seen too many rows: "at least N rows")
    "too_many_rows.xlsx": (too_many_rows, "שורות; המקסימום לקובץ אחד הוא 250,000"),
    "bomb.xlsx": (zip_bomb, "נפרס לגודל חריג"),
    "locked.xlsx": (encrypted, "מוגן בסיסמה"),
    "truncated.xlsx": (truncated, "פגום או קטוע"),
    "photo.xlsx": (not_a_spreadsheet, "אינו גיליון אלקטרוני"),
    "letter.docx": (word_document, "אינו גיליון אלקטרוני"),
    "empty.xlsx": (empty_workbook, "אין נתונים"),
    "huge.csv": (csv_million_rows, "המקסימום לקובץ אחד הוא 250,000"),
    "zero.xlsx": (lambda: b"", "ריק"),
}


def long_workbook(rows: int = 6000) -> bytes:
    """Three sheets: a long one with a merged title, gaps, errors, dates, a merged range and a far
    cell near the end (for reads cut into row ranges); a small one; a hidden one."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    date = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet = book.add_worksheet("רשימה")
    sheet.merge_range(0, 1, 0, 3, "כותרת ממוזגת")
    sheet.write_row(2, 1, ["יישוב", "שם", "תאריך", "מספר"])
    for r in range(3, rows):
        if r % 97 == 0:
            continue
        sheet.write_string(r, 1, ["ערד", "דימונה", "ק. גת"][r % 3])
        sheet.write_string(r, 2, f"תוכנית {r}")
        sheet.write_datetime(r, 3, dt.datetime(2020, 1, 1) + dt.timedelta(days=r), date)
        sheet.write_number(r, 4, r % 50)
        if r % 1000 == 0:
            sheet.write_formula(r, 5, "=1/0", None, "#DIV/0!")
    sheet.merge_range(rows - 10, 6, rows - 8, 7, "ממוזג למטה")  # in the second part's rows
    sheet.write(rows - 5, 8, "רחוק")
    small = book.add_worksheet("קטן")
    small.write_row(0, 0, ["a", 1, 2.5])
    hidden = book.add_worksheet("רשימות")
    hidden.write(0, 0, "x")
    hidden.hide()
    book.close()
    return buf.getvalue()


def read_in_child(tmp_path: Path, data: bytes, name: str = "hostile.xlsx") -> str:
    """Read `data` as `name` in a child process: 'LOADED', or 'REFUSED <message>'. A file that
    would abort python-calamine (RECIPES.md) kills only the child, and the assertion says so."""
    path = tmp_path / name
    path.write_bytes(data)
    code = (
        "import sys; from pathlib import Path; from ingest.reading import read_workbook, ReadError\n"
        "try:\n"
        f"    read_workbook(Path({str(path)!r}).read_bytes(), {name!r})\n"
        "    print('LOADED')\n"
        "except ReadError as e:\n"
        "    print('REFUSED', e.message_en)\n"
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120)
    assert proc.returncode == 0, f"the reader process died (code {proc.returncode}): {proc.stderr[-500:]}"
    return proc.stdout
