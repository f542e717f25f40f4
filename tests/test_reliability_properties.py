"""Property-based tests (hypothesis) for the normalisation every import depends on: headers, dates,
numbers and locality names. Example counts are moderate so the whole file stays a few seconds."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.localities import LocalityResolver
from ingest.registry import datasets, header_key, normalise_text
from ingest.values import EXCEL_EPOCH, HEBREW_MONTHS, parse_date, parse_number
from store.reference import build_tables, read_reference
from tests.hostile_corpus import stored_text_is_clean

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TODAY = dt.date(2026, 11, 1)
INVISIBLE = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c\u200b\ufeff\x00\x07\x1b"

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=40,
)
hebrew_words = st.lists(
    st.text(alphabet=st.characters(min_codepoint=0x05D0, max_codepoint=0x05EA), min_size=1, max_size=8),
    min_size=1,
    max_size=4,
).map(" ".join)


def _sprinkle(draw: st.DrawFn, value: str) -> str:
    """Insert invisible characters and extra spaces at random places."""
    out = []
    for ch in value:
        if draw(st.booleans()):
            out.append(draw(st.sampled_from(INVISIBLE)))
        out.append(ch + (" " if ch == " " and draw(st.booleans()) else ""))
    return (
        draw(st.sampled_from(["", " ", "\t", "\u00a0"]))
        + "".join(out)
        + draw(st.sampled_from(["", " ", "\n"]))
    )


# -- headers and text ---------------------------------------------------------------------------------
@FAST
@given(text)
def test_normalise_text_is_idempotent_and_leaves_no_invisible_characters(value):
    once = normalise_text(value)
    assert normalise_text(once) == once
    assert header_key(header_key(value)) == header_key(value)
    assert stored_text_is_clean(once)
    assert once == once.strip() and "  " not in once


@FAST
@given(st.data(), hebrew_words)
def test_invisible_characters_and_spacing_do_not_change_a_header(data, header):
    noisy = _sprinkle(data.draw, header)
    assert header_key(noisy) == header_key(header)
    assert normalise_text(noisy) == normalise_text(header)


@cache
def _registered_headers() -> list[tuple[str, str]]:
    out = []
    for ds in datasets().values():
        for col in ds.columns:
            for h in (col.he, col.en, *col.synonyms):
                out.append((h, ds.name))
    return out


@FAST
@given(st.data())
def test_every_registered_header_still_matches_with_noise_case_and_quotes(data):
    header, _ = data.draw(st.sampled_from(_registered_headers()))
    variant = _sprinkle(data.draw, header)
    if data.draw(st.booleans()):
        variant = variant.upper()
    variant = variant.replace('"', data.draw(st.sampled_from(['"', "״", "”"])))
    assert header_key(variant) == header_key(header)


# -- dates --------------------------------------------------------------------------------------------
dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2028, 12, 31))
MONTH_NAMES = {m: n for n, m in reversed(list(HEBREW_MONTHS.items()))}  # מרץ over מרס


@FAST
@given(
    dates,
    st.sampled_from(["dd/mm/yyyy", "d.m.yy", "yyyy-mm-dd", "d/m/yyyy", "hebrew", "hebrew_b", "dd-mm-yyyy"]),
)
def test_dates_round_trip_in_every_written_form(day, form):
    written = {
        "dd/mm/yyyy": f"{day.day:02d}/{day.month:02d}/{day.year}",
        "d/m/yyyy": f"{day.day}/{day.month}/{day.year}",
        "dd-mm-yyyy": f"{day.day:02d}-{day.month:02d}-{day.year}",
        "d.m.yy": f"{day.day}.{day.month}.{day.year % 100:02d}",
        "yyyy-mm-dd": day.isoformat(),
        "hebrew": f"{day.day} {MONTH_NAMES[day.month]} {day.year}",
        "hebrew_b": f"{day.day} ב{MONTH_NAMES[day.month]} {day.year}",
    }[form]
    assert parse_date(written, today=TODAY) == (day, None), written
    assert parse_date(f" {written}\u200f ", today=TODAY) == (day, None)


@FAST
@given(dates)
def test_dates_as_excel_values_round_trip(day):
    serial = (day - EXCEL_EPOCH).days
    assert parse_date(float(serial), today=TODAY) == (day, None)
    assert parse_date(dt.datetime.combine(day, dt.time(13, 5)), today=TODAY) == (day, None)
    assert parse_date(day, today=TODAY) == (day, None)


@FAST
@given(st.integers(1, 31), st.integers(1, 12), st.integers(2000, 2028))
def test_impossible_dates_are_errors_not_guesses(d, m, y):
    try:
        dt.date(y, m, d)
    except ValueError:
        value, err = parse_date(f"{d:02d}/{m:02d}/{y}", today=TODAY)
        assert value is None and err is not None and str(d) in err[0]


# -- numbers ------------------------------------------------------------------------------------------
def _thousands(n: int) -> str:
    return f"{n:,}"


@FAST
@given(
    st.integers(0, 10**9),
    st.sampled_from([0, 5, 25, 50, 99]),
    st.sampled_from(["plain", "thousands", "shekel_before", "shekel_after", "sh_ch", "percent", "spaces"]),
    st.sampled_from(["", "minus", "parens"]),
)
def test_numbers_round_trip_with_separators_currency_percent_and_sign(whole, cents, form, sign):
    value = whole + cents / 100
    body = f"{whole:,}" if form != "plain" else str(whole)
    if cents:
        body += f".{cents:02d}"
    written = {
        "plain": body,
        "thousands": body,
        "shekel_before": f"₪ {body}",
        "shekel_after": f"{body} ₪",
        "sh_ch": f'{body} ש"ח',
        "percent": f"{body}%",
        "spaces": f"  {body}\u00a0",
    }[form]
    if sign == "minus":
        written, value = (
            ("-" + written if not written.startswith(("₪", " ")) else written.replace(body, "-" + body)),
            -value,
        )
    elif sign == "parens":
        written, value = f"({written})", -value
    got, err = parse_number(written)
    assert err is None, written
    assert abs(got - value) < 1e-6, (written, got, value)


@FAST
@given(st.text(alphabet="abcxyz!?#", min_size=1, max_size=6))
def test_words_are_not_numbers(word):
    assert parse_number(word)[0] is None


# -- localities ---------------------------------------------------------------------------------------
@cache
def _resolver_and_authorities() -> tuple[LocalityResolver, list[tuple[int, str, str]]]:
    loc, auth = build_tables(read_reference())
    resolver = LocalityResolver.from_frames(loc, auth)
    rows = [
        (int(c), str(n), str(k)) for c, n, k in zip(auth["code"], auth["name"], auth["kind"], strict=True)
    ]
    return resolver, rows


@st.composite
def authority_variant(draw: st.DrawFn) -> tuple[int, str, str]:
    """An authority and a way a locality would write its name: קרית/קריית, hyphens, prefixes, noise."""
    _, rows = _resolver_and_authorities()
    code, name, kind = draw(st.sampled_from(rows))
    short = re.sub(r"^מועצה אזורית ", "", name)
    variant = short
    if "קריית" in variant and draw(st.booleans()):
        variant = variant.replace("קריית", draw(st.sampled_from(["קרית", "ק."])), 1)
    if "-" in variant and draw(st.booleans()):
        variant = variant.replace("-", draw(st.sampled_from([" ", " - ", "־"])))
    if kind == "regional_council":
        variant = draw(st.sampled_from(["מ.א. ", 'מ"א ', "מועצה אזורית ", "מועצה איזורית "])) + variant
    elif kind == "city" and draw(st.booleans()):
        variant = draw(st.sampled_from(["עיריית ", "עירית "])) + variant
    elif kind == "local_council" and draw(st.booleans()):
        variant = "מועצה מקומית " + variant
    variant = _sprinkle(draw, variant)
    return code, name, variant


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(authority_variant())
def test_every_authority_resolves_from_its_variants(case):
    code, name, variant = case
    resolver, _ = _resolver_and_authorities()
    res = resolver.resolve(variant)
    assert res.authority_code == code, (name, variant, res)
