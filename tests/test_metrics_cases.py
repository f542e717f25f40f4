"""Hand-checked metric cases declared as data (tests/metric_cases.yaml), one test per case."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from metrics.catalog import load_catalog
from metrics.engine import attainment
from metrics.targets import set_goal_targets
from tests.metrics_fixtures import insert_rows

CASES_FILE = Path(__file__).parent / "metric_cases.yaml"
CASES = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]
OPTIONAL_CHECKS = ("target", "target_source", "forecast", "expected_by_now", "reason")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(store, case):
    insert_rows(store, case["rows"], imported_at=str(case.get("imported_at", "2025-01-01 09:00:00")))
    if case.get("targets"):
        set_goal_targets(store, [{"goal": case["goal"], **t} for t in case["targets"]], user="tests")
    df = attainment(store, as_of=case["as_of"], goals=[case["goal"]])
    for want in case["expect"]:
        got = df[(df["locality_code"] == want["locality"]) & (df["period"] == str(want["period"]))]
        assert len(got) == 1, f"no row for {want['locality']} {want['period']}"
        row = got.iloc[0]
        where = f"{case['goal']} {want['locality']} {want['period']}"
        if want["value"] is None:
            assert pd.isna(row["value"]), f"{where}: expected no value, got {row['value']}"
        else:
            assert row["value"] == pytest.approx(want["value"], rel=1e-3), where
        assert row["status"] == want["status"], where
        for key in OPTIONAL_CHECKS:
            if key in want:
                expected = want[key]
                if isinstance(expected, float | int) and not isinstance(expected, bool):
                    assert row[key] == pytest.approx(expected, rel=1e-3), f"{where}: {key}"
                else:
                    assert row[key] == expected, f"{where}: {key}"


def test_every_goal_has_labels_and_a_case():
    catalog = load_catalog()
    covered = {c["goal"] for c in CASES}
    for goal in catalog.goals:
        assert goal.label_he and goal.label_en and goal.description_he and goal.description_en, goal.id
        assert goal.id in covered, f"goal {goal.id} has no hand-checked case in {CASES_FILE.name}"


def test_cases_cover_the_required_situations():
    statuses = {w["status"] for c in CASES for w in c["expect"]}
    assert {"no_data", "on_track", "at_risk", "off_track", "achieved", "missed", "info"} <= statuses
    sources = {w.get("target_source") for c in CASES for w in c["expect"]}
    assert {"year", "locality"} <= sources
    between = {g.id for g in load_catalog().goals if g.target.op == "between"}
    assert between & {c["goal"] for c in CASES}
