"""Composite scores and peer ranking, on small frames and a real store."""

from __future__ import annotations

import pandas as pd
import pytest

from metrics.composite import composite
from metrics.engine import attainment
from metrics.peers import peer_groups, population_band, rank_within
from tests.metrics_fixtures import insert_rows


@pytest.fixture
def two_localities(store):
    meetings = [
        {"authority_code": 6200, "meeting_date": d} for d in ("2024-02-01", "2024-05-01", "2024-09-01")
    ]
    meetings += [{"authority_code": 7700, "meeting_date": "2024-03-01"}]
    insert_rows(
        store,
        {
            "meetings": meetings,
            "trainings": [{"authority_code": 6200, "training_date": "2024-03-01"}],
            "locality_attributes": [
                {"authority_code": 6200, "attribute": "cohort", "value": "2024"},
                {"authority_code": 7700, "attribute": "cohort", "value": "2024"},
            ],
        },
    )
    return store


def test_composite_weights_and_coverage(two_localities):
    att = attainment(two_localities, as_of="2025-01-10", year=2024)
    comp = composite(att)
    bat_yam = comp[(comp.locality_code == 6200) & (comp.model == "machabi")].iloc[0]
    # machabi goals with data in 2024: round_table_meetings (w2, 3/3 -> 1), round_table_sectors (w1, 0/3),
    # needs_assessment (w1, 0/1), training_activities (w2, 1/3) -> (2 + 0 + 0 + 2/3) / 6
    assert bat_yam["score"] == pytest.approx(100 * (2 + 2 / 3) / 6, abs=0.1)
    assert bat_yam["goals_scored"] == 4 and bat_yam["coverage"] < 1
    assert set(comp["model"]) >= {"all", "machabi", "round_table"}
    afula_all = comp[(comp.locality_code == 7700) & (comp.model == "all")].iloc[0]
    # all goals with a score: round_table_meetings (w2, 1/3), round_table_sectors (w1, 0),
    # national_forum_attendance (w1, 0); cadence and Misgav meetings have no team meetings (no score)
    assert afula_all["score"] == pytest.approx(100 * (2 * 1 / 3) / (2 + 1 + 1), abs=0.1)


def test_composite_of_nothing_is_empty():
    assert composite(pd.DataFrame(columns=["locality_code"])).empty


def test_peer_groups_have_bands_and_attributes(two_localities):
    peers = peer_groups(two_localities)
    assert len(peers) == 255
    row = peers[peers.authority_code == 6200].iloc[0]
    assert (row["kind"], row["population_band"], row["cohort"]) == ("city", "100k+", "2024")
    assert population_band(4999) == "<5k" and population_band(50_000) == "50k-100k"


def test_rank_within_peer_group(two_localities):
    att = attainment(two_localities, as_of="2025-01-10", year=2024, goals=["round_table_meetings"])
    ranked = rank_within(att, peer_groups(two_localities), by="cohort")
    best = ranked[ranked.locality_code == 6200].iloc[0]
    worst = ranked[ranked.locality_code == 7700].iloc[0]
    assert (best["rank"], best["percentile"], best["peers"]) == (1, 100, 2)
    assert (worst["rank"], worst["percentile"]) == (2, 0)
    assert best["value_per_1000"] == pytest.approx(3 * 1000 / 126291)


def test_lower_is_better_for_at_most_goals():
    att = pd.DataFrame(
        {
            "locality_code": [1, 2, 3],
            "goal": "meeting_cadence",
            "period": "2024",
            "value": [20.0, 40.0, None],
            "target_op": "<=",
            "unit": "days",
        }
    )
    peers = pd.DataFrame({"authority_code": [1, 2, 3], "population": [1000, 2000, 3000], "district": "x"})
    ranked = rank_within(att, peers, by=["district"]).set_index("locality_code")
    assert ranked.loc[1, "rank"] == 1 and ranked.loc[2, "rank"] == 2 and pd.isna(ranked.loc[3, "rank"])
    assert ranked["value_per_1000"].isna().all()


def _composite_by_groupby(att: pd.DataFrame) -> pd.DataFrame:
    """The composite written plainly with pandas groupbys (the reference for the numpy one)."""
    from metrics.catalog import load_catalog
    from metrics.composite import ALL_MODELS, COMPOSITE_COLUMNS

    catalog = load_catalog()
    df = att.sort_values("period_start").groupby(["locality_code", "goal", "year"]).tail(1)
    df = df.assign(weight=df["goal"].map({g.id: g.weight for g in catalog.goals}).fillna(0.0))
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
    order = ["locality_code", "year", "model"]
    return out.loc[:, list(COMPOSITE_COLUMNS)].sort_values(order, ignore_index=True)


@pytest.mark.parametrize("as_of", ["2025-06-30", "2024-12-31", "2026-11-22"])
def test_composite_equals_the_plain_groupby_form(sample_db, tmp_path, as_of):
    """Every locality × year × model of the sample data, and of parts of the frame (one locality,
    every 7th row: goals missing, half-year goals with one half), equal the groupby reference."""
    import shutil

    from store import Store

    store = Store(shutil.copy(sample_db, tmp_path / "sample.duckdb"))
    try:
        att = attainment(store, as_of=as_of)
        for frame in (att, att[att["locality_code"] == att["locality_code"].iloc[0]], att.iloc[::7]):
            got = composite(frame)
            assert len(got) > 0 and got["score"].notna().any()
            pd.testing.assert_frame_equal(got, _composite_by_groupby(frame), check_exact=True)
    finally:
        store.close()
