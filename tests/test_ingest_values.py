"""Pure converters and locality keys on tiny inline data."""

from __future__ import annotations

import datetime as dt

import pytest

from ingest import values as V
from ingest.localities import locality_key, split_regional


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (dt.date(2025, 1, 29), dt.date(2025, 1, 29)),
        (dt.datetime(2025, 1, 29, 10, 30), dt.date(2025, 1, 29)),
        (45686.0, dt.date(2025, 1, 29)),
        ("29/01/2025", dt.date(2025, 1, 29)),
        ("29.1.25", dt.date(2025, 1, 29)),
        ("29-1-2025", dt.date(2025, 1, 29)),
        ("2025-01-29", dt.date(2025, 1, 29)),
        ("2025-01-29 00:00:00", dt.date(2025, 1, 29)),
        ("29 בינואר 2025", dt.date(2025, 1, 29)),
        ("29 ינואר 2025", dt.date(2025, 1, 29)),
        ("3 March 2025", dt.date(2025, 3, 3)),
        ("45686", dt.date(2025, 1, 29)),
        (None, None),
        ("  ", None),
    ],
)
def test_parse_date_accepts_what_people_type(raw, expected):
    value, err = V.parse_date(raw, today=dt.date(2025, 11, 1))
    assert err is None
    assert value == expected


@pytest.mark.parametrize("raw", ["31/02/2025", "אתמול", "1/1/1990", "1/1/2040", 12.5, True])
def test_parse_date_rejects_with_bilingual_message(raw):
    value, err = V.parse_date(raw, today=dt.date(2025, 11, 1))
    assert value is None
    he, en = err
    assert he and en and he != en


@pytest.mark.parametrize(
    ("raw", "label", "kind"),
    [
        ("Q1 2025", "2025-Q1", "quarter"),
        ("2025 Q3", "2025-Q3", "quarter"),
        ("רבעון 2 2025", "2025-Q2", "quarter"),
        ("רבעון ב' 2025", "2025-Q2", "quarter"),
        ("03/2025", "2025-03", "month"),
        ("2025-03", "2025-03", "month"),
        ("מרץ 2025", "2025-03", "month"),
        (dt.date(2025, 3, 15), "2025-03", "month"),
        (2025.0, "2025", "year"),
        ("שנת 2025", "2025", "year"),
    ],
)
def test_parse_period(raw, label, kind):
    period, err = V.parse_period(raw)
    assert err is None
    assert (period.label, period.kind) == (label, kind)


def test_quarter_bounds():
    q = V.quarter_period(2025, 4)
    assert (q.start, q.end) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    assert V.month_period(2024, 2).end == dt.date(2024, 2, 29)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.5", 1234.5),
        ("₪ 12,000", 12000.0),
        ('5,000 ש"ח', 5000.0),
        ("50%", 50.0),
        ("(100)", -100.0),
        (7.0, 7.0),
        ("3,5", 3.5),
        (" 42 ", 42.0),
    ],
)
def test_parse_number(raw, expected):
    assert V.parse_number(raw) == (expected, None)


def test_parse_int_refuses_fractions_and_text():
    assert V.parse_int("1,200") == (1200, None)
    assert V.parse_int(12.0) == (12, None)
    assert V.parse_int(12.5)[1] is not None
    assert V.parse_int("שנים עשר")[1] is not None


@pytest.mark.parametrize("raw", ["כן", "V", "v", "✓", "yes", "TRUE", 1.0, True, "יש"])
def test_yes(raw):
    assert V.parse_bool(raw) == (True, None)


@pytest.mark.parametrize("raw", ["לא", "X", "x", "no", 0.0, False, "אין", "-"])
def test_no(raw):
    assert V.parse_bool(raw) == (False, None)


def test_bool_unknown_is_error():
    assert V.parse_bool("אולי")[1] is not None


def test_categories_map_spellings_and_list_allowed_values():
    parse = V.category_parser("operator")
    assert parse("ג׳וינט") == ("jdc", None)
    assert parse("גוינט") == ("jdc", None)
    assert parse("JDC") == ("jdc", None)
    assert parse("עירייה") == ("authority", None)
    value, (he, en) = parse("חברת חשמל")
    assert value is None and "ג'וינט" in he and "JDC" in en


def test_text_is_trimmed_and_quotes_folded():
    assert V.clean_text("  מתנ״ס   העיר ") == ('מתנ"ס העיר', None)
    assert V.clean_text(12.0) == ("12", None)


def test_totals_labels():
    assert V.is_total_label('סה"כ')
    assert V.is_total_label("סה״כ משתתפים")
    assert V.is_total_label("Total")
    assert not V.is_total_label("סדנה")
    assert V.is_total_label("סיכום")
    assert not V.is_total_label("סיכום שנה ותכנון")  # a meeting topic, not a totals row


def test_convert_column_converts_each_distinct_value_once():
    calls = []

    def conv(v):
        calls.append(v)
        return V.parse_int(v)

    out, errors = V.convert_column(["1", "1", "x", None, "1"], conv)
    assert list(out) == [1, 1, None, None, 1]
    assert set(errors) == {2}
    assert sorted(map(str, calls)) == ["1", "x"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ק. גת", "קריית גת"),
        ("קרית גת", "קריית גת"),
        ("קריית-גת", "קריית גת"),
        ("עיריית נתניה", "נתניה"),
        ("ג׳סר א-זרקא", "ג'סר א-זרקא"),
    ],
)
def test_locality_key_folds_variants(a, b):
    assert locality_key(a) == locality_key(b)


def test_split_regional():
    assert split_regional("מ.א. משגב") == ("משגב", True)
    assert split_regional("מועצה אזורית משגב") == ("משגב", True)
    assert split_regional("משגב") == ("משגב", False)
