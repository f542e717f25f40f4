"""A large sheet's first row range is parsed while the safety scan reads the rest (reading.check_zip
`early`, xlsx_split.first_part / rest_part).

* Read that way, a workbook is cell for cell the workbook read whole: gaps, merged ranges (their
  tail comes only with the last part), error values, a ragged right edge, other sheets.
* Whatever the scan finds after the first part was handed to calamine still refuses the file, with
  its own message, and nothing is stored (run in a child process: an abort shows as a crash there).
* The first part holds only bytes the scan has passed; a sheet that turns out not to be cuttable
  (a comment further on) is read whole.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ingest import reading, xlsx_split
from ingest.reading import read_workbook
from store import Store
from tests import hostile_corpus as H
from tests.odd_files import long_workbook, raw_xlsx

ROOT = Path(__file__).resolve().parent.parent
SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture
def small_chunks(monkeypatch):
    """Scan in 16 KB chunks and treat sheets over 64 KB as large: the early path on small files."""
    monkeypatch.setattr(reading, "CHUNK", 16 * 1024)
    monkeypatch.setattr(reading, "SCAN_LAG", 1024)
    monkeypatch.setattr(reading, "SPLIT_MIN_BYTES", 64 * 1024)
    offers: list[tuple[bool, int, int, int | None]] = []  # parsed, bytes scanned, cleared, cut
    first_part = reading._Parts._first_part

    def spied(self, path, sheet, scanned, half, cleared):
        parsed = first_part(self, path, sheet, scanned, half, cleared)
        offers.append((parsed is not None, sum(map(len, scanned)), cleared, self._cut.result()))
        return parsed

    monkeypatch.setattr(reading._Parts, "_first_part", spied)
    return offers


def _whole(data: bytes) -> list[reading.RawSheet]:
    errors: reading.ErrorCells = {}
    reading.check_zip(data, "w.xlsx", "xlsx", errors)
    return reading._read_calamine(data, "w.xlsx", "xlsx", errors)


def test_read_while_scanned_is_cell_for_cell_the_whole(small_chunks):
    data = long_workbook()
    size = zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET).file_size
    early = read_workbook(data, "w.xlsx")
    [(parsed, scanned, cleared, cut)] = small_chunks
    assert parsed and scanned < size  # handed to calamine before the scan had read the sheet
    assert int(size * reading.FIRST_SHARE) <= cut < cleared <= scanned - 1024
    whole = _whole(data)
    assert [s.name for s in early.sheets] == [s.name for s in whole] == ["רשימה", "קטן"]
    for a, b in zip(early.sheets, whole, strict=True):
        assert (a.first_row, a.first_col) == (b.first_row, b.first_col)
        assert a.rows == b.rows
    rows = early.sheets[0].rows
    assert rows[0][:3] == ["כותרת ממוזגת"] * 3  # merged ranges (in the tail) filled
    assert "#DIV/0!" in rows[1000 - early.sheets[0].first_row + 1]


def test_a_comment_after_the_first_part_reads_the_sheet_whole(small_chunks, monkeypatch):
    body = "".join(
        f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>{r % 7}</v></c></row>' for r in range(1, 6000)
    )
    at = body.index('<row r="5000">')
    data = raw_xlsx(body[:at] + '<!-- <row r="1"> -->' + body[at:])
    cut_books: list[int] = []
    part_workbooks = reading.part_workbooks
    monkeypatch.setattr(reading, "part_workbooks", lambda *a: cut_books.append(1) or part_workbooks(*a))
    book = read_workbook(data, "c.xlsx")
    assert small_chunks and small_chunks[0][0]  # the first part was started...
    assert cut_books == []  # ...but the sheet was read whole, not in parts
    assert book.sheets[0].rows == [[float(r), float(r % 7)] for r in range(1, 6000)]


def test_first_part_holds_only_rows_before_the_cut():
    data = raw_xlsx("".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 500)))
    xml = zipfile.ZipFile(io.BytesIO(data)).read(SHEET)
    start = len(xml) // 2
    book, cut = xlsx_split.first_part(data, SHEET, xml, start, len(xml) - 100)
    assert cut >= start and xml[cut:].startswith(b'<row r="')
    part = zipfile.ZipFile(io.BytesIO(book)).read(SHEET)
    assert part.endswith(b"</sheetData></worksheet>") and part.count(b"<row ") == xml[:cut].count(b"<row ")
    rest = zipfile.ZipFile(io.BytesIO(xlsx_split.rest_part(data, SHEET, [xml], cut))).read(SHEET)
    assert part.count(b"<row ") + rest.count(b"<row ") == xml.count(b"<row ")
    assert rest == xml[: xml.index(b"<row ")] + xml[cut:]
    # the same from the sheet in pieces of any size (the head and the end may straddle two)
    for size in (7, 100, 1000, len(xml) - 20, len(xml)):
        pieces = [xml[i : i + size] for i in range(0, len(xml), size)]
        book = xlsx_split.rest_part(data, SHEET, pieces, cut)
        assert zipfile.ZipFile(io.BytesIO(book)).read(SHEET) == rest, size
    assert xlsx_split.first_part(data, SHEET, xml, start, start + 5) is None  # no row starts there
    # the rest in two ranges, cut in front of a row found in pieces of any size; back to back they
    # are the rest
    mid = xml.find(b'<row r="', (cut + len(xml)) // 2)
    for size in (5, 7, 100, 1000, len(xml)):
        pieces = [xml[i : i + size] for i in range(0, len(xml), size)]
        assert xlsx_split.row_start(pieces, (cut + len(xml)) // 2) == mid, size
        assert xlsx_split.row_start(pieces, xml.rfind(b"</row>")) is None, size
        one, two = (
            zipfile.ZipFile(io.BytesIO(xlsx_split.rest_part(data, SHEET, pieces, a, b))).read(SHEET)
            for a, b in ((cut, mid), (mid, None))
        )
        head, tail = xml[: xml.index(b"<row ")], xml[xml.rindex(b"</sheetData>") :]
        assert (one, two) == (
            head + xml[cut:mid] + tail,
            head + xml[mid : xml.rindex(b"</sheetData>")] + tail,
        )
    prefixed = xml.replace(b"<worksheet", b"<x:worksheet xmlns:x='a'", 1)
    assert xlsx_split.first_part(data, SHEET, prefixed, start, len(xml))[0].count(b"</x:worksheet>") == 1


# -- hostile cells after the first part: real thresholds, in a child process -------------------------
CHILD = """
import json, sys
from ingest import reading
from ingest.pipeline import import_file
from store import Store
offers = []
first_part = reading._Parts._first_part
def spied(self, *args):
    parsed = first_part(self, *args)
    offers.append(parsed is not None)
    return parsed
