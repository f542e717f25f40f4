"""Pure value converters: what a locality typed in a cell -> a typed value, or a reason it is not one.

Every converter takes one raw cell value (as python-calamine or the CSV reader gives it: str, float,
int, bool, datetime.date/datetime or None) and returns `(value, error)` where exactly one is
meaningful. `error` is a pair (Hebrew, English) so the caller can build a bilingual Problem.
They are small and pure so they can be tested on inline data and applied once per *distinct*
value of a column (see `convert_column`), which is what keeps a 100,000-row load fast.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.registry import Category, categories, category_lookup, header_key, normalise_text

# Arrow memory for cleaning and the store rows comes from the C library's malloc, not pyarrow's
# default mimalloc: mimalloc's fresh mappings sometimes cost the kernel 20-60 ms of system time
# in one dictionary_encode or to_pandas (measured on the 100,000-row benchmark: a third of the
# runs), malloc's never did. Passed to every Arrow call in ingest (memory_pool=...).
ARROW_POOL = pa.system_memory_pool()

Error = tuple[str, str] | None
Converted = tuple[Any, Error]

EXCEL_EPOCH = dt.date(1899, 12, 30)
MIN_DATE = dt.date(2000, 1, 1)
MAX_YEAR_AHEAD = 2  # dates up to two years ahead are plans; later ones are typos
# Bare numbers in a date column are Excel serials only in this range (1954-2119).
SERIAL_RANGE = (20000, 80000)

HEBREW_MONTHS = {
    "ינואר": 1,
    "פברואר": 2,
    "מרץ": 3,
    "מרס": 3,
    "אפריל": 4,
    "מאי": 5,
    "יוני": 6,
    "יולי": 7,
    "אוגוסט": 8,
    "ספטמבר": 9,
    "אוקטובר": 10,
    "נובמבר": 11,
    "דצמבר": 12,
}
ENGLISH_MONTHS = {
    m.lower(): i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}
HEBREW_LETTER_NUMBERS = {"א": 1, "ב": 2, "ג": 3, "ד": 4}

TRUE_WORDS = {"כן", "v", "✓", "✔", "yes", "y", "true", "1", "+", "x̄", "יש", "כ", "קיים", "בוצע"}
FALSE_WORDS = {"לא", "x", "✗", "✘", "no", "n", "false", "0", "-", "אין", "ל", "לא קיים", "לא בוצע"}

TOTAL_WORDS = ('סה"כ', "סהכ", "סך הכל", "סך הכול", "total", "totals", "grand total")
TOTAL_WHOLE_CELL = ("סיכום", "סיכומים", "summary", "sum")
_TOTAL_INITIALS = frozenset("סTtGgSs\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# Excel's (and LibreOffice's) error values: what a failed formula leaves in a cell.
EXCEL_ERROR = re.compile(
    r"#(?:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA|SPILL!|CALC!|FIELD!|BLOCKED!|CONNECT!"
    r"|BUSY!|UNKNOWN!|EXTERNAL!|PYTHON!)|Err:\d{3}"
)
MAX_CELL_CHARS = 32_767  # Excel's own limit per cell: anything longer is not a value someone typed


def cell_error(value: object) -> Error:
    """Why no converter should take this cell: an Excel error value, or text longer than a cell holds.

    Without this a #DIV/0! in a text column would be stored as text, and calamine's '' for it
    would pass as an empty cell.
    """
    if type(value) is not str:
        return None
    if len(value) > MAX_CELL_CHARS:
        return (
            f"התא מכיל {len(value):,} תווים; ב-Excel תא מכיל עד {MAX_CELL_CHARS:,}",
            f"the cell holds {len(value):,} characters; an Excel cell holds at most {MAX_CELL_CHARS:,}",
        )
    text = value.strip()
    if text[:1] in ("#", "E") and EXCEL_ERROR.fullmatch(text):
        return (
            f"בתא ערך שגיאה של Excel ({text}): הנוסחה שבו נכשלה. תקנו את הנוסחה או הקלידו את הערך",
            f"the cell holds an Excel error value ({text}): its formula failed. Fix the formula or type "
            "the value",
        )
    return None


def cell_error_mask(uniques: np.ndarray | list, strings: pa.Array | None = None) -> np.ndarray:
    """True where cell_error refuses a value: for fast paths that skip the converter."""
    if len(uniques) >= FAST_PATH_MIN:
        # Only text whose first non-space character is '#' or 'E', or that is over-long, can be
        # refused: find those candidates over the whole column at once, check them in Python.
        strings = arrow_strings(uniques) if strings is None else strings
        candidates = pc.or_(
            pc.match_substring_regex(strings, r"^[^\p{L}\p{N}!-~]*[#E]", memory_pool=ARROW_POOL),
            pc.greater(
                pc.utf8_length(strings, memory_pool=ARROW_POOL), MAX_CELL_CHARS, memory_pool=ARROW_POOL
            ),
            memory_pool=ARROW_POOL,
        ).to_numpy(zero_copy_only=False)
        mask = np.zeros(len(uniques), dtype=bool)
        for i in np.flatnonzero(candidates):
            mask[i] = cell_error(uniques[i]) is not None
        return mask
    return np.fromiter(
        (
            type(u) is str
            and (len(u) > MAX_CELL_CHARS or (u.lstrip()[:1] in ("#", "E") and bool(cell_error(u))))
            for u in uniques
        ),
        dtype=bool,
        count=len(uniques),
    )


def guarded(converter: Callable[[object], Converted]) -> Callable[[object], Converted]:
    """The converter, refusing error values and over-long text first (see cell_error)."""

    def convert(value: object) -> Converted:
        err = cell_error(value)
        return (None, err) if err is not None else converter(value)

    return convert


def is_blank(value: object) -> bool:
    """Empty cell: None, NaN, or only spaces."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def is_total_label(value: object) -> bool:
    """A cell that marks a totals row: 'סה"כ', 'סה"כ משתתפים', 'Total', or exactly 'סיכום'.

    A topic such as 'סיכום שנה ותכנון' is data, so 'סיכום' counts only as the whole cell.
    """
    if not isinstance(value, str):
        return False
    head = value.lstrip()[:1]
    if not head or head not in _TOTAL_INITIALS:
        return False
    text = normalise_text(value).lower().rstrip(":")
    if text in TOTAL_WHOLE_CELL:
        return True
    return any(text == word or text.startswith((word + " ", word + ":")) for word in TOTAL_WORDS)


