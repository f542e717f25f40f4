"""Peer groups for fair comparison: district, authority kind, population band, uploaded attributes.

Ranks are within a peer group for one goal and period; "better" follows the goal's target
(lower is better for "<=" goals such as freshness and cadence). Per-resident values are added
for count goals, where the size of the locality matters; shares, days and rates already are.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from store import Store

POPULATION_BANDS = (
    (0, "<5k"),
    (5_000, "5k-20k"),
    (20_000, "20k-50k"),
    (50_000, "50k-100k"),
    (100_000, "100k+"),
)
PER_RESIDENT_UNITS = ("count",)


def population_band(population: float | None) -> str | None:
    """The size band of an authority by its CBS population."""
    if population is None or pd.isna(population):
        return None
    label = None
    for floor, name in POPULATION_BANDS:
        if population >= floor:
            label = name
    return label


def peer_groups(store: Store) -> pd.DataFrame:
    """Every authority with district, kind, population band and uploaded attributes as columns."""
    base = store.query_df(
        "SELECT code AS authority_code, name, name_en, kind, district, population "
        "FROM authorities ORDER BY code"
    )
    base["population_band"] = base["population"].map(population_band)
    attrs = store.query_df(
        """
        SELECT authority_code, attribute, value FROM locality_attributes
        WHERE superseded_by IS NULL
        QUALIFY row_number() OVER (PARTITION BY authority_code, attribute
                                   ORDER BY batch_id DESC, source_row DESC) = 1
        """
    )
    if not attrs.empty:
        wide = attrs.pivot(index="authority_code", columns="attribute", values="value").reset_index()
        wide.columns.name = None
        clashes = [c for c in wide.columns if c in base.columns and c != "authority_code"]
        wide = wide.rename(columns={c: f"attr_{c}" for c in clashes})
        base = base.merge(wide, on="authority_code", how="left")
    return base


def rank_within(attainment_df: pd.DataFrame, peers_df: pd.DataFrame, by: str | Sequence[str]) -> pd.DataFrame:
    """The attainment rows with peer_group, peers, rank (1 = best) and percentile (100 = best).

    Rows without a value are not ranked. `value_per_1000` is value per 1,000 residents for count
    goals; ranks use the value itself (the target is per locality).
    """
    by = [by] if isinstance(by, str) else list(by)
    keep = ["authority_code", "population", *[c for c in by if c != "population"]]
    df = attainment_df.merge(
        peers_df[keep].rename(columns={"authority_code": "locality_code"}), on="locality_code", how="left"
    )
    df["peer_group"] = df[by].astype(str).agg(" / ".join, axis=1)
    merit = df["value"].where(df["target_op"] != "<=", -df["value"])
    df["_merit"] = merit
    keys = [*by, "goal", "period"]
    grouped = df.groupby(keys, dropna=False)["_merit"]
    df["peers"] = grouped.transform("count")
    df["rank"] = grouped.rank(method="min", ascending=False)
    worse_or_equal = grouped.rank(method="max", ascending=True)
    df["percentile"] = (100 * (worse_or_equal - 1) / (df["peers"] - 1).where(df["peers"] > 1)).round(1)
    df.loc[df["peers"] == 1, "percentile"] = 100.0
    df.loc[df["value"].isna(), ["rank", "percentile"]] = None
    per_resident = df["unit"].isin(PER_RESIDENT_UNITS) & (df["population"] > 0)
    df["value_per_1000"] = (df["value"] * 1000 / df["population"]).where(per_resident)
    return df.drop(columns="_merit")
