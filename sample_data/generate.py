"""Deterministic sample workbooks, shaped like the Excel files localities really send.

Default mode writes the committed demo data (11 authorities of the volunteering-coordination
program, 2023–2026) into `sample_data/workbooks/`: one workbook per locality plus
`national_attributes.xlsx`. The data tells a story (the `STORY` table below) so the dashboard has
something to show, and it carries the mess the importer must survive: title rows, totals rows,
header synonyms, dates typed as text, free spellings of locality names.

`--national` writes every authority (255) for ten years into a temporary folder, for benchmarks.

Everything comes from `random.Random` seeded with the seed and the locality, never from the clock,
so a run with the same seed writes the same cells (and, in default mode, the same bytes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import re
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from ingest.registry import categories, datasets

TODAY = dt.date(2026, 11, 22)
# The running year's sheets were last filled in mid-November.
DATA_UNTIL = dt.date(2026, 11, 15)
FIXED_TIMESTAMP = dt.datetime(2026, 11, 22, 9, 0, 0)
DEFAULT_SEED = 2026
DEFAULT_YEARS = range(2023, 2027)
NATIONAL_YEARS = range(2017, 2027)
HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
WORKBOOKS_DIR = HERE / "workbooks"
NATIONAL_FILE = "national_attributes.xlsx"
STALE_AFTER_DAYS = 183  # "update the program database every half year"

# One sheet per dataset, named the way localities name them.
SHEET_NAMES: dict[str, str] = {
    "programs": "תוכניות",
    "meetings": "נוכחות במפגשים",
    "partnerships": "שיתופי פעולה",
    "volunteers": "מתנדבים",
    "trainings": "הכשרות",
    "budgets": "תקציב",
    "clusters": "אשכולות",
}
ATTRIBUTES_SHEET = "מאפייני רשויות"
LOCALITY_DATASETS = tuple(SHEET_NAMES)
TOTALS_LABEL = 'סה"כ'
NOTES_HEADER = "הערות"  # an extra column the importer does not know; it must ignore it
COHORT_ATTRIBUTE = "מחזור"
PEER_GROUP_ATTRIBUTE = "קבוצת השוואה"


# --------------------------------------------------------------------------------------------
# Profiles: what is special about a locality, and the story table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How one locality behaves (goal counts) and how it writes its sheets (the mess).

    Yearly dicts missing a year are filled from `strength` by `complete_profile`, so a story
    locality can be generated for any range of years.
    """

    slug: str
    name: str  # the authority's canonical name (CBS list; regional councils "מועצה אזורית …")
    name_en: str
    cohort: str  # מחזור: א / ב
    peer_group: str
    strength: float  # 0..1, drives everything not spelled out below
    story: str = ""
    round_tables: dict[int, int] = field(default_factory=dict)  # distinct round-table meetings
    new_partnerships: dict[int, int] = field(default_factory=dict)
    trainings: dict[int, int] = field(default_factory=dict)  # workshops, study days, courses
    new_jdc_programs: dict[int, int] = field(default_factory=dict)
    needs_assessment: tuple[int, ...] = ()  # years with an איתור צרכים
    kind: str = "city"
    spellings: tuple[str, ...] = ()  # how the locality column is written (repeats weigh)
    settlements: tuple[str, ...] = ()  # settlements of a regional council named in some rows
    missing: tuple[str, ...] = ()  # datasets the locality sends no sheet for
    attendance: str = "people"  # "people": a row per participant; "counts": a row per meeting
    leading_team_days: int | None = None  # meeting cadence of the leading team; None: irregular
    volunteer_period: str = "quarter_en"  # quarter_en | quarter_he | month | year
    clusters: tuple[str, ...] = ()  # keys of CLUSTERS
    trio_gaps: dict[str, str] = field(default_factory=dict)  # cluster -> empty trio column
    headers: str = "canonical"  # canonical | A | B (HEADER_VARIANTS)
    title_rows: int = 0
    totals: tuple[str, ...] = ()  # datasets with a סה"כ row at the bottom
    text_dates: tuple[str, ...] = ()  # "slash" 29/01/2025, "dot" 29.1.25
    text_date_share: float = 0.0
    stale_programs: bool = False
    labels: dict[str, str] = field(default_factory=dict)  # "set.code" -> the spelling used
    omit: tuple[str, ...] = ()  # "dataset.column" the locality does not keep
    notes_column: bool = False
    trailing_spaces: bool = False

    @property
    def spellings_used(self) -> tuple[str, ...]:
        """The locality-column spellings, the canonical name when none are listed."""
        return self.spellings or (self.name,)


def _years(values: Iterable[int], start: int = 2023) -> dict[int, int]:
    return dict(zip(range(start, start + 4), values, strict=False))


NORTH_TOWNS = "ערי פיתוח בצפון"
SOUTH_TOWNS = "ערי פיתוח בדרום"
LARGE_CITIES = "ערים גדולות ובינוניות"
REGIONAL = "מועצות אזוריות"

