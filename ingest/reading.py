"""Reading a file into raw sheets (lists of cell values), refusing hostile or broken files first.

This step knows about bytes and formats only: it never guesses what a sheet means. It checks a
file *before* a dense reader sees it, because python-calamine aborts the whole process (not an
exception) on a sheet that declares a cell at XFD1048576 (RECIPES.md), and a zip can inflate to
gigabytes. The checks stream the archive in bounded chunks and never hold more than one chunk.
"""

from __future__ import annotations

import codecs
import csv
import io
import queue
import re
import threading
import tomllib
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import python_calamine as pc

from ingest.xlsx_split import PARTS, SPLIT_MIN_BYTES, first_part, part_workbooks, rest_part, row_start
from ingest.xmlscan import SheetScanner, col_number
from store.errors import BilingualError

STREAMLIT_CONFIG = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"
DEFAULT_UPLOAD_MB = 50


def upload_limit_bytes(config: Path = STREAMLIT_CONFIG) -> int:
    """Streamlit's `server.maxUploadSize` (MiB) in bytes: one limit for the page, the CLI and the inbox.

    Streamlit refuses a larger upload before our code runs; files from disk must meet the same
    limit before they are read or parsed.
    """
    try:
        with open(config, "rb") as fh:
            mb = tomllib.load(fh)["server"]["maxUploadSize"]
        return int(mb) * 1024 * 1024
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError):
        return DEFAULT_UPLOAD_MB * 1024 * 1024


MAX_FILE_BYTES = upload_limit_bytes()  # what we accept to read at all
MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024  # sum of a zip's inflated entries
MAX_ZIP_RATIO = 150  # inflated / compressed, for entries of meaningful size
MAX_ZIP_ENTRIES = 5000
MAX_ROWS = 250_000  # per sheet; a locality sheet is hundreds of rows, the benchmark 100,000
MAX_COLUMNS = 500
GRID_ROWS = 1_048_576  # Excel's last row: a reference there is a whole-column range, not data
MAX_CELLS = 4_000_000  # rows x columns of one sheet as a dense reader would allocate it
# Inflated bytes scanned at a time: 1 MB stays in the CPU cache across the scan's passes over a chunk
# (the scan of the benchmark's 37 MB sheet: 0.18 s, with 4 MB chunks 0.24 s) and lets the early
# part start as soon as the scan has passed FIRST_SHARE of the sheet, not at the next 4 MB.
CHUNK = 1 << 20
# A CSV field longer than this is not a cell (Excel holds at most 32,767 characters per cell);
# it is also the csv module's default field limit, so nothing process-wide is changed.
MAX_CSV_FIELD = csv.field_size_limit()

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


class ReadError(BilingualError):
    """A file (or one of its sheets) that cannot be read, with a message the user can act on."""

    def __init__(self, message_he: str, message_en: str, sheet: str | None = None) -> None:
        super().__init__(message_he, message_en)
        self.sheet = sheet


@dataclass
class RawSheet:
    """One sheet as cells: `rows[i][j]` is Excel row `first_row + i`, column `first_col + j` (1-based)."""

    name: str
    rows: list[list[Any]]
    first_row: int = 1
    first_col: int = 1
    notes: list[tuple[str, str]] = field(default_factory=list)
    # How many first rows are, unchanged, the row ranges handed to read_workbook's `ranges` before
    # the rest was parsed (0: none): what was worked out from them then holds for this sheet.
    early_rows: int = 0


@dataclass
class RawWorkbook:
    """What a file holds: its format and its sheets, in order."""

    format: str
    sheets: list[RawSheet]


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.0f}"


