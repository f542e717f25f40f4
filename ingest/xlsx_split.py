"""Split a large worksheet into row ranges that python-calamine parses in parallel.

python-calamine releases the GIL while it parses a sheet, so two parses run on two cores at once.
One sheet cannot be parsed by two threads, but its rows can be cut in two: each part is a
complete workbook (every entry of the file copied as it is, except the sheet, which holds the same
head and tail around a contiguous range of its `<row>` elements) and the parts' cells are joined
back in order. Cuts are made only in front of a `<row r="…">` element, so every cell lands on the
row and column it has in the whole sheet — also cells placed by position after it.

The sheets given to `part_workbooks` and `rest_part` have passed the safety scan
(reading.check_zip) as a whole; a part holds a subset of their cells. `first_part` is the one
exception: it is built from the *scanned beginning* of a sheet while the scan reads on, so that
calamine parses the first rows while the rest is being checked. It holds only bytes the scan has
passed (closed by a made-up `</sheetData></worksheet>`: the real tail comes later, and holds the
merged ranges, which are therefore taken from the last part).
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Sequence

SPLIT_MIN_BYTES = 8 * 1024 * 1024  # inflated sheet XML below which one parse is as quick
PARTS = 2  # cores to parse on

_SHEET_DATA, _SHEET_DATA_END = b"<sheetData>", b"</sheetData>"
_ROW_START = b'<row r="'
_FIRST_ELEMENT = re.compile(rb"<([A-Za-z_][\w.:-]*)[\s/>]")  # the root, after the XML declaration


def split_sheet(xml: bytes, parts: int = PARTS) -> list[tuple[bytes, memoryview, bytes]] | None:
    """`parts` (head, rows, tail) pieces of a worksheet's XML, or None when it cannot be cut.

    The caller makes sure the XML has no comment, CDATA section or processing instruction (none
    in sheets Excel writes; ingest.xmlscan.SheetScanner.markup), where `<row r="` could be text.
    """
    start = xml.find(_SHEET_DATA)
    end = xml.rfind(_SHEET_DATA_END)
    if start < 0 or end < start:
        return None
    body = start + len(_SHEET_DATA)
    cuts = [body]
    for k in range(1, parts):
        cut = xml.find(_ROW_START, body + (end - body) * k // parts, end)
        if cut <= cuts[-1]:
            return None
        cuts.append(cut)
    cuts.append(end)
    head, tail, view = xml[:body], xml[end:], memoryview(xml)
    return [(head, view[cuts[k] : cuts[k + 1]], tail) for k in range(parts)]


def part_workbooks(
    data: bytes, sheets: dict[str, bytes], parts: int = PARTS
) -> tuple[list[bytes], set[str]] | None:
    """`parts` workbooks, each the file with the sheets of `sheets` (zip path -> XML) cut to one
    range of their rows, and the paths that were cut (a sheet too short to cut is whole in every
    part); None when none could be cut. Other entries are copied compressed as they are; the cut
    sheets are stored uncompressed (nothing to inflate twice)."""
    cut = {path: split_sheet(xml, parts) for path, xml in sheets.items()}
    pieces = {path: p for path, p in cut.items() if p is not None}
    if not pieces:
        return None
    books = [_book(data, {path: p[k] for path, p in pieces.items()}) for k in range(parts)]
    return books, set(pieces)


def first_part(data: bytes, path: str, xml: bytes, start: int, limit: int) -> tuple[bytes, int] | None:
    """The file with the sheet at `path` cut to its rows before the first `<row r="` in
    [start, limit) of `xml` (the scanned beginning of the sheet), and where it was cut; None when
    there is no such row or the sheet does not look as expected. `rest_part` gives the rest."""
    body_at = xml.find(_SHEET_DATA)
    root = _FIRST_ELEMENT.search(xml, 0, max(body_at, 0))  # (the declaration `<?xml` is no match)
    if body_at < 0 or root is None or root.group(1).rsplit(b":", 1)[-1] != b"worksheet":
        return None
    body = body_at + len(_SHEET_DATA)
    cut = xml.find(_ROW_START, max(start, body + 1), limit)
    if cut < 0 or xml.find(_SHEET_DATA_END, body, cut) >= 0:
        return None
    closing = _SHEET_DATA_END + b"</" + root.group(1) + b">"
    return _book(data, {path: (xml[:body], memoryview(xml)[body:cut], closing)}), cut


def rest_part(
    data: bytes, path: str, pieces: Sequence[bytes], cut: int, stop: int | None = None
) -> bytes | None:
    """The file with the sheet at `path` (all of it, scanned, in consecutive pieces) cut to its
    rows from `cut` (see `first_part`) to `stop` (a `<row r="` offset, see `row_start`) or the end,
    with its real tail; None when its rows end before `cut`. The pieces are not joined (the sheet
    can be tens of MB)."""
    if not pieces:
        return None
    if len(pieces) > 1 and (pieces[0].find(_SHEET_DATA) < 0 or pieces[-1].rfind(_SHEET_DATA_END) < 0):
        pieces = [b"".join(pieces)]  # the head or the end of the rows straddles two pieces
    first, last = pieces[0], pieces[-1]
    body = first.find(_SHEET_DATA) + len(_SHEET_DATA)
    end = len(last) - last.rfind(_SHEET_DATA_END)  # bytes from the end of the rows to the end
    size = sum(len(p) for p in pieces)
    rows_end = size - end if stop is None else stop
    if body < len(_SHEET_DATA) or end > len(last) or not body < cut < rows_end <= size - end:
        return None
    rows: list[bytes | memoryview] = []
    at = 0  # where the piece starts in the sheet
    for piece in pieces:
        lo, hi = max(cut - at, 0), min(rows_end - at, len(piece))
        if lo < hi:
            rows.append(memoryview(piece)[lo:hi])
        at += len(piece)
    return _book(data, {path: [first[:body], *rows, last[len(last) - end :]]})


def row_start(pieces: Sequence[bytes], at: int) -> int | None:
    """The offset of the first `<row r="` at or after `at` in the sheet given in consecutive pieces
    (None: none before the end of the rows)."""
    offset = 0
    for k, piece in enumerate(pieces):
        if offset + len(piece) > at:
            # this piece and the start of the next: a `<row r="` may straddle the two
            window = bytes(piece[max(at - offset, 0) :]) + bytes(
                pieces[k + 1][:16] if k + 1 < len(pieces) else b""
            )
            found = window.find(_ROW_START)
            end = window.find(_SHEET_DATA_END)
            if found >= 0 and (end < 0 or found < end):
                return max(at, offset) + found
            if end >= 0:
                return None
        offset += len(piece)
    return None


def _book(data: bytes, replaced: dict[str, Sequence[bytes | memoryview]]) -> bytes:
    """The zip `data` with the entries named in `replaced` made of those pieces (stored)."""
    entries: list[_Entry] = []
    for info in zipfile.ZipFile(_BytesReader(data)).infolist():
        chunks = replaced.get(info.filename)
        if chunks is None:
            entries.append(_Entry.copied(data, info))
            continue
        crc = 0
        for c in chunks:
            crc = zlib.crc32(c, crc)
        size = sum(len(c) for c in chunks)
        entries.append(_Entry(info.filename, zipfile.ZIP_STORED, crc, size, size, chunks))
    return _write_zip(entries)


class _BytesReader:
    """A seekable read-only view of bytes for zipfile (no copy, unlike io.BytesIO of a slice)."""

    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def seek(self, pos: int, whence: int = 0) -> int:
        self._pos = pos if whence == 0 else self._pos + pos if whence == 1 else len(self._data) + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        out = self._data[self._pos : end]
        self._pos += len(out)
        return out

    def seekable(self) -> bool:
        return True


class _Entry:
    """One zip entry to write: name, method, CRC, sizes and its (compressed) payload pieces."""

    def __init__(
        self, name: str, method: int, crc: int, csize: int, usize: int, payload: Sequence[bytes | memoryview]
    ) -> None:
        self.name, self.method, self.crc, self.csize, self.usize = name, method, crc, csize, usize
        self.payload = payload

    @classmethod
    def copied(cls, data: bytes, info: zipfile.ZipInfo) -> _Entry:
        """The entry's compressed bytes as they are in `data` (sizes from the central directory)."""
        at = info.header_offset
        name_len, extra_len = struct.unpack("<HH", data[at + 26 : at + 30])
        start = at + 30 + name_len + extra_len
        payload = memoryview(data)[start : start + info.compress_size]
        return cls(info.filename, info.compress_type, info.CRC, info.compress_size, info.file_size, [payload])


def _write_zip(entries: list[_Entry]) -> bytes:
    """A zip archive of the entries (no data descriptors, no extras: what any reader takes)."""
    out: list[bytes | memoryview] = []
    central: list[bytes] = []
    offset = 0
    for e in entries:
        name = e.name.encode("utf-8")
        flags = 0x800 if not e.name.isascii() else 0  # UTF-8 names
        fields = (20, flags, e.method, 0, 0x21, e.crc, e.csize, e.usize, len(name))
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + name
        central.append(
            struct.pack("<IH", 0x02014B50, 20)
            + struct.pack("<HHHHHIIIHHHHHII", *fields, 0, 0, 0, 0, 0, offset)
            + name
        )
        out.append(local)
        out.extend(e.payload)
        offset += len(local) + e.csize
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), offset, 0)
    return b"".join([*out, directory, end])
