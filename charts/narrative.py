"""Short Hebrew (or English) sentences from the attainment numbers, for decks and pages.

Steering committees read the deck without the dashboard, so each goal area gets a few plain
sentences: what was achieved, what is behind, what the year will end at at the current pace, and
which goals have no data (no data is not zero). Everything here is a pure function of the tidy
attainment frame, so the words can never disagree with the numbers on the same slide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from charts.style import status_label

DONE = ("achieved", "on_track")
BEHIND = ("missed", "off_track", "at_risk")

_UNIT_WORDS = {"days": {"he": "ימים", "en": "days"}, "per_month": {"he": "בחודש", "en": "a month"}}
_YES_NO = {"he": ("כן", "לא"), "en": ("yes", "no")}


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def format_value(value: object, unit: str | None = None, lang: str = "he") -> str:
    """A goal's value as people read it: counts whole, shares as %, days with the word, yes/no."""
    if _missing(value):
        return "אין נתונים" if lang == "he" else "no data"
    x = float(value)  # type: ignore[arg-type]
    if unit == "share":
        return f"{x * 100:.0f}%"
    if unit == "yes_no":
        return _YES_NO[lang][0] if x >= 1 else _YES_NO[lang][1]
    if unit in ("per_1000", "per_month"):
        text = f"{x:.1f}"
    elif x.is_integer():
        text = f"{int(x):,}"
    elif unit == "count":
        text = f"{x:,.1f}".rstrip("0").rstrip(".")
    else:
        text = f"{x:,.0f}"
    word = _UNIT_WORDS.get(unit or "", {}).get(lang)
    return f"{text} {word}" if word else text


def format_target(row: Mapping[str, object], lang: str = "he") -> str:
    """The target in words: 'at least 3', 'at most 35 days', 'between 1 and 3'."""
    op, unit = row.get("target_op"), row.get("unit")
    low, high = row.get("target_low"), row.get("target_high")
    if op == "info" or (_missing(low) and _missing(high)):
        return "—"
    if op == "<=":
        amount = format_value(high if not _missing(high) else low, unit, lang)
        return f"עד {amount}" if lang == "he" else f"at most {amount}"
    if op == "between" and not _missing(high):
        a, b = format_value(low, unit, lang), format_value(high, unit, lang)
        return f"בין {a} ל-{b}" if lang == "he" else f"between {a} and {b}"
    if unit == "yes_no":
        return "כן" if lang == "he" else "yes"
    amount = format_value(low, unit, lang)
    return f"לפחות {amount}" if lang == "he" else f"at least {amount}"


def latest_periods(att: pd.DataFrame) -> pd.DataFrame:
    """One row per locality × goal × year: half-year goals keep their latest period in the year."""
    if att.empty:
        return att
    ordered = att.sort_values("period_start", kind="stable") if "period_start" in att else att
    return ordered.drop_duplicates(["locality_code", "goal", "year"], keep="last")


def _label(row: Mapping[str, object], lang: str) -> str:
    return str(row.get("label_he" if lang == "he" else "label_en") or row.get("goal"))


def _item(row: Mapping[str, object], lang: str, *, forecast: bool = False) -> str:
    value = format_value(row.get("value"), row.get("unit"), lang)  # type: ignore[arg-type]
    target = format_target(row, lang)
    text = f"{_label(row, lang)} ({value}; {'יעד' if lang == 'he' else 'target'}: {target})"
    if forecast and not _missing(row.get("forecast")):
        end = format_value(row.get("forecast"), row.get("unit"), lang)  # type: ignore[arg-type]
        text = text[:-1] + (f"; צפי לסוף השנה: {end})" if lang == "he" else f"; year-end forecast: {end})")
    return text


def goal_sentences(rows: pd.DataFrame, lang: str = "he") -> list[str]:
    """Sentences for one locality's goals in one area and year: achieved, behind + forecast, no data.

    `rows` is the attainment frame for one locality and year (latest period per goal).
    """
    if rows.empty:
        return ["אין יעדים בתחום זה." if lang == "he" else "No goals in this area."]
    records = rows.to_dict("records")
    closed = bool(rows["closed"].all()) if "closed" in rows else True
    scored = [r for r in records if r["status"] not in ("info", "no_data")]
    done = [r for r in records if r["status"] in DONE]
    behind = [r for r in records if r["status"] in BEHIND]
    no_data = [r for r in records if r["status"] == "no_data"]
    info = [r for r in records if r["status"] == "info" and not _missing(r.get("value"))]
    out: list[str] = []
    if scored:
        if lang == "he":
            verb = "הושגו" if closed else "הושגו או בקצב להשגה"
            out.append(f"{verb} {len(done)} מתוך {len(scored)} יעדים.")
        else:
            verb = "achieved" if closed else "achieved or on track"
            out.append(f"{len(done)} of {len(scored)} goals {verb}.")
    if done:
        head = "הושגו: " if lang == "he" and closed else "בקצב: " if lang == "he" else "On target: "
        out.append(head + "; ".join(_item(r, lang) for r in done) + ".")
    if behind:
        head = "מאחור: " if lang == "he" else "Behind: "
        out.append(head + "; ".join(_item(r, lang, forecast=not closed) for r in behind) + ".")
    if not closed and scored:
        at_pace = [r for r in scored if r["status"] in BEHIND and r["status"] != "at_risk"]
        if lang == "he":
            out.append(
                f"בקצב הנוכחי, {len(scored) - len(at_pace)} מתוך {len(scored)} יעדים צפויים להיות "
                "ביעד או קרוב אליו בסוף השנה."
            )
        else:
            out.append(
                f"At the current pace, {len(scored) - len(at_pace)} of {len(scored)} goals should end "
                "the year at or near target."
            )
    if no_data:
        names = ", ".join(_label(r, lang) for r in no_data)
        out.append(
            f"אין נתונים (לא נשלח גיליון לתקופה, וזה לא אפס): {names}."
            if lang == "he"
            else f"No data (no sheet was sent for the period; not zero): {names}."
        )
    if info:
        items = "; ".join(f"{_label(r, lang)} {format_value(r['value'], r['unit'], lang)}" for r in info)
        out.append(("לידיעה: " if lang == "he" else "For information: ") + items + ".")
    return out


