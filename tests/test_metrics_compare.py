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
