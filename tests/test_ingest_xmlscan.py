"""The vectorised pre-parse scan (ingest/xmlscan.py) and the parallel parse of split sheets.

* The exact scanner agrees with a brute-force reading of random sheet XML (every spelling of a
  reference, prefixes, positional cells, whitespace runs across chunk boundaries), fed in chunks
  of any size; the quick path counts the same and never bounds the grid below the exact extent.
* Hostile spellings the quick path must not miss are refused before calamine sees them (in a child
  process, so that a regression shows as a crash there): a second `r` in a cell (calamine takes
  the last), prefixed positional cells.
* A workbook read in parallel row ranges is cell for cell the workbook read whole.
"""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import pytest

from ingest import reading, xlsx_split
from ingest.reading import read_workbook
from ingest.xmlscan import SHORT_COL, SHORT_ROW, SheetScanner, col_number
from tests.odd_files import long_workbook, raw_xlsx, read_in_child

ROOT = Path(__file__).resolve().parent.parent


def _reference(x: bytes) -> tuple[int, ...]:
    """What the scanner must find, by regular expressions over the whole text."""
    max_row = max_col = 0
    for letters, digits in re.findall(rb"""r\s*=\s*["']([A-Za-z]*)(\d+)["']""", x):
        max_row, max_col = max(max_row, int(digits)), max(max_col, col_number(letters))
    elements = [(m.start(), m.group(1)) for m in re.finditer(rb"[<:](c|row)[\s/>]", x)]
    cell_ref = re.compile(rb"""[<:]c r=["']""")
    cells = sum(1 for _, g in elements if g == b"c")
    rows = sum(1 for _, g in elements if g == b"row")
    row_refs = len(re.findall(rb"""[<:]row r=["']""", x))
    widest = current = 0
    for at, g in elements:
        if g == b"row":
            widest, current = max(widest, current), 0
        elif not cell_ref.match(x, at):
            current += 1
    without = cells - len(cell_ref.findall(x))
    return max_row, max_col, cells, without, rows, rows - row_refs, max(widest, current)


def _sheet(rnd: random.Random, plain: bool) -> bytes:
    parts = [b'<?xml version="1.0"?><worksheet xmlns="x" xmlns:r="y"><sheetData>']
    for r in range(rnd.randrange(1, 50)):
        number = rnd.choice([r + 1, rnd.randrange(1, 2_000_000)])
        prefix = b"" if plain else rnd.choice([b"", b"", b"x:"])
        row_ref = [b' r="%d" spans="1:3"' % number, b""] if plain else [b' r="%d"' % number, b"", b" r='7'"]
        parts.append(b"<" + prefix + b"row" + rnd.choice(row_ref) + b">")
        for _ in range(rnd.randrange(0, 6)):
            col = rnd.choice([b"A", b"Z", b"AA", b"xfd", b"XFD", b"AAAAAAAAAAAAA", b"b"])
            value = col + b"%d" % rnd.choice([number, rnd.randrange(1, 10 ** rnd.randrange(1, 9))])
            q = rnd.choice([b'"', b"'"])
            if plain:
                eq = b"="
                extra = rnd.choice([b"", b' t="s"', b' s="1"', b"", b' r="A1"', b' r ="XFD1"', b' x:r="B2"'])
            else:
                eq = rnd.choice([b"=", b" = ", b"=\n", b"=" + b" " * rnd.randrange(300, 600)])
                extra = rnd.choice([b"", b' header="0.3"'])
            attr = rnd.choice([b" r" + eq + q + value + q + extra, b" r" + eq + q + value + q, b""])
            body = rnd.choice([b"<v>1</v>", b"<f>A1=B2</f><v>1</v>", b"<is><t>r = 'B7'</t></is>", b""])
            close = b">" + body + b"</" + prefix + b"c>" if body else b"/>"
            parts.append(b"<" + prefix + b"c" + attr + close)
        parts.append(b"</" + prefix + b"row>")
    if rnd.random() < 0.1:
        parts.append(b"<!-- note -->")
    parts.append(b'</sheetData><pageMargins left="0.7" header="0.3"/></worksheet>')
    return b"".join(parts)


def _scan(x: bytes, size: int, exact: bool) -> SheetScanner:
    scan = SheetScanner(exact=exact)
    for i in range(0, len(x), size):
        scan.feed(x[i : i + size])
    scan.finish()
    return scan


@pytest.mark.parametrize("seed", [1, 2])
def test_scanner_agrees_with_a_brute_force_reading(seed):
    rnd = random.Random(seed)
    for i in range(150):
        x = _sheet(rnd, plain=bool(i % 2))
        expected = _reference(x)
        for size in (rnd.randrange(7, 60), rnd.randrange(60, 900), 1 << 22):
            exact, quick = _scan(x, size, True), _scan(x, size, False)
            got = (exact.max_row, exact.max_col, exact.cells, exact.cells_without_ref, exact.rows)
            got += (exact.rows_without_ref, max(exact.widest_positional, exact._open_row))
            assert got == expected, (size, x[:300])
            assert (quick.cells, quick.cells_without_ref, quick.rows) == expected[2:5], (size, x[:300])
            (er, ec), (qr, qc) = exact.extent, quick.extent
            assert qr >= er and qc >= ec, (size, x[:300])
            if not quick.bounded:
                assert (qr, qc) == (er, ec)
            elif not quick.positional:
                assert (qr, qc) == (max(er, SHORT_ROW), max(ec, SHORT_COL))
            assert quick.markup == (b"<!--" in x)