def clean_text(value: object) -> Converted:
    """Trimmed text with normalised apostrophes, quotes and spaces; numbers lose a trailing '.0'."""
    if is_blank(value):
        return None, None
    if isinstance(value, float) and value.is_integer():
        return str(int(value)), None
    if isinstance(value, dt.datetime):
        return value.date().isoformat(), None
    if isinstance(value, dt.date):
        return value.isoformat(), None
    return normalise_text(str(value)), None


def _date_in_range(day: dt.date, raw: object, today: dt.date | None = None) -> Converted:
    today = today or dt.date.today()
    last = today.year + MAX_YEAR_AHEAD
    if day < MIN_DATE or day.year > last:
        return None, (
            f"התאריך {day.strftime('%d/%m/%Y')} מחוץ לטווח הסביר ({MIN_DATE.year}–{last})",
            f"date {day.isoformat()} is outside the sane range ({MIN_DATE.year}-{last})",
        )
    return day, None


def _year(text: str) -> int:
    y = int(text)
    if y < 100:
        y += 2000 if y < 70 else 1900
    return y


_DMY = re.compile(r"^(\d{1,2})\s*[./\-\\]\s*(\d{1,2})\s*[./\-\\]\s*(\d{2}|\d{4})$")
_YMD = re.compile(r"^(\d{4})\s*[./\-]\s*(\d{1,2})\s*[./\-]\s*(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_DMY_TIME = re.compile(r"^(\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4})\s+\d{1,2}:\d{2}(?::\d{2})?$")
_WORDS_DATE = re.compile(r"^(\d{1,2})?\s*(?:ב|ל|-)?\s*([^\d\s,]+)\s*,?\s*(\d{2}|\d{4})$")


def _month_number(word: str) -> int | None:
    word = word.strip().strip(".").lower()
    if word in HEBREW_MONTHS:
        return HEBREW_MONTHS[word]
    if word.startswith(("ב", "ל")) and word[1:] in HEBREW_MONTHS:
        return HEBREW_MONTHS[word[1:]]
    return ENGLISH_MONTHS.get(word)