def status_counts(rows: pd.DataFrame) -> dict[str, int]:
    """How many goals are done (achieved/on track), behind, without data, and scored at all."""
    status = rows["status"] if not rows.empty else pd.Series(dtype=str)
    return {
        "done": int(status.isin(DONE).sum()),
        "behind": int(status.isin(BEHIND).sum()),
        "no_data": int((status == "no_data").sum()),
        "scored": int((~status.isin(["info", "no_data"])).sum()),
    }


def locality_summary(
    rows: pd.DataFrame, score: float | None, coverage: float | None, lang: str = "he"
) -> list[str]:
    """The opening sentences of a locality deck: the composite score and the status counts."""
    c = status_counts(rows)
    out: list[str] = []
    if score is not None and not _missing(score):
        cov = "" if coverage is None or _missing(coverage) else f"{coverage * 100:.0f}%"
        if lang == "he":
            out.append(
                f"ציון עמידה משוקלל: {score:.0f} מתוך 100" + (f" (כיסוי נתונים {cov})." if cov else ".")
            )
        else:
            out.append(
                f"Weighted attainment score: {score:.0f} of 100"
                + (f" (data coverage {cov})." if cov else ".")
            )
    if lang == "he":
        out.append(
            f"{c['done']} יעדים הושגו או בקצב, {c['behind']} מאחור, {c['no_data']} ללא נתונים "
            f"(מתוך {c['scored'] + c['no_data']} יעדים עם יעד מספרי)."
        )
    else:
        out.append(
            f"{c['done']} goals achieved or on track, {c['behind']} behind, {c['no_data']} without data "
            f"(of {c['scored'] + c['no_data']} goals with a target)."
        )
    behind = rows[rows["status"].isin(BEHIND)] if not rows.empty else rows
    if not behind.empty:
        worst = behind.sort_values("score", na_position="first").head(3)
        names = ", ".join(_label(r, lang) for r in worst.to_dict("records"))
        out.append(f"דורשים תשומת לב: {names}." if lang == "he" else f"Need attention: {names}.")
    return out


def national_summary(att: pd.DataFrame, lang: str = "he") -> list[str]:
    """The opening sentences of the national deck: coverage and the weakest and strongest goals."""
    rows = latest_periods(att)
    scored = rows[~rows["status"].isin(["info", "no_data"])]
    with_data = int(scored["locality_code"].nunique())
    c = status_counts(rows)
    share = c["done"] / c["scored"] * 100 if c["scored"] else 0.0
    out = [
        f"{with_data} רשויות שלחו נתונים. {share:.0f}% מהיעדים הושגו או בקצב "
        f"({c['done']} מתוך {c['scored']}); {c['behind']} מאחור; {c['no_data']} ללא נתונים."
        if lang == "he"
        else f"{with_data} localities sent data. {share:.0f}% of goals achieved or on track "
        f"({c['done']} of {c['scored']}); {c['behind']} behind; {c['no_data']} without data."
    ]
    if not scored.empty:
        by_goal = (
            scored.assign(done=scored["status"].isin(DONE))
            .groupby(["goal", "label_he" if lang == "he" else "label_en"], as_index=False)["done"]
            .mean()
        )
        by_goal = by_goal.sort_values("done", kind="stable")
        label_col = by_goal.columns[1]
        for row, he, en in ((by_goal.iloc[0], "החלש", "Weakest"), (by_goal.iloc[-1], "החזק", "Strongest")):
            share_done = f"{row['done'] * 100:.0f}%"
            if lang == "he":
                out.append(f"היעד {he} ביותר: {row[label_col]} ({share_done} מהרשויות ביעד).")
            else:
                out.append(f"{en} goal: {row[label_col]} ({share_done} of localities on target).")
    return out


def status_word(status: str, lang: str = "he") -> str:
    """The status as users read it (re-exported so decks import one module for words)."""
    return status_label(status, lang)