# -- format detection -------------------------------------------------------------------------
def detect_format(data: bytes, file_name: str) -> str:
    """'xlsx' | 'ods' | 'xls' | 'csv' from the bytes (the extension only breaks ties)."""
    name = file_name
    ext = PurePath(file_name).suffix.lower()
    if not data:
        raise ReadError(f"הקובץ {name} ריק (0 בתים).", f"The file {name} is empty (0 bytes).")
    if data.startswith(ZIP_MAGIC) or data.startswith(b"PK\x05\x06"):
        return _zip_kind(data, name)
    if data.startswith(OLE_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data[:1_000_000] or (
            "EncryptedPackage".encode("utf-16-le") in data[:1_000_000]
        ):
            raise _encrypted(name)
        if (
            "Workbook".encode("utf-16-le") in data[:1_000_000]
            or "Book".encode("utf-16-le") in data[:1_000_000]
        ):
            return "xls"
        # An Office container without a workbook stream: a cut-off .xls, or another Office file.
        raise _corrupt(name) if ext in (".xls", ".xlsx", ".xlsm") else _not_spreadsheet(name)
    head = data[:4096]
    if head.startswith(b"%PDF") or b"\x00" in head:
        raise _not_spreadsheet(name)
    if head.lstrip().lower().startswith((b"<html", b"<!doctype", b"<?xml", b"<table")):
        raise ReadError(
            f"הקובץ {name} הוא דף HTML/XML ולא גיליון אלקטרוני. פתחו אותו ב-Excel ושמרו בשם כ-xlsx.",
            f"The file {name} is an HTML/XML page, not a spreadsheet. Open it in Excel and save as .xlsx.",
        )
    if ext in (".xlsx", ".xlsm", ".xls", ".ods"):
        raise ReadError(
            f"הקובץ {name} פגום או שאינו קובץ {ext} תקין.",
            f"The file {name} is corrupt or not a valid {ext} file.",
        )
    return "csv"


def _zip_kind(data: bytes, name: str) -> str:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _corrupt(name) from exc
    if "mimetype" in names:
        try:
            mime = zf.open("mimetype").read(200)
        except (zipfile.BadZipFile, OSError, ValueError, zlib.error) as exc:
            raise _corrupt(name) from exc
        if mime.strip() == ODS_MIME:
            return "ods"
        raise _not_spreadsheet(name)
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        if "xl/workbook.bin" in names:
            raise ReadError(
                f"הקובץ {name} הוא חוברת בינארית (xlsb) שאינה נתמכת. שמרו אותו כ-xlsx.",
                f"The file {name} is a binary workbook (.xlsb), which is not supported. Save it as .xlsx.",
            )
        return "xlsx"
    raise _not_spreadsheet(name)


def _corrupt(name: str, sheet: str | None = None) -> ReadError:
    return ReadError(
        f"הקובץ {name} פגום או קטוע ולא ניתן לקרוא אותו. שמרו אותו מחדש ב-Excel ונסו שוב.",
        f"The file {name} is corrupt or truncated and cannot be read. Re-save it in Excel and try again.",
        sheet,
    )


def _encrypted(name: str) -> ReadError:
    return ReadError(
        f"הקובץ {name} מוגן בסיסמה. הסירו את הסיסמה ב-Excel (קובץ ← מידע ← הגן על חוברת) ונסו שוב.",
        f"The file {name} is password-protected. Remove the password in Excel and try again.",
    )


def _not_spreadsheet(name: str) -> ReadError:
    return ReadError(
        f"הקובץ {name} אינו גיליון אלקטרוני (xlsx, xls, ods או csv).",
        f"The file {name} is not a spreadsheet (xlsx, xls, ods or csv).",
    )


def _empty(name: str) -> ReadError:
    return ReadError(
        f"בקובץ {name} אין נתונים: כל הגיליונות ריקים.",
        f"The file {name} holds no data: every sheet is empty.",
    )


# -- zip safety ---------------------------------------------------------------------------------
# Where a dense reader would put each cell (references in every spelling calamine accepts, and
# cells placed by position) is measured by ingest.xmlscan, vectorised over each inflated chunk.
_ODS_REPEAT = re.compile(rb"""number-(rows|columns)-repeated\s*=\s*["'](\d+)["']""")
KEEP_MAX_BYTES = 128 * 1024 * 1024  # inflated sheet XML kept in memory for a parallel parse
# The last bytes fed to a SheetScanner that it may still decide with the next chunk (it keeps 256
# of them, fewer when it squeezes whitespace): only what lies before them has been checked.
SCAN_LAG = 64 * 1024
# The early part of a large sheet (check_zip's `early`) is its first FIRST_SHARE, the rest is cut in
# REST_PARTS: the first range is cleaned while the next two are parsed, the second while the last
# is (read_workbook's `ranges`), so that little cleaning is left once the last range is parsed.
FIRST_SHARE = 0.35
REST_PARTS = 2
EarlyParse = Callable[[str, str, list[bytes], int, int], None]
Kept = dict[str, tuple[str, list[bytes]]]  # zip path -> (sheet name, its XML in pieces)


def _sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """worksheet path in the zip -> sheet name (from workbook.xml and its relationships)."""
    try:
        wb = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError, zipfile.BadZipFile, zlib.error):
        return {}
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = {}
    for el in wb.iter():
        if el.tag.endswith("}sheet"):
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            target = targets.get(rid, "")
            path = target.lstrip("/") if target.startswith("/") else "xl/" + target
            out[path] = el.get("name", path)
    return out


