"""The goal catalog: it loads, ids are the public ones, and each validation rule catches its problem."""

from __future__ import annotations

import copy

import pytest
import yaml

from metrics import catalog as cat

PUBLIC_IDS = {
    "new_jdc_programs", "active_jdc_programs", "new_responses", "continuity_plans", "program_db_freshness",
    "round_table_meetings", "round_table_sectors", "new_partnerships", "partnership_level",
    "needs_assessment", "training_activities", "active_clusters", "cluster_lead_trio",
    "national_forum_attendance", "volunteers", "new_volunteers", "volunteers_per_1000",
    "meeting_cadence", "non_welfare_budget_share",
    "misgav_companions_per_family", "misgav_meetings_per_month",
}  # fmt: skip


@pytest.fixture
def raw():
    return yaml.safe_load(cat.DEFAULT_CATALOG.read_text(encoding="utf-8"))


def test_default_catalog_is_valid_and_frozen(raw):
    assert cat.validate(raw) == []
    catalog = cat.load_catalog()
    assert set(catalog.goal_ids) == PUBLIC_IDS
    assert catalog.goals[0].id == "round_table_meetings"  # the overview's first slice
    assert set(catalog.models) == {"machabi", "matav", "misgav", "round_table", "kehila_metiva"}
    assert catalog.goal("active_clusters").target == cat.Target("between", 1.0, 3.0)
    assert {g.id for g in catalog.goals_of_model("misgav")} == {
        "misgav_companions_per_family",
        "misgav_meetings_per_month",
    }
    with pytest.raises(AttributeError):
        catalog.goals[0].weight = 5  # type: ignore[misc]
    with pytest.raises(KeyError, match="known"):
        catalog.goal("nope")


def _goal(raw, gid="round_table_meetings"):
    return next(g for g in raw["goals"] if g["id"] == gid)


BREAKERS = {
    cat.rule_top_level: lambda raw: raw.pop("models"),
    cat.rule_required_fields: lambda raw: _goal(raw).pop("label_en"),
    cat.rule_unique_ids: lambda raw: raw["goals"].append(copy.deepcopy(_goal(raw))),
    cat.rule_labels: lambda raw: _goal(raw).update(label_he="Round tables"),
    cat.rule_known_models: lambda raw: _goal(raw).update(models=["machabi", "unknown_model"]),
    cat.rule_known_datasets: lambda raw: _goal(raw).update(dataset="attendance"),
    cat.rule_dataset_coverage: lambda raw: raw["datasets"]["meetings"].pop("date_to"),
    cat.rule_choices: lambda raw: _goal(raw).update(period="quarter"),
    cat.rule_target: lambda raw: _goal(raw, "active_clusters").update(
        target={"op": "between", "low": 3, "high": 1}
    ),
    cat.rule_weight: lambda raw: _goal(raw, "volunteers").update(weight=2),
    cat.rule_measure: lambda raw: _goal(raw).update(
        measure="SELECT authority_code, period, value FROM meetings"
    ),
    # two measures that read each other
    cat.rule_measure_uses: lambda raw: _goal(raw, "volunteers").update(
        measure="SELECT authority_code, period, value FROM m_volunteers_per_1000"
    ),
    # a computed measure of an unknown kind
    cat.rule_compute: lambda raw: _goal(raw, "volunteers")["compute"].update(kind="median"),
}


def test_a_measure_may_use_another_goals_measure(raw):
    """volunteers_per_1000 reads m_volunteers: explain shows both CTEs, the used one first."""
    from metrics.engine import explain

    catalog = cat.load_catalog()
    assert catalog.goal("volunteers_per_1000").uses == ("volunteers",)
    sql = explain("volunteers_per_1000", as_of="2025-06-30")
    assert sql.index("m_volunteers AS (") < sql.index("m_volunteers_per_1000 AS (")
    # a use across period kinds is refused, with the goal named
    bad = copy.deepcopy(raw)
    reads_volunteers = "SELECT authority_code, period, value FROM m_volunteers"
    _goal(bad, "program_db_freshness").update(measure=reads_volunteers)
    assert cat.rule_measure_uses(bad) == [
        "goal program_db_freshness: uses m_volunteers, whose period differs"
    ]


def test_every_rule_has_a_breaking_case():
    assert set(BREAKERS) == set(cat.RULES)


@pytest.mark.parametrize("rule", list(BREAKERS), ids=lambda r: r.__name__)
def test_each_rule_catches_its_problem(raw, rule):
    bad = copy.deepcopy(raw)
    BREAKERS[rule](bad)
    problems = rule(bad)
    assert problems, f"{rule.__name__} found nothing"
    assert set(problems) <= set(cat.validate(bad))
    with pytest.raises(cat.CatalogError) as err:
        cat.build(bad)
    assert err.value.problems == cat.validate(bad)


@pytest.mark.parametrize(
    "measure",
    [
        "DELETE FROM meetings WHERE superseded_by IS NULL",
        "SELECT 1; DROP TABLE meetings",
        "SELECT authority_code, period, value FROM meetings WHERE superseded_by IS NULL; SELECT 1",
    ],
)
def test_measures_only_read_one_statement(raw, measure):
    _goal(raw).update(measure=measure)
    assert cat.rule_measure(raw)


def test_new_goal_is_one_entry(raw, tmp_path):
    """A new program's goal needs a catalog entry, not new code."""
    new = copy.deepcopy(_goal(raw))
    new.update(
        id="steering_meetings", label_he="מפגשי ועדת היגוי", label_en="Steering meetings", models=["matav"]
    )
    new["measure"] = new["measure"].replace("'round_table'", "'steering_committee'")
    raw["goals"].append(new)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert cat.load_catalog(path).goal("steering_meetings").models == ("matav",)
