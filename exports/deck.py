"""Steering-committee decks (PPTX, 16:9): one per locality and a national one, PDF through LibreOffice.

The numbers come from `metrics.engine.attainment` and `metrics.composite.composite` only, the charts
from the charts/ builders the pages use (rendered by kaleido in one batch per deck), and the words
from charts/narrative.py. The template is drawn in code (a band, a title, a footer), so there is
no binary template to drift. Every paragraph is right-to-left in Hebrew (RECIPES.md: without it
Hebrew mixed with numbers reads wrong), and every slide's footer carries the year and the as-of date.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go
from lxml import etree
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from charts.export import ImageRenderer, figures_bytes
from charts.figures import goal_scores, goal_status_shares, ranked_bars
from charts.narrative import (
    BEHIND,
    DONE,
    format_target,
    format_value,
    goal_sentences,
    latest_periods,
    locality_summary,
    national_summary,
    status_counts,
)
from charts.scorecard import scorecard_figure
from charts.style import STATUS_COLORS, status_label
from metrics.catalog import Catalog, load_catalog
from metrics.composite import ALL_MODELS, composite
from metrics.engine import attainment
from store import Store
from store.access import User, require, require_authorities

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
SLIDE_WIDTH = Emu(12192000)  # PowerPoint's widescreen: exactly 16:9 with 7.5 in height
SLIDE_HEIGHT = Inches(7.5)
FONT = "Arial"  # has Hebrew on Windows and macOS; LibreOffice falls back to a Hebrew font on Linux
BRAND = RGBColor(0x1F, 0x4E, 0x79)
ACCENT = RGBColor(0x2E, 0x75, 0xB6)
INK = RGBColor(0x22, 0x22, 0x22)
MUTED = RGBColor(0x59, 0x59, 0x59)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
LIGHT = RGBColor(0xF2, 0xF5, 0xF9)
SCORECARD_ROWS_PER_SLIDE = 15
RANKED_MAX = 24  # more localities than this: a goal slide shows the best and the worst 12
ATTENTION_ROWS = 14
ATTENTION_SCORE = 50.0
ATTENTION_COVERAGE = 0.5
PX_PER_INCH = 110  # chart pixels per slide inch (rendered at scale 2)
CHART_BOX = (0.3, 1.2, 6.7, 5.65)  # the chart of a summary or area slide, inches: left, top, width, height

# Goal areas of a locality deck: goals grouped by the dataset they are measured from.
AREAS: dict[str, dict[str, str]] = {
    "meetings": {"he": "מפגשים והשולחן העגול", "en": "Meetings and the round table"},
    "programs": {"he": "תוכניות ומענים", "en": "Programs and responses"},
    "partnerships": {"he": "שיתופי פעולה", "en": "Partnerships"},
    "trainings": {"he": "הכשרות ואיתור צרכים", "en": "Trainings and needs assessment"},
    "clusters": {"he": "אשכולות", "en": "Clusters"},
    "volunteers": {"he": "מתנדבים", "en": "Volunteers"},
    "budgets": {"he": "מקורות תקציב", "en": "Budget sources"},
}

TEXT: dict[str, dict[str, str]] = {
    "locality_title": {"he": "עמידה ביעדים – {name}", "en": "Goal attainment – {name}"},
    "national_title": {"he": "עמידה ביעדים – תמונה ארצית", "en": "Goal attainment – national picture"},
    "subtitle": {"he": "דוח לוועדת ההיגוי · שנת {year}", "en": "Steering committee report · {year}"},
    "as_of_line": {"he": "הנתונים נכונים ל־{as_of}", "en": "Data as of {as_of}"},
    "footer": {"he": "שנת {year} · נכון ל־{as_of} · {name}", "en": "{year} · as of {as_of} · {name}"},
    "page": {"he": "עמוד {n}", "en": "Page {n}"},
    "summary": {"he": "סיכום עמידה ביעדים", "en": "Attainment summary"},
    "score": {"he": "ציון משוקלל", "en": "Weighted score"},
    "done": {"he": "הושגו / בקצב", "en": "Achieved / on track"},
    "behind": {"he": "מאחור", "en": "Behind"},
    "no_data": {"he": "ללא נתונים", "en": "No data"},
    "localities": {"he": "רשויות עם נתונים", "en": "Localities with data"},
    "goal": {"he": "יעד", "en": "Goal"},
    "value": {"he": "ערך", "en": "Value"},
    "target": {"he": "היעד", "en": "Target"},
    "status": {"he": "סטטוס", "en": "Status"},
    "forecast": {"he": "צפי לסוף השנה", "en": "Year-end forecast"},
    "nothing": {
        "he": "אין נתונים לרשות זו בשנה זו. אין נתונים אינו אפס: לא נשלחו גיליונות לתקופה.",
        "en": "No data for this locality in this year. No data is not zero: no sheets were sent.",
    },
    "scorecard": {"he": "כרטיס ניקוד ארצי", "en": "National scorecard"},
    "rankings": {
        "he": "דירוג היעדים: שיעור הרשויות ביעד",
        "en": "Goal rankings: share of localities on target",
    },
    "goal_ranking": {"he": "דירוג רשויות – {goal}", "en": "Localities ranked – {goal}"},
    "top_bottom": {
        "he": "{k} המובילות ו-{k} האחרונות מתוך {n} רשויות עם נתונים",
        "en": "Best {k} and last {k} of {n} localities with data",
    },
    "attention": {"he": "רשויות שדורשות תשומת לב", "en": "Localities that need attention"},
    "locality": {"he": "רשות", "en": "Locality"},
    "coverage": {"he": "כיסוי נתונים", "en": "Data coverage"},
    "more": {"he": "ועוד {n} רשויות מתחת לסף.", "en": "And {n} more localities below the threshold."},
    "attention_rule": {
        "he": "נבחרו רשויות עם ציון משוקלל מתחת ל־{score:.0f}, כיסוי נתונים מתחת ל־{cov:.0f}%, "
        "או יותר יעדים מאחור מאשר ביעד.",
        "en": "Localities with a weighted score below {score:.0f}, data coverage below {cov:.0f}%, "
        "or more goals behind than on target.",
    },
    "attention_count": {
        "he": "{n} מתוך {total} רשויות עם נתונים דורשות תשומת לב.",
        "en": "{n} of {total} localities with data need attention.",
    },
    "no_attention": {"he": "אין רשויות מתחת לסף.", "en": "No locality is below the threshold."},
}


class DeckError(ValueError):
    """A deck cannot be made for these arguments (unknown locality, a year after as-of)."""


def _t(key: str, lang: str, **kwargs: object) -> str:
    return TEXT[key][lang].format(**kwargs)


def as_of_date(as_of: dt.date | str | None) -> dt.date:
    """The evaluation date: the given one, or today."""
    if as_of is None:
        return dt.date.today()
    if isinstance(as_of, str):
        return dt.date.fromisoformat(as_of)
    return as_of


def _fold(text: str) -> str:
    """A matching key for locality names: quotes, geresh, hyphens, spaces and יי/וו spellings folded."""
    text = unicodedata.normalize("NFC", str(text)).strip().lower()
    text = re.sub("[\"'`׳״“”‘’\\-־–—.()]", "", text)
    text = re.sub(r"\s+", "", text)
    return text.replace("יי", "י").replace("וו", "ו")


def find_authority(store: Store, locality: int | str) -> tuple[int, str]:
    """(authority code, Hebrew name) for a code or a name (exact, or equal after folding spellings)."""
    authorities = store.query_df("SELECT code, name, name_en FROM authorities ORDER BY code")
    text = str(locality).strip()
    if text.isdigit():
        hit = authorities[authorities["code"] == int(text)]
    else:
        hit = authorities[
            (authorities["name"] == text) | (authorities["name_en"].str.lower() == text.lower())
        ]
        if hit.empty:
            key = _fold(text)
            folded = authorities["name"].map(_fold)
            hit = authorities[(folded == key) | (folded == _fold("מועצה אזורית " + text))]
            if hit.empty:
                hit = authorities[authorities["name_en"].fillna("").map(_fold) == key]
            if hit.empty and len(key) >= 3:  # a unique beginning: תל אביב -> תל אביב -יפו
                hit = authorities[folded.str.startswith(key)]
    if len(hit) != 1:
        found = ", ".join(hit["name"].head(5)) or "—"
        raise DeckError(
            f"הרשות '{text}' לא נמצאה ({found}). נסו את השם המלא או את סמל הרשות.\n"
            f"Locality {text!r} was not found ({found}). Try the full name or the authority code."
        )
    return int(hit["code"].iloc[0]), str(hit["name"].iloc[0])


# -- the template ---------------------------------------------------------------------------------
@dataclass
class _Chart:
    slide: object
    fig: go.Figure
    box: tuple[float, float, float, float]  # inches: left, top, width, height


@dataclass
class DeckBuilder:
    """Slides on a 16:9 template drawn in code; charts are collected and rendered in one batch."""

    year: int
    as_of: dt.date
    name: str
    lang: str = "he"
    prs: object = field(default=None)
    charts: list[_Chart] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.prs = Presentation()
        self.prs.slide_width = SLIDE_WIDTH
        self.prs.slide_height = SLIDE_HEIGHT
        self._blank = self.prs.slide_layouts[6]

    @property
    def rtl(self) -> bool:
        return self.lang == "he"

    def footer_text(self) -> str:
        return _t("footer", self.lang, year=self.year, as_of=f"{self.as_of:%d/%m/%Y}", name=self.name)

    # building blocks
    def paragraphs(
        self,
        shape: object,
        lines: Sequence[str],
        *,
        size: float = 14,
        bold: bool = False,
        color: RGBColor = INK,
        align: str | None = None,
        space_after: float = 6,
    ) -> None:
        """Write lines into a shape's text frame, each an RTL (Hebrew) paragraph with the deck font."""
        frame = shape.text_frame  # type: ignore[attr-defined]
        frame.word_wrap = True
        for i, line in enumerate(lines):
            p = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            run = p.add_run()
            run.text = line
            font = run.font
            font.size = Pt(size)
            font.bold = bold
            font.color.rgb = color
            font.name = FONT
            rpr = run._r.get_or_add_rPr()
            rpr.set("lang", "he-IL" if self.rtl else "en-US")
            cs = etree.SubElement(rpr, qn("a:cs"))  # the complex-script (Hebrew) font
            cs.set("typeface", FONT)
            rpr.find(qn("a:latin")).addnext(cs)
            p.space_after = Pt(space_after)
            set_direction(p, rtl=self.rtl, align=align)

    def text(
        self,
        slide: object,
        box: tuple[float, float, float, float],
        lines: Sequence[str],
        **style: object,
    ) -> object:
        left, top, width, height = box
        shape = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))  # type: ignore[attr-defined]
        self.paragraphs(shape, lines, **style)  # type: ignore[arg-type]
        return shape

    def rect(self, slide: object, box: tuple[float, float, float, float], fill: RGBColor) -> object:
        left, top, width, height = box
        shape = slide.shapes.add_shape(  # type: ignore[attr-defined]
            MSO_SHAPE.RECTANGLE, Inches(left), Inches(top), Inches(width), Inches(height)
        )
        shape.fill.solid()
        shape.fill.fore_color.rgb = fill
        shape.line.fill.background()
        shape.shadow.inherit = False
        return shape

    def slide(self, title: str) -> object:
        """A content slide: a title band on top, the footer with year and as-of at the bottom."""
        slide = self.prs.slides.add_slide(self._blank)  # type: ignore[attr-defined]
        self.rect(slide, (0, 0, 13.333, 0.95), BRAND)
        self.rect(slide, (0, 0.95, 13.333, 0.05), ACCENT)
        self.text(slide, (0.4, 0.12, 12.5, 0.75), [title], size=26, bold=True, color=WHITE)
        self._footer(slide)
        return slide

    def title_slide(self, title: str, subtitle: str) -> object:
        slide = self.prs.slides.add_slide(self._blank)  # type: ignore[attr-defined]
        self.rect(slide, (0, 0, 13.333, 7.5), BRAND)
        self.rect(slide, (0, 4.35, 13.333, 0.06), ACCENT)
        self.text(slide, (0.8, 2.0, 11.7, 1.3), [title], size=40, bold=True, color=WHITE)
        as_of_line = _t("as_of_line", self.lang, as_of=f"{self.as_of:%d/%m/%Y}")
        self.text(slide, (0.8, 3.3, 11.7, 1.0), [subtitle, as_of_line], size=20, color=WHITE)
        self._footer(slide, color=WHITE)
        return slide

    def _footer(self, slide: object, color: RGBColor = MUTED) -> None:
        n = len(self.prs.slides._sldIdLst)  # type: ignore[attr-defined]
        self.text(slide, (3.4, 7.0, 9.5, 0.4), [self.footer_text()], size=11, color=color)
        self.text(slide, (0.4, 7.0, 2.6, 0.4), [_t("page", self.lang, n=n)], size=11, color=color, align="l")

    def kpi(
        self, slide: object, box: tuple[float, float, float, float], number: str, label: str, fill: str
    ) -> None:
        """A card with a big number and its label."""
        shape = self.rect(slide, box, RGBColor.from_string(fill.lstrip("#").upper()))
        frame = shape.text_frame  # type: ignore[attr-defined]
        frame.vertical_anchor = MSO_ANCHOR.MIDDLE
        self.paragraphs(shape, [number], size=30, bold=True, color=INK, align="ctr", space_after=0)
        p = frame.add_paragraph()
        run = p.add_run()
        run.text = label
        run.font.size, run.font.color.rgb, run.font.name = Pt(13), INK, FONT
        set_direction(p, rtl=self.rtl, align="ctr")

    def table(
        self,
        slide: object,
        box: tuple[float, float, float, float],
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        widths: Sequence[float],
        size: float = 11,
        fills: Sequence[str | None] | None = None,
        fill_column: int | None = None,
    ) -> object:
        """A right-to-left table: header row in the brand colour, optional status colour per row."""
        left, top, width, _height = box
        row_h = 0.36
        shape = slide.shapes.add_table(  # type: ignore[attr-defined]
            len(rows) + 1,
            len(header),
            Inches(left),
            Inches(top),
            Inches(width),
            Inches(row_h * (len(rows) + 1)),
        )
        table = shape.table
        tbl_pr = table._tbl.tblPr
        tbl_pr.set("rtl", "1" if self.rtl else "0")
        tbl_pr.set("bandRow", "0")
        for j, w in enumerate(widths):
            table.columns[j].width = Emu(int(Inches(w)))
        for i, values in enumerate([header, *rows]):
            table.rows[i].height = Emu(int(Inches(row_h)))
            for j, value in enumerate(values):
                cell = table.cell(i, j)
                cell.margin_left = cell.margin_right = Inches(0.06)
                cell.margin_top = cell.margin_bottom = Inches(0.03)
                cell.text_frame.text = ""
                self.paragraphs(
                    cell,
                    [str(value)],
                    size=size,
                    bold=i == 0,
                    color=WHITE if i == 0 else INK,
                    space_after=0,
                )
                cell.fill.solid()
                if i == 0:
                    cell.fill.fore_color.rgb = BRAND
                elif fills and fill_column == j and fills[i - 1]:
                    cell.fill.fore_color.rgb = RGBColor.from_string(_tint(fills[i - 1]))
                else:
                    cell.fill.fore_color.rgb = WHITE if i % 2 else LIGHT
        return shape

    def chart(self, slide: object, fig: go.Figure, box: tuple[float, float, float, float]) -> None:
        """Reserve a place for a chart; all charts are rendered together in `to_bytes`."""
        self.charts.append(_Chart(slide, fig, box))

    def to_bytes(self, renderer: ImageRenderer | None = None) -> bytes:
        """Render the charts in one batch (one browser), place them, and save the deck."""
        by_size: dict[tuple[int, int], list[_Chart]] = {}
        for c in self.charts:
            size = (int(c.box[2] * PX_PER_INCH), int(c.box[3] * PX_PER_INCH))
            by_size.setdefault(size, []).append(c)
        for (w, h), charts in by_size.items():
            images = figures_bytes(
                [c.fig for c in charts], "png", width=w, height=h, scale=2, renderer=renderer
            )
            for c, png in zip(charts, images, strict=True):
                left, top, width, height = c.box
                c.slide.shapes.add_picture(  # type: ignore[attr-defined]
                    io.BytesIO(png), Inches(left), Inches(top), Inches(width), Inches(height)
                )
        buf = io.BytesIO()
        self.prs.save(buf)  # type: ignore[attr-defined]
        return buf.getvalue()


