"""Cells written without an r attribute are placed by position: the pre-scan must size them too.

python-calamine aborts the whole process (not an exception) on a sheet whose positional grid is
huge, e.g. many rows plus one row of 16,384 reference-less cells. The test reads such a file in a
child process, so a regression shows as a crash there, not here.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

from ingest.reading import ReadError, read_workbook

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
    path = tmp_path / "positional.xlsx"
    path.write_bytes(positional_xlsx(150_000, 16_384))
    code = (
        "import sys; from pathlib import Path; from ingest.reading import read_workbook, ReadError\n"
        "try:\n"
        f"    read_workbook(Path({str(path)!r}).read_bytes(), 'positional.xlsx')\n"
        "    print('LOADED')\n"
        "except ReadError as e:\n"
        "    print('REFUSED', e.message_en)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, f"the reader process died (code {proc.returncode}): {proc.stderr[-500:]}"
    assert proc.stdout.startswith("REFUSED"), proc.stdout
    assert "positional.xlsx" in proc.stdout


def test_small_positional_sheet_still_loads():
    workbook = read_workbook(positional_xlsx(20, 3), "small.xlsx")
    assert len(workbook.sheets) == 1
    assert workbook.sheets[0].name == "נוכחות"


def test_read_error_type_is_public():
    assert issubclass(ReadError, Exception)