reading._Parts._first_part = spied
with Store(sys.argv[1]) as store:
    result = import_file(sys.argv[2], store, user="test")
messages = [p.message_en for p in result.problems]
print(json.dumps({"status": result.status, "messages": messages, "early": offers}))
"""


def _large_sheet(tail: str, *, first_part: bool = False, middle: bool = False) -> bytes:
    """Over SPLIT_MIN_BYTES of sheet XML (a programs list), then `tail` in its last rows (or, with
    `first_part`, among its first rows; with `middle`, in the middle of the rows after the first part)."""
    text = '<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'
    head = '<row r="1">' + text.format(ref="A1", text="יישוב") + text.format(ref="B1", text="שנה") + "</row>"
    rows = [
        f'<row r="{r}" spans="1:2">{text.format(ref=f"A{r}", text="ערד")}<c r="B{r}"><v>2025</v></c></row>'
        for r in range(2, 90_000)
    ]
    if first_part or middle:
        rows.insert(1000 if first_part else 60_000, tail)
        tail = ""
    return raw_xlsx(head + "".join(rows) + tail)


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> Path:
    return H.prepared_store(tmp_path_factory.mktemp("early") / "base.duckdb", sample=False)


@pytest.mark.parametrize(
    ("tail", "refused"),
    [
        ('<row r="90000"><c r="XFD1048576"><v>1</v></c></row>', "huge cell range"),
        ('<row r="90000"><c r="A90000"><v>1</v></c><c r="ZZ90000"><v>1</v></c></row>', "huge cell range"),
        ('<row r="300000"><c r="A300000"><v>1</v></c></row>', "the maximum for one file is 250,000"),
        ("<row>" + "<c><v>1</v></c>" * 16_384 + "</row>", "huge cell range"),  # placed by position
    ],
    ids=["reference", "wide", "rows", "positional"],
)
def test_a_hostile_cell_after_the_first_part_is_refused_and_nothing_stored(
    base_store, tmp_path, tail, refused
):
    out = _import_in_child(base_store, tmp_path, _large_sheet(tail))
    assert out["early"] == [True], out  # the first part was being parsed when the scan refused the file
    assert out["status"] == "rejected" and any(refused in m for m in out["messages"]), out


_MIDDLE_ROW = '<row r="60001"><c r="A60001"><v>1</v></c><c r="XFD60001"><v>1</v></c></row>'


def test_a_hostile_cell_in_the_middle_range_is_refused_and_nothing_stored(base_store, tmp_path):
    # the rest of the sheet is parsed (and cleaned) in two ranges: a cell in the first of them
    # refuses the file as one in the last does, before any of the rest is parsed
    out = _import_in_child(base_store, tmp_path, _large_sheet(_MIDDLE_ROW, middle=True))
    assert out["early"] == [True], out
    assert out["status"] == "rejected" and any("huge cell range" in m for m in out["messages"]), out


def test_a_positional_grid_in_the_first_part_is_never_handed_over(base_store, tmp_path):
    # 16,384 reference-less cells in one row, 1,000 rows down: the running check of explicit
    # references does not see it; the extent of what was scanned does, so no part is offered.
    wide = "<row>" + "<c><v>1</v></c>" * 16_384 + "</row>"
    out = _import_in_child(base_store, tmp_path, _large_sheet(wide, first_part=True))
    assert out["early"] == [], out
    assert out["status"] == "rejected" and any("huge cell range" in m for m in out["messages"]), out


def _import_in_child(base_store: Path, tmp_path: Path, data: bytes) -> dict:
    """import_file in a child process (an abort fails the test here); checks the store is unchanged."""
    size = zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET).file_size
    assert size >= reading.SPLIT_MIN_BYTES
    path, db = tmp_path / "large.xlsx", tmp_path / "yaad.duckdb"
    path.write_bytes(data)
    shutil.copy(base_store, db)
    with Store(db) as store:
        before = H.snapshot(store)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, f"the reader process died (code {proc.returncode}): {proc.stderr[-500:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    with Store(db) as store:
        assert H.snapshot(store) == before
    return out


def test_a_first_part_that_cannot_be_built_leaves_the_ordinary_split(small_chunks, monkeypatch):
    data = long_workbook()

    def broken(*args):
        raise ValueError("unexpected")

    monkeypatch.setattr(reading, "first_part", broken)
    book = read_workbook(data, "w.xlsx")
    assert [s.rows for s in book.sheets] == [s.rows for s in _whole(data)]