STORY: tuple[Profile, ...] = (
    Profile(
        slug="netanya",
        name="נתניה",
        name_en="Netanya",
        cohort="א",
        peer_group=LARGE_CITIES,
        strength=0.95,
        story="Strong on every goal; round table widens to philanthropy and business by 2025",
        round_tables=_years([4, 4, 5, 4]),
        new_partnerships=_years([3, 2, 3, 2]),
        trainings=_years([4, 3, 4, 3]),
        new_jdc_programs=_years([1, 2, 1, 1]),
        needs_assessment=(2023, 2025),
        attendance="people",
        leading_team_days=28,
        volunteer_period="quarter_en",
        clusters=("emergency", "youth", "elderly"),
    ),
    Profile(
        slug="yokneam",
        name="יקנעם עילית",
        name_en="Yokneam Illit",
        cohort="ב",
        peer_group=NORTH_TOWNS,
        strength=0.9,
        story="Strong; writes its name יוקנעם; title row above every header",
        round_tables=_years([3, 4, 3, 3]),
        new_partnerships=_years([2, 3, 2, 2]),
        trainings=_years([3, 4, 3, 3]),
        new_jdc_programs=_years([1, 1, 2, 1]),
        needs_assessment=(2024,),
        spellings=("יוקנעם",),
        attendance="people",
        leading_team_days=35,
        volunteer_period="quarter_he",
        clusters=("youth", "special_needs"),
        title_rows=1,
        labels={"meeting_type.round_table": 'שולחן עגול מכב"י'},
    ),
    Profile(
        slug="kiryat_gat",
        name="קריית גת",
        name_en="Kiryat Gat",
        cohort="א",
        peer_group=LARGE_CITIES,
        strength=0.7,
        story="Improving every year; 2026 on pace (3 round tables by October); three spellings",
        round_tables=_years([1, 2, 3, 3]),
        new_partnerships=_years([1, 2, 2, 2]),
        trainings=_years([2, 3, 3, 3]),
        new_jdc_programs=_years([0, 1, 1, 1]),
        needs_assessment=(2025,),
        spellings=("קריית גת", "קרית גת", "קרית גת", "ק. גת"),
        attendance="people",
        leading_team_days=42,
        volunteer_period="quarter_en",
        clusters=("emergency", "elderly"),
    ),
    Profile(
        slug="afula",
        name="עפולה",
        name_en="Afula",
        cohort="א",
        peer_group=LARGE_CITIES,
        strength=0.6,
        story="Middle of the pack; synonym headers, two title rows, one meeting per row",
        round_tables=_years([2, 3, 2, 2]),
        new_partnerships=_years([2, 1, 2, 1]),
        trainings=_years([3, 2, 3, 2]),
        new_jdc_programs=_years([1, 0, 1, 0]),
        needs_assessment=(2023,),
        attendance="counts",
        leading_team_days=49,
        volunteer_period="quarter_he",
        clusters=("emergency", "youth"),
        trio_gaps={"youth": "ngo_rep"},
        headers="A",
        title_rows=2,
        totals=("budgets", "volunteers"),
        trailing_spaces=True,
    ),
    Profile(
        slug="hadera",
        name="חדרה",
        name_en="Hadera",
        cohort="א",
        peer_group=LARGE_CITIES,
        strength=0.65,
        story="Program list stale (last updated over half a year ago); slipping in 2026",
        round_tables=_years([3, 2, 3, 1]),
        new_partnerships=_years([2, 2, 1, 1]),
        trainings=_years([3, 3, 2, 1]),
        new_jdc_programs=_years([1, 1, 0, 0]),
        attendance="people",
        leading_team_days=56,
        volunteer_period="month",
        clusters=("elderly", "special_needs"),
        headers="A",
        title_rows=1,
        totals=("budgets", "volunteers", "programs"),
        stale_programs=True,
    ),
    Profile(
        slug="migdal_haemek",
        name="מגדל העמק",
        name_en="Migdal HaEmek",
        cohort="א",
        peer_group=NORTH_TOWNS,
        strength=0.55,
        story="Middle; peaked in 2025; keeps a notes column in its program list",
        round_tables=_years([1, 2, 3, 2]),
        new_partnerships=_years([1, 2, 2, 1]),
        trainings=_years([2, 3, 3, 2]),
        new_jdc_programs=_years([1, 0, 1, 1]),
        needs_assessment=(2024,),
        attendance="counts",
        leading_team_days=None,
        volunteer_period="quarter_en",
        clusters=("youth", "elderly"),
        totals=("trainings",),
        notes_column=True,
        labels={"meeting_type.leading_team": "צוות עבודה"},
    ),
    Profile(
        slug="sderot",
        name="שדרות",
        name_en="Sderot",
        cohort="א",
        peer_group=SOUTH_TOWNS,
        strength=0.5,
        story="No volunteers sheet at all (no data, not zero); some dates typed as text",
        round_tables=_years([2, 2, 1, 2]),
        new_partnerships=_years([2, 1, 1, 2]),
        trainings=_years([3, 2, 2, 2]),
        new_jdc_programs=_years([1, 1, 0, 1]),
        needs_assessment=(2024,),
        missing=("volunteers",),
        attendance="people",
        leading_team_days=None,
        clusters=("emergency",),
        text_dates=("slash",),
        text_date_share=0.3,
    ),
    Profile(
        slug="or_akiva",
        name="אור עקיבא",
        name_en="Or Akiva",
        cohort="ב",
        peer_group=NORTH_TOWNS,
        strength=0.4,
        story="No trainings sheet; yearly volunteer counts only (none yet for 2026)",
        round_tables=_years([1, 1, 2, 1]),
        new_partnerships=_years([1, 1, 1, 0]),
        trainings=_years([0, 0, 0, 0]),
        new_jdc_programs=_years([0, 1, 0, 0]),
        missing=("trainings",),
        attendance="counts",
        leading_team_days=None,
        volunteer_period="year",
        clusters=("elderly",),
        omit=("programs.participants",),
    ),
    Profile(
        slug="arad",
        name="ערד",
        name_en="Arad",
        cohort="ב",
        peer_group=SOUTH_TOWNS,
        strength=0.2,
        story="Behind: 0–1 round tables, few partnerships; dates typed as 29.1.25",
        round_tables=_years([0, 1, 1, 0]),
        new_partnerships=_years([0, 1, 0, 1]),
        trainings=_years([1, 1, 2, 0]),
        new_jdc_programs=_years([0, 0, 1, 0]),
        attendance="counts",
        leading_team_days=None,
        volunteer_period="quarter_en",
        clusters=("emergency",),
        trio_gaps={"emergency": "authority_rep"},
        totals=("budgets",),
        text_dates=("dot",),
        text_date_share=0.5,
        omit=("volunteers.hours", "partnerships.new_response"),
    ),
    Profile(
        slug="dimona",
        name="דימונה",
        name_en="Dimona",
        cohort="ב",
        peer_group=SOUTH_TOWNS,
        strength=0.25,
        story="Behind: no round table in 2025; budget mostly from the Ministry of Welfare",
        round_tables=_years([2, 1, 0, 1]),
        new_partnerships=_years([1, 0, 1, 0]),
        trainings=_years([1, 2, 1, 1]),
        new_jdc_programs=_years([1, 0, 0, 0]),
        attendance="counts",
        leading_team_days=None,
        volunteer_period="quarter_he",
        clusters=("special_needs",),
        trio_gaps={"special_needs": "ngo_rep"},
        headers="B",
        title_rows=1,
        totals=("budgets", "trainings", "meetings"),
        text_dates=("slash", "dot"),
        text_date_share=0.4,
        labels={"meeting_type.national_forum": "פורום", "meeting_type.leading_team": "צוות עבודה"},
        omit=("volunteers.hours",),
    ),
    Profile(
        slug="misgav",
        name="מועצה אזורית משגב",
        name_en="Misgav Regional Council",
        cohort="ב",
        peer_group=REGIONAL,
        strength=0.6,
        story="Mixed year to year; rows name settlements (יודפת, כמון, מורשת…) that roll up",
        round_tables=_years([3, 1, 4, 2]),
        new_partnerships=_years([2, 0, 3, 1]),
        trainings=_years([2, 1, 4, 2]),
        new_jdc_programs=_years([1, 0, 2, 0]),
        needs_assessment=(2025,),
        kind="regional_council",
        spellings=("מ.א. משגב", "מ.א. משגב", "מועצה אזורית משגב"),
        settlements=("יודפת", "כמון", "מורשת", "הררית", "לוטם", "עצמון שגב"),
        attendance="people",
        leading_team_days=35,
        volunteer_period="month",
        clusters=("settlements", "economic"),
        headers="B",
        text_dates=("slash",),
        text_date_share=0.2,
        labels={"operator.jdc": "ג'וינט ישראל", "program_status.phasing_out": "בשלבי יציאה"},
    ),
)
STORY_BY_SLUG: dict[str, Profile] = {p.slug: p for p in STORY}

# Header synonyms some localities use instead of the canonical `he` (all listed in datasets.yaml).
HEADER_VARIANTS: dict[str, dict[str, dict[str, str]]] = {
    "A": {
        "programs": {
            "locality": "רשות",
            "program_name": "שם תוכנית",
            "operator": "גורם מפעיל",
            "flagship": "דגל",
            "start_date": "תאריך פתיחה",
            "status": "מצב",
            "continuity_plan": "תכנית המשכיות",
            "participants": "מס' משתתפים",
            "last_updated": "תאריך עדכון",
        },
        "meetings": {
            "locality": "רשות",
            "meeting_date": "תאריך המפגש",
            "meeting_type": "סוג המפגש",
            "topic": "נושא המפגש",
            "participant_name": "שם המשתתף",
            "organisation": "ארגון/גוף",
            "participants": "מס' משתתפים",
        },
        "partnerships": {
            "locality": "רשות",
            "partnership_name": "שם שותפות",
            "partners": "גורמים שותפים",
            "start_date": "מועד התחלה",
            "level": "רמת שיתוף",
        },
        "volunteers": {
            "locality": "רשות",
            "cluster": "אשכול",
            "volunteers": "מס' מתנדבים",
            "new_volunteers": "חדשים",
            "hours": "שעות",
        },
        "trainings": {
            "locality": "רשות",
            "training_date": "תאריך ההכשרה",
            "topic": "נושא ההכשרה",
            "training_kind": "סוג הכשרה",
            "participants": "מספר משתתפים",
            "hours": "מספר שעות",
        },
        "budgets": {"locality": "רשות", "year": "שנת תקציב", "source": "מקור תקציב", "amount": 'סכום בש"ח'},
        "clusters": {
            "locality": "רשות",
            "cluster_name": "שם אשכול",
            "coordinator": "רכז/ת מתנדבים",
            "authority_rep": "נציג/ת רשות",
            "ngo_rep": "נציג/ת עמותה",
            "established": "מועד הקמה",
            "work_plan": "תכנית עבודה מאושרת",
        },
    },
    "B": {
        "programs": {"locality": "ישוב", "program_name": "שם התכנית", "participants": "משתתפים"},
        "meetings": {"locality": "ישוב", "participant_name": "שם מלא", "organisation": "גוף"},
        "partnerships": {"locality": "ישוב", "partnership_name": "שותפות", "level": "רמת שותפות"},
        "volunteers": {"locality": "ישוב", "cluster": "אשכול/תחום", "volunteers": "מתנדבים"},
        "trainings": {"locality": "ישוב", "training_kind": "סוג פעילות", "participants": "מס' משתתפים"},
        "budgets": {"locality": "ישוב", "source": "מקור מימון", "amount": "סכום"},
        "clusters": {
            "locality": "ישוב",
            "coordinator": "רכזת מתנדבים",
            "authority_rep": "נציגת רשות",
            "ngo_rep": "נציג קהילה",
            "work_plan": "תכנית עבודה",
        },
    },
}
# Outside the canonical headers, the period column is named after the period it counts.
PERIOD_HEADERS = {"quarter_en": "רבעון", "quarter_he": "רבעון", "month": "חודש", "year": "שנה"}