def test_the_quick_path_takes_excel_xml():
    cells = '<c r="A{r}" t="s"><v>1</v></c><c r="B{r}" s="1"><v>4500{d}</v></c>'
    rows = "".join(
        f'<row r="{r}" spans="1:3">' + cells.format(r=r, d=r % 10) + "</row>" for r in range(1, 3000)
    )
    x = f'<?xml version="1.0"?><worksheet xmlns="x" xmlns:r="y"><sheetData>{rows}</sheetData></worksheet>'
    scan = _scan(x.encode(), 4096, False)
    assert scan.bounded and not scan.positional and scan.extent == (SHORT_ROW, SHORT_COL)
    assert scan.cells == 2 * 2999 and scan.rows == 2999 and not scan.markup


def test_rows_before_excels_page_margins_take_the_quick_path(monkeypatch):
    # `header="0.3"` after the rows is an `r=` the quick path does not take: the rows in front of
    # it must not lose the quick path, and an error cell among them must still be flagged.
    row = '<row r="{r}" spans="1:2"><c r="A{r}" t="s"><v>1</v></c></row>'
    rows = [row.format(r=r) for r in range(1, 3001)]
    rows[1499] = '<row r="1500"><c r="A1500" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
    tail = '</sheetData><pageMargins left="0.7" right="0.7" header="0.3" footer="0.3"/></worksheet>'
    x = f'<?xml version="1.0"?><worksheet xmlns="x"><sheetData>{"".join(rows)}{tail}'.encode()
    quick: list[tuple[int, bool]] = []
    plain = SheetScanner._plain

    def spied(self, a, n, new_from, final):
        quick.append((n, plain(self, a, n, new_from, final)))
        return quick[-1][1]

    monkeypatch.setattr(SheetScanner, "_plain", spied)
    scan = SheetScanner()
    scan.feed(x)
    assert scan.error_values
    scan.finish()
    assert quick[0] == (x.index(b"</sheetData>"), True) and not any(ok for _, ok in quick[1:])
    assert scan.bounded and scan.extent == (SHORT_ROW, SHORT_COL) and scan.cells == 3000
    exact = _scan(x, 1 << 22, True)
    assert (exact.extent, exact.cells, exact.rows, scan.rows) == ((3000, 1), 3000, 3000, 3000)


@pytest.mark.parametrize(
    "cell",
    [
        '<c r="B2" r="XFD1048576"><v>1</v></c>',  # calamine places the cell by its last r
        '<c r="B2" r ="XFD1048576"><v>1</v></c>',
        "<c r='B2' r = 'xfd1048576'><v>1</v></c>",
    ],
)
def test_a_second_reference_in_a_cell_is_refused(tmp_path, cell):
    body = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 2000))
    out = read_in_child(tmp_path, raw_xlsx(body + f'<row r="2000">{cell}</row>'))
    assert out.startswith("REFUSED") and "XFD1048576" in out, out


def test_prefixed_positional_cells_are_sized(tmp_path):
    ns = 'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    row = f'<x:row {ns}><x:c t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c></x:row>'
    wide = f"<x:row {ns}>" + "<x:c><x:v>1</x:v></x:c>" * 16_384 + "</x:row>"
    out = read_in_child(tmp_path, raw_xlsx(row * 150_000 + wide))
    assert out.startswith("REFUSED"), out


# -- parallel parse ---------------------------------------------------------------------------------
@pytest.mark.parametrize("parts", [2, 3])
def test_a_split_sheet_reads_cell_for_cell_as_the_whole(monkeypatch, parts):
    data = long_workbook()
    whole = read_workbook(data, "w.xlsx")
    calls: list[int] = []
    joined: list[int] = []
    join = reading._join

    def split_books(data: bytes, sheets: dict[str, bytes], n: int = parts):
        calls.append(len(sheets))
        return xlsx_split.part_workbooks(data, sheets, n)

    def counted_join(pieces):
        joined.append(len(pieces))
        return join(pieces)

    monkeypatch.setattr(reading, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(reading, "part_workbooks", split_books)
    monkeypatch.setattr(reading, "_join", counted_join)
    split = read_workbook(data, "w.xlsx")
    assert calls == [3]  # every sheet was offered (the threshold is 1 byte)
    assert joined == [parts]  # the long sheet was read in parts; the one-row sheets whole
    assert [s.name for s in split.sheets] == [s.name for s in whole.sheets] == ["רשימה", "קטן"]
    for a, b in zip(split.sheets, whole.sheets, strict=True):
        assert (a.first_row, a.first_col) == (b.first_row, b.first_col)
        assert a.rows == b.rows
    rows = whole.sheets[0].rows
    assert "#DIV/0!" in rows[1000 - whole.sheets[0].first_row + 1]  # error values put back
    assert rows[0][:3] == ["כותרת ממוזגת"] * 3  # merged cells filled


def test_part_workbooks_are_complete_zips():
    data = long_workbook()
    import zipfile

    sheets = {"xl/worksheets/sheet1.xml": zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")}
    books, cut = xlsx_split.part_workbooks(data, sheets, 2)
    assert len(books) == 2 and cut == set(sheets)
    for book in books:
        z = zipfile.ZipFile(io.BytesIO(book))
        assert z.testzip() is None
        assert set(z.namelist()) == set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    first, second = (zipfile.ZipFile(io.BytesIO(b)).read("xl/worksheets/sheet1.xml") for b in books)
    assert first.count(b"<row ") + second.count(b"<row ") == sheets["xl/worksheets/sheet1.xml"].count(
        b"<row "
    )
