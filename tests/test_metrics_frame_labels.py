"""The attainment frame's label columns are kept between calls by layout (metrics/engine.py).

A page that draws the same table again gets the repeated names and goal and period texts ready;
anything they depend on — the goals' texts, the periods, the authorities in scope and their
names — gives new ones, and a caller that edits its frame never edits another's.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

from metrics import catalog as cat
from metrics import engine
from metrics.engine import attainment, attainment_sql
from store import Store

AS_OF = "2025-06-30"


@pytest.fixture
def sample(sample_db, tmp_path):
    store = Store(shutil.copy(sample_db, tmp_path / "sample.duckdb"))
    yield store
    store.close()


def _buffer(df: pd.DataFrame, column: str) -> int:
    """The address of a string column's character data (shared when the column is reused)."""
    chunks = pa_chunks(df[column])
    return chunks[0].buffers()[2].address


def pa_chunks(series: pd.Series) -> list:
    return series.array._pa_array.chunks  # pandas' Arrow-backed str column


def test_a_second_identical_table_reuses_the_labels_and_equals_the_readable_query(sample):
    engine._LABELS.clear()
    first = attainment(sample, as_of=AS_OF)
    second = attainment(sample, as_of=AS_OF)
    pd.testing.assert_frame_equal(second, attainment_sql(sample, as_of=AS_OF), check_exact=True)
    for column in ("goal", "label_he", "period", "locality_name"):
        assert _buffer(first, column) == _buffer(second, column)
    assert _buffer(first, "status") != _buffer(second, "status")  # values are built every time


def test_edits_to_one_frame_do_not_reach_the_next(sample):
    first = attainment(sample, as_of=AS_OF)
    goal, name = first.loc[0, "goal"], first.loc[0, "locality_name"]
    first.loc[0, "goal"] = "edited"
    first["locality_name"] = first["locality_name"].str.replace(name, "edited")
    second = attainment(sample, as_of=AS_OF)
    assert second.loc[0, "goal"] == goal
    assert second.loc[0, "locality_name"] == name
    assert "edited" not in set(second["goal"]) | set(second["locality_name"])


def test_new_goal_texts_periods_scope_and_names_give_new_labels(sample, tmp_path):
    base = attainment(sample, as_of=AS_OF)
    # a goal's Hebrew label changed in the catalog
    raw = yaml.safe_load(cat.DEFAULT_CATALOG.read_text(encoding="utf-8"))
    raw["goals"][0]["label_he"] += " (חדש)"
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    changed = cat.load_catalog(path)
    goal = changed.goals[0]
    relabelled = attainment(sample, as_of=AS_OF, catalog=changed)
    mine = relabelled["goal"] == goal.id
    assert mine.any() and (relabelled.loc[mine, "label_he"] == goal.label_he).all()
    assert (attainment(sample, as_of=AS_OF).loc[mine, "label_he"] != goal.label_he).all()
    # other periods
    earlier = attainment(sample, as_of="2024-12-31")
    assert "2025" not in set(earlier["period"]) and "2025" in set(base["period"])
    # another scope: two localities only
    codes = sorted(base["locality_code"].unique())[:2]
    two = attainment(sample, as_of=AS_OF, localities=codes)
    names = dict(zip(base["locality_code"], base["locality_name"], strict=False))
    assert set(two["locality_code"]) == set(codes)
    assert (two["locality_name"] == two["locality_code"].map(names)).all()
    # an authority renamed in the store
    code = int(base.loc[0, "locality_code"])
    with sample.transaction() as cur:
        cur.execute("UPDATE authorities SET name = 'שם חדש' WHERE code = ?", [code])
    renamed = attainment(sample, as_of=AS_OF)
    assert set(renamed.loc[renamed["locality_code"] == code, "locality_name"]) == {"שם חדש"}


def test_at_most_a_few_layouts_are_kept(sample):
    engine._LABELS.clear()
    days = ["2021-06-30", "2022-06-30", "2023-06-30", "2024-06-30", "2025-06-30"]
    tables = [attainment(sample, as_of=day) for day in days]  # five layouts: five sets of periods
    assert len(engine._LABELS) == engine._LABELS_KEPT == 4
    again = attainment(sample, as_of=days[-1])  # the newest is kept, the oldest is not
    assert _buffer(again, "period") == _buffer(tables[-1], "period")
    first_again = attainment(sample, as_of=days[0])
    assert _buffer(first_again, "period") != _buffer(tables[0], "period")
    pd.testing.assert_frame_equal(first_again, tables[0])