# --------------------------------------------------------------------------------------------
# Catalogs: the words the data is made of
# --------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "יוסי", "מיכל", "אבי", "רונית", "דוד", "שירה", "משה", "נועה", "אורית", "יעקב", "תמר", "אליהו",
    "סיגל", "עמית", "לימור", "חיים", "מירב", "רון", "אסתר", "גלית", "איתי", "ענבל", "שמעון", "הילה",
    "ניר", "רחל", "עומר", "דנה", "סמיר", "ראניה", "אחמד", "ולדימיר", "אולגה", "יפית", "מזל", "ברוך",
    "אורנה", "טל", "שלומית", "אלכס",
)  # fmt: skip
LAST_NAMES = (
    "כהן", "לוי", "מזרחי", "פרץ", "ביטון", "דהן", "אברהם", "פרידמן", "אזולאי", "מלכה", "חדד", "גבאי",
    "עמר", "שפירא", "בן דוד", "אוחיון", "יוסף", "קפלן", "וקנין", "אלון", "נחום", "סויסה", "חורי",
    "מנסור", "גרינברג", "ששון", "רוזן", "שלום", "בוזגלו", "אדלר",
)  # fmt: skip

# (organisation template, role) per sector; {town} is the authority's short name.
PEOPLE_BY_SECTOR: dict[str, tuple[tuple[str, str], ...]] = {
    "authority": (
        ("{rashut} – המחלקה לשירותים חברתיים", "מנהל/ת המחלקה לשירותים חברתיים"),
        ("{rashut} – יחידת ההתנדבות", "רכז/ת מתנדבים"),
        ("{rashut} – אגף החינוך", "מנהל/ת אגף החינוך"),
        ("{rashut} – היחידה לקידום נוער", "מנהל/ת היחידה לקידום נוער"),
        ("{rashut} – לשכת ראש הרשות", "סגן/ית ראש הרשות"),
        ("{rashut} – מחלקת אזרחים ותיקים", "עובד/ת קהילתי/ת"),
    ),
    "jdc": (
        ("ג'וינט ישראל – אשלים", "רכז/ת תוכנית"),
        ("ג'וינט ישראל – תבת", "מנהל/ת תוכנית"),
        ("ג'וינט ישראל – אלכא", "רכז/ת פיתוח קהילתי"),
    ),
    "government": (
        ("משרד הרווחה – מחוז", "מפקח/ת מחוזי/ת"),
        ("משרד ראש הממשלה", "נציג/ת השולחן העגול"),
    ),
    "ngo": (
        ("עמותת ידיים תומכות", "מנהל/ת עמותה"),
        ("עמותת גשר לקהילה", "רכז/ת פרויקטים"),
        ("מרכז המתנדבים המקומי", "מנהל/ת המרכז"),
        ("עמותת בית חם", "עובד/ת סוציאלי/ת"),
        ('מתנ"ס הקהילתי', 'מנהל/ת מתנ"ס'),
    ),
    "philanthropy": (("קרן משפחת שמש", "נציג/ת קרן"), ("קרן אור לקהילה", "מנהל/ת תוכניות")),
    "business": (("מפעל אלון תעשיות", "מנהל/ת משאבי אנוש"), ("רשת מרכולים אזורית", "מנהל/ת סניף")),
    "residents": (("ועד שכונה", 'יו"ר ועד'), ("נציגות תושבים", "פעיל/ת קהילה"), ("ועד הורים", "נציג/ת")),
}
POOL_SIZES = {"authority": 6, "jdc": 3, "government": 2, "ngo": 5, "philanthropy": 2, "business": 2}
POOL_SIZES["residents"] = 3
# The round table widens by phase (seed 000): A, then B, then C.
ROUND_TABLE_PHASES = (
    ("authority", "jdc"),
    ("authority", "jdc", "ngo", "government", "residents"),
    ("authority", "jdc", "ngo", "government", "residents", "philanthropy", "business"),
)

# (name, domain, target population, flagship)
JDC_PROGRAMS: tuple[tuple[str, str, str, bool], ...] = (
    ("קהילה תומכת", "אזרחים ותיקים", "אזרחים ותיקים בבית", True),
    ("מרכז הורים וילדים", "גיל הרך", "הורים לילדים עד גיל 6", True),
    ("מפתח – מרכז תעסוקה", "תעסוקה", "דורשי עבודה", True),
    ("שכונה תומכת", "אזרחים ותיקים", "אזרחים ותיקים", False),
    ("ותיקים בתנועה", "אזרחים ותיקים", "אזרחים ותיקים", False),
    ("מרכז צעירים", "צעירים", "צעירים 18–35", False),
    ("נתיבים להורות", "משפחה", "הורים במצבי סיכון", False),
    ("יוצאים לעצמאות", "צעירים", "צעירים יוצאי השמה חוץ-ביתית", True),
    ("עוצמה – העצמה כלכלית", "העצמה כלכלית", "משפחות בחובות", False),
    ("בית חם לנערות", "נוער", "נערות בסיכון", False),
    ("צעדים ראשונים", "גיל הרך", "משפחות עם תינוקות", False),
    ("מעגלי ותיקים", "אזרחים ותיקים", "ותיקים בודדים", False),
    ("תעסוקה שווה", "תעסוקה", "אנשים עם מוגבלות", False),
    ("גשר לקהילה", "צרכים מיוחדים", "אנשים עם מוגבלות", False),
    ("כישורים לחיים", "נוער", "נוער מנותק", False),
    ("מרחב משפחות", "משפחה", "משפחות", False),
    ("קהילות מתנדבות", "התנדבות", "תושבים", False),
    ("חוסן קהילתי בחירום", "חירום", "תושבים", True),
)
# (name, domain, target population, operator code)
OTHER_PROGRAMS: tuple[tuple[str, str, str, str], ...] = (
    ("מרכז קהילתי שכונתי", "קהילה", "תושבי השכונה", "authority"),
    ("מועדון נוער", "נוער", "בני נוער", "authority"),
    ("מוקד מתנדבים", "התנדבות", "מתנדבים", "authority"),
    ("חונכות סטודנטים", "חינוך", "תלמידים", "ngo"),
    ("בנק מזון קהילתי", "רווחה", "משפחות במצוקה", "ngo"),
    ("מועדון ותיקים", "אזרחים ותיקים", "אזרחים ותיקים", "ngo"),
    ("עיר ללא אלימות", "ביטחון קהילתי", "תושבים", "government"),
    ("תוכנית 360 לילדים ונוער", "ילדים ונוער", "ילדים ונוער בסיכון", "government"),
    ("עסקים למען הקהילה", "תעסוקה", "צעירים", "business"),
    ("מלגות לסטודנטים מתנדבים", "חינוך", "סטודנטים", "business"),
)
# (cumulative probability, program status) for programs at least six years old, and younger ones.
OLD_PROGRAM_STATUS = ((0.25, "phasing_out"), (0.4, "scaling_down"), (0.5, "ended"), (1.0, "active"))
YOUNG_PROGRAM_STATUS = ((0.08, "scaling_down"), (0.12, "ended"), (1.0, "active"))
# When a locality runs a program twice, the second is named after where it runs.
BRANCHES = ("– מרכז", "– צפון", "– דרום", "– מזרח", "– מערב", "– שלוחה ב'", "– שלוחה ג'")

