"""Shared look of every chart and export: fonts, status colours and labels.

Pages and exports both draw from here, so a chart on screen and in a deck never disagree.
"""

from __future__ import annotations

# A Hebrew-capable font must be named explicitly: without one, exports show boxes (RECIPES.md).
FONT_FAMILY = "Noto Sans Hebrew, DejaVu Sans, Arial, sans-serif"

STATUS_ORDER: tuple[str, ...] = (
    "achieved",
    "on_track",
    "at_risk",
    "off_track",
    "missed",
    "no_data",
    "info",
)

STATUS_COLORS: dict[str, str] = {
    "achieved": "#1a9850",
    "on_track": "#91cf60",
    "at_risk": "#fdae61",
    "off_track": "#f46d43",
    "missed": "#d73027",
    "no_data": "#d9d9d9",
    "info": "#9ecae1",
}

STATUS_LABELS: dict[str, dict[str, str]] = {
    "achieved": {"he": "הושג", "en": "Achieved"},
    "on_track": {"he": "בקצב", "en": "On track"},
    "at_risk": {"he": "בסיכון", "en": "At risk"},
    "off_track": {"he": "לא בקצב", "en": "Off track"},
    "missed": {"he": "לא הושג", "en": "Missed"},
    "no_data": {"he": "אין נתונים", "en": "No data"},
    "info": {"he": "למידע", "en": "Info"},
}

# Unicode isolates keep a number or Latin run inside Hebrew text in its place (bidi-safe labels).
LRI, RLI, PDI = "\u2066", "\u2067", "\u2069"


def status_label(status: str, lang: str = "he") -> str:
    """The status as users read it."""
    return STATUS_LABELS.get(status, {}).get(lang, status)


def isolate_ltr(text: object) -> str:
    """Wrap a number or Latin text so it keeps its order inside a right-to-left label."""
    return f"{LRI}{text}{PDI}"
