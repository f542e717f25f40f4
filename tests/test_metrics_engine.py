"""The attainment engine on a real DuckDB file: the tidy frame, no_data, pace, explain, source rows."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.engine import OUTPUT_COLUMNS, attainment, explain, source_rows
from tests.metrics_fixtures import FILE_NAME, insert_rows

BAT_YAM = 6200
AFULA = 7700


def _meetings(code: int, *dates: str, kind: str = "round_table") -> list[dict]:
    return [
        {"authority_code": code, "locality_code": code, "meeting_date": d, "meeting_type": kind}
        for d in dates
    ]


@pytest.fixture
def round_tables(store):
    insert_rows(
        store,
        {
            "meetings": _meetings(
                BAT_YAM, "2024-02-01", "2024-05-01", "2024-09-01", "2025-03-01", "2025-03-01"
            )
            + _meetings(AFULA, "2025-01-10", kind="cluster"),
            "trainings": [{"authority_code": AFULA, "training_date": "2023-05-05"}],
        },
    )
    return store


def test_round_table_meetings_tidy_frame(round_tables):
    df = attainment(round_tables, as_of="2025-06-30", goals=["round_table_meetings"])
    assert tuple(df.columns) == OUTPUT_COLUMNS
    rows = {(r.locality_code, r.period): r for r in df.itertuples()}
    # Periods run from the first year with any data (Afula's 2023 training) to the as-of year.
    assert sorted(rows) == [(BAT_YAM, "2023"), (BAT_YAM, "2024"), (BAT_YAM, "2025"),
                            (AFULA, "2023"), (AFULA, "2024"), (AFULA, "2025")]  # fmt: skip
    closed = rows[(BAT_YAM, "2024")]
    assert (closed.value, closed.target, closed.status, closed.locality_name) == (3, 3, "achieved", "בת ים")
    # Two rows on one date are one meeting; half the year gone: 1 of round(3 × 0.496) = 1 expected.
    running = rows[(BAT_YAM, "2025")]
    assert (running.value, running.expected_by_now, running.status) == (1, 1, "on_track")
    assert running.forecast == pytest.approx(1 / (181 / 365))
    # Nothing sent: no_data, never zero. Other meeting types sent: zero, and missed/behind.
    assert rows[(BAT_YAM, "2023")].status == "no_data" and rows[(BAT_YAM, "2023")].value != 0
    assert rows[(AFULA, "2024")].status == "no_data"
    assert (rows[(AFULA, "2025")].value, rows[(AFULA, "2025")].status) == (0, "at_risk")


def test_periods_after_as_of_are_not_produced(round_tables):
    df = attainment(round_tables, as_of=dt.date(2024, 3, 1), goals=["round_table_meetings"])
    assert df["period"].max() == "2024"
    assert attainment(round_tables, as_of="2024-03-01", year=2025).empty


def test_year_and_locality_filters(round_tables):
    df = attainment(round_tables, as_of="2025-06-30", year=2024, localities=["בת ים"])
    assert set(df["locality_code"]) == {BAT_YAM} and set(df["period"].str[:4]) == {"2024"}
    assert df["goal"].nunique() == 21


def test_explain_is_the_sql_that_runs(round_tables):
    sql = explain("round_table_meetings", as_of="2025-06-30")
    assert "meeting_type = 'round_table'" in sql and "superseded_by IS NULL" in sql
    direct = round_tables.query_df(sql)
    engine = attainment(round_tables, as_of="2025-06-30", goals=["round_table_meetings"])
    assert direct["value"].fillna(-1).tolist() == engine["value"].fillna(-1).tolist()


def test_source_rows_trace_to_file_sheet_and_row(round_tables):
    rows = source_rows(round_tables, "round_table_meetings", BAT_YAM, "2025")
    assert len(rows) == 2
    assert set(rows["file_name"]) == {FILE_NAME} and set(rows["sheet"]) == {"meetings"}
    assert sorted(rows["source_row"]) == [5, 6]
    assert not any("name" in c and c != "file_name" for c in rows.columns)


def test_periods_start_at_the_first_year_with_dated_activity(store):
    # A program started in 2013 (its list updated in 2024) must not add ten years of no_data:
    # the table starts at the first dated activity, the 2023 meetings.
    insert_rows(
        store,
        {
            "programs": [
                {"authority_code": BAT_YAM, "start_date": "2013-09-01", "last_updated": "2024-11-01"}
            ],
            "meetings": _meetings(BAT_YAM, "2023-04-01", "2024-04-01"),
        },
    )
    df = attainment(store, as_of="2025-06-30", goals=["new_jdc_programs", "round_table_meetings"])
    assert df["year"].min() == 2023 and sorted(df["period"].unique()) == ["2023", "2024", "2025"]
    # The program still counts as data for its goals from 2023 on (a snapshot covers every period).
    new_programs = df[df["goal"] == "new_jdc_programs"].set_index("period")
    assert new_programs.loc["2023", "status"] == "missed" and new_programs.loc["2023", "value"] == 0


def test_first_year_falls_back_to_any_date_without_dated_activity(store):
    # Only a program list with start dates and no update dates: the earliest date of anything.
    insert_rows(store, {"programs": [{"authority_code": BAT_YAM, "start_date": "2021-03-01"}]})
    df = attainment(store, as_of="2025-06-30", goals=["new_jdc_programs"])
    assert df["year"].min() == 2021
    # A report date counts as dated activity: it starts the table when it is the earliest.
    insert_rows(
        store,
        {"programs": [{"authority_code": AFULA, "start_date": "2024-01-01", "last_updated": "2019-05-01"}]},
        batch_id=2,
    )
    assert attainment(store, as_of="2025-06-30", goals=["new_jdc_programs"])["year"].min() == 2019


def test_queries_run_at_once_and_a_commit_between_them_reads_again(sample_db, tmp_path, monkeypatch):
    """The engine's queries run at once on separate cursors; a commit between them (the data
    version moves) makes it read them all again, so the table never mixes two versions."""
    import shutil

    import pandas as pd

    from metrics import engine
    from store import Store

    store = Store(shutil.copy(sample_db, tmp_path / "sample.duckdb"))
    try:
        calls: list[str] = []
        threads: set[str] = set()
        fetch = engine._fetch_raw

        def spy(s, sql):
            import threading

            calls.append(sql)
            threads.add(threading.current_thread().name)
            return fetch(s, sql)

        monkeypatch.setattr(engine, "_fetch_raw", spy)
        one = attainment(store, as_of="2025-06-30")
        # spans, the measures that run as they are, three shapes of computed rows, targets, authorities
        assert len(calls) == 7
        assert all(t.startswith("yaad-attainment") for t in threads)
        assert len(one) == 715 and one["status"].eq("achieved").any()

        calls.clear()
        versions = iter([1, 2, 2, 2])
        monkeypatch.setattr(store, "data_version", lambda: next(versions))
        again = attainment(store, as_of="2025-06-30")
        assert next(versions, "used up") == "used up"  # two rounds: 1 → 2 (mixed), then 2 → 2
        assert len(calls) == 14
        pd.testing.assert_frame_equal(one, again)

        # written to all the time: the last reading is one transaction on one cursor
        calls.clear()
        monkeypatch.setattr(store, "data_version", iter(range(100)).__next__)
        pd.testing.assert_frame_equal(one, attainment(store, as_of="2025-06-30"))
        assert len(calls) == 21  # three rounds through the pool, then one transaction (no spy)
    finally:
        store.close()


@pytest.mark.parametrize(
    "kw",
    [
        {"as_of": "2025-06-30"},  # a running year and half-year
        {"as_of": "2024-12-31", "year": 2024},  # the last day of a year: still running
        {"as_of": "2026-11-22", "goals": ["program_db_freshness", "meeting_cadence", "volunteers_per_1000"]},
        {"as_of": "2023-02-01"},  # before most of the data
    ],
)
def test_engine_gives_the_rows_of_the_readable_query(sample_db, tmp_path, kw):
    """The engine (measures in SQL, cells in numpy) equals build_sql's one query row for row."""
    import shutil

    import pandas as pd

    from metrics.engine import attainment_sql
    from metrics.targets import set_goal_target
    from store import Store

    store = Store(shutil.copy(sample_db, tmp_path / "sample.duckdb"))
    try:
        # overrides of every kind: year-wide, a locality's, one replaced by a newer version
        set_goal_target(store, "round_table_meetings", 2025, None, 4, None, "admin")
        set_goal_target(store, "round_table_meetings", 2025, 240, 2, None, "admin")
        set_goal_target(store, "meeting_cadence", 2024, 10056, None, 60, "admin")
        set_goal_target(store, "meeting_cadence", 2024, 10056, None, 45, "admin")
        engine = attainment(store, **kw)
        reference = attainment_sql(store, **kw)
        assert len(engine) > 50
        assert set(engine["target_source"]) >= {"catalog"}
        pd.testing.assert_frame_equal(engine, reference, check_exact=True)
        if kw == {"as_of": "2025-06-30"}:
            assert {"year", "locality"} <= set(engine["target_source"])
    finally:
        store.close()