# key -> (cluster name, domain)
CLUSTERS: dict[str, tuple[str, str]] = {
    "emergency": ("אשכול חירום וביטחון", "חירום וביטחון"),
    "youth": ("אשכול נוער", "נוער"),
    "special_needs": ("אשכול צרכים מיוחדים", "צרכים מיוחדים"),
    "elderly": ("אשכול אזרחים ותיקים", "אזרחים ותיקים"),
    "settlements": ("ליווי יישובים", "חוסן יישובי"),
    "economic": ("בחזרה לדרך המלך", "העצמה כלכלית"),
}

ROUND_TABLE_TOPICS = (
    "מיפוי צרכים ומענים בקהילה",
    "הצגת תוכניות הג'וינט ברשות",
    "תוכנית עבודה שנתית",
    "שיתופי פעולה בין תוכניות",
    "היערכות לחירום",
    "גיוס משאבים ופילנתרופיה",
    "סיכום שנה ותכנון",
)
LEADING_TEAM_TOPICS = ("מעקב משימות", "הכנת שולחן עגול", "מיפוי משאבים", "תוצר: מדריך שירותים")
STEERING_TOPICS = ("אישור תוכנית עבודה", "דיווח התקדמות ויעדים", "תקציב ומקורות")
FORUM_TOPICS = ("מפגש עבודה ארצי", "למידת עמיתים", "התנדבות בחירום", "מדידה והערכה")

TRAINING_TOPICS: dict[str, tuple[str, ...]] = {
    "workshop": (
        "סדנת גיוס ושימור מתנדבים",
        "סדנת עבודה בין-ארגונית",
        "סדנת בניית תוכנית עבודה לאשכול",
        "סדנת היערכות לחירום בקהילה",
    ),
    "study_day": (
        "יום עיון: קהילה מיטיבה",
        "יום עיון אזורי לרכזי מתנדבים",
        "יום עיון: התנדבות בשגרה ובחירום",
    ),
    "course": ("קורס רכזי מתנדבים", "קורס הנחיית קבוצות", "קורס מנהיגות קהילתית"),
    "needs_assessment": ("איתור צרכים – אזרחים ותיקים", "מיפוי צרכים ומשאבים קהילתיים", "סקר צרכי נוער"),
}
TRAINING_AUDIENCES = ("רכזי מתנדבים", "אנשי מקצוע ברשות", "חברי השולחן העגול", "מתנדבים", "נציגי עמותות")
TRAINING_HOURS = {"workshop": (3, 6), "study_day": (6, 8), "course": (20, 60), "needs_assessment": (10, 40)}

BUDGET_SOURCES = ("welfare", "authority", "philanthropy", "business", "other")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _label(profile: Profile, category_set: str, code: str) -> str:
    """The Hebrew label a locality writes for a category value (its habit, else canonical)."""
    return profile.labels.get(f"{category_set}.{code}", categories()[category_set][code].he)


def _workday(day: dt.date) -> dt.date:
    """The next Sunday–Thursday (the Israeli work week) on or after `day`."""
    while day.weekday() in (4, 5):
        day += dt.timedelta(days=1)
    return day


def _spread(rng: random.Random, start: dt.date, end: dt.date, n: int) -> list[dt.date]:
    """`n` distinct workdays spread over [start, end]: one in each of n equal slices."""
    span = (end - start).days
    out = []
    for i in range(n):
        lo = start + dt.timedelta(days=span * i // n)
        hi = start + dt.timedelta(days=max(span * (i + 1) // n - 3, span * i // n))
        out.append(_workday(lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))))
    return out


def _until(years: range) -> dt.date:
    """The last day with data: mid-November in the running year, else the end of the last year."""
    last = years[-1]
    return DATA_UNTIL if last >= TODAY.year else dt.date(last, 12, 31)


def _year_window(year: int, until: dt.date) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 4), min(dt.date(year, 12, 24), until)


def _yes_no(flag: bool) -> str:
    return "כן" if flag else "לא"


def _random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return _workday(start + dt.timedelta(days=rng.randint(0, max((end - start).days - 2, 0))))


def _short_name(profile: Profile) -> str:
    return profile.name.removeprefix("מועצה אזורית ")


def _rashut(profile: Profile) -> str:
    """How the authority calls itself in organisation names and titles."""
    if profile.kind == "regional_council":
        return profile.name
    if profile.kind == "local_council":
        return f"המועצה המקומית {profile.name}"
    return f"עיריית {profile.name}"


# --------------------------------------------------------------------------------------------
# Completing a profile for any years; generic profiles for national mode
# --------------------------------------------------------------------------------------------


def _fill(rng: random.Random, known: dict[int, int], years: range, mean: float, top: int) -> dict[int, int]:
    out = {}
    for year in years:
        if year in known:
            out[year] = known[year]
        else:
            out[year] = max(0, min(top, round(mean + rng.uniform(-1.3, 1.3))))
    return out


def complete_profile(profile: Profile, years: range, rng: random.Random) -> Profile:
    """The profile with every yearly count defined for `years` (story values win)."""
    s = profile.strength
    needs = tuple(y for y in years if y in profile.needs_assessment) + tuple(
        y
        for y in years
        if y not in DEFAULT_YEARS and rng.random() < 0.15 + 0.3 * s and "trainings" not in profile.missing
    )
    no_trainings = "trainings" in profile.missing
    return replace(
        profile,
        round_tables=_fill(rng, profile.round_tables, years, 0.5 + 3.5 * s, 6),
        new_partnerships=_fill(rng, profile.new_partnerships, years, 0.3 + 2.5 * s, 4),
        trainings=_fill(rng, profile.trainings, years, -9 if no_trainings else 0.5 + 3 * s, 5),
        new_jdc_programs=_fill(rng, profile.new_jdc_programs, years, 0.2 + 1.2 * s, 3),
        needs_assessment=tuple(sorted(needs)),
    )


def _peer_group(kind: str, population: int, district: str) -> str:
    if kind == "regional_council":
        return REGIONAL
    if kind == "local_council":
        return "מועצות מקומיות"
    if population >= 50_000:
        return LARGE_CITIES
    return SOUTH_TOWNS if district == "הדרום" else NORTH_TOWNS


def _ascii_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def generic_profile(authority: dict, settlements: list[str], rng: random.Random) -> Profile:
    """A random but plausible profile for any authority (national benchmark mode)."""
    kind = str(authority["kind"])
    name = str(authority["name"])
    pop = int(authority["population"] or 0)
    strength = round(rng.betavariate(2.2, 2.2), 2)
    spellings: tuple[str, ...] = ()
    if kind == "regional_council":
        short = name.removeprefix("מועצה אזורית ")
        spellings = (f"מ.א. {short}", name) if rng.random() < 0.5 else (name,)
    cluster_keys = rng.sample(("emergency", "youth", "special_needs", "elderly"), k=1 + round(2 * strength))
    missing = tuple(d for d in ("volunteers", "trainings", "partnerships") if rng.random() < 0.06)
    dates = rng.choice(((), (), ("slash",), ("dot",), ("slash", "dot")))
    return Profile(
        slug=f"{int(authority['code'])}_{_ascii_slug(str(authority['name_en']))}".strip("_"),
        name=name,
        name_en=str(authority["name_en"]),
        cohort=rng.choice(("א", "ב", "ג")),
        peer_group=_peer_group(kind, pop, str(authority["district"])),
        strength=strength,
        kind=kind,
        spellings=spellings,
        settlements=tuple(rng.sample(settlements, k=min(4, len(settlements)))) if settlements else (),
        missing=missing,
        attendance=rng.choice(("people", "counts")),
        leading_team_days=rng.choice((28, 35, 42)) if strength > 0.6 else None,
        volunteer_period=rng.choice(("quarter_en", "quarter_he", "month", "year")),
        clusters=tuple(cluster_keys),
        trio_gaps={cluster_keys[0]: "ngo_rep"} if rng.random() < 0.2 else {},
        headers=rng.choice(("canonical", "canonical", "A", "B")),
        title_rows=rng.choice((0, 0, 1, 2)),
        totals=tuple(d for d in ("budgets", "volunteers", "trainings") if rng.random() < 0.3),
        text_dates=dates,
        text_date_share=0.3 if dates else 0.0,
        stale_programs=rng.random() < 0.2,
    )