_ERROR_CELL = re.compile(rb"""<c\s([^>]*?\bt\s*=\s*["']e["'][^>]*)>(.*?)</c>""", re.S)
_CELL_REF = re.compile(rb"""\br\s*=\s*["']([A-Z]{1,3})(\d+)["']""")
_CELL_V = re.compile(rb"<v>([^<]{1,40})</v>")
ErrorCells = dict[str, dict[tuple[int, int], str]]  # sheet -> (row, col) 1-based -> '#DIV/0!'


def _error_cells(buf: bytes, found: dict[tuple[int, int], str]) -> None:
    """Error cells (t="e": a formula that failed) in a piece of sheet XML: calamine reads them as ''."""
    for attrs, inner in _ERROR_CELL.findall(buf):
        ref, value = _CELL_REF.search(attrs), _CELL_V.search(inner)
        if ref and value:
            found[(int(ref.group(2)), col_number(ref.group(1)))] = value.group(1).decode("utf-8", "replace")


def check_zip(
    data: bytes,
    name: str,
    kind: str,
    errors: ErrorCells | None = None,
    keep: Kept | None = None,
    early: EarlyParse | None = None,
) -> None:
    """Refuse zip bombs, lying sizes and sheets whose extent a dense reader cannot allocate.

    When `errors` is given, it also collects the error cells of each xlsx sheet on the same pass.
    When `keep` is given, worksheets of at least SPLIT_MIN_BYTES inflated (KEEP_MAX_BYTES in all)
    are kept there (zip path -> (sheet name, XML in pieces)) once they have passed, for a parallel
    parse.

    `early` (with `keep`) lets calamine start on a large sheet before the scan has finished it.
    When exactly one worksheet is large enough to be kept, it is checked after every other entry;
    once the scan has passed its first FIRST_SHARE and what it has passed would be accepted as
    a whole sheet, `early(path, sheet, scanned, half, cleared)` is called once with the XML
    scanned so far (in pieces): the bytes before `cleared` are checked and may be parsed. The rest
    of the sheet (and the file) is still checked before this returns; an error is raised as usual.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _corrupt(name) from exc
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _bomb(name)
    declared = sum(i.file_size for i in infos)
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise _bomb(name, declared)
    for info in infos:
        if info.file_size > 10 * 1024 * 1024 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise _bomb(name, info.file_size)
    if any(i.flag_bits & 0x1 for i in infos):
        raise _encrypted(name)
    sheet_names = _sheet_paths(zf) if kind == "xlsx" else {}
    if len(set(sheet_names.values())) < len(sheet_names):
        keep = None  # two sheets of one name: which one a name reads is calamine's choice
    large = [i for i in infos if i.filename in sheet_names and i.file_size >= SPLIT_MIN_BYTES]
    if early is not None and keep is not None and len(large) == 1:
        infos = [i for i in infos if i is not large[0]] + large  # the rest of the file is checked first
    else:
        early = None
    total = kept = 0
    for info in infos:
        is_sheet = (
            kind == "xlsx" and info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
        )
        is_ods_content = kind == "ods" and info.filename == "content.xml"
        sheet = sheet_names.get(info.filename, info.filename)
        scan = SheetScanner()
        found: dict[tuple[int, int], str] = {}
        err_tail = tail = b""
        pieces: list[bytes] | None = None
        fed = 0  # bytes in pieces
        offer = early if early is not None and info is large[0] else None
        if (
            keep is not None
            and is_sheet
            and info.filename in sheet_names
            and info.file_size >= SPLIT_MIN_BYTES
        ):
            pieces = []
        try:
            ahead = is_sheet and info.file_size >= SPLIT_MIN_BYTES
            with closing(_inflated(zf, info, ahead=ahead)) as chunks:  # closed (thread stopped) on any error
                for chunk in chunks:
                    total += len(chunk)
                    if total > MAX_UNCOMPRESSED_BYTES:
                        raise _bomb(name, total)
                    if is_sheet:
                        scan.feed(chunk)
                        if errors is not None and (scan.error_values or found):
                            _error_cells(err_tail + chunk, found)
                            err_tail = chunk[-8192:]
                        # explicit references seen so far: refuse now, not after inflating it all
                        rows, cols = scan.max_row, scan.max_col
                        if cols > MAX_COLUMNS or rows > MAX_ROWS:
                            if cols <= MAX_COLUMNS and rows < GRID_ROWS:
                                raise _too_many_rows(name, sheet, rows, at_least=True)
                            _check_extent(name, sheet, rows, cols)
                        if pieces is not None:
                            pieces.append(chunk)
                            fed += len(chunk)
                            if kept + fed > KEEP_MAX_BYTES:
                                pieces = None  # too large to hold: parsed whole, not in parallel
                            elif offer is not None and fed - SCAN_LAG >= (
                                half := int(info.file_size * FIRST_SHARE)
                            ):
                                if _may_parse(scan):
                                    offer(info.filename, sheet, list(pieces), half, fed - SCAN_LAG)
                                offer = None  # once: later the rest of the scan is shorter than a parse
                    elif is_ods_content:
                        buf = tail + chunk
                        _check_ods_repeats(buf, name)
                        tail = buf[-256:]
        except ReadError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError) as exc:
            raise _corrupt(name) from exc
        if is_sheet:
            scan.finish()
            if scan.bounded and (scan.positional or not _extent_ok(*scan.extent)):
                scan = _exact_scan(zf, info, name)  # the quick bound is not enough: read every reference
            _check_extent(name, sheet, *scan.extent)
            if scan.markup:
                pieces = None  # a comment or CDATA could hide a cut point: parsed whole
            if found and errors is not None:
                errors[sheet] = found
            if pieces:
                keep[info.filename] = (sheet, pieces)  # type: ignore[index]
                kept += fed


def _inflated(zf: zipfile.ZipFile, info: zipfile.ZipInfo, *, ahead: bool) -> Iterator[bytes]:
    """An entry's inflated bytes in CHUNK pieces. `ahead`: inflate in a thread, at most two chunks
    ahead of the consumer (zlib releases the GIL: inflating overlaps the scan of the previous
    chunk). Errors of the stream are raised in the consumer."""
    if not ahead:
        with zf.open(info) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk
        return
    pipe: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def hand(item: bytes | BaseException) -> None:
        while not stop.is_set():
            try:
                pipe.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            with zf.open(info) as stream:
                while not stop.is_set():
                    chunk = stream.read(CHUNK)
                    hand(chunk)
                    if not chunk:
                        return
        except BaseException as exc:  # raised in the consumer
            hand(exc)

    worker = threading.Thread(target=produce, name="ingest-inflate", daemon=True)
    worker.start()
    try:
        while True:
            item = pipe.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield item
    finally:
        stop.set()
        worker.join()


def _exact_scan(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> SheetScanner:
    """A second pass over one sheet, reading every reference's value (see ingest.xmlscan)."""
    scan = SheetScanner(exact=True)
    try:
        with zf.open(info) as stream:
            while chunk := stream.read(CHUNK):
                scan.feed(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError) as exc:
        raise _corrupt(name) from exc
    scan.finish()
    return scan


