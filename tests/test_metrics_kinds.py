"""Computed measure kinds (metrics/kinds.py): the same rows as each goal's measure SQL.

The engine computes most measures in numpy from a few plain queries; the goal's SQL stays its
definition. These cases put each kind's edge cases into a real store and require the engine's
table to equal the one readable query's (attainment_sql) exactly, plus hand-checked values.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml

from metrics import catalog as cat
from metrics import kinds
from metrics.engine import attainment, attainment_sql
from tests.metrics_fixtures import insert_rows

BAT_YAM = 6200
AFULA = 7700

COMPUTED = [g.id for g in cat.load_catalog().goals if g.compute]


def _meeting(code: int, day: str, kind: str = "leading_team", locality: int | None = None) -> dict:
    locality = locality or code
    return {"authority_code": code, "locality_code": locality, "meeting_date": day, "meeting_type": kind}


@pytest.fixture
def edges(store):  # fmt: skip
    """Rows at the edges of every computed kind, in two batches (the second's import date is used
    where a program has no update date)."""
    insert_rows(
        store,
        {
            "programs": [
                # no start date: counts from 1900 on; no update date: its batch's import date
                {"authority_code": BAT_YAM, "start_date": None, "last_updated": None},
                {"authority_code": BAT_YAM, "start_date": "2023-03-01", "last_updated": "2024-08-15"},
                {
                    "authority_code": BAT_YAM,
                    "start_date": "2025-05-01",
                    "status": "phasing_out",
                    "continuity_plan": None,
                    "last_updated": "2025-05-01",
                },
                {
                    "authority_code": BAT_YAM,
                    "start_date": "2024-02-01",
                    "status": "scaling_down",
                    "continuity_plan": True,
                    "last_updated": "2024-02-01",
                },
                # starts after the evaluation date of every period but the last
                {"authority_code": AFULA, "start_date": "2025-06-30", "last_updated": "2025-06-30"},
                {
                    "authority_code": AFULA,
                    "start_date": "2024-01-01",
                    "operator": "municipality",
                    "last_updated": "2023-12-31",
                },
            ],
            "partnerships": [
                {"authority_code": BAT_YAM, "start_date": "2023-06-01", "level": "cooperation"},
                {"authority_code": BAT_YAM, "start_date": None, "level": None, "status": None},
                {"authority_code": BAT_YAM, "start_date": "2024-06-01", "level": "coordination"},
                {
                    "authority_code": AFULA,
                    "start_date": "2025-01-01",
                    "level": "cooperation",
                    "status": "ended",
                },
            ],
            "clusters": [
                {"authority_code": BAT_YAM, "established": "2023-01-01"},
                {"authority_code": BAT_YAM, "established": "2024-07-01", "has_ngo_rep": False},
                {"authority_code": AFULA, "established": None, "has_coordinator": False, "status": None},
            ],
            "volunteers": [
                # two reports ending the same day: the shorter (quarter) wins over the year
                {"authority_code": BAT_YAM, "period": "2024", "cluster": "א", "volunteers": 40},
                {"authority_code": BAT_YAM, "period": "2024-Q4", "cluster": "א", "volunteers": 25},
                {"authority_code": BAT_YAM, "period": "2024-Q4", "cluster": "ב", "volunteers": 5},
                {"authority_code": BAT_YAM, "period": "2025-02", "cluster": "א", "volunteers": 12},
                # the latest report has no count: the one before it stands
                {"authority_code": BAT_YAM, "period": "2025-03", "cluster": "א", "volunteers": None},
                # starts after as-of (2025-06-30): not yet reported
                {"authority_code": BAT_YAM, "period": "2025-07", "cluster": "א", "volunteers": 99},
                {"authority_code": AFULA, "period": "2023-Q2", "cluster": "א", "volunteers": 7},
            ],
            "meetings": [
                _meeting(BAT_YAM, "2022-11-20"),  # before the first period when a year is asked
                _meeting(BAT_YAM, "2023-01-10"),
                _meeting(BAT_YAM, "2023-01-10", locality=BAT_YAM + 1),  # the same day twice
                _meeting(BAT_YAM, "2023-04-20"),
                _meeting(BAT_YAM, "2024-06-01", kind="round_table"),  # 2024 has data, no team meeting
                _meeting(BAT_YAM, "2025-02-01"),
                _meeting(BAT_YAM, "2025-08-01"),  # after as-of
                _meeting(AFULA, "2024-03-03"),
                _meeting(AFULA, "2024-03-10", kind="round_table"),
            ],
        },
        imported_at="2024-09-30 08:00:00",
    )
    return store


@pytest.mark.parametrize(
    "kw",
    [
        {"as_of": "2025-06-30"},
        {"as_of": "2025-06-30", "year": 2024},
        {"as_of": "2024-12-31"},
        {"as_of": "2023-02-01"},
        {"as_of": "2025-06-30", "goals": ["volunteers_per_1000", "meeting_cadence"]},
    ],
)
def test_every_computed_kind_equals_its_measure_sql(edges, kw):
    engine = attainment(edges, **kw)
    reference = attainment_sql(edges, **kw)
    assert len(engine) >= 16
    pd.testing.assert_frame_equal(engine, reference, check_exact=True)


def _value(df: pd.DataFrame, goal: str, code: int, period: str) -> float:
    row = df[(df["goal"] == goal) & (df["locality_code"] == code) & (df["period"] == period)]
    assert len(row) == 1, (goal, code, period)
    return float(row["value"].iloc[0])


def test_hand_checked_values_of_the_kinds(edges):
    df = attainment(edges, as_of="2025-06-30", goals=COMPUTED)
    # stock: the no-start program counts from the first year; AFULA's starts on the last eval date
    assert _value(df, "active_jdc_programs", BAT_YAM, "2023") == 2
    assert _value(df, "active_jdc_programs", AFULA, "2025") == 1
    assert _value(df, "active_jdc_programs", AFULA, "2024") == 0  # a list, but no active JDC program
    assert _value(df, "continuity_plans", BAT_YAM, "2025") == 0.5  # one of two has a plan
    assert _value(df, "partnership_level", BAT_YAM, "2024") == pytest.approx(1 / 3)
    assert _value(df, "cluster_lead_trio", BAT_YAM, "2024") == 0.5
    # age: 2024-H2 ends 2024-12-31; the latest update by then is the batch's import, 2024-09-30
    assert _value(df, "program_db_freshness", BAT_YAM, "2024-H2") == 92
    # latest: quarter (25 + 5) over the year report ending the same day; 2025: February's 12
    assert _value(df, "volunteers", BAT_YAM, "2024") == 30
    assert _value(df, "volunteers", BAT_YAM, "2025") == 12
    # max gap: 2024 had no team meeting, so its value is the open gap since 2023-04-20 (carried
    # over; with only 2024 asked, from before the first period); 2025's gap ended on 2025-02-01;
    # AFULA's one meeting day: the open gap to 2024-12-31
    assert _value(df, "meeting_cadence", BAT_YAM, "2024") == 621
    only_2024 = attainment(edges, as_of="2025-06-30", year=2024, goals=["meeting_cadence"])
    assert _value(only_2024, "meeting_cadence", BAT_YAM, "2024") == 621
    assert _value(df, "meeting_cadence", BAT_YAM, "2025") == 653
    assert _value(df, "meeting_cadence", AFULA, "2024") == 303
    # per month: one meeting day in 2025 by as-of, over (06-30 − 02-01 + 1) / 30.4375 months
    assert _value(df, "misgav_meetings_per_month", BAT_YAM, "2025") == pytest.approx(1 / (150 / 30.4375))


def test_a_measure_without_compute_that_reads_periods_runs_as_sql(edges, tmp_path):
    """A goal added with only SQL (no `compute`) still works: the engine runs its SQL."""
    raw = yaml.safe_load(cat.DEFAULT_CATALOG.read_text(encoding="utf-8"))
    for goal in raw["goals"]:
        if goal["id"] in ("active_clusters", "meeting_cadence"):
            goal.pop("compute")
    path = tmp_path / "catalog.yaml"
    # (dumped with sorted keys: the first dataset is then a log, budgets, which the spans handle)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    custom = cat.load_catalog(path)
    plan = kinds.Plan.of(custom, list(custom.goals))
    assert [g.id for g in plan.sql] == ["active_clusters", "meeting_cadence"]
    assert "round_table_meetings" in [g.id for g in plan.standalone]
    for kw in ({"as_of": "2025-06-30"}, {"as_of": "2025-06-30", "year": 2024}):
        engine = attainment(edges, catalog=custom, **kw)
        pd.testing.assert_frame_equal(engine, attainment_sql(edges, catalog=custom, **kw), check_exact=True)
        pd.testing.assert_frame_equal(engine, attainment(edges, **kw), check_exact=True)


def test_goals_reading_the_same_rows_share_one_query():
    catalog = cat.load_catalog()
    plan = kinds.Plan.of(catalog, list(catalog.goals))
    queries = plan.queries()
    assert set(queries) == {"rows", "reports", "dates"}
    # cadence and meetings per month read the same distinct meeting days: one SELECT, one tag
    assert plan.source["meeting_cadence"] == plan.source["misgav_meetings_per_month"]
    assert queries["dates"].count("SELECT DISTINCT") == 1
    assert queries["rows"].count("UNION ALL") == 5  # six goals, six different row sets


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"kind": "median"}, "goal active_clusters: compute needs a kind, one of stock, age, latest"),
        ({"date": None}, "goal active_clusters: compute stock needs date"),
        ({"colour": "red"}, "goal active_clusters: compute stock has no parameter colour"),
        ({"table": "people"}, "goal active_clusters: compute reads an unknown table 'people'"),
        (
            {"kind": "per_1000", "of": "new_volunteers", "table": None, "date": None, "where": None},
            "goal active_clusters: compute builds on 'new_volunteers', which is not a computed goal",
        ),
        ({"kind": "max_gap"}, "goal active_clusters: compute max_gap counts calendar years"),
    ],
)
def test_compute_rule_names_the_problem(change, problem):
    raw = yaml.safe_load(cat.DEFAULT_CATALOG.read_text(encoding="utf-8"))
    bad = copy.deepcopy(raw)
    goal = next(g for g in bad["goals"] if g["id"] == "active_clusters")
    if change.get("kind") == "max_gap":
        goal["period"] = "half_year"
    for key, value in change.items():
        if value is None:
            goal["compute"].pop(key, None)
        else:
            goal["compute"][key] = value
    problems = cat.rule_compute(bad)
    assert any(p.startswith(problem) for p in problems), problems


@pytest.mark.parametrize("as_of", ["2025-06-30", "2023-02-01"])
def test_the_engines_spans_are_the_spans_cte_rows(edges, as_of):
    """engine.spans_rows (one aggregation over all datasets) gives inputs_sql's spans rows."""
    import datetime as dt

    from metrics import engine

    catalog = cat.load_catalog()
    day = dt.date.fromisoformat(as_of)
    with edges.cursor() as cur:
        got = cur.execute(engine.spans_rows_sql(catalog)).fetchnumpy()
    mine = pd.DataFrame(engine.spans_rows(catalog, got, day))
    cte = pd.DataFrame(
        engine._filled(engine._fetch_raw(edges, engine.inputs_sql(catalog, [], measures_of=[], as_of=day)))
    )
    columns = ["kind", "k", "authority_code", "pid", "value", "h_to", "h_first", "h_activity"]
    mine, cte = (
        f[columns].astype("float64").sort_values(columns).reset_index(drop=True) for f in (mine, cte)
    )
    assert len(mine) > 10 and (mine["h_first"] == -1).sum() == 1  # AFULA: clusters without a date
    pd.testing.assert_frame_equal(mine, cte)


def test_a_tagged_unions_rows_by_slice_or_by_mask():
    import numpy as np

    ordered = {"g": np.array([0, 0, 1, 2, 2]), "x": np.array([1, 2, 3, 4, 5])}
    shuffled = {"g": np.array([2, 0, 1, 0, 2]), "x": np.array([4, 1, 3, 2, 5])}
    assert kinds._tagged(ordered, 2)["x"].tolist() == [4, 5]
    assert kinds._tagged(ordered, 1)["x"].tolist() == [3]
    assert sorted(kinds._tagged(shuffled, 0)["x"].tolist()) == [1, 2]
    assert kinds._tagged(shuffled, 3)["x"].tolist() == []