def parse_date(value: object, today: dt.date | None = None) -> Converted:
    """Excel dates, bare serials, and typed text: 29/01/2017, 29.1.17, 2017-01-29, 29 בינואר 2017."""
    if is_blank(value):
        return None, None
    if isinstance(value, dt.datetime):
        return _date_in_range(value.date(), value, today)
    if isinstance(value, dt.date):
        return _date_in_range(value, value, today)
    if isinstance(value, bool):
        return None, _bad_date(value)
    if isinstance(value, int | float):
        if SERIAL_RANGE[0] <= value <= SERIAL_RANGE[1]:
            return _date_in_range(EXCEL_EPOCH + dt.timedelta(days=int(value)), value, today)
        return None, _bad_date(value)
    text = normalise_text(str(value))
    if m := _DMY_TIME.match(text):
        text = m.group(1)
    try:
        if m := _DMY.match(text):
            day = dt.date(_year(m.group(3)), int(m.group(2)), int(m.group(1)))
            return _date_in_range(day, value, today)
        if m := _YMD.match(text):
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            return _date_in_range(day, value, today)
        if m := _WORDS_DATE.match(text):
            month = _month_number(m.group(2))
            if month is not None:
                day = dt.date(_year(m.group(3)), month, int(m.group(1) or 1))
                return _date_in_range(day, value, today)
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return parse_date(float(text), today)
    except ValueError:
        pass
    return None, _bad_date(value)


def _bad_date(value: object) -> Error:
    return (
        f"'{value}' אינו תאריך מוכר (למשל 29/01/2025)",
        f"'{value}' is not a recognised date (e.g. 29/01/2025)",
    )


@dataclass(frozen=True)
class Period:
    """A reporting period as stored: '2025-03' (month), '2025-Q1' (quarter) or '2025' (year)."""

    label: str
    kind: str
    start: dt.date
    end: dt.date


def month_period(year: int, month: int) -> Period:
    """The calendar month as a Period."""
    start = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return Period(f"{year}-{month:02d}", "month", start, nxt - dt.timedelta(days=1))


def quarter_period(year: int, quarter: int) -> Period:
    """The calendar quarter as a Period."""
    start = dt.date(year, 3 * quarter - 2, 1)
    end = month_period(year, 3 * quarter).end
    return Period(f"{year}-Q{quarter}", "quarter", start, end)


def year_period(year: int) -> Period:
    """The calendar year as a Period."""
    return Period(str(year), "year", dt.date(year, 1, 1), dt.date(year, 12, 31))


_QUARTER = [
    re.compile(r"^(?:q|רבעון|רבע|quarter)\s*([1-4אבגד])'?\s*[-/,]?\s*(\d{4})$"),
    re.compile(r"^(\d{4})\s*[-/,]?\s*(?:q|רבעון|רבע|quarter)\s*([1-4אבגד])'?$"),
    re.compile(r"^([1-4])\s*q\s*(\d{4})$"),
]
_MONTH_NUM = [re.compile(r"^(\d{1,2})\s*[./\-]\s*(\d{4})$"), re.compile(r"^(\d{4})\s*[./\-]\s*(\d{1,2})$")]


def parse_period(value: object) -> Converted:
    """A month, a quarter ('Q1 2025', 'רבעון 1 2025', '2025-Q1') or a year (2025)."""
    if is_blank(value):
        return None, None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return month_period(value.year, value.month), None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 2000 <= value <= 2100:
            return year_period(int(value)), None
        day, _err = parse_date(value)
        if day is not None:
            return month_period(day.year, day.month), None
        return None, _bad_period(value)
    text = normalise_text(str(value)).lower().replace("'", "")
    if re.fullmatch(r"(?:שנת\s*)?(\d{4})", text):
        return year_period(int(text[-4:])), None
    for pattern in _QUARTER:
        if m := pattern.match(text):
            a, b = m.groups()
            q, y = (a, b) if len(b) == 4 else (b, a)
            quarter = HEBREW_LETTER_NUMBERS.get(q) or int(q)
            return quarter_period(int(y), quarter), None
    for i, pattern in enumerate(_MONTH_NUM):
        if m := pattern.match(text):
            month, year = (int(m.group(1)), int(m.group(2))) if i == 0 else (int(m.group(2)), int(m.group(1)))
            if 1 <= month <= 12:
                return month_period(year, month), None
    if m := re.fullmatch(r"([^\d\s]+)\s*,?\s*(\d{2}|\d{4})", text):
        month = _month_number(m.group(1))
        if month is not None:
            return month_period(_year(m.group(2)), month), None
    day, _ = parse_date(value)
    if day is not None:
        return month_period(day.year, day.month), None
    return None, _bad_period(value)


def _bad_period(value: object) -> Error:
    return (
        f"'{value}' אינה תקופה מוכרת (חודש 03/2025, רבעון 'רבעון 1 2025' או שנה 2025)",
        f"'{value}' is not a recognised period (month 03/2025, quarter 'Q1 2025' or year 2025)",
    )


_NUMBER_JUNK = re.compile(r'[₪$€\s\u00a0]|ש"ח|שח|nis|ils', re.IGNORECASE)