# --------------------------------------------------------------------------------------------
# Building rows (canonical column names, values already spelled as the locality spells them)
# --------------------------------------------------------------------------------------------


@dataclass
class Sheet:
    """One dataset's rows for one locality, before the locality's layout habits are applied."""

    dataset: str
    columns: list[str]
    rows: list[dict[str, object]]


@dataclass(frozen=True)
class Person:
    name: str
    organisation: str
    sector: str
    role: str


class LocalityData:
    """Builds every sheet of one locality from its profile, with one random stream."""

    def __init__(self, profile: Profile, years: range, rng: random.Random, forum_dates: dict[int, list]):
        self.p = profile
        self.years = years
        self.rng = rng
        self.until = _until(years)
        self.forum_dates = forum_dates
        self.people = self._people()
        self.cluster_rows = self._clusters()

    # -- locality column -------------------------------------------------------------------
    def locality(self, settlement_share: float = 0.0) -> str:
        """The locality cell as someone typed it: a spelling, sometimes a settlement inside it."""
        if self.p.settlements and self.rng.random() < settlement_share:
            return self.rng.choice(self.p.settlements)
        text = self.rng.choice(self.p.spellings_used)
        if self.p.trailing_spaces and self.rng.random() < 0.3:
            text += " "
        return text

    # -- people ------------------------------------------------------------------------------
    def _people(self) -> dict[str, list[Person]]:
        names = [f"{f} {last}" for f in FIRST_NAMES for last in LAST_NAMES]
        picked = iter(self.rng.sample(names, k=sum(POOL_SIZES.values())))
        rashut = _rashut(self.p)
        pool: dict[str, list[Person]] = {}
        for sector, size in POOL_SIZES.items():
            templates = PEOPLE_BY_SECTOR[sector]
            pool[sector] = [
                Person(
                    next(picked),
                    templates[i % len(templates)][0].format(rashut=rashut),
                    sector,
                    templates[i % len(templates)][1],
                )
                for i in range(size)
            ]
        return pool

    @property
    def coordinator(self) -> Person:
        return self.people["authority"][1]

    def _attend(self, people: list[Person], share: float, least: int) -> list[Person]:
        came = [x for x in people if self.rng.random() < share]
        if len(came) < least:
            came = self.rng.sample(people, k=min(least, len(people)))
        return came

    # -- clusters (also feed meetings and volunteers) -------------------------------------------
    def _clusters(self) -> list[dict[str, object]]:
        rows = []
        first = self.years[0]
        for i, key in enumerate(self.p.clusters):
            name, domain = CLUSTERS[key]
            # The first clusters predate the data; a later one was set up during it.
            if i < 2:
                established = _random_date(self.rng, dt.date(first - 4, 1, 1), dt.date(first - 1, 12, 1))
            else:
                established = _random_date(self.rng, dt.date(first + 1, 1, 1), dt.date(first + 1, 9, 1))
            ngo = self.people["ngo"][i % len(self.people["ngo"])]
            rep = self.people["authority"][(i + 2) % len(self.people["authority"])]
            row: dict[str, object] = {
                "locality": self.locality(),
                "cluster_name": name,
                "domain": domain,
                "coordinator": self.coordinator.name,
                "authority_rep": rep.name,
                "ngo_rep": ngo.name,
                "established": established,
                "work_plan": _yes_no(self.rng.random() < 0.35 + 0.6 * self.p.strength),
                "status": _label(self.p, "cluster_status", "active"),
            }
            gap = self.p.trio_gaps.get(key)
            if gap:
                row[gap] = None
            rows.append(row)
        return rows

    def clusters(self) -> Sheet:
        cols = ["locality", "cluster_name", "domain", "coordinator", "authority_rep", "ngo_rep"]
        cols += ["established", "work_plan", "status"]
        return Sheet("clusters", cols, self.cluster_rows)

    # -- meetings ------------------------------------------------------------------------------
    def _round_table_people(self, year: int) -> list[Person]:
        phase = min(2, int(self.p.strength * 1.6 + (year - self.years[0]) * 0.4))
        if self.p.strength < 0.3:
            phase = 0
        members: list[Person] = []
        for sector in ROUND_TABLE_PHASES[phase]:
            members += self.people[sector]
        return members

    def _meetings(self) -> list[tuple[dt.date, str, str, list[Person], str]]:
        """(date, meeting type code, topic, attendees, locality cell) for every meeting."""
        p, rng = self.p, self.rng
        out: list[tuple[dt.date, str, str, list[Person], str]] = []
        leading = [*self.people["authority"][:3], self.people["jdc"][0], self.people["ngo"][0]]
        for year in self.years:
            start, end = _year_window(year, self.until)
            taken: set[dt.date] = set()
            for day in _spread(rng, start, end, p.round_tables[year]):
                members = self._round_table_people(year)
                out.append(
                    (day, "round_table", rng.choice(ROUND_TABLE_TOPICS), self._attend(members, 0.7, 4), "")
                )
                taken.add(day)
            steering = 2 if p.strength >= 0.5 else 1
            if year == self.until.year and self.until.month < 12:
                steering = 1
            senior = [self.people["authority"][0], self.people["authority"][4], self.people["jdc"][1]]
            senior += [*self.people["government"], self.people["ngo"][2], self.people["philanthropy"][0]]
            for day in _spread(rng, start, end, steering):
                day = self._free_day(day, taken)
                out.append(
                    (
                        day,
                        "steering_committee",
                        rng.choice(STEERING_TOPICS),
                        self._attend(senior, 0.75, 4),
                        "",
                    )
                )
            # Leading team: every 4-5 weeks in good localities, irregular elsewhere.
            day = start + dt.timedelta(days=rng.randint(5, 20))
            while day <= end:
                meet = self._free_day(_workday(day), taken)
                cell = self.locality(settlement_share=0.5) if p.settlements else ""
                out.append(
                    (
                        meet,
                        "leading_team",
                        rng.choice(LEADING_TEAM_TOPICS),
                        self._attend(leading, 0.85, 3),
                        cell,
                    )
                )
                gap = p.leading_team_days or rng.randint(45, 110 - int(40 * p.strength))
                day += dt.timedelta(days=gap + (rng.randint(-3, 3) if p.leading_team_days else 0))
            for row in self.cluster_rows:
                established = row["established"]
                assert isinstance(established, dt.date)
                first = max(start, established + dt.timedelta(days=14))
                if first > end:
                    continue
                trio_names = {row["coordinator"], row["authority_rep"], row["ngo_rep"]}
                trio = [x for s in ("authority", "ngo") for x in self.people[s] if x.name in trio_names]
                extra = self.people["residents"] + self.people["ngo"][3:]
                count = max(1, round((end - first).days / rng.choice((42, 56, 70))))
                for day in _spread(rng, first, end, count):
                    day = self._free_day(day, taken)
                    came = self._attend(trio, 0.9, 1) + self._attend(extra, 0.5, 1)
                    out.append((day, "cluster", str(row["cluster_name"]), came, ""))
            for day in self.forum_dates.get(year, []):
                if day <= end and rng.random() < 0.3 + 0.65 * p.strength and day not in taken:
                    came = self._attend([self.coordinator, self.people["authority"][0]], 0.5, 1)
                    out.append((day, "national_forum", rng.choice(FORUM_TOPICS), came, ""))
        order = {
            "round_table": 0,
            "steering_committee": 1,
            "leading_team": 2,
            "cluster": 3,
            "national_forum": 4,
        }
        out.sort(key=lambda m: (m[0], order[m[1]], m[2]))
        return out

    def _free_day(self, day: dt.date, taken: set[dt.date]) -> dt.date:
        """Keep other meetings off round-table days, so each day is one meeting."""
        while day in taken:
            day = _workday(day + dt.timedelta(days=1))
        taken.add(day)
        return day

    def meetings(self) -> Sheet:
        rows: list[dict[str, object]] = []
        for day, code, topic, attendees, cell in self._meetings():
            where = cell or self.locality()
            label = _label(self.p, "meeting_type", code)
            if self.p.attendance == "counts":
                rows.append(
                    {
                        "locality": where,
                        "meeting_date": day,
                        "meeting_type": label,
                        "topic": topic,
                        "participants": len(attendees) + (self.rng.randint(0, 4) if code == "cluster" else 0),
                    }
                )
                continue
            for person in attendees:
                rows.append(
                    {
                        "locality": where,
                        "meeting_date": day,
                        "meeting_type": label,
                        "topic": topic,
                        "participant_name": person.name,
                        "organisation": person.organisation,
                        "sector": _label(self.p, "sector", person.sector),
                        "role": person.role,
                    }
                )
        if self.p.attendance == "counts":
            cols = ["locality", "meeting_date", "meeting_type", "topic", "participants"]
        else:
            cols = ["locality", "meeting_date", "meeting_type", "topic", "participant_name"]
            cols += ["organisation", "sector", "role"]
        return Sheet("meetings", cols, rows)

    # -- programs ------------------------------------------------------------------------------
    def programs(self) -> Sheet:
        p, rng = self.p, self.rng
        first, last = self.years[0], self.years[-1]
        names: set[str] = set()
        jdc_pool = list(JDC_PROGRAMS)
        rng.shuffle(jdc_pool)
        other_pool = list(OTHER_PROGRAMS)
        rng.shuffle(other_pool)
        planned: list[tuple[dt.date, tuple, str]] = []  # (start, catalog entry, operator)

        def unique(name: str) -> str:
            for branch in ("", *BRANCHES):
                candidate = f"{name} {branch}".strip()
                if candidate not in names:
                    names.add(candidate)
                    return candidate
            raise ValueError(name)

        n_jdc_base = 3 + round(6 * p.strength)
        for i in range(n_jdc_base):
            start = _random_date(rng, dt.date(first - 10, 1, 1), dt.date(first - 1, 12, 1))
            planned.append((start, jdc_pool[i % len(jdc_pool)], "jdc"))
        for i in range(2 + round(2 * p.strength)):
            start = _random_date(rng, dt.date(first - 8, 1, 1), dt.date(first - 1, 12, 1))
            planned.append((start, other_pool[i % len(other_pool)], other_pool[i % len(other_pool)][3]))
        k = n_jdc_base
        for year in self.years:
            ystart, yend = _year_window(year, self.until)
            for _ in range(p.new_jdc_programs[year]):
                planned.append((_random_date(rng, ystart, yend), jdc_pool[k % len(jdc_pool)], "jdc"))
                k += 1
            if rng.random() < 0.5:
                entry = other_pool[(k + year) % len(other_pool)]
                planned.append((_random_date(rng, ystart, yend), entry, entry[3]))
        planned.sort(key=lambda x: x[0])

        fresh = (self.until - dt.timedelta(days=100), self.until)
        stale = (self.until - dt.timedelta(days=400), self.until - dt.timedelta(days=STALE_AFTER_DAYS + 40))
        if p.stale_programs:  # nobody added what started after the list was last touched
            planned = [x for x in planned if x[0] <= stale[1]]
        rows = []
        for start, entry, operator in planned:
            age = last - start.year
            roll = rng.random()
            if start.year == last and (self.until - start).days < 150:
                status = "establishing"
            else:  # older programs are more often on their way out
                odds = OLD_PROGRAM_STATUS if age >= 6 else YOUNG_PROGRAM_STATUS
                status = next(code for limit, code in odds if roll < limit)
            continuity = None
            if status in ("phasing_out", "scaling_down"):
                continuity = _yes_no(rng.random() < 0.25 + 0.7 * p.strength)
            flagship = entry[3] if operator == "jdc" else False
            participants = (
                0 if status == "ended" else rng.randint(12, 60) * (5 if p.kind != "local_council" else 2)
            )
            window = stale if p.stale_programs else fresh
            row: dict[str, object] = {
                "locality": self.locality(settlement_share=0.3),
                "program_name": unique(entry[0]),
                "operator": _label(p, "operator", operator),
                "flagship": _yes_no(bool(flagship)),
                "domain": entry[1],
                "target_population": entry[2],
                "start_date": start,
                "status": _label(p, "program_status", status),
                "new_response": _yes_no(start.year >= first and rng.random() < 0.5),
                "continuity_plan": continuity,
                "participants": participants,
                "last_updated": max(start, _random_date(rng, *window)),
            }
            if p.notes_column and rng.random() < 0.25:
                row["notes"] = rng.choice(
                    ("לבדוק מול הג'וינט", "עבר לאחריות הרשות", "ממתין לתקציב", "דווח בוועדת היגוי")
                )
            rows.append(row)
        cols = ["locality", "program_name", "operator", "flagship", "domain", "target_population"]
        cols += ["start_date", "status", "new_response", "continuity_plan", "participants", "last_updated"]
        if p.notes_column:
            cols.append("notes")
        return Sheet("programs", cols, rows)

    # -- partnerships -------------------------------------------------------------------------
    def partnerships(self) -> Sheet:
        p, rng = self.p, self.rng
        first = self.years[0]
        jdc = [x[0] for x in JDC_PROGRAMS]
        others = [x[0] for x in OTHER_PROGRAMS] + [o.organisation for o in self.people["ngo"]]
        others += [o.organisation for o in self.people["business"] + self.people["philanthropy"]]
        starts = [
            _random_date(rng, dt.date(first - 3, 1, 1), dt.date(first - 1, 12, 1))
            for _ in range(rng.randint(1, 3))
        ]
        for year in self.years:
            starts += _spread(rng, *_year_window(year, self.until), p.new_partnerships[year])
        rows = []
        seen: set[str] = set()
        for start in sorted(starts):
            a, b = rng.choice(jdc), rng.choice(others)
            name = f"{a} + {b}"
            if name in seen:
                name = f"{name} ({start.year})"
            seen.add(name)
            partner_sectors = ["ג'וינט", _label(p, "sector", self._sector_of(b))]
            level = rng.choices(
                ("information", "coordination", "cooperation"),
                weights=(3 - 2 * p.strength, 2, 1 + 3 * p.strength),
            )[0]
            ended = self.years[-1] - start.year >= 3 and rng.random() < 0.4
            rows.append(
                {
                    "locality": self.locality(settlement_share=0.2),
                    "partnership_name": name,
                    "partners": f"{a}, {b}",
                    "sectors": ", ".join(partner_sectors),
                    "start_date": start,
                    "level": _label(p, "partnership_level", level),
                    "status": _label(p, "partnership_status", "ended" if ended else "active"),
                    "new_response": _yes_no(rng.random() < 0.4),
                }
            )
        cols = [
            "locality",
            "partnership_name",
            "partners",
            "sectors",
            "start_date",
            "level",
            "status",
            "new_response",
        ]
        return Sheet("partnerships", cols, rows)

    def _sector_of(self, organisation: str) -> str:
        for sector, people in self.people.items():
            if any(x.organisation == organisation for x in people):
                return sector
        for entry in OTHER_PROGRAMS:
            if entry[0] == organisation:
                return entry[3]  # operator codes double as sector codes
        return "ngo"

    # -- volunteers ------------------------------------------------------------------------------
    def _periods(self, year: int) -> list[tuple[str, dt.date]]:
        """(period text, last day of the period) for the periods of `year` that are over."""
        form = self.p.volunteer_period
        if form == "year":
            items = [(str(year), dt.date(year, 12, 31))]
        elif form == "month":
            items = [(f"{year}-{m:02d}", _month_end(year, m)) for m in range(1, 13)]
        else:
            items = []
            for q in range(1, 5):
                text = f"Q{q} {year}" if form == "quarter_en" else f"רבעון {q} {year}"
                items.append((text, _month_end(year, 3 * q)))
        return [(text, end) for text, end in items if end <= max(self.until, dt.date(year, 1, 1))]

    def volunteers(self) -> Sheet:
        p, rng = self.p, self.rng
        per_month = p.volunteer_period == "month"
        rows = []
        label = "cluster_name" if rng.random() < 0.7 else "domain"  # each locality has its habit
        for row in self.cluster_rows:
            established = row["established"]
            assert isinstance(established, dt.date)
            base = rng.randint(15, 40) * (1.0 + p.strength)
            for year in self.years:
                for text, end in self._periods(year):
                    if end < established:
                        continue
                    base *= 1.0 + rng.uniform(-0.04, 0.03 + 0.08 * p.strength) / (3 if per_month else 1)
                    count = max(1, round(base))
                    new = max(0, round(count * rng.uniform(0.02, 0.08 + 0.12 * p.strength)))
                    months = {"year": 12, "month": 1}.get(p.volunteer_period, 3)
                    rows.append(
                        {
                            "locality": self.locality(),
                            "period": text,
                            "cluster": row[label],
                            "volunteers": count,
                            "new_volunteers": new,
                            "hours": round(count * months * rng.uniform(3, 8)),
                        }
                    )
        rows.sort(key=lambda r: (_period_key(str(r["period"])), str(r["cluster"])))
        cols = ["locality", "period", "cluster", "volunteers", "new_volunteers", "hours"]
        return Sheet("volunteers", cols, rows)

    # -- trainings -------------------------------------------------------------------------------
    def trainings(self) -> Sheet:
        p, rng = self.p, self.rng
        rows = []
        for year in self.years:
            start, end = _year_window(year, self.until)
            kinds = [
                rng.choice(("workshop", "workshop", "study_day", "course")) for _ in range(p.trainings[year])
            ]
            if year in p.needs_assessment:
                kinds.append("needs_assessment")
            for day, kind in zip(
                _spread(rng, start, end, len(kinds)), rng.sample(kinds, len(kinds)), strict=True
            ):
                low, high = TRAINING_HOURS[kind]
                rows.append(
                    {
                        "locality": self.locality(),
                        "training_date": day,
                        "topic": rng.choice(TRAINING_TOPICS[kind]),
                        "training_kind": _label(p, "training_kind", kind),
                        "audience": rng.choice(TRAINING_AUDIENCES),
                        "participants": rng.randint(8, 35),
                        "hours": rng.randint(low, high),
                    }
                )
        cols = ["locality", "training_date", "topic", "training_kind", "audience", "participants", "hours"]
        return Sheet("trainings", cols, rows)

    # -- budgets ---------------------------------------------------------------------------------
    def budgets(self) -> Sheet:
        p, rng = self.p, self.rng
        rows = []
        welfare = rng.randint(180, 420) * 1000
        for year in self.years:
            welfare = round(welfare * rng.uniform(0.97, 1.06), -3)
            shares = {
                "welfare": 1.0,
                "authority": rng.uniform(0.2, 0.4 + 0.3 * p.strength),
                "philanthropy": rng.uniform(0.05, 0.05 + 0.5 * p.strength)
                if rng.random() < 0.2 + p.strength
                else 0,
                "business": rng.uniform(0.03, 0.03 + 0.2 * p.strength)
                if rng.random() < p.strength - 0.1
                else 0,
                "other": rng.uniform(0.02, 0.08) if rng.random() < 0.4 else 0,
            }
            for source in BUDGET_SOURCES:
                amount = round(welfare * shares[source], -3)
                if amount <= 0:
                    continue
                rows.append(
                    {
                        "locality": self.locality(),
                        "year": year,
                        "source": _label(p, "budget_source", source),
                        "amount": int(amount),
                    }
                )
        return Sheet("budgets", ["locality", "year", "source", "amount"], rows)

    def sheets(self) -> list[Sheet]:
        """Every sheet the locality sends, in the order it keeps them in its workbook."""
        builders = {
            "programs": self.programs,
            "meetings": self.meetings,
            "partnerships": self.partnerships,
            "volunteers": self.volunteers,
            "trainings": self.trainings,
            "budgets": self.budgets,
            "clusters": self.clusters,
        }
        out = []
        for name, build in builders.items():
            sheet = build()  # built even when missing, so one sheet's absence changes no other
            if name not in self.p.missing:
                out.append(sheet)
        return out