def set_direction(paragraph: object, *, rtl: bool = True, align: str | None = None) -> None:
    """Mark a paragraph right-to-left and right-aligned (or left-to-right and left-aligned)."""
    ppr = paragraph._p.get_or_add_pPr()  # type: ignore[attr-defined]
    ppr.set("rtl", "1" if rtl else "0")
    ppr.set("algn", align or ("r" if rtl else "l"))


def _tint(color: str, amount: float = 0.55) -> str:
    """A lighter shade of a status colour, for table cells with dark text."""
    rgb = [int(color.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)]
    return "".join(f"{int(c + (255 - c) * amount):02X}" for c in rgb)


def _labels(catalog: Catalog, lang: str) -> dict[str, str]:
    return {g.id: g.label(lang) for g in catalog.goals}


def _fresh_attainment(
    store: Store, year: int, as_of: dt.date, att: pd.DataFrame | None, codes: list[int] | None = None
) -> pd.DataFrame:
    if year > as_of.year:
        raise DeckError(
            f"השנה {year} מאוחרת מתאריך הנתונים {as_of:%d/%m/%Y}.\n"
            f"The year {year} is after the as-of date {as_of}."
        )
    if att is None:
        att = attainment(store, year=year, as_of=as_of, localities=codes)
    att = att[att["year"] == year]
    if codes is not None:
        att = att[att["locality_code"].isin(codes)]
    return att