def parse_number(value: object) -> Converted:
    """Numbers, also as text with thousands separators, ₪, ש"ח or % ('1,234.5 ₪' -> 1234.5)."""
    if is_blank(value):
        return None, None
    if isinstance(value, bool):
        return None, _bad_number(value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None, _bad_number(value)
        return float(value), None
    text = _NUMBER_JUNK.sub("", normalise_text(str(value)))
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()").rstrip("%")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    elif re.fullmatch(r"-?\d+,\d{1,2}", text):  # decimal comma
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None, _bad_number(value)
    if not math.isfinite(number):
        return None, _bad_number(value)
    return (-number if negative else number), None


def _bad_number(value: object) -> Error:
    return (f"'{value}' אינו מספר", f"'{value}' is not a number")


def parse_int(value: object) -> Converted:
    """A whole number (a count): 12, '12', '1,200'; 12.5 is an error."""
    number, err = parse_number(value)
    if err or number is None:
        return number, err
    if not float(number).is_integer():
        return None, (f"'{value}' אינו מספר שלם", f"'{value}' is not a whole number")
    return int(number), None


def parse_year(value: object) -> Converted:
    """A calendar year: 2025, '2025', 'שנת 2025', or a date's year."""
    if is_blank(value):
        return None, None
    if isinstance(value, dt.date):
        return value.year, None
    text = normalise_text(str(value))
    m = re.fullmatch(r"(?:שנת\s*)?(\d{4})(?:\.0)?", text)
    if m and 2000 <= int(m.group(1)) <= 2100:
        return int(m.group(1)), None
    return None, (f"'{value}' אינה שנה (למשל 2025)", f"'{value}' is not a year (e.g. 2025)")


def parse_bool(value: object) -> Converted:
    """Yes/no as כן/לא, v/x, ✓/✗, yes/no, 1/0."""
    if is_blank(value):
        return None, None
    if isinstance(value, bool):
        return value, None
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value), None
        return None, _bad_bool(value)
    text = normalise_text(str(value)).lower().strip(".!")
    if text in TRUE_WORDS:
        return True, None
    if text in FALSE_WORDS:
        return False, None
    return None, _bad_bool(value)


def _bad_bool(value: object) -> Error:
    return (f"'{value}' אינו כן/לא", f"'{value}' is not yes/no")


def category_parser(set_name: str) -> Callable[[object], Converted]:
    """A converter mapping any known spelling of a category to its code."""
    lookup = category_lookup(set_name)
    cats: dict[str, Category] = categories()[set_name]
    allowed_he = ", ".join(c.he for c in cats.values())
    allowed_en = ", ".join(c.en for c in cats.values())

    def parse(value: object) -> Converted:
        if is_blank(value):
            return None, None
        code = lookup.get(header_key(value))
        if code is None:
            return None, (
                f"'{value}' אינו ערך מוכר. ערכים אפשריים: {allowed_he}",
                f"'{value}' is not a known value. Allowed: {allowed_en}",
            )
        return code, None

    return parse


# Text that normalise_text / clean_text return unchanged: printable ASCII (but the backtick, an
# apostrophe variant) and Hebrew letters, in words separated by single spaces, nothing around them.
# Such text is NFC and has nothing to fold, trim or collapse. Checked with Arrow's regex engine over
# a whole column at once, so a column of 100,000 distinct names costs milliseconds, not a Python
# call per name; everything else still goes through the Python converter.
_PLAIN_WORD = r"[!-_a-~\x{05D0}-\x{05EA}]+"
_PLAIN_TEXT = f"^{_PLAIN_WORD}(?: {_PLAIN_WORD})*$"
FAST_PATH_MIN = 256  # below this many distinct values the Python path is as fast


def plain_text_mask(uniques: np.ndarray | list, strings: pa.Array | None = None) -> np.ndarray:
    """True where a value is a str that `normalise_text` (and `clean_text`) return unchanged.

    A conservative precheck: False means "not known to be plain" (non-strings, blanks, quotes to
    fold, odd spaces, niqqud, bidi marks, ...), never "needs no work".
    """
    n = len(uniques)
    if n < FAST_PATH_MIN:
        return np.zeros(n, dtype=bool)
    strings = arrow_strings(uniques) if strings is None else strings
    return pc.match_substring_regex(strings, _PLAIN_TEXT, memory_pool=ARROW_POOL).to_numpy(
        zero_copy_only=False
    )


