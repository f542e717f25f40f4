"""Every page renders on the sample data, and the main interactions work (Streamlit AppTest)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ingest.first_run import ensure_ready
from store import Store

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "pages/overview.py",
    "pages/locality.py",
    "pages/goal.py",
    "pages/compare.py",
    "pages/data_quality.py",
    "pages/targets.py",
    "pages/upload.py",
]


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """A database file filled the way a first start fills it (built once, copied per test)."""
    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    s = Store(path)
    assert ensure_ready(s) == 12
    s.close()
    return path


@pytest.fixture
def app_db(tmp_path, sample_db, monkeypatch) -> Path:
    path = tmp_path / "yaad.duckdb"
    shutil.copy(sample_db, path)
    monkeypatch.setenv("YAAD_DB", str(path))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield path
    st.cache_resource.clear()


def new_app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(app_db, page):
    at = new_app().run()
    assert not at.exception, at.exception
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{page} has no title"


def test_overview_scorecard_shows_round_table_values(app_db):
    at = new_app().run()
    assert not at.exception
    assert at.title[0].value == "תמונת מצב ארצית"
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    tiles = spec["data"][0]
    localities = spec["layout"]["yaxis"]["categoryarray"]
    assert "נתניה" in localities and "מועצה אזורית משגב" in localities and len(localities) == 11
    # The tile text for Netanya × round-table meetings equals the store's count for the year shown.
    year = at.selectbox[0].value
    s = Store(app_db)
    expected = s.query_one(
        "SELECT count(DISTINCT meeting_date) FROM meetings WHERE superseded_by IS NULL "
        "AND meeting_type = 'round_table' AND authority_code = 7400 AND year(meeting_date) = ?",
        [int(year)],
    )
    s.close()
    cells = {(y, x): text for x, y, text in zip(tiles["x"], tiles["y"], tiles["text"], strict=True)}
    assert cells[("נתניה", "מפגשי שולחן עגול")] == str(expected)
    # A tile's click is mapped back to its locality and goal through the figure's meta.
    assert spec["layout"]["meta"]["locality_codes"]["נתניה"] == 7400
    assert spec["layout"]["meta"]["goals"]["מפגשי שולחן עגול"] == "round_table_meetings"


def test_language_switch_to_english(app_db):
    at = new_app().run()
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "National overview"
