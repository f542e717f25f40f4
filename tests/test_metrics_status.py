"""Status, pace and forecast: the pure functions, and the SQL the engine runs agrees with them."""

from __future__ import annotations

import itertools
import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from metrics import status as st


def test_expected_by_now_rounds_counts_and_keeps_levels():
    assert st.expected_by_now(3, 181 / 365, "flow", True) == 1
    assert st.expected_by_now(3, 0.1, "flow", True) == 0
    assert st.expected_by_now(0.75, 0.5, "flow", False) == pytest.approx(0.375)
    assert st.expected_by_now(1, 0.1, "stock", True) == 1
    assert st.expected_by_now(None, 0.5, "flow", True) is None


def test_forecast_by_pace():
    assert st.forecast(1, 0.5, "flow", 180) == 2
    assert st.forecast(100, 0.5, "age", 80) == 180
    assert st.forecast(4, 0.5, "stock", 80) == 4
    assert st.forecast(None, 0.5, "flow", 80) is None


@pytest.mark.parametrize(
    ("value", "op", "low", "high", "closed", "expected", "integer", "want"),
    [
        (3, ">=", 3, None, True, 3, True, "achieved"),
        (2, ">=", 3, None, True, 3, True, "missed"),
        (1, ">=", 3, None, False, 1, True, "on_track"),
        (1, ">=", 3, None, False, 2, True, "at_risk"),  # one event short
        (1, ">=", 3, None, False, 3, True, "off_track"),
        (0.3, ">=", 0.75, None, False, 0.375, False, "at_risk"),  # 80% of pace
        (0.2, ">=", 0.75, None, False, 0.375, False, "off_track"),
        (30, "<=", None, 35, False, None, True, "at_risk"),  # above 80% of the limit
        (20, "<=", None, 35, False, None, True, "on_track"),
        (36, "<=", None, 35, True, None, True, "missed"),
        (4, "between", 1, 3, False, 1, True, "off_track"),
        (2, "between", 1, 3, True, 1, True, "achieved"),
        (None, ">=", 3, None, True, 3, True, "no_data"),
        (5, "info", 10, None, True, 10, True, "info"),
    ],
)
def test_status_rules(value, op, low, high, closed, expected, integer, want):
    assert st.status(value, op, low, high, closed=closed, expected=expected, integer=integer) == want


def test_sql_rules_agree_with_python():
    """Every combination on a grid gives the same expected, forecast, status, ratio and score."""
    grid = itertools.product(
        [None, 0.0, 0.5, 1.0, 2.0, 3.0, 30.0, 40.0],  # value
        [
            (">=", 3.0, None),
            (">=", 0.75, None),
            ("<=", None, 35.0),
            ("between", 1.0, 3.0),
            ("info", 10.0, None),
        ],
        ["flow", "cumulative", "stock", "age", "max_gap"],
        [True, False],  # is_integer
        [(True, 1.0, 0), (False, 0.25, 270), (False, 0.6, 140)],  # closed, elapsed, days_left
    )
    rows = [
        dict(
            value=v,
            target_op=op,
            target_low=lo,
            target_high=hi,
            pace=pace,
            is_integer=integer,
            closed=closed,
            elapsed=elapsed,
            days_left=days,
        )
        for v, (op, lo, hi), pace, integer, (closed, elapsed, days) in grid
    ]
    frame = pd.DataFrame(rows).astype({"value": "float64", "target_low": "float64", "target_high": "float64"})
    con = duckdb.connect()
    con.register("cases", frame)
    sql = (
        f"SELECT *, {st.FORECAST_SQL} AS forecast, {st.STATUS_SQL} AS status, {st.RATIO_SQL} AS ratio, "
        f"{st.SCORE_SQL} AS score FROM (SELECT *, {st.EXPECTED_SQL} AS expected_by_now FROM cases)"
    )
    out = con.execute(sql).df()

    def same(a, b):
        a = None if a is None or (isinstance(a, float) and math.isnan(a)) else a
        b = None if b is None or (isinstance(b, float) and math.isnan(b)) else b
        return a == b if a is None or b is None else a == pytest.approx(b)

    for r in out.itertuples():
        value = None if math.isnan(r.value) else r.value
        low = None if math.isnan(r.target_low) else r.target_low
        high = None if math.isnan(r.target_high) else r.target_high
        expected = st.expected_by_now(low, r.elapsed, r.pace, r.is_integer)
        assert same(r.expected_by_now, expected), r
        assert same(r.forecast, st.forecast(value, r.elapsed, r.pace, r.days_left)), r
        want = st.status(
            value, r.target_op, low, high, closed=r.closed, expected=expected, integer=r.is_integer
        )
        assert r.status == want, r
        assert same(r.ratio, st.ratio(value, r.target_op, low, high)), r
        assert same(r.score, st.score(value, r.target_op, expected, high)), r

    # The numpy form the engine applies to its cells gives the same on every row.
    value, low, high = (out[c].to_numpy(float) for c in ("value", "target_low", "target_high"))
    op, pace = out["target_op"].to_numpy(str), out["pace"].to_numpy(str)
    integer, closed = out["is_integer"].to_numpy(bool), out["closed"].to_numpy(bool)
    elapsed, days = out["elapsed"].to_numpy(float), out["days_left"].to_numpy(float)
    expected = st.expected_by_now_np(low, elapsed, np.isin(pace, st.ACCUMULATING), integer)
    np.testing.assert_array_equal(expected, out["expected_by_now"].to_numpy(float))
    np.testing.assert_array_equal(st.forecast_np(value, elapsed, pace, days), out["forecast"].to_numpy(float))
    codes = st.status_np(value, op, low, high, closed, expected, integer)
    assert [st.STATUSES[c] for c in codes] == out["status"].tolist()
    np.testing.assert_array_equal(st.ratio_np(value, op, low, high), out["ratio"].to_numpy(float))
    np.testing.assert_array_equal(st.score_np(value, op, expected, high), out["score"].to_numpy(float))
    assert len(out) == 8 * 5 * 5 * 2 * 3 and len(set(out["status"])) == len(st.STATUSES)