def _month_end(year: int, month: int) -> dt.date:
    if month == 12:
        return dt.date(year, 12, 31)
    return dt.date(year, month + 1, 1) - dt.timedelta(days=1)


def _period_key(text: str) -> tuple[int, int]:
    """Sort key for the period forms this generator writes."""
    numbers = [int(x) for x in re.findall(r"\d+", text)]
    year = max(numbers)
    rest = [n for n in numbers if n != year] or [0]
    return year, rest[0]


# --------------------------------------------------------------------------------------------
# Layout: how the locality lays its sheet out (titles, headers, text dates, totals)
# --------------------------------------------------------------------------------------------


@dataclass
class Grid:
    """A sheet as cells: rows of values, where the header is, and which columns hold dates."""

    title: str
    rows: list[list[object]]
    header_row: int  # 0-based index into rows
    date_columns: set[int]
    amount_columns: set[int]
    title_rows: int


def header_for(profile: Profile, dataset: str, column: str) -> str:
    """The header text a locality writes for a column: its habitual synonym or the canonical one."""
    if column == "notes":
        return NOTES_HEADER
    if profile.headers != "canonical":
        if dataset == "volunteers" and column == "period":
            return PERIOD_HEADERS[profile.volunteer_period]
        variant = HEADER_VARIANTS[profile.headers].get(dataset, {}).get(column)
        if variant:
            return variant
    return datasets()[dataset].column(column).he


