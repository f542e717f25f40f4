"""A byte-level, vectorised scan of worksheet XML: how large a grid a dense reader would allocate.

python-calamine sizes a sheet's grid by its cells' positions and aborts the whole process when the
allocation fails (RECIPES.md), so reading.check_zip must know, before calamine sees a sheet, the
largest row and column any cell can land on. A cell's position is its `r` reference ("XFD1048576",
in any case, any quotes, spaces around '=', a namespace prefix) or, without one, the next place
after the previous cell (calamine reads positional cells and prefixed elements such as `<x:c>`).

`SheetScanner` is fed the inflated XML chunk by chunk and keeps, per sheet:

* the largest row and column of every reference (`r="…"` of cells, rows and anything else whose
  attribute name ends in r — looking like a reference only makes the check stricter);
* cells and rows written without a reference, and the most such cells in one row, so that the
  extent of positional cells is bounded too (explicit maximum + positional count).

numpy does the work (compare, nonzero, gather) on whole chunks without per-cell Python, and
releases the GIL while doing it. Anything the vectorised path cannot decide exactly (whitespace
around '=', a reference value longer than 12 characters) is read by regular expressions instead,
so every spelling calamine accepts is still seen.
"""

from __future__ import annotations

import re

import numpy as np

_PAD = 16  # zero bytes after a buffer, so that gathers past its end read zeros
_TAIL = 256  # bytes of the previous chunk kept in front of the next one
_K = 12  # the longest reference value parsed vectorised ("XFD1048576" is 10)
_EDGE = 20  # an element start is decided once this many bytes after it are known (> _K + 7)
_SHEET_DATA_END = b"</sheetData>"
_AFTER_ROWS = 64 * 1024  # how far from a piece's end feed() looks for the end of the rows

_LT, _COLON, _EQ, _DQ, _SQ, _SLASH, _GT = 60, 58, 61, 34, 39, 47, 62
_SPACES = np.zeros(256, dtype=bool)
_SPACES[[9, 10, 11, 12, 13, 32]] = True
_TERM = _SPACES.copy()  # what may follow an element name: whitespace, '>' or '/'
_TERM[[_SLASH, _GT]] = True
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[48:58] = True
_LETTER = np.zeros(256, dtype=bool)
_LETTER[65:91] = _LETTER[97:123] = True
SHORT_ROW, SHORT_COL = 99_999, 26  # where a reference of one letter and at most five digits lies

# A reference in any spelling (the fallback for what the vectorised path leaves undecided).
_ANY_REF = re.compile(rb"""r\s*=\s*["']([A-Za-z]*)(\d+)["']""")
# Whitespace around '=' that the vectorised reference parser does not take: removed first.
_LOOSE_EQ = re.compile(rb"[ \t\n\r\f\v]+=[ \t\n\r\f\v]*|=[ \t\n\r\f\v]+")


