"""The vectorised fast paths of cleaning agree with the per-value Python they skip; the pre-parse
scan sees every spelling of a cell reference python-calamine accepts."""

from __future__ import annotations

import random

import numpy as np
import pytest

from ingest import values as V
from ingest.reading import ReadError, read_workbook
from ingest.registry import normalise_text
from tests.odd_files import raw_xlsx

PIECES = [
    "a", "Z", "1", " ", "  ", "\t", "\u00a0", "\u2003", "`", "'", '"', "\u05f3", "\u05f4", "\u2019",
    "\u200f", "\u202b", "\u05bc", "e\u0301", "\u05be", "-", "#", "E", "#DIV/0!", "#N/A", "Err:502",
    "א", "ת", "תוכנית", "סה\"כ", "Total", "\x00", "\x1c", "\u200b",
]  # fmt: skip


def _values(n: int = 20_000, seed: int = 7) -> np.ndarray:
    rnd = random.Random(seed)
    vals: list[object] = ["".join(rnd.choice(PIECES) for _ in range(rnd.randrange(0, 5))) for _ in range(n)]
    vals += [1.0, 2, True, None, "x" * (V.MAX_CELL_CHARS + 1)]
    return np.array(vals, dtype=object)


def test_plain_text_is_exactly_what_normalise_and_clean_text_keep():
    uniques = _values()
    plain = V.plain_text_mask(uniques)
    assert plain.sum() > 1000  # the fast path is really taken
    for value in uniques[plain]:
        assert normalise_text(value) == value
        assert V.clean_text(value) == (value, None)
        # (error values and over-long text can be plain too: cleaning takes them out with cell_error_mask)


def test_fast_cell_error_mask_matches_cell_error():
    uniques = _values(seed=11)
    expected = np.array([V.cell_error(u) is not None for u in uniques])
    assert (V.cell_error_mask(uniques) == expected).all()
    assert expected.sum() > 10


def test_plain_total_candidates_cover_every_plain_totals_label():
    uniques = _values(seed=13)
    plain = V.plain_text_mask(uniques)
    candidates = V.plain_total_candidates(uniques, plain)
    for value, is_plain, is_candidate in zip(uniques, plain, candidates, strict=True):
        if is_plain and V.is_total_label(value):
            assert is_candidate


def test_convert_uniques_with_identity_equals_the_converter():
    uniques = _values(seed=17)
    codes = np.arange(len(uniques))
    fast, bad_fast = V.convert_uniques(codes, uniques, V.clean_text, V.plain_text_mask(uniques))
    slow, bad_slow = V.convert_uniques(codes, uniques, V.clean_text)
    assert list(fast) == list(slow) and bad_fast == bad_slow


@pytest.mark.parametrize(
    "body",
    [
        '<row r="1048576"><c r="xfd1048576"><v>1</v></c></row>',  # lower case: calamine aborts on it
        '<row><c r="xfd200000"><v>1</v></c></row>',
        "<row r='1048576'><c r = 'XFD1048576'><v>1</v></c></row>",
    ],
)
def test_scan_refuses_every_spelling_of_a_whole_grid_reference(body):
    data = raw_xlsx('<row r="1"><c r="A1"><v>1</v></c></row>' + body)
    with pytest.raises(ReadError) as exc:
        read_workbook(data, "grid.xlsx")
    assert "XFD1048576" in exc.value.message_en