# -- the locality deck ----------------------------------------------------------------------------
def goal_areas(catalog: Catalog) -> dict[str, list[str]]:
    """Area (the dataset a goal is measured from) -> goal ids, in catalog order."""
    areas: dict[str, list[str]] = {}
    for goal in catalog.goals:
        areas.setdefault(goal.dataset, []).append(goal.id)
    return areas


def _goal_table_rows(rows: pd.DataFrame, labels: dict[str, str], lang: str, closed: bool) -> list[list[str]]:
    out = []
    for r in rows.to_dict("records"):
        forecast = (
            "" if closed or r["status"] in ("no_data",) else format_value(r["forecast"], r["unit"], lang)
        )
        out.append(
            [
                labels.get(r["goal"], r["goal"]),
                format_value(r["value"], r["unit"], lang),
                format_target(r, lang),
                status_label(r["status"], lang),
                *([] if closed else [forecast]),
            ]
        )
    return out


def locality_deck(
    store: Store,
    authority_code: int | str,
    year: int,
    as_of: dt.date | str | None = None,
    *,
    lang: str = "he",
    att: pd.DataFrame | None = None,
    renderer: ImageRenderer | None = None,
    catalog: Catalog | None = None,
    user: User | str | None = None,
) -> bytes:
    """A locality's deck: title, attainment summary, and one slide per goal area with chart and words.

    `authority_code` may be a code or a name. `att` (the attainment frame for the year, any
    localities) saves the query when many decks are made at once; `renderer` keeps one browser.
    `user`: who exports (AccessDenied unless they may export and the locality is theirs).
    """
    require(user, "export")
    catalog = catalog or load_catalog()
    day = as_of_date(as_of)
    code, name_he = find_authority(store, authority_code)
    require_authorities(user, [code])
    att = _fresh_attainment(store, year, day, att, [code])
    rows = latest_periods(att)
    name = name_he
    if lang != "he" and not rows.empty and rows["locality_name_en"].notna().any():
        name = str(rows["locality_name_en"].dropna().iloc[0])
    labels = _labels(catalog, lang)
    deck = DeckBuilder(year, day, name, lang)
    deck.title_slide(_t("locality_title", lang, name=name), _t("subtitle", lang, year=year))

    scored = rows[~rows["status"].isin(["info", "no_data"])]
    if rows.empty or (scored.empty and (rows["status"] == "no_data").all()):
        slide = deck.slide(_t("summary", lang))
        deck.text(slide, (0.6, 1.4, 12.1, 2.0), [_t("nothing", lang)], size=20)
        return deck.to_bytes(renderer)

    comp = composite(att, catalog=catalog)
    comp = comp[(comp["model"] == ALL_MODELS) & (comp["locality_code"] == code)]
    score = float(comp["score"].iloc[0]) if not comp.empty and pd.notna(comp["score"].iloc[0]) else None
    coverage = float(comp["coverage"].iloc[0]) if not comp.empty else None
    counts = status_counts(rows)

    # attainment summary: KPI cards and words on the right, every scored goal's chart on the left
    slide = deck.slide(_t("summary", lang))
    cards = [
        ("—" if score is None else f"{score:.0f}", _t("score", lang), "#DCE6F2"),
        (str(counts["done"]), _t("done", lang), _tint(STATUS_COLORS["achieved"], 0.6)),
        (str(counts["behind"]), _t("behind", lang), _tint(STATUS_COLORS["missed"], 0.6)),
        (str(counts["no_data"]), _t("no_data", lang), _tint(STATUS_COLORS["no_data"], 0.4)),
    ]
    for i, (number, label, fill) in enumerate(cards):
        x = 12.93 - (i + 1) * 1.47 if deck.rtl else 7.3 + i * 1.47
        deck.kpi(slide, (x, 1.25, 1.37, 1.25), number, label, fill)
    words = locality_summary(rows, score, coverage, lang)
    deck.text(slide, (7.3, 2.75, 5.63, 4.1), [f"• {w}" for w in words], size=15)
    deck.chart(slide, goal_scores(rows, labels, lang=lang), CHART_BOX)

    closed = bool(rows["closed"].all())
    header = [_t("goal", lang), _t("value", lang), _t("target", lang), _t("status", lang)]
    widths = [2.35, 0.95, 1.45, 1.05]
    if not closed:
        header.append(_t("forecast", lang))
        widths = [2.0, 0.8, 1.25, 0.9, 0.85]
    for area, goal_ids in goal_areas(catalog).items():
        part = rows[rows["goal"].isin(goal_ids)]
        if part.empty:
            continue
        part = part.assign(_o=part["goal"].map({g: i for i, g in enumerate(goal_ids)})).sort_values("_o")
        slide = deck.slide(AREAS.get(area, {}).get(lang, area))
        table_rows = _goal_table_rows(part, labels, lang, closed)
        deck.table(
            slide,
            (7.1, 1.25, 5.8, 0),
            header,
            table_rows,
            widths=widths,
            size=11 if len(table_rows) <= 6 else 10,
            fills=[STATUS_COLORS.get(s) for s in part["status"]],
            fill_column=3,
        )
        top = 1.25 + 0.36 * (len(table_rows) + 1) + 0.25
        deck.text(slide, (7.1, top, 5.8, 6.85 - top), [f"• {s}" for s in goal_sentences(part, lang)], size=13)
        if (part["status"] != "info").any():
            deck.chart(slide, goal_scores(part, labels, lang=lang), CHART_BOX)
    return deck.to_bytes(renderer)