def _may_parse(scan: SheetScanner) -> bool:
    """Whether what `scan` has read so far would be accepted as a whole sheet without a second,
    exact pass (see check_zip): then a dense reader may be given those bytes."""
    return not scan.markup and not (scan.bounded and scan.positional) and _extent_ok(*scan.extent)


def _extent_ok(rows: int, cols: int) -> bool:
    return cols <= MAX_COLUMNS and rows < GRID_ROWS and rows <= MAX_ROWS and rows * max(cols, 1) <= MAX_CELLS


def _check_ods_repeats(buf: bytes, name: str) -> None:
    for what, count in _ODS_REPEAT.findall(buf):
        n = int(count)
        # LibreOffice writes the empty rest of a sheet as one huge repeated empty row: only a
        # repeat that large *followed by content* is dangerous, which we cannot see here cheaply,
        # so cells are checked again after reading (see _read_calamine).
        if (what == b"columns" and n > 16384) or (what == b"rows" and n > 1_048_576):
            raise _whole_grid(name, None)


def _check_extent(name: str, sheet: str, max_row: int, max_col: int) -> None:
    if max_col > MAX_COLUMNS or max_row >= GRID_ROWS:
        raise _whole_grid(name, sheet)
    if max_row > MAX_ROWS:
        raise _too_many_rows(name, sheet, max_row)
    if max_row * max(max_col, 1) > MAX_CELLS:
        raise _whole_grid(name, sheet)


def _whole_grid(name: str, sheet: str | None) -> ReadError:
    where = f"הגיליון '{sheet}' בקובץ {name}" if sheet else f"הקובץ {name}"
    where_en = f"sheet '{sheet}' of {name}" if sheet else f"the file {name}"
    return ReadError(
        f"{where} מגדיר טווח תאים עצום (עד סוף הגיליון, למשל XFD1048576). "
        "מחקו את העמודות והשורות הריקות שאחרי הנתונים ושמרו מחדש.",
        f"{where_en} declares a huge cell range (up to the end of the grid, e.g. XFD1048576). "
        "Delete the empty columns and rows after the data and save again.",
        sheet,
    )


