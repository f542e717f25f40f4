"""Target overrides: versioned writes, history old -> new, resolution order, and checks."""

from __future__ import annotations

import pytest

from metrics.engine import attainment
from metrics.targets import check_override, default_target, set_goal_target
from store import targets as store_targets
from tests.metrics_fixtures import insert_rows


@pytest.fixture
def with_meetings(store):
    insert_rows(
        store,
        {"meetings": [{"authority_code": c, "meeting_date": "2024-03-01"} for c in (6200, 7700)]},
    )
    return store


def _target(store, code, **kw):
    df = attainment(store, as_of="2025-01-10", goals=["round_table_meetings"], year=2024, **kw)
    row = df[df["locality_code"] == code].iloc[0]
    return row["target"], row["target_source"], row["target_version"]


def test_locality_beats_year_beats_catalog_and_history_is_kept(with_meetings):
    store = with_meetings
    assert _target(store, 6200) == (3, "catalog", 0)
    year_id = set_goal_target(store, "round_table_meetings", 2024, None, 4, None, "dana", "national plan")
    assert _target(store, 6200) == (4, "year", year_id)
    first = set_goal_target(store, "round_table_meetings", 2024, 6200, 6, None, "dana")
    second = set_goal_target(store, "round_table_meetings", 2024, 6200, 5, None, "yossi", "agreed")
    assert _target(store, 6200) == (5, "locality", second)
    assert _target(store, 7700) == (4, "year", year_id)

    history = store_targets.target_history(store, "round_table_meetings", authority_code=6200)
    latest = history.iloc[0]
    assert (latest["target_id"], latest["replaces"], latest["old_low"], latest["new_low"]) == (
        second,
        first,
        6,
        5,
    )
    assert latest["set_by"] == "yossi" and latest["note"] == "agreed" and bool(latest["current"])
    assert not bool(history.iloc[1]["current"])

    cleared = store_targets.clear_target(store, "round_table_meetings", 2024, 6200, "dana")
    assert _target(store, 6200) == (4, "year", year_id)
    assert store_targets.target_history(store, authority_code=6200).iloc[0]["target_id"] == cleared
    assert len(store_targets.current_targets(store, 2024)) == 1


def test_overrides_only_apply_to_their_year(with_meetings):
    set_goal_target(with_meetings, "round_table_meetings", 2025, None, 9, None, "dana")
    assert _target(with_meetings, 6200)[1] == "catalog"


def test_override_checks():
    assert check_override("round_table_meetings", 4, None) == []
    assert check_override("round_table_meetings", None, None) == []  # clearing
    assert check_override("round_table_meetings", None, 5)  # >= needs low
    assert check_override("meeting_cadence", 10, None)  # <= needs high
    assert check_override("active_clusters", 3, 1)  # low above high
    assert check_override("continuity_plans", 50, None)  # a share is 0..1
    assert check_override("nope", 1, None)
    assert default_target("active_clusters").op == "between"


def test_bad_override_is_not_written(store):
    with pytest.raises(ValueError, match="low bound"):
        set_goal_target(store, "round_table_meetings", 2024, None, None, 3, "dana")
    assert store_targets.target_history(store).empty