# -- the national deck ----------------------------------------------------------------------------
def attention_table(att: pd.DataFrame, catalog: Catalog | None = None) -> pd.DataFrame:
    """Localities that need attention, weakest first: low composite score, low coverage, or mostly behind."""
    comp = composite(att, catalog=catalog)
    comp = comp[comp["model"] == ALL_MODELS]
    flagged = comp[
        (comp["score"].fillna(0) < ATTENTION_SCORE)
        | (comp["coverage"].fillna(0) < ATTENTION_COVERAGE)
        | (comp["goals_behind"] > comp["goals_achieved"])
    ]
    return flagged.sort_values(["score", "coverage"], na_position="first", kind="stable").reset_index(
        drop=True
    )


def _merit(rows: pd.DataFrame) -> pd.Series:
    return rows["value"].where(rows["target_op"] != "<=", -rows["value"])


def national_deck(
    store: Store,
    year: int,
    as_of: dt.date | str | None = None,
    *,
    lang: str = "he",
    att: pd.DataFrame | None = None,
    renderer: ImageRenderer | None = None,
    catalog: Catalog | None = None,
    user: User | str | None = None,
) -> bytes:
    """The national deck: summary, scorecard, goal rankings, and the localities that need attention.

    `user`: who exports; only national scope may (AccessDenied for a scoped user).
    """
    require_authorities(require(user, "export"), [None])
    catalog = catalog or load_catalog()
    day = as_of_date(as_of)
    att = _fresh_attainment(store, year, day, att)
    rows = latest_periods(att)
    labels = _labels(catalog, lang)
    name = "ארצי" if lang == "he" else "National"
    deck = DeckBuilder(year, day, name, lang)
    deck.title_slide(_t("national_title", lang), _t("subtitle", lang, year=year))
    scored = rows[~rows["status"].isin(["info", "no_data"])]
    if scored.empty:
        slide = deck.slide(_t("summary", lang))
        deck.text(slide, (0.6, 1.4, 12.1, 2.0), [_t("nothing", lang)], size=20)
        return deck.to_bytes(renderer)
    target_goals = {g: lbl for g, lbl in labels.items() if g in set(scored["goal"])}

    # summary
    counts = status_counts(rows)
    slide = deck.slide(_t("summary", lang))
    cards = [
        (str(scored["locality_code"].nunique()), _t("localities", lang), "#DCE6F2"),
        (str(counts["done"]), _t("done", lang), _tint(STATUS_COLORS["achieved"], 0.6)),
        (str(counts["behind"]), _t("behind", lang), _tint(STATUS_COLORS["missed"], 0.6)),
        (str(counts["no_data"]), _t("no_data", lang), _tint(STATUS_COLORS["no_data"], 0.4)),
    ]
    for i, (number, label, fill) in enumerate(cards):
        x = 12.93 - (i + 1) * 1.47 if deck.rtl else 7.3 + i * 1.47
        deck.kpi(slide, (x, 1.25, 1.37, 1.25), number, label, fill)
    deck.text(slide, (7.3, 2.75, 5.63, 4.1), [f"• {w}" for w in national_summary(att, lang)], size=15)
    deck.chart(slide, goal_status_shares(att, target_goals, lang=lang), (0.3, 1.2, 6.8, 5.7))

    # scorecard, a page of localities per slide
    names = rows.drop_duplicates("locality_code").sort_values("locality_name", kind="stable")
    codes = list(names["locality_code"])
    pages = max(1, -(-len(codes) // SCORECARD_ROWS_PER_SLIDE))
    for page in range(pages):
        chunk = codes[page * SCORECARD_ROWS_PER_SLIDE : (page + 1) * SCORECARD_ROWS_PER_SLIDE]
        title = _t("scorecard", lang) + (f" ({page + 1}/{pages})" if pages > 1 else "")
        slide = deck.slide(title)
        part = rows[rows["locality_code"].isin(chunk)]
        deck.chart(slide, scorecard_figure(part, target_goals, lang=lang), (0.3, 1.15, 12.7, 5.75))

    # goal rankings: goals by share of localities on target, then localities per goal
    slide = deck.slide(_t("rankings", lang))
    deck.chart(slide, goal_status_shares(att, target_goals, lang=lang), (0.8, 1.15, 11.7, 5.75))
    for goal, label in target_goals.items():
        goal_rows = rows[(rows["goal"] == goal) & rows["value"].notna()]
        if goal_rows.empty:
            continue
        slide = deck.slide(_t("goal_ranking", lang, goal=label))
        shown = goal_rows
        note = ""
        if len(goal_rows) > RANKED_MAX:
            k = RANKED_MAX // 2
            ordered = goal_rows.assign(_m=_merit(goal_rows)).sort_values("_m", kind="stable")
            shown = pd.concat([ordered.head(k), ordered.tail(k)]).drop(columns="_m")
            note = _t("top_bottom", lang, k=k, n=len(goal_rows))
        done = goal_rows["status"].isin(DONE).sum()
        behind = goal_rows["status"].isin(BEHIND).sum()
        target = format_target(goal_rows.iloc[0].to_dict(), lang)
        words = [
            f"{_t('target', lang)}: {target}",
            f"{_t('done', lang)}: {done} · {_t('behind', lang)}: {behind}",
            *([note] if note else []),
        ]
        deck.text(slide, (9.4, 1.3, 3.55, 5.5), [f"• {w}" for w in words], size=14)
        deck.chart(slide, ranked_bars(shown, lang=lang), (0.3, 1.15, 8.9, 5.75))

    # localities that need attention
    flagged = attention_table(att, catalog)
    slide = deck.slide(_t("attention", lang))
    total = int(scored["locality_code"].nunique())
    words = [
        _t("attention_count", lang, n=len(flagged), total=total),
        _t("attention_rule", lang, score=ATTENTION_SCORE, cov=ATTENTION_COVERAGE * 100),
    ]
    if flagged.empty:
        words.append(_t("no_attention", lang))
    elif len(flagged) > ATTENTION_ROWS:
        words.append(_t("more", lang, n=len(flagged) - ATTENTION_ROWS))
    deck.text(slide, (0.4, 1.25, 4.3, 5.6), [f"• {w}" for w in words], size=14)
    if not flagged.empty:
        top = flagged.head(ATTENTION_ROWS)
        header = [
            _t("locality", lang),
            _t("score", lang),
            _t("done", lang),
            _t("behind", lang),
            _t("no_data", lang),
            _t("coverage", lang),
        ]
        table_rows = [
            [
                str(r["locality_name"]),
                "—" if pd.isna(r["score"]) else f"{r['score']:.0f}",
                str(int(r["goals_achieved"])),
                str(int(r["goals_behind"])),
                str(int(r["goals_no_data"])),
                f"{r['coverage'] * 100:.0f}%",
            ]
            for r in top.to_dict("records")
        ]
        deck.table(
            slide, (4.9, 1.25, 8.0, 0), header, table_rows, widths=[2.4, 1.0, 1.25, 1.0, 1.1, 1.25], size=11
        )
    return deck.to_bytes(renderer)


# -- PDF -------------------------------------------------------------------------------------------
def deck_pdf(pptx: bytes) -> bytes:
    """The same deck as PDF (LibreOffice headless). Raises ExportUnavailable without LibreOffice."""
    from exports.pdf import pptx_to_pdf

    return pptx_to_pdf(pptx)


DeckFunction = Callable[..., bytes]