def _text_date(day: dt.date, form: str) -> str:
    if form == "slash":
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    return f"{day.day}.{day.month}.{day.year % 100:02d}"


def layout(profile: Profile, sheet: Sheet, rng: random.Random, last_year: int) -> Grid:
    """Apply the locality's habits to a sheet: title rows, header words, text dates, totals."""
    spec = datasets()[sheet.dataset]
    cols = [c for c in sheet.columns if f"{sheet.dataset}.{c}" not in profile.omit]
    types = {c: (spec.column(c).type if c != "notes" else "text") for c in cols}
    rows: list[list[object]] = []
    if profile.title_rows:
        rows.append([f"{spec.he} – {_rashut(profile)} – עדכון {last_year}"] + [None] * (len(cols) - 1))
        if profile.title_rows > 1:
            rows.append([f"נכון לתאריך {_text_date(_until(range(last_year, last_year + 1)), 'slash')}"])
        rows.append([])
    header_row = len(rows)
    rows.append([header_for(profile, sheet.dataset, c) for c in cols])
    as_text: dict[dt.date, str | None] = {}  # one choice per date, so a meeting's rows agree
    for record in sheet.rows:
        line: list[object] = []
        for c in cols:
            value = record.get(c)
            if isinstance(value, dt.date) and profile.text_dates:
                if value not in as_text:
                    use = rng.random() < profile.text_date_share
                    as_text[value] = _text_date(value, rng.choice(profile.text_dates)) if use else None
                value = as_text[value] or value
            line.append(value)
        rows.append(line)
    if sheet.dataset in profile.totals and sheet.rows:
        total: list[object] = [TOTALS_LABEL]
        for c in cols[1:]:
            if types[c] in ("int", "number"):
                total.append(sum(int(r.get(c) or 0) for r in sheet.rows))
            else:
                total.append(None)
        rows.append(total)
    return Grid(
        title=SHEET_NAMES[sheet.dataset],
        rows=rows,
        header_row=header_row,
        date_columns={i for i, c in enumerate(cols) if types[c] == "date"},
        amount_columns={i for i, c in enumerate(cols) if c == "amount"},
        title_rows=profile.title_rows,
    )


# --------------------------------------------------------------------------------------------
# Writing workbooks
# --------------------------------------------------------------------------------------------


def _new_workbook(write_only: bool) -> Workbook:
    wb = Workbook(write_only=write_only)
    if not write_only:
        wb.remove(wb.active)
    wb.properties.creator = "Yaad sample data"
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    return wb