def col_number(letters: bytes) -> int:
    """'A' -> 1, 'XFD' -> 16384 (either case)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


_RUN = b" \t\n\r\f\v="  # whitespace and '=': what may stand between an attribute name and its value


def _next_tail(buf: bytes) -> bytes:
    """The end of `buf` to scan again in front of the next chunk: its last _TAIL bytes, except that
    a run of whitespace around '=' reaching into them is squeezed to one byte and the byte before
    it kept (`r` + 10 MB of spaces + `="XFD1048576"` across a chunk boundary is still a reference)."""
    n = len(buf)
    if n <= _TAIL:
        return buf
    i = n - _TAIL
    if buf[i] not in _RUN and buf[i - 1] not in _RUN:
        return buf[i:]
    before = buf[:i].rstrip(_RUN)
    rest = buf[i:]
    after = rest.lstrip(_RUN)
    run = buf[len(before) : n - len(after)]
    return before[-1:] + (b"=" if b"=" in run else b" ") + after


class SheetScanner:
    """Feed a worksheet's XML in chunks; then `extent` bounds the grid a dense reader may allocate.

    `exact=False` lets plain buffers (XML as Excel writes it) take a quicker path that only bounds
    short references (`bounded`: within Z99999); `exact=True` reads every reference's value.
    """

    def __init__(self, exact: bool = False) -> None:
        self.exact = exact
        self.max_row = 0  # largest row of the references read exactly
        self.max_col = 0  # largest column of the references read exactly
        self.bounded = False  # some references were only bounded: within SHORT_ROW, SHORT_COL
        self.cells = 0
        self.cells_without_ref = 0
        self.rows = 0
        self.rows_without_ref = 0
        self.widest_positional = 0  # most reference-less cells in one row
        self.markup = False  # a comment, CDATA section or processing instruction after the start
        self.error_values = False  # the last chunk fed may hold an error cell (`t="e"`)
        self._open_row = 0  # reference-less cells of the row still open at the end of a chunk
        self._tail = b""
        self._at_start = True  # the buffer begins at the start of the stream (its XML declaration)

    @property
    def positional(self) -> bool:
        """Whether some cells carry no reference (placed one after another)."""
        return self.cells_without_ref > 0

    @property
    def extent(self) -> tuple[int, int]:
        """(rows, columns): an upper bound of the grid, positional cells counted after explicit ones."""
        rows, cols = self.max_row, self.max_col
        if self.bounded:
            rows, cols = max(rows, SHORT_ROW), max(cols, SHORT_COL)
        if not self.positional:
            return rows, cols
        widest = max(self.widest_positional, self._open_row)
        return rows + self.rows_without_ref, cols + widest

    def feed(self, chunk: bytes, final: bool = False) -> None:
        """Scan the next piece of the sheet's XML (`final` on the last one, possibly empty).

        Excel writes attributes after the rows that the quick path does not take (`<pageMargins
        header="0.3" footer="0.3"/>`): a piece that ends with them is scanned in two, so that its
        rows still take the quick path (any cut gives the same result; see _next_tail).
        """
        at = -1 if self.exact else chunk.find(_SHEET_DATA_END, max(len(chunk) - _AFTER_ROWS, 1))
        if at < 0:
            self._feed(chunk, final)
            return
        self._feed(chunk[:at], False)
        error_values = self.error_values
        self._feed(chunk[at:], final)
        self.error_values |= error_values

    def _feed(self, chunk: bytes, final: bool) -> None:
        buf = self._tail + chunk
        new_from = len(self._tail)
        self._scan(buf, new_from, final)
        self._tail = _next_tail(buf)
        self._at_start = self._at_start and len(self._tail) == len(buf)

    def finish(self) -> None:
        """Scan what is left at the end of the stream."""
        self.feed(b"", final=True)

    # -- one buffer ----------------------------------------------------------------------------
    def _scan(self, buf: bytes, new_from: int, final: bool) -> None:
        n = len(buf)
        if not n:
            return
        a = np.frombuffer(buf + b"\0" * _PAD, dtype=np.uint8)
        if self.exact or not self._plain(a, n, new_from, final):
            self.error_values = b'"e"' in buf or b"'e'" in buf
            self._elements(a, n, new_from, final)
            self._references(a, buf, n, final)
            since = max(new_from - 1, 1 if self._at_start else 0)
            if buf.find(b"<!", since) >= 0 or buf.find(b"<?", since) >= 0:
                self.markup = True

    def _plain(self, a: np.ndarray, n: int, new_from: int, final: bool) -> bool:
        """The quick path for XML as Excel writes it; False (nothing counted) for anything else.

        Plain means: every cell is `<c r="…"` with that reference first, the buffer has no other
        `r=` than those and rows' (calamine takes the last of two), no whitespace or control byte
        right before an '=', no prefixed cell or row (`:c`, `:row`). Then cells' references alone
        place them: one letter and one to five digits is within Z99999 (bounded), the rest are
        parsed exactly; row references likewise (five digits: within row 99,999).

        Elements are counted where their start is decided (in [lo, hi), see _elements); every
        element starting before `hi` is checked, with every `r=` that it could own (before hi + 3).
        """
        lo = max(new_from - _EDGE, 0) if new_from else 0
        hi = n if final else n - _EDGE
        cell_at, row_at = [], []
        r_eq = 0
        errors = False
        for k in (0, 1):
            u = np.frombuffer(a.data, dtype="<u2", count=(n - k) // 2, offset=k)
            if ((u - np.uint16(0x3D00)) <= 0x20).any() or (u == 0x633A).any():
                return False  # ' =' (or any control byte before '='), a prefixed ':c'
            # pair i sits at 2i + k: the 'r=' at [5, hi + 3) (before 5: of elements left of the buffer)
            r_eq += int(np.count_nonzero(u[(5 - k + 1) // 2 : (hi + 3 - k + 1) // 2] == 0x3D72))
            for at in np.flatnonzero(u == 0x723A) * 2 + k:  # ':r': a prefixed row, or r attribute
                if a[at + 2] != _EQ:
                    return False  # ':row' (or anything else but a prefixed 'x:r=', which calamine ignores)
                r_eq -= 5 <= at + 1 < hi + 3
            # '<!' (comment, CDATA) or '<?' (processing instruction) other than the XML declaration
            errors |= bool(((u == 0x6522) | (u == 0x6527)).any())  # '"e' or "'e": maybe t="e"
            marks = np.flatnonzero((u == 0x213C) | (u == 0x3F3C)) * 2 + k
            if (marks >= max(new_from - 1, 1 if self._at_start else 0)).any():
                self.markup = True
            cell_at.append(np.flatnonzero(u == 0x633C) * 2 + k)  # '<c'
            row_at.append(np.flatnonzero(u == 0x723C) * 2 + k)  # '<r'
        cells = np.concatenate(cell_at)
        cells = cells[_TERM[a[cells + 2]]]
        rows = np.concatenate(row_at)
        rows = rows[(a[rows + 2] == ord("o")) & (a[rows + 3] == ord("w")) & _TERM[a[rows + 4]]]
        # the elements whose `r=` (at +3 in a cell, +5 in a row) this buffer decides
        check = cells[(cells >= 2) & (cells < hi)]
        quote = a[check + 5]
        plain = (a[check + 2] == 32) & (a[check + 3] == ord("r")) & (a[check + 4] == _EQ)
        if not (plain & ((quote == _DQ) | (quote == _SQ))).all():
            return False
        check_rows = rows[rows + 2 < hi]  # (their r= is at 5 or later)
        row_ref = (a[check_rows + 4] == 32) & (a[check_rows + 5] == ord("r")) & (a[check_rows + 6] == _EQ)
        row_ref &= (a[check_rows + 7] == _DQ) | (a[check_rows + 7] == _SQ)
        if r_eq != len(check) + int(np.count_nonzero(row_ref)):  # another r attribute somewhere
            return False
        if not self._short_refs(a, check + 6, quote, letter=True):
            return False
        if not self._short_refs(a, check_rows[row_ref] + 8, a[check_rows[row_ref] + 7], letter=False):
            return False
        self.error_values = errors
        self.cells += int(np.count_nonzero((cells >= lo) & (cells < hi)))
        decided = rows[(rows >= lo) & (rows < hi)]
        self.rows += len(decided)
        self.rows_without_ref += int(
            np.count_nonzero(~((a[decided + 4] == 32) & (a[decided + 5] == ord("r"))))
        )
        return True

    def _short_refs(self, a: np.ndarray, start: np.ndarray, quote: np.ndarray, *, letter: bool) -> bool:
        """Reference values at `start`: [a letter and] one to five digits are within Z99999 / row
        99,999 (bounded), the rest are read exactly; False when one is longer than _K characters."""
        first = int(letter)  # where the digits start
        inner = a[start + first + 5] == quote
        for k in range(first + 4, first, -1):
            inner = (a[start + k] == quote) | (_DIGIT[a[start + k]] & inner)
        short = _DIGIT[a[start + first]] & inner
        if letter:
            short &= _LETTER[a[start]]
        if short.any():
            self.bounded = True
        return bool(short.all()) or not self._parse_refs(a, start[~short], quote[~short], 0)

    def _elements(self, a: np.ndarray, n: int, new_from: int, final: bool) -> None:
        """Count cells and rows (with and without a reference) whose start this buffer decides.

        Element starts are decided once _EDGE bytes after them are known: in this buffer those at
        or after `new_from - _EDGE` (the earlier ones were decided with the previous buffer) and,
        unless it is the last, before `n - _EDGE`.
        """
        starts = np.flatnonzero((a[:n] == _LT) | (a[:n] == _COLON))  # '<c', or a prefix's ':c'
        lo = max(new_from - _EDGE, 0) if new_from else 0
        hi = n if final else n - _EDGE
        starts = starts[(starts >= lo) & (starts < hi)]
        if not len(starts):
            return
        nx1, nx2 = a[starts + 1], a[starts + 2]
        keep = ((nx1 == ord("c")) & _TERM[nx2]) | ((nx1 == ord("r")) & (nx2 == ord("o")))
        starts, nx1, nx2 = starts[keep], nx1[keep], nx2[keep]
        is_cell = (nx1 == ord("c")) & _TERM[nx2]
        is_row = (nx1 == ord("r")) & (nx2 == ord("o")) & (a[starts + 3] == ord("w")) & _TERM[a[starts + 4]]
        quote4 = (a[starts + 5] == _DQ) | (a[starts + 5] == _SQ)
        cell_ref = is_cell & (nx2 == 32) & (a[starts + 3] == ord("r")) & (a[starts + 4] == _EQ) & quote4
        quote6 = (a[starts + 7] == _DQ) | (a[starts + 7] == _SQ)
        row_ref = is_row & (a[starts + 4] == 32) & (a[starts + 5] == ord("r")) & (a[starts + 6] == _EQ)
        row_ref &= quote6
        self.cells += int(is_cell.sum())
        positional = is_cell & ~cell_ref
        self.cells_without_ref += int(positional.sum())
        self.rows += int(is_row.sum())
        self.rows_without_ref += int((is_row & ~row_ref).sum())
        if not positional.any() and not self._open_row:
            return
        # Reference-less cells per row: rows start at row elements; the first group continues
        # the row left open by the previous buffer.
        row_at = starts[is_row]
        pos_at = starts[positional]
        group = np.searchsorted(row_at, pos_at, side="right")  # 0: before this buffer's first row
        counts = np.bincount(group, minlength=len(row_at) + 1)
        counts[0] += self._open_row
        if len(row_at):
            self.widest_positional = max(self.widest_positional, int(counts[:-1].max()))
        self._open_row = int(counts[-1])

    def _references(self, a: np.ndarray, buf: bytes, n: int, final: bool) -> None:
        """Largest row and column of the `r="…"` values in this buffer (repeats do no harm)."""
        eq = np.flatnonzero(a[:n] == _EQ)
        eq = eq[eq >= 1]
        if not len(eq):
            return
        prev, nxt = a[eq - 1], a[eq + 1]
        if (_SPACES[prev] | _SPACES[nxt]).any():
            # Whitespace around '=': read the buffer with it removed (only the maxima matter here).
            squeezed = _LOOSE_EQ.sub(b"=", buf)
            if squeezed != buf:
                a2 = np.frombuffer(squeezed + b"\0" * _PAD, dtype=np.uint8)
                self._references(a2, squeezed, len(squeezed), final)
                return
        at = eq[(prev == ord("r")) & ((nxt == _DQ) | (nxt == _SQ))]
        if not len(at):
            return
        quote = a[at + 1]
        start = at + 2
        if not final:  # the rest is decided with the next buffer (it is in its tail)
            keep = start + _K < n
            start, quote = start[keep], quote[keep]
        if self._parse_refs(a, start, quote, n):
            # a value longer than _K characters: the regular expression reads them all
            for letters, number in _ANY_REF.findall(buf):
                self.max_row = max(self.max_row, int(number))
                self.max_col = max(self.max_col, col_number(letters))

    def _parse_refs(self, a: np.ndarray, start: np.ndarray, quote: np.ndarray, n: int) -> bool:
        """Take the maxima of the reference values at `start` (closed by `quote`, letters then
        digits); True when some are longer than _K characters (not read here)."""
        if not len(start):
            return False
        row = np.zeros(len(start), dtype=np.int64)
        col = np.zeros(len(start), dtype=np.int64)
        active = np.ones(len(start), dtype=bool)
        digits = np.zeros(len(start), dtype=bool)  # a digit was seen: letters may no longer come
        ended = np.zeros(len(start), dtype=bool)
        for k in range(_K):
            ch = a[start + k]
            up = (ch & 0xDF).astype(np.int64)
            letter = active & ~digits & (up >= 65) & (up <= 90)
            digit = active & (ch >= 48) & (ch <= 57)
            end = active & (ch == quote)
            col = np.where(letter, col * 26 + (up - 64), col)
            row = np.where(digit, row * 10 + (ch.astype(np.int64) - 48), row)
            digits |= digit
            ended |= end
            active &= letter | digit  # a quote ends it; anything else: not a reference
            if not active.any():
                break
        ok = ended & digits
        if ok.any():
            self.max_row = max(self.max_row, int(row[ok].max()))
            self.max_col = max(self.max_col, int(col[ok].max()))
        return bool(active.any())