def arrow_strings(uniques: np.ndarray | list) -> pa.Array:
    """The values as an Arrow string array, anything that is not a str as '' (for the prechecks)."""
    try:
        strings = pa.array(uniques, memory_pool=ARROW_POOL)  # all str (the common case): one C loop
        if strings.type == pa.string() and not strings.null_count and len(strings) == len(uniques):
            return strings
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    return pa.array([u if type(u) is str else "" for u in uniques], type=pa.string(), memory_pool=ARROW_POOL)


def plain_total_candidates(
    uniques: np.ndarray | list, plain: np.ndarray, strings: pa.Array | None = None
) -> np.ndarray:
    """Among plain text (plain_text_mask), the values whose first letter could start a totals label.

    Plain text has no leading space or bidi mark, so is_total_label's first test is its first
    character; only these candidates need is_total_label itself.
    """
    if not plain.any():
        return plain
    initials = "".join(sorted(c for c in _TOTAL_INITIALS if c.isalpha()))
    strings = arrow_strings(uniques) if strings is None else strings
    starts = pc.match_substring_regex(strings, f"^[{initials}]", memory_pool=ARROW_POOL)
    starts = starts.to_numpy(zero_copy_only=False)
    return plain & starts


def convert_uniques(
    codes: np.ndarray,
    uniques: np.ndarray,
    converter: Callable[[object], Converted],
    identity: np.ndarray | None = None,
    memo: dict | None = None,
) -> tuple[np.ndarray, dict[int, Error]]:
    """Convert the distinct values `codes` uses -> (converted uniques + a trailing None, {unique: error}).

    `converted[codes]` is the converted column (code -1, an empty cell, picks the trailing None).
    `identity` marks uniques the converter is known to return unchanged without error (see
    plain_text_mask); they are copied instead of converted. `memo` (memo_key -> converter's
    result) keeps conversions for the next call with the same converter: the row ranges of a
    large sheet repeat each other's dates and numbers.
    """
    out_uniques = np.empty(len(uniques) + 1, dtype=object)
    out_uniques[-1] = None
    bad: dict[int, Error] = {}
    present = np.zeros(len(uniques) + 1, dtype=bool)
    present[codes] = True
    present = present[:-1]
    if identity is not None and identity.any():
        out_uniques[:-1][identity] = uniques[identity]
        present &= ~identity
    for i in np.flatnonzero(present):
        raw = uniques[i]
        if memo is None:
            value, err = converter(raw)
        else:
            key = memo_key(raw)
            found = memo.get(key)
            if found is None:
                found = memo[key] = converter(raw)
            value, err = found
        out_uniques[i] = value
        if err is not None:
            bad[int(i)] = err
    return out_uniques, bad


def memo_key(value: object) -> tuple:
    """A key that only the same value of the same type shares (1, 1.0 and True are equal in Python,
    and so are 0.0 and -0.0: a converter may tell them apart)."""
    if type(value) is float:
        return (float, value.hex())
    return (type(value), value)


def rows_with_errors(codes: np.ndarray, bad: dict[int, Error]) -> dict[int, Error]:
    """{row index: error} for the rows whose code is a failed unique (one pass, however many)."""
    if not bad:
        return {}
    failed = np.fromiter(bad, dtype=np.int64, count=len(bad))
    rows = np.flatnonzero(np.isin(codes, failed))
    return {int(r): bad[int(codes[r])] for r in rows}


def convert_factorized(
    codes: np.ndarray,
    uniques: np.ndarray,
    converter: Callable[[object], Converted],
    identity: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[int, Error]]:
    """Like convert_column, for a column already factorized (codes index uniques, -1 = empty)."""
    out_uniques, bad = convert_uniques(codes, uniques, converter, identity)
    return out_uniques[codes], rows_with_errors(codes, bad)


def convert_column(
    values: list | np.ndarray, converter: Callable[[object], Converted]
) -> tuple[np.ndarray, dict[int, Error]]:
    """Apply `converter` once per distinct value; returns (converted values, {row index: error}).

    Spreadsheets repeat themselves (localities, categories, dates), so converting distinct values and
    mapping back is what makes cleaning cost proportional to variety, not to rows.
    """
    series = pd.Series(values, dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    out_uniques = np.empty(len(uniques) + 1, dtype=object)
    out_uniques[-1] = None  # the NA sentinel (-1) maps to the last slot
    bad: dict[int, Error] = {}
    for i, raw in enumerate(uniques):
        # factorize folds 1 and 1.0 and True together; that is harmless for every converter here.
        value, err = converter(raw)
        out_uniques[i] = value
        if err is not None:
            bad[i] = err
    return out_uniques[codes], rows_with_errors(codes, bad)