def write_workbook(path: Path, grids: list[Grid], *, write_only: bool = False) -> None:
    """Save grids as sheets; the full mode also merges titles, formats dates and sets RTL."""
    wb = _new_workbook(write_only)
    for grid in grids:
        ws = wb.create_sheet(grid.title)
        if write_only:
            for row in grid.rows:
                ws.append(row)
            continue
        ws.sheet_view.rightToLeft = True
        for row in grid.rows:
            ws.append(row)
        width = len(grid.rows[grid.header_row])
        for r in range(grid.title_rows):
            if grid.rows[r] and width > 1:
                ws.merge_cells(start_row=r + 1, start_column=1, end_row=r + 1, end_column=width)
                ws.cell(r + 1, 1).font = Font(bold=True, size=13)
                ws.cell(r + 1, 1).alignment = Alignment(horizontal="center")
        for cell in ws[grid.header_row + 1]:
            cell.font = Font(bold=True)
        for i in range(width):
            letter = ws.cell(grid.header_row + 1, i + 1).column_letter
            ws.column_dimensions[letter].width = 22 if i in grid.date_columns else 18
        for row in ws.iter_rows(min_row=grid.header_row + 2):
            for cell in row:
                col = cell.column - 1
                if col in grid.date_columns and isinstance(cell.value, dt.date | dt.datetime):
                    cell.number_format = "dd/mm/yyyy"
                elif col in grid.amount_columns and isinstance(cell.value, int | float):
                    cell.number_format = '#,##0 "₪"'
    wb.save(path)
    if not write_only:
        _freeze_zip(path)


def _freeze_zip(path: Path) -> None:
    """Pin the zip entry times and the modified property, so a rerun writes the same bytes.

    openpyxl stamps both with the clock on save; without this every regeneration shows as a change.
    """
    stamp = FIXED_TIMESTAMP.timetuple()[:6]
    with zipfile.ZipFile(path) as zin:
        entries = [(info, zin.read(info.filename)) for info in zin.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                iso = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + iso + rb"\g<2>", data
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            zout.writestr(fixed, data)
    path.write_bytes(buffer.getvalue())


def forum_dates(seed: int, years: range) -> dict[int, list[dt.date]]:
    """The national forum's 8 work meetings a year, shared by every locality."""
    out = {}
    for year in years:
        rng = random.Random(f"{seed}:forum:{year}")
        out[year] = _spread(rng, dt.date(year, 1, 10), dt.date(year, 12, 15), 8)
    return out


def locality_grids(profile: Profile, years: range, seed: int, forums: dict[int, list[dt.date]]) -> list[Grid]:
    """Every sheet of one locality's workbook, laid out as that locality lays it out."""
    rng = random.Random(f"{seed}:{profile.slug}")
    complete = complete_profile(profile, years, rng)
    data = LocalityData(complete, years, rng, forums)
    return [layout(complete, sheet, rng, years[-1]) for sheet in data.sheets()]


def attributes_grid(profiles: Iterable[Profile]) -> Grid:
    """The national locality-attributes sheet: cohort and peer group of every locality."""
    spec = datasets()["locality_attributes"]
    rows: list[list[object]] = [[c.he for c in spec.columns]]
    for p in profiles:
        rows.append([p.name, COHORT_ATTRIBUTE, p.cohort])
        rows.append([p.name, PEER_GROUP_ATTRIBUTE, p.peer_group])
    return Grid(ATTRIBUTES_SHEET, rows, 0, set(), set(), 0)


# --------------------------------------------------------------------------------------------
# Public API and CLI
# --------------------------------------------------------------------------------------------


def _check_years(years: range) -> None:
    if not years or years.step != 1 or years[0] < 2000 or years[-1] > TODAY.year:
        raise ValueError(f"years must be a non-empty range of years from 2000 to {TODAY.year}: {years}")


def national_profiles(seed: int) -> list[Profile]:
    """One profile per authority (255); the 11 story localities keep their story."""
    from store.reference import build_tables, read_reference

    localities, authorities = build_tables(read_reference())
    by_name = {p.name: p for p in STORY}
    settlements = localities.groupby("authority_code")["name"].apply(list).to_dict()
    out = []
    for record in authorities.sort_values("code").to_dict("records"):
        if record["name"] in by_name:
            out.append(by_name[record["name"]])
            continue
        rng = random.Random(f"{seed}:authority:{int(record['code'])}")
        names = settlements.get(int(record["code"]), []) if record["kind"] == "regional_council" else []
        out.append(generic_profile(record, sorted(names), rng))
    return out


def _inside_repo(path: Path) -> bool:
    return path.resolve().is_relative_to(REPO_ROOT)


def iter_generate(
    out_dir: Path, *, seed: int = DEFAULT_SEED, national: bool = False, years: range | None = None
) -> Iterator[Path]:
    """Like `generate`, yielding each path as it is written (for progress reporting)."""
    years = years or (NATIONAL_YEARS if national else DEFAULT_YEARS)
    _check_years(years)
    if national and _inside_repo(out_dir):
        raise ValueError(f"national mode never writes into the repository: {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    profiles = national_profiles(seed) if national else list(STORY)
    forums = forum_dates(seed, years)
    for profile in profiles:
        path = out_dir / f"{profile.slug}.xlsx"
        write_workbook(path, locality_grids(profile, years, seed, forums), write_only=national)
        yield path
    path = out_dir / NATIONAL_FILE
    write_workbook(path, [attributes_grid(profiles)], write_only=national)
    yield path


def generate(
    out_dir: Path, *, seed: int = DEFAULT_SEED, national: bool = False, years: range | None = None
) -> list[Path]:
    """Write the sample workbooks into `out_dir` and return their paths (national file last).

    Default: the 11 story localities, 2023–2026. `national`: all 255 authorities, 2017–2026,
    written with openpyxl's write-only mode; never into the repository.
    """
    return list(iter_generate(out_dir, seed=seed, national=national, years=years))


def parse_years(text: str) -> range:
    """`2017-2026` or `2026` -> range of years (inclusive)."""
    match = re.fullmatch(r"\s*(\d{4})\s*(?:[-–]\s*(\d{4}))?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected YYYY or YYYY-YYYY, got {text!r}")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    return range(first, last + 1)


def story_markdown() -> str:
    """The story table as Markdown (kept in sample_data/README.md; a test checks they agree)."""
    years = list(DEFAULT_YEARS)

    def fmt(counts: dict[int, int]) -> str:
        return " / ".join(str(counts.get(y, "")) for y in years)

    head = "| file | locality | cohort | peer group | round tables " + " / ".join(map(str, years))
    head += " | new partnerships | trainings | needs assessment | new JDC programs | what is special |"
    lines = [head, "|" + "---|" * 10]
    for p in STORY:
        trainings = "no sheet" if "trainings" in p.missing else fmt(p.trainings)
        needs = ", ".join(map(str, p.needs_assessment)) or "—"
        lines.append(
            f"| `{p.slug}.xlsx` | {p.name} ({p.name_en}) | {p.cohort} | {p.peer_group} "
            f"| {fmt(p.round_tables)} | {fmt(p.new_partnerships)} | {trainings} | {needs} "
            f"| {fmt(p.new_jdc_programs)} | {p.story} |"
        )
    return "\n".join(lines)


def _size(paths: Iterable[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: `python -m sample_data.generate [--out DIR] [--seed N] [--national] [--years]`."""
    parser = argparse.ArgumentParser(
        prog="python -m sample_data.generate",
        description="Write deterministic sample workbooks shaped like the ones localities send.",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: sample_data/workbooks, "
                        "or a new temporary folder with --national)")  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    parser.add_argument("--national", action="store_true", help="all 255 authorities, for benchmarks")
    parser.add_argument("--years", type=parse_years, help="YYYY-YYYY (default 2023-2026; national 2017-2026)")
    parser.add_argument("--every", type=int, default=25, help="report progress every N files (national)")
    args = parser.parse_args(argv)

    if args.national:
        out = args.out or Path(tempfile.mkdtemp(prefix="yaad_national_"))
    else:
        out = args.out or WORKBOOKS_DIR
    started = time.perf_counter()
    written: list[Path] = []
    try:
        for path in iter_generate(out, seed=args.seed, national=args.national, years=args.years):
            written.append(path)
            if args.national and len(written) % max(args.every, 1) == 0:
                print(f"{len(written)} workbooks, {time.perf_counter() - started:.1f} s", file=sys.stderr)
    except ValueError as exc:
        parser.error(str(exc))
    elapsed = time.perf_counter() - started
    size_mb = _size(written) / 1_000_000
    print(f"wrote {len(written)} workbooks ({size_mb:.1f} MB) in {elapsed:.1f} s", file=sys.stderr)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
