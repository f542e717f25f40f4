"""Decks: open the PPTX with python-pptx and the PDF with pdftotext, and compare with the metrics output."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from pptx import Presentation
from pptx.util import Inches

from charts.narrative import format_target, format_value, latest_periods, status_counts
from exports.deck import (
    AREAS,
    DeckError,
    attention_table,
    deck_pdf,
    find_authority,
    goal_areas,
    locality_deck,
    national_deck,
)
from ingest.first_run import ensure_ready
from metrics.catalog import load_catalog
from metrics.composite import composite
from metrics.engine import attainment
from store import Store

YEAR = 2025
AS_OF = dt.date(2026, 1, 15)
RUNNING_AS_OF = dt.date(2026, 11, 22)
NETANYA = 7400
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    s = Store(Path(tmp_path_factory.mktemp("deck")) / "x.duckdb")
    assert ensure_ready(s) == 12
    yield s
    s.close()


@pytest.fixture(scope="module")
def att(store: Store) -> pd.DataFrame:
    return attainment(store, year=YEAR, as_of=AS_OF)


@pytest.fixture(scope="module")
def netanya(store: Store) -> bytes:
    return locality_deck(store, "נתניה", YEAR, AS_OF)


@pytest.fixture(scope="module")
def national(store: Store) -> bytes:
    return national_deck(store, YEAR, AS_OF)


def _open(data: bytes) -> Presentation:
    return Presentation(io.BytesIO(data))


def _paragraphs(slide):
    for shape in slide.shapes:
        if shape.has_text_frame:
            yield from shape.text_frame.paragraphs
        if shape.has_table:
            for row in shape.table.rows:
                for cell in row.cells:
                    yield from cell.text_frame.paragraphs


def _texts(slide) -> list[str]:
    return [p.text for p in _paragraphs(slide) if p.text.strip()]


def _title(slide) -> str:
    """The slide's title: the largest text near the top (the band, or the title slide's headline)."""
    boxes = [
        s for s in slide.shapes if s.has_text_frame and s.text_frame.text.strip() and s.top < Inches(3.3)
    ]
    return boxes[0].text_frame.text


def _table(slide) -> list[list[str]]:
    for shape in slide.shapes:
        if shape.has_table:
            return [[c.text for c in row.cells] for row in shape.table.rows]
    return []


def _check_layout(data: bytes, year: int, as_of: dt.date, rtl: bool = True) -> None:
    prs = _open(data)
    assert prs.slide_height == Inches(7.5)
    assert prs.slide_width * 9 == prs.slide_height * 16  # exactly 16:9
    for n, slide in enumerate(prs.slides, start=1):
        text = " ".join(_texts(slide))
        assert str(year) in text, f"slide {n} lacks the year"
        assert f"{as_of:%d/%m/%Y}" in text, f"slide {n} lacks the as-of date"
        for p in _paragraphs(slide):
            if p.text.strip():
                ppr = p._p.pPr
                assert ppr is not None and ppr.get("rtl") == ("1" if rtl else "0"), (n, p.text)
                if rtl:
                    assert ppr.get("algn") in ("r", "ctr", "l"), (n, p.text)


def test_locality_deck_layout(netanya: bytes) -> None:
    _check_layout(netanya, YEAR, AS_OF)


def test_locality_deck_titles(netanya: bytes, att: pd.DataFrame) -> None:
    slides = list(_open(netanya).slides)
    titles = [_title(s) for s in slides]
    assert titles[0] == "עמידה ביעדים – נתניה"
    assert titles[1] == "סיכום עמידה ביעדים"
    mine = latest_periods(att[att["locality_code"] == NETANYA])
    expected = [
        AREAS[a]["he"] for a, goals in goal_areas(load_catalog()).items() if mine["goal"].isin(goals).any()
    ]
    assert titles[2:] == expected
    # every slide whose goals have targets carries a chart (13: a picture); info-only areas do not
    areas = {AREAS[a]["he"]: goals for a, goals in goal_areas(load_catalog()).items()}
    for slide, title in zip(slides[1:], titles[1:], strict=True):
        with_target = title not in areas or (mine[mine["goal"].isin(areas[title])]["status"].ne("info").any())
        assert any(sh.shape_type == 13 for sh in slide.shapes) == with_target, title


def test_locality_numbers_equal_the_metrics(netanya: bytes, att: pd.DataFrame) -> None:
    rows = latest_periods(att[att["locality_code"] == NETANYA])
    slides = {_title(s): s for s in _open(netanya).slides}
    table = _table(slides[AREAS["meetings"]["he"]])
    assert table[0][:4] == ["יעד", "ערך", "היעד", "סטטוס"]
    by_label = {r[0]: r for r in table[1:]}
    round_table = rows[rows["goal"] == "round_table_meetings"].iloc[0]
    assert round_table["value"] == 5  # the sample story: Netanya held 5 round tables in 2025
    assert by_label["מפגשי שולחן עגול"][1] == "5"
    assert by_label["מפגשי שולחן עגול"][2] == format_target(round_table.to_dict()) == "לפחות 3"
    assert by_label["מפגשי שולחן עגול"][3] == "הושג"
    for r in rows[rows["goal"].isin(goal_areas(load_catalog())["meetings"])].to_dict("records"):
        assert by_label[r["label_he"]][1] == format_value(r["value"], r["unit"])
    summary = " ".join(_texts(slides["סיכום עמידה ביעדים"]))
    counts = status_counts(rows)
    comp = composite(att[att["locality_code"] == NETANYA])
    score = comp[comp["model"] == "all"]["score"].iloc[0]
    assert f"ציון עמידה משוקלל: {score:.0f} מתוך 100" in summary
    assert f"{counts['done']} יעדים הושגו או בקצב, {counts['behind']} מאחור" in summary
    words = " ".join(_texts(slides[AREAS["meetings"]["he"]]))
    assert "הושגו: מפגשי שולחן עגול (5; יעד: לפחות 3)" in words


def test_running_year_deck_has_forecasts(store: Store) -> None:
    data = locality_deck(store, "קרית גת", 2026, RUNNING_AS_OF)
    _check_layout(data, 2026, RUNNING_AS_OF)
    slides = list(_open(data).slides)
    assert _title(slides[0]) == "עמידה ביעדים – קריית גת"
    meetings = next(s for s in slides if _title(s) == AREAS["meetings"]["he"])
    assert _table(meetings)[0][-1] == "צפי לסוף השנה"
    assert "בקצב הנוכחי" in " ".join(_texts(meetings))


def test_english_deck_is_left_to_right(store: Store) -> None:
    data = locality_deck(store, NETANYA, YEAR, AS_OF, lang="en")
    _check_layout(data, YEAR, AS_OF, rtl=False)
    assert _title(_open(data).slides[0]) == "Goal attainment – Netanya"


def test_national_deck(national: bytes, att: pd.DataFrame) -> None:
    _check_layout(national, YEAR, AS_OF)
    slides = list(_open(national).slides)
    titles = [_title(s) for s in slides]
    assert titles[:4] == ["עמידה ביעדים – תמונה ארצית", "סיכום עמידה ביעדים", "כרטיס ניקוד ארצי",
                          "דירוג היעדים: שיעור הרשויות ביעד"]  # fmt: skip
    assert "דירוג רשויות – מפגשי שולחן עגול" in titles
    assert titles[-1] == "רשויות שדורשות תשומת לב"
    table = _table(slides[-1])
    expected = attention_table(att)
    assert [r[0] for r in table[1:]] == list(expected["locality_name"].head(14))
    assert "דימונה" in [r[0] for r in table[1:]]  # behind in the sample story
    assert "נתניה" not in [r[0] for r in table[1:]]
    summary = " ".join(_texts(slides[1]))
    rows = latest_periods(att)
    scored = rows[~rows["status"].isin(["info", "no_data"])]
    assert f"{scored['locality_code'].nunique()} רשויות שלחו נתונים" in summary


def test_locality_names_resolve(store: Store) -> None:
    assert find_authority(store, "קרית גת") == (2630, "קריית גת")
    assert find_authority(store, "Netanya")[0] == NETANYA
    assert find_authority(store, "משגב")[0] == 10056
    assert find_authority(store, "7400")[0] == NETANYA
    with pytest.raises(DeckError, match="לא נמצאה"):
        find_authority(store, "עיר שאינה קיימת")


def test_year_after_as_of_is_refused(store: Store) -> None:
    with pytest.raises(DeckError, match="2027"):
        locality_deck(store, NETANYA, 2027, AS_OF)


def test_pdf_has_the_hebrew_words_and_numbers(netanya: bytes, national: bytes, tmp_path: Path) -> None:
    for name, data, words in (
        ("netanya", netanya, ["עמידה ביעדים – נתניה", "מפגשי שולחן עגול", "לפחות 3", "סיכום עמידה ביעדים"]),
        ("national", national, ["כרטיס ניקוד ארצי", "רשויות שדורשות תשומת לב", "דימונה"]),
    ):
        pdf = deck_pdf(data)
        assert pdf.startswith(b"%PDF-")
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        text = BIDI_CONTROLS.sub("", text)
        for word in [*words, "2025", "15/01/2026"]:
            assert word in text, word
        pages = text.count("\f")
        assert pages == len(_open(data).slides)
