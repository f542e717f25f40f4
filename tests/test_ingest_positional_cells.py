"""Cells written without an r attribute are placed by position: the pre-scan must size them too.

python-calamine aborts the whole process (not an exception) on a sheet whose positional grid is
huge, e.g. many rows plus one row of 16,384 reference-less cells. The test reads such a file in a
child process, so a regression shows as a crash there, not here.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ingest.reading import ReadError, read_workbook
from tests.odd_files import read_in_child

ROOT = Path(__file__).resolve().parent.parent
OOXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CT = "".join(
    [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">',
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>',
        '<Default Extension="xml" ContentType="application/xml"/>',
        f'<Override PartName="/xl/workbook.xml" ContentType="{OOXML}.sheet.main+xml"/>',
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{OOXML}.worksheet+xml"/>',
        "</Types>",
    ]
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WB = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="נוכחות" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def positional_xlsx(rows: int, wide_row_cells: int) -> bytes:
    """A sheet of `rows` rows with no r attributes anywhere, the last row `wide_row_cells` wide."""
    cell = '<c t="inlineStr"><is><t>x</t></is></c>'
    body = "<row>" + cell * 2 + "</row>"
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData>'
        + body * (rows - 1)
        + "<row>" + "<c/>" * wide_row_cells + "</row>"
        + "</sheetData></worksheet>"
    )  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:  # no inflation to trip the bomb check
        z.writestr("[Content_Types].xml", CT)
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WB)
        z.writestr("xl/_rels/workbook.xml.rels", WB_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


def test_positional_whole_grid_is_refused_in_a_child_process(tmp_path):
    out = read_in_child(tmp_path, positional_xlsx(150_000, 16_384), "positional.xlsx")
    assert out.startswith("REFUSED"), out
    assert "positional.xlsx" in out


def test_small_positional_sheet_still_loads():
    workbook = read_workbook(positional_xlsx(20, 3), "small.xlsx")
    assert len(workbook.sheets) == 1
    assert workbook.sheets[0].name == "נוכחות"


def test_read_error_type_is_public():
    assert issubclass(ReadError, Exception)
