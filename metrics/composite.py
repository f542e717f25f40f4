"""Composite attainment per locality and per program model, from the tidy attainment frame.

score per goal (0..1, column `score`) is how close the value is to its target, or in the running
period to where it should be by now (metrics/status.py). The composite for a locality and a year
is the weighted mean of those scores × 100, using each goal's catalog weight, over the goals with a
value. Informational goals weigh 0. Half-year goals count once, with their latest period in the year.
`coverage` is the share of the weight that had data, so a high score on little data shows as such.
"""

from __future__ import annotations

import numpy as np
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
    """One row per locality × year × model ('all' plus every program model).

    Summed with numpy over integer keys (the goal's catalog position, locality code × year), the
    locality name attached afterwards: six pandas groupbys of the 55,845 national rows by text
    keys cost ~50–150 ms of every overview run after a write.
    """
    catalog = catalog or load_catalog()
    if attainment_df.empty:
        return pd.DataFrame(columns=list(COMPOSITE_COLUMNS))
    goal_ids = [g.id for g in catalog.goals]
    found, texts = pd.factorize(attainment_df["goal"])
    position = {g: i for i, g in enumerate(goal_ids)}
    goal = np.array([position.get(t, -1) for t in texts] + [-1], dtype=np.int64)[found]  # -1: none/unknown
    weight = np.array([g.weight for g in catalog.goals] + [0.0])[goal]  # code -1 takes the 0.0
    named = attainment_df["locality_name"].notna().to_numpy()  # (grouping by the name dropped none)
    status = attainment_df["status"]
    score = attainment_df["score"].to_numpy(dtype=float)
    df = pd.DataFrame(
        {
            "locality_code": attainment_df["locality_code"].to_numpy(),
            "goal": goal,
            "year": attainment_df["year"].to_numpy(),
            "period_start": attainment_df["period_start"].to_numpy(),
            "weight": weight,
            "scored": ~np.isnan(score),
            "weighted": np.nan_to_num(score) * weight,
            "weight_scored": np.where(np.isnan(score), 0.0, weight),
            "no_data": status.eq("no_data").to_numpy(),
            "achieved": status.isin(["achieved", "on_track"]).to_numpy(),
            "behind": status.isin(["missed", "off_track", "at_risk"]).to_numpy(),
        }
    )
    # the latest period of each goal in the year (half-year goals count once)
    df = df.iloc[np.argsort(df["period_start"].to_numpy(), kind="stable")]
    df = df[~df.duplicated(["locality_code", "goal", "year"], keep="last").to_numpy() & named[df.index]]
    df = df[df["weight"] > 0]
    names = attainment_df.drop_duplicates("locality_code").set_index("locality_code")["locality_name"]
    code, year = df["locality_code"].to_numpy(), df["year"].to_numpy()
    groups, group = np.unique(code.astype(np.int64) * 10_000 + year, return_inverse=True)  # (code, year)
    sums = ("weighted", "weight_scored", "weight", "scored", "no_data", "achieved", "behind")
    values = {c: df[c].to_numpy(dtype=float) for c in sums}
    goal = df["goal"].to_numpy()
    frames = []
    models = [(ALL_MODELS, "כל התוכניות", "All programs", None)] + [
        (m.id, m.he, m.en, [goal_ids.index(g.id) for g in catalog.goals_of_model(m.id)])
        for m in catalog.models.values()
    ]
    for model_id, he, en, codes in models:
        rows = np.ones(len(df), dtype=bool) if codes is None else np.isin(goal, codes)
        per_group = np.bincount(group[rows], minlength=len(groups))
        present = per_group > 0
        if not present.any():
            continue
        total = {
            c: np.bincount(group[rows], weights=v[rows], minlength=len(groups))[present]
            for c, v in values.items()
        }
        key = groups[present]
        agg = pd.DataFrame(
            {
                "locality_code": (key // 10_000).astype(code.dtype),
                "year": (key % 10_000).astype(year.dtype),
                "goals_scored": total["scored"].astype(np.int64),
                "goals_no_data": total["no_data"].astype(np.int64),
                "goals_achieved": total["achieved"].astype(np.int64),
                "goals_behind": total["behind"].astype(np.int64),
            }
        )
        agg["locality_name"] = names.reindex(agg["locality_code"]).to_numpy()
        scored, weight_total = total["weight_scored"], total["weight"]
        agg["score"] = (100 * pd.Series(total["weighted"]) / pd.Series(scored).where(scored > 0)).round(1)
        agg["coverage"] = pd.Series(scored / weight_total).round(3)
        agg["model"], agg["model_he"], agg["model_en"] = model_id, he, en
        frames.append(agg)
    if not frames:
        return pd.DataFrame(columns=list(COMPOSITE_COLUMNS))
    out = pd.concat(frames, ignore_index=True)
    return out.loc[:, list(COMPOSITE_COLUMNS)].sort_values(
        ["locality_code", "year", "model"], ignore_index=True
    )
