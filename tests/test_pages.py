"""Every page renders on the sample data, and the main interactions work (Streamlit AppTest)."""

from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from charts.scorecard import cell_at, tiles
from store import Store
from tests.access_fixtures import PASSWORD, as_user

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "pages/overview.py",
    "pages/locality.py",
    "pages/goal.py",
    "pages/compare.py",
    "pages/data_quality.py",
    "pages/targets.py",
    "pages/upload.py",
    "pages/admin.py",
]


def new_app(username: str | None = "admin") -> AppTest:
    """The app with `username` signed in (the app reloads the user from the store on every run);
    None: nobody signed in."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if username is not None:
        at.session_state["user"] = as_user(username)
    return at


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
    cells = tiles(spec)
    assert cells[("נתניה", "מפגשי שולחן עגול")]["text"] == str(expected)
    # A tile's click is mapped back to its locality and goal through the figure's meta: the click
    # reports the locality's name (y) and the goal's column number (x).
    assert spec["layout"]["meta"]["locality_codes"]["נתניה"] == 7400
    assert spec["layout"]["meta"]["goals"]["מפגשי שולחן עגול"] == "round_table_meetings"
    column = spec["layout"]["xaxis"]["ticktext"].index("מפגשי שולחן עגול")
    figure = go.Figure(spec)
    assert cell_at(figure, {"x": column, "y": "נתניה", "curve_number": 0}) == (7400, "round_table_meetings")
    assert cell_at(figure, {"x": "מפגשי שולחן עגול", "y": "נתניה"}) == (7400, "round_table_meetings")
    assert cell_at(figure, {"x": 99, "y": "נתניה"}) is None


def test_language_switch_to_english(app_db):
    at = new_app().run()
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "National overview"


def arad_workbook() -> bytes:
    """Arad's corrected 2025 meeting log: three round tables (replaces Arad's stored 2025 rows)."""
    import datetime as dt
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "נוכחות במפגשים"
    ws.append(["יישוב", "תאריך", "סוג מפגש", "נושא", "מספר משתתפים"])
    for month in (2, 5, 9):
        ws.append(["ערד", dt.date(2025, month, 14), "שולחן עגול", "תכנון", 12])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def tile(at: AppTest, locality: str, goal_label: str) -> str:
    return tiles(json.loads(at.get("plotly_chart")[0].proto.spec))[(locality, goal_label)]["text"]


def test_upload_commit_changes_overview_and_locality(app_db):
    at = new_app().run()
    at.selectbox(key="year").set_value(2025).run()
    assert tile(at, "ערד", "מפגשי שולחן עגול") == "1"

    at.switch_page("pages/upload.py").run()
    assert not at.exception
    at.get("file_uploader")[0].set_value(
        (
            "arad_2025.xlsx",
            arad_workbook(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("לא נמצאו בעיות" in s.value for s in at.success)
    commit = next(b for b in at.button if b.label == "שמירה במאגר")
    commit.click().run()
    assert any("נשמר: ייבוא מס'" in s.value for s in at.success), [s.value for s in at.success]

    # The overview reflects the new batch at once (cached by data version).
    at.switch_page("pages/overview.py").run()
    at.selectbox(key="year").set_value(2025).run()
    assert tile(at, "ערד", "מפגשי שולחן עגול") == "3"

    # So does the locality page's goals table.
    at.switch_page("pages/locality.py").run()
    at.selectbox(key="locality").set_value(2560).run()
    at.selectbox(key="year").set_value(2025).run()
    goals = at.dataframe[0].value
    row = goals[goals["goal_label"] == "מפגשי שולחן עגול"].iloc[0]
    assert row["value"] == 3
    assert row["status_label"] == "הושג"


def test_rollback_from_data_quality_restores_previous_numbers(app_db):
    from ingest.pipeline import analyse, commit

    s = Store(app_db)
    result = commit(analyse(arad_workbook(), "arad_2025.xlsx", s), s, user="test")
    s.close()
    assert result.status == "loaded"
    at = new_app().run()
    at.selectbox(key="year").set_value(2025).run()
    assert tile(at, "ערד", "מפגשי שולחן עגול") == "3"

    at.switch_page("pages/data_quality.py").run()
    assert not at.exception
    at.selectbox[0].set_value(result.batch_id)
    at.checkbox[0].check()
    next(b for b in at.button if b.label == "בטלו את הייבוא").click().run()
    assert any(f"הייבוא {result.batch_id} בוטל" in s.value for s in at.success)

    at.switch_page("pages/overview.py").run()
    at.selectbox(key="year").set_value(2025).run()
    assert tile(at, "ערד", "מפגשי שולחן עגול") == "1"


def test_model_filter_limits_goals_and_target_edit_changes_status(app_db):
    at = new_app().run()
    at.selectbox(key="year").set_value(2025).run()
    all_goals = {goal for _, goal in tiles(json.loads(at.get("plotly_chart")[0].proto.spec))}
    at.selectbox[1].set_value("misgav").run()  # program model filter
    misgav_goals = {goal for _, goal in tiles(json.loads(at.get("plotly_chart")[0].proto.spec))}
    assert misgav_goals and misgav_goals < all_goals
    assert "מפגשי שולחן עגול" not in misgav_goals

    # National staff lower the 2025 round-table target to 1 for everyone: Arad's 1 becomes achieved.
    at.switch_page("pages/targets.py").run()
    at.selectbox(key="year").set_value(2025).run()
    form_boxes = [sb for sb in at.selectbox if sb.label == "יעד"]
    form_boxes[0].set_value("round_table_meetings")
    at.number_input[0].set_value(1.0)
    next(b for b in at.button if b.label == "שמירה").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("היעד נשמר" in s.value for s in at.success)

    at.switch_page("pages/locality.py").run()
    at.selectbox(key="locality").set_value(2560).run()
    at.selectbox(key="year").set_value(2025).run()
    goals = at.dataframe[0].value
    row = goals[goals["goal_label"] == "מפגשי שולחן עגול"].iloc[0]
    assert (row["value"], row["target"], row["status_label"]) == (1, 1, "הושג")


def test_compare_needs_two_to_six_localities(app_db):
    at = new_app().run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) >= 1
    at.multiselect[0].set_value([7400]).run()
    assert any("בין 2 ל-6" in w.value for w in at.warning)


def test_empty_installation_offers_sample_data(tmp_path, monkeypatch, localhost):
    path = tmp_path / "empty.duckdb"
    monkeypatch.setenv("YAAD_DB", str(path))
    monkeypatch.setenv("YAAD_SAMPLE", "0")
    st.cache_resource.clear()
    st.cache_data.clear()
    # First start: no users yet, so the first-run form creates the national admin and signs in.
    at = new_app(None).run()
    assert at.title[0].value == "הפעלה ראשונה: יצירת מנהל/ת המערכת"
    at.text_input(key="first_user").input("Admin")
    at.text_input(key="first_password").input(PASSWORD)
    at.text_input(key="first_password_again").input(PASSWORD)
    next(b for b in at.button if b.label == "יצירה וכניסה").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("אין עדיין נתונים" in i.value for i in at.info)
    next(b for b in at.button if b.label == "טעינת נתוני הדוגמה").click().run()
    assert not at.exception, [e.value for e in at.exception]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(spec["layout"]["yaxis"]["categoryarray"]) == 11
    st.cache_resource.clear()


def test_data_quality_flags_hadera_stale_program_list(app_db):
    at = new_app().run()
    at.switch_page("pages/data_quality.py").run()
    assert not at.exception
    # The sample's story: Hadera's program list was last updated in spring 2026 (> 183 days ago),
    # Or Akiva sent no trainings sheet and Sderot no volunteers sheet.
    stale = at.dataframe[1].value
    assert "חדרה" in set(stale.iloc[:, -1])
    missing = at.dataframe[2].value
    assert {("מתנדבים", "שדרות"), ("הכשרות", "אור עקיבא")} <= set(map(tuple, missing.to_numpy()))


def test_overview_builds_only_the_open_tab(app_db):
    at = new_app().run()
    charts = at.get("plotly_chart")
    assert len(charts) == 1 and "locality_codes" in json.loads(charts[0].proto.spec)["layout"]["meta"]
    at.session_state["overview_tab"] = "מפת הרשויות לפי ציון משוקלל"  # the reader opens the map tab
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    [chart] = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    assert "meta" not in spec["layout"] and {"נתניה", "ערד"} <= set(spec["data"][0]["text"])


def test_the_server_shortens_the_interpreters_switch_interval(app_db):
    """Sessions share one GIL, and DuckDB takes it between query tasks: a run of the app sets the
    switch interval of pages/_server.py (benchmarks/bench_gil.py measures why)."""
    import sys

    from pages._server import SWITCH_INTERVAL

    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)  # Python's default
        at = new_app().run()
        assert not at.exception
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL) and SWITCH_INTERVAL < 0.005
    finally:
        sys.setswitchinterval(before)