def _too_many_rows(name: str, sheet: str | None, rows: int, *, at_least: bool = False) -> ReadError:
    where = f"בגיליון '{sheet}' בקובץ {name}" if sheet else f"בקובץ {name}"
    where_en = f"Sheet '{sheet}' of {name}" if sheet else f"The file {name}"
    many_he, many_en = (f"לפחות {rows:,}", f"at least {rows:,}") if at_least else (f"{rows:,}", f"{rows:,}")
    return ReadError(
        f"{where} יש {many_he} שורות; המקסימום לקובץ אחד הוא {MAX_ROWS:,}. פצלו את הקובץ.",
        f"{where_en} has {many_en} rows; the maximum for one file is {MAX_ROWS:,}. Split the file.",
        sheet,
    )


def _bomb(name: str, size: int | None = None) -> ReadError:
    size_he = f" ({_mb(size)} MB לאחר פריסה)" if size else ""
    size_en = f" ({_mb(size)} MB inflated)" if size else ""
    return ReadError(
        f"הקובץ {name} נפרס לגודל חריג{size_he} ונדחה כדי להגן על השרת. בדקו שזה הקובץ הנכון.",
        f"The file {name} inflates to an abnormal size{size_en} and was refused to protect the server.",
    )


# -- readers --------------------------------------------------------------------------------------
def read_workbook(
    data: bytes,
    file_name: str,
    *,
    while_parsing: Callable[[], None] | None = None,
    ranges: Callable[[RawSheet], None] | None = None,
) -> RawWorkbook:
    """All sheets of a file as raw cells, or ReadError with a message naming the file (and sheet).

    `while_parsing` is called once, after the safety checks and just before the cells are parsed:
    python-calamine releases the GIL while it parses, so work a caller starts in a thread there
    (loading reference data) runs alongside for free. Large xlsx sheets are parsed in row ranges
    on two threads at once (ingest.xlsx_split); the first range of one large sheet already while
    the safety scan reads the rest of the file (check_zip's `early`).

    `ranges` is called (in the caller's thread) with each row range of a sheet parsed in parts
    but the last, in order, as soon as it is parsed: work on those rows overlaps the parse of the
    rest. The returned sheet's `early_rows` says whether (and how many of) its first rows are those
    ranges, back to back and as they were handed over: not so when a merged range reaches them or
    the sheet is wider or starts elsewhere (what was made of them must then be dropped). The ranges
    have no merged cells filled.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ReadError(
            f"הקובץ {file_name} גדול מדי ({_mb(len(data))} MB; המקסימום {_mb(MAX_FILE_BYTES)} MB).",
            f"The file {file_name} is too large ({_mb(len(data))} MB; maximum {_mb(MAX_FILE_BYTES)} MB).",
        )
    kind = detect_format(data, file_name)
    if kind == "csv":
        if while_parsing is not None:
            while_parsing()
        sheets = [read_csv(data, file_name)]
    else:
        errors: ErrorCells = {}
        # Leaving the block waits for every parse: none goes on behind a refusal or a result.
        with ThreadPoolExecutor(PARTS, thread_name_prefix="ingest-parse") as pool:
            parts = _Parts(data, file_name, pool)
            if kind in ("xlsx", "ods"):
                keep: Kept = {}
                if kind == "xlsx":
                    check_zip(data, file_name, kind, errors, keep, parts.early)
                else:
                    check_zip(data, file_name, kind, None, keep)
                parts.start(keep)
                del keep
            if while_parsing is not None:
                while_parsing()
            sheets = _read_calamine(data, file_name, kind, errors, parts, ranges)
    sheets = [s for s in sheets if any(any(v not in (None, "") for v in row) for row in s.rows)]
    if not sheets:
        raise _empty(file_name)
    return RawWorkbook(kind, sheets)


def _open(data: bytes, name: str) -> pc.CalamineWorkbook:
    try:
        return pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except pc.PasswordError as exc:
        raise _encrypted(name) from exc
    except Exception as exc:  # calamine raises several unrelated types for broken files
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise _encrypted(name) from exc
        raise _corrupt(name) from exc


_Parsed = tuple[list[list[Any]], tuple[int, int] | None, list]  # rows, start, merged ranges
_FirstPart = tuple[dict[str, _Parsed], list[str], set[str]]  # see _read_first_part


class _Parts:
    """The part workbooks of a file (ingest.xlsx_split) being parsed on the threads of `pool`.

    `first` reads every visible sheet of the first part, `rest` the further rows of the sheets in
    `split`; no parts (`first` None): the file is parsed whole. `early` is check_zip's hook: it
    starts the first part while the scan reads the rest of its sheet; `start` adds the others
    once the whole file has passed.
    """

    def __init__(self, data: bytes, name: str, pool: ThreadPoolExecutor) -> None:
        self.data, self.name, self.pool = data, name, pool
        self.first: Future[_FirstPart | None] | None = None
        self.rest: list[Future[dict[str, _Parsed]]] = []
        self.split: set[str] = set()
        self._early: tuple[str, str] | None = None  # path, sheet
        self._cut: Future[int | None] = Future()  # where the early part ends (None: no early part)

    def early(self, path: str, sheet: str, scanned: list[bytes], half: int, cleared: int) -> None:
        """Parse the rows of `sheet` before the first row at or after `half` (and before `cleared`:
        what the scan has passed) on a thread; building that part there too keeps the scan going."""
        self._early = (path, sheet)
        self.first = self.pool.submit(self._first_part, path, sheet, scanned, half, cleared)

    def _first_part(
        self, path: str, sheet: str, scanned: list[bytes], half: int, cleared: int
    ) -> _FirstPart | None:
        try:
            part = first_part(self.data, path, b"".join(scanned), half, cleared)
        except BaseException as exc:
            self._cut.set_exception(exc)
            raise
        self._cut.set_result(None if part is None else part[1])
        return None if part is None else _read_first_part(part[0], self.name, {sheet})

    def start(self, keep: Kept) -> None:
        """Parse the rest: `keep` holds the large sheets that passed (check_zip)."""
        if self._early is not None:
            path, sheet = self._early
            try:
                cut = self._cut.result()  # known soon after early(): long before the scan ends
            except Exception:  # the first part could not be built: parsed as below instead
                cut = None
            books = self._rest_books(path, keep[path][1], cut) if path in keep and cut else []
            if books:
                self.split = {sheet}
                self.rest = [
                    self.pool.submit(_read_other_part, book, self.name, self.split) for book in books
                ]
                return
            # Not to be cut after all (markup further on, too large to keep): read as below; the
            # first part's parse (of bytes the scan had passed) is left to finish unused.
            self.first = None
        xml = {p: b"".join(pieces) for p, (_, pieces) in keep.items()}
        cut_books = part_workbooks(self.data, xml) if keep else None
        if cut_books is None:
            return
        books, cut = cut_books
        self.split = {sheet for path, (sheet, _) in keep.items() if path in cut}
        self.first = self.pool.submit(_read_first_part, books[0], self.name, self.split)
        self.rest = [self.pool.submit(_read_other_part, book, self.name, self.split) for book in books[1:]]

    def _rest_books(self, path: str, pieces: list[bytes], cut: int) -> list[bytes]:
        """The rows from `cut` on, in REST_PARTS part workbooks when they can be cut (the first
        part's thread parses the last of them once it is free; each range parsed can be cleaned
        while the next is still being parsed: read_workbook's `ranges`), else in one."""
        size = sum(len(p) for p in pieces)
        cuts = [cut]
        for k in range(1, REST_PARTS):
            at = row_start(pieces, cut + (size - cut) * k // REST_PARTS)
            if at is None or at <= cuts[-1]:
                break
            cuts.append(at)
        books = [
            rest_part(self.data, path, pieces, a, b) for a, b in zip(cuts, [*cuts[1:], None], strict=True)
        ]
        if len(books) > 1 and all(b is not None for b in books):
            return books  # type: ignore[return-value]
        book = rest_part(self.data, path, pieces, cut)
        return [] if book is None else [book]


def _parse(wb: pc.CalamineWorkbook, sheet_name: str, name: str, *, whole: bool = True) -> _Parsed:
    """One sheet's cells, its start (0-based row, column) and merged ranges.

    `whole`: this is the whole sheet, not a range of its rows (whose size is checked once joined).
    """
    try:
        sheet = wb.get_sheet_by_name(sheet_name)
        if whole:
            _check_parsed_size(name, sheet_name, sheet.height, sheet.width)
        rows = sheet.to_python(skip_empty_area=True)
        return rows, sheet.start, sheet.merged_cell_ranges or []
    except ReadError:
        raise
    except pc.PasswordError as exc:
        raise _encrypted(name) from exc
    except Exception as exc:
        raise _corrupt(name, sheet_name) from exc


def _check_parsed_size(name: str, sheet: str, height: int, width: int) -> None:
    if height > MAX_ROWS:
        raise _too_many_rows(name, sheet, height)
    if width > MAX_COLUMNS or height * width > MAX_CELLS:
        raise _whole_grid(name, sheet)


def _read_calamine(
    data: bytes,
    name: str,
    kind: str,
    errors: ErrorCells | None = None,
    parts: _Parts | None = None,
    ranges: Callable[[RawSheet], None] | None = None,
) -> list[RawSheet]:
    """Every visible worksheet, parsed by python-calamine.

    With `parts` being parsed, the first part workbook stands for the file (its other sheets are
    the file's own) and each further one holds the next rows of the sheets named in `split`: the
    rows are joined in order (merged ranges come from the last part: the first may lack the tail).
    `ranges`: see read_workbook.
    """
    if parts is None or parts.first is None:
        wb = _open(data, name)
        return [_raw_sheet(meta.name, _parse(wb, meta.name, name), errors) for meta in _data_sheets(wb)]
    split = parts.split
    try:
        first = parts.first.result()
        if first is None:  # (the first part is always built when parts are given)
            raise ReadError("", "")
        parsed, order, names = first
        handed: dict[str, list[RawSheet]] = {}  # sheet -> its row ranges, as given to `ranges`
        hand = ranges is not None and split <= names
        if hand:
            _hand(parsed, [s for s in order if s in split], errors, handed, ranges)  # type: ignore[arg-type]
        others = []
        for k, future in enumerate(parts.rest):
            others.append(future.result())
            if hand and k < len(parts.rest) - 1:
                _hand(others[-1], list(handed), errors, handed, ranges)  # type: ignore[arg-type]
        if not split <= names:  # calamine names the sheets otherwise than workbook.xml did here
            raise ReadError("", "")
        sheets = []
        for sheet_name in order:
            pieces = [parsed[sheet_name]]
            if sheet_name in split:
                pieces += [o[sheet_name] for o in others]
                rows, start = _join(pieces)
                _check_parsed_size(name, sheet_name, len(rows), len(rows[0]) if rows else 0)
                pieces[0] = (rows, start, pieces[-1][2])
            sheet = _raw_sheet(sheet_name, pieces[0], errors)
            if sheet_name in handed:
                sheet.early_rows = _rows_kept(handed[sheet_name], sheet, pieces[0][2])
            sheets.append(sheet)
        return sheets
    except ReadError:
        # Whatever went wrong in parts, the file as a whole has the last word (and message).
        return _read_calamine(data, name, kind, errors)


def _hand(
    parsed: dict[str, _Parsed],
    sheets: list[str],
    errors: ErrorCells | None,
    handed: dict[str, list[RawSheet]],
    ranges: Callable[[RawSheet], None],
) -> None:
    """Give `ranges` the rows of `sheets` in one parsed part (with their error values put back)."""
    for sheet_name in sheets:
        rows, start, _ = parsed.get(sheet_name, ([], None, []))
        if rows and start is not None:
            _put_errors(rows, (errors or {}).get(sheet_name, {}), start)
            part = RawSheet(sheet_name, rows, start[0] + 1, start[1] + 1)
            handed.setdefault(sheet_name, []).append(part)
            ranges(part)


def _rows_kept(parts: list[RawSheet], whole: RawSheet, merged: list) -> int:
    """How many first rows of `whole` are the rows of `parts`, back to back and as they were (the
    same lists, unchanged): all of them when each part lies where the joined grid has it, as wide
    as the grid and starting in its first column, and no merged range starts in them (merged cells
    are filled from the last part); none otherwise."""
    n = 0
    for part in parts:
        at = part.first_row - whole.first_row
        if at != n or part.first_col != whole.first_col or len(whole.rows) < at + len(part.rows):
            return 0
        if any(whole.rows[at + i] is not part.rows[i] for i in (0, len(part.rows) - 1)):
            return 0  # (the grid holds a part's own row lists only when it is as wide)
        n += len(part.rows)
    top = whole.first_row - 1
    return 0 if any(r0 - top < n for (r0, _), _ in merged) else n


def _data_sheets(wb: pc.CalamineWorkbook) -> list:
    """Metadata of the visible worksheets (hidden sheets hold lookup lists, not data)."""
    return [
        meta
        for meta in wb.sheets_metadata
        if str(meta.typ) in ("SheetTypeEnum.WorkSheet", "WorkSheet")
        and meta.visible == pc.SheetVisibleEnum.Visible
    ]


def _read_first_part(book: bytes, name: str, split: set[str] | frozenset[str]) -> _FirstPart:
    """Every visible sheet of the first part workbook, their order, and every sheet name it has."""
    wb = _open(book, name)
    order = [meta.name for meta in _data_sheets(wb)]
    parsed = {s: _parse(wb, s, name, whole=s not in split) for s in order}
    return parsed, order, set(wb.sheet_names)


def _read_other_part(book: bytes, name: str, split: set[str] | frozenset[str]) -> dict[str, _Parsed]:
    """The further rows of the split sheets that are visible (the other sheets are in part one)."""
    wb = _open(book, name)
    return {
        meta.name: _parse(wb, meta.name, name, whole=False) for meta in _data_sheets(wb) if meta.name in split
    }


def _join(parts: list[_Parsed]) -> tuple[list[list[Any]], tuple[int, int] | None]:
    """The rows of consecutive parts of one sheet as one grid (calamine's, had it read it whole)."""
    parts = [p for p in parts if p[0] and p[1] is not None]
    if not parts:
        return [], None
    top = parts[0][1][0]
    left = min(p[1][1] for p in parts)
    right = max(p[1][1] + len(p[0][0]) for p in parts)
    width = right - left
    rows: list[list[Any]] = []
    for part_rows, (r0, c0), _ in parts:
        rows.extend([""] * width for _ in range(r0 - top - len(rows)))  # empty rows between parts
        if c0 == left and len(part_rows[0]) == width:
            rows.extend(part_rows)
        else:
            pad_left, pad_right = [""] * (c0 - left), [""] * (right - c0 - len(part_rows[0]))
            rows.extend(pad_left + r + pad_right for r in part_rows)
    return rows, (top, left)


def _raw_sheet(sheet_name: str, parsed: _Parsed, errors: ErrorCells | None) -> RawSheet:
    rows, start, merged = parsed
    start = start or (0, 0)
    _put_errors(rows, (errors or {}).get(sheet_name, {}), start)
    _fill_merged(rows, merged, start)
    return RawSheet(sheet_name, rows, first_row=start[0] + 1, first_col=start[1] + 1)


def _put_errors(rows: list[list[Any]], found: dict[tuple[int, int], str], start: tuple[int, int]) -> None:
    """Put back the error values calamine blanked ('#DIV/0!'), so cleaning reports them per cell."""
    for (r, c), value in found.items():
        i, j = r - 1 - start[0], c - 1 - start[1]
        if 0 <= i < len(rows) and 0 <= j < len(rows[i]) and rows[i][j] in (None, ""):
            rows[i][j] = value


def _fill_merged(rows: list[list[Any]], merged: list, start: tuple[int, int]) -> None:
    """Give every cell of a merged range the value of its top-left cell (locality merged down)."""
    for (r0, c0), (r1, c1) in merged:
        i0, j0 = r0 - start[0], c0 - start[1]
        if not (0 <= i0 < len(rows)) or j0 < 0 or j0 >= len(rows[i0]):
            continue
        value = rows[i0][j0]
        if value in (None, ""):
            continue
        for i in range(i0, min(r1 - start[0] + 1, len(rows))):
            row = rows[i]
            for j in range(j0, min(c1 - start[1] + 1, len(row))):
                if (i, j) != (i0, j0) and row[j] in (None, ""):
                    row[j] = value


ENCODINGS = ("utf-8-sig", "windows-1255")


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) when it decodes; otherwise windows-1255 (Hebrew Windows)."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("windows-1255", errors="replace")


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits the first lines most consistently."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    best, best_score = ",", -1.0
    for delim in (",", ";", "\t"):
        try:
            counts = [len(next(csv.reader([ln], delimiter=delim))) for ln in lines]
        except csv.Error:  # a field over the csv module's limit: read_csv reports it
            continue
        if not counts or max(counts) < 2:
            continue
        common = max(set(counts), key=counts.count)
        score = counts.count(common) * common
        if score > best_score:
            best, best_score = delim, score
    return best


def read_csv(data: bytes, name: str) -> RawSheet:
    """A CSV file as one sheet named after the file; rows are strings, as the user typed them."""
    text = decode_text(data)
    delim = sniff_delimiter(text)
    rows: list[list[Any]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delim):
            rows.append(row)
            if len(rows) > MAX_ROWS + 1:
                raise _too_many_rows(name, None, text.count("\n"))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ReadError(
                f"בקובץ {name} יש תא ארוך מ-{MAX_CSV_FIELD:,} תווים (ב-Excel תא מכיל עד 32,767). "
                "ייתכן שזה אינו קובץ טבלה, או שמרכאה לא נסגרה. בדקו את הקובץ ושמרו אותו מחדש.",
                f"The file {name} has a cell longer than {MAX_CSV_FIELD:,} characters (an Excel cell holds "
                "at most 32,767). It may not be a table, or a quote was left open. Check it and save again.",
            ) from exc
        raise _corrupt(name) from exc
    width = max((len(r) for r in rows), default=0)
    if width > MAX_COLUMNS:
        raise _whole_grid(name, None)
    rows = [r + [""] * (width - len(r)) for r in rows]
    return RawSheet(PurePath(name).stem or "csv", rows)
