"""Composite attainment per locality and per program model, from the tidy attainment frame.

score per goal (0..1, column `score`) is how close the value is to its target, or in the running
period to where it should be by now (metrics/status.py). The composite for a locality and a year
is the weighted mean of those scores × 100, using each goal's catalog weight, over the goals with a
value. Informational goals weigh 0. Half-year goals count once, with their latest period in the year.
`coverage` is the share of the weight that had data, so a high score on little data shows as such.
"""

from __future__ import annotations

import pandas as pd

from metrics.catalog import Catalog, load_catalog

COMPOSITE_COLUMNS = (
    "locality_code",
    "locality_name",
    "year",
    "model",
    "model_he",
    "model_en",
    "score",
    "coverage",
    "goals_scored",
    "goals_no_data",
    "goals_achieved",
    "goals_behind",
)
ALL_MODELS = "all"


def composite(attainment_df: pd.DataFrame, *, catalog: Catalog | None = None) -> pd.DataFrame:
    """One row per locality × year × model ('all' plus every program model)."""
    catalog = catalog or load_catalog()
    if attainment_df.empty:
        return pd.DataFrame(columns=list(COMPOSITE_COLUMNS))
    df = attainment_df.sort_values("period_start").groupby(["locality_code", "goal", "year"]).tail(1)
    weights = {g.id: g.weight for g in catalog.goals}
    df = df.assign(weight=df["goal"].map(weights).fillna(0.0))
    df = df[df["weight"] > 0]
    df = df.assign(
        scored=df["score"].notna(),
        weighted=df["score"].fillna(0.0) * df["weight"],
        weight_scored=df["weight"].where(df["score"].notna(), 0.0),
        no_data=df["status"].eq("no_data"),
        achieved=df["status"].isin(["achieved", "on_track"]),
        behind=df["status"].isin(["missed", "off_track", "at_risk"]),
    )
    frames = []
    models = [(ALL_MODELS, "כל התוכניות", "All programs", None)] + [
        (m.id, m.he, m.en, {g.id for g in catalog.goals_of_model(m.id)}) for m in catalog.models.values()
    ]
    for model_id, he, en, goal_ids in models:
        part = df if goal_ids is None else df[df["goal"].isin(goal_ids)]
        if part.empty:
            continue
        agg = part.groupby(["locality_code", "locality_name", "year"], as_index=False).agg(
            weighted=("weighted", "sum"),
            weight_scored=("weight_scored", "sum"),
            weight_total=("weight", "sum"),
            goals_scored=("scored", "sum"),
            goals_no_data=("no_data", "sum"),
            goals_achieved=("achieved", "sum"),
            goals_behind=("behind", "sum"),
        )
        agg["score"] = (100 * agg["weighted"] / agg["weight_scored"].where(agg["weight_scored"] > 0)).round(1)
        agg["coverage"] = (agg["weight_scored"] / agg["weight_total"]).round(3)
        agg["model"], agg["model_he"], agg["model_en"] = model_id, he, en
        frames.append(agg)
    out = pd.concat(frames, ignore_index=True)
    return out.loc[:, list(COMPOSITE_COLUMNS)].sort_values(
        ["locality_code", "year", "model"], ignore_index=True
    )
