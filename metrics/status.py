"""Status, pace and forecast rules, as pure functions and as the SQL the engine runs.

Each rule exists three times, from the same constants: a small Python function (documentation,
unit tests, callers with one number), the SQL expression that `explain` shows and the readable
attainment query runs, and a numpy form the engine applies to its table of cells at once
(metrics/grid.py). tests/test_metrics_status.py checks all three agree on a grid of inputs.

Rules (documented for users in the README):
- Closed period (as-of after its end): `achieved` when the value meets the target
  (>= low; <= high; low <= value <= high for between), else `missed`.
- Running period, elapsed share e = days elapsed / days in the period (as-of day included):
  - ">=" (and the lower bound of "between"): expected_by_now = low × e for accumulating goals
    (pace flow/cumulative; rounded half-up to a whole number for counts) and low for levels
    (stock). `on_track` if value >= expected_by_now; `at_risk` if value >= 75% of it, or for
    counts one event short; else `off_track`. "between" is `off_track` above high.
  - "<=" (age, longest gap): `off_track` if value > high already; `at_risk` above 80% of high;
    else `on_track`.
- Forecast (year/half-year end at current pace): flow value / e; age value + days left (no update);
  cumulative, stock and max_gap keep the current value.
- `no_data` when value is NULL; `info` when the goal has no target (op info) or the bound it needs.
- ratio = value / target (target = high for "<=", else low). score (composite, 0..1):
  ">=" min(value / expected_by_now, 1); "<=" 1 if value <= high else high / value; between the
  same on each side.
"""

from __future__ import annotations

import math

import numpy as np

AT_RISK_SHARE = 0.75  # ">=": at risk down to 75% of where the locality should be by now
NEAR_LIMIT_SHARE = 0.8  # "<=": at risk above 80% of the allowed maximum
ACCUMULATING = ("flow", "cumulative")
INTEGER_UNITS = ("count", "yes_no")

STATUSES = ("achieved", "missed", "on_track", "at_risk", "off_track", "no_data", "info")


def expected_by_now(low: float | None, elapsed: float, pace: str, integer: bool) -> float | None:
    """Where a '>=' goal should be by now: pro-rated for accumulating goals, the full target for levels."""
    if low is None:
        return None
    if pace not in ACCUMULATING:
        return low
    share = low * elapsed
    return float(math.floor(share + 0.5)) if integer else share


def forecast(value: float | None, elapsed: float, pace: str, days_left: int) -> float | None:
    """The value at period end if the locality keeps its pace (flow) or changes nothing (others)."""
    if value is None:
        return None
    if pace == "flow":
        return value / elapsed if elapsed > 0 else value
    if pace == "age":
        return value + days_left
    return value


def _behind(value: float, expected: float, integer: bool) -> str:
    if value >= expected:
        return "on_track"
    if value >= AT_RISK_SHARE * expected or (integer and value >= expected - 1):
        return "at_risk"
    return "off_track"


def status(
    value: float | None,
    op: str,
    low: float | None,
    high: float | None,
    *,
    closed: bool,
    expected: float | None,
    integer: bool,
) -> str:
    """One of STATUSES for a value against its target; `expected` is expected_by_now for low."""
    if value is None:
        return "no_data"
    if (
        op == "info"
        or (op in (">=", "between") and low is None)
        or (op in ("<=", "between") and high is None)
    ):
        return "info"
    if closed:
        met = {
            ">=": lambda: value >= low,
            "<=": lambda: value <= high,
            "between": lambda: low <= value <= high,
        }[op]()
        return "achieved" if met else "missed"
    if op == "<=":
        if value > high:
            return "off_track"
        return "at_risk" if value > NEAR_LIMIT_SHARE * high else "on_track"
    if op == "between" and value > high:
        return "off_track"
    return _behind(value, expected if expected is not None else low, integer)


def ratio(value: float | None, op: str, low: float | None, high: float | None) -> float | None:
    """value / target, the target being high for '<=' goals and low otherwise."""
    target = high if op == "<=" else low
    if value is None or target is None or target == 0:
        return None
    return value / target


def score(value: float | None, op: str, expected: float | None, high: float | None) -> float | None:
    """Attainment in 0..1 for the composite: how close to (the pro-rated) target, capped at 1."""
    if value is None or op == "info":
        return None
    if op in (">=", "between"):
        if expected is None:
            return None
        below = 1.0 if expected <= 0 else min(value / expected, 1.0)
        if op == ">=":
            return below
        if high is None:
            return None
        return below if value <= high else (high / value if value > 0 else 1.0)
    if high is None:
        return None
    return 1.0 if value <= high else (high / value if value > 0 else 1.0)


# -- the same rules in SQL, over columns named value, target_op, target_low, target_high, pace,
#    is_integer, closed, elapsed, days_left, expected_by_now ------------------------------------

EXPECTED_SQL = """CASE
    WHEN target_low IS NULL THEN NULL
    WHEN pace NOT IN ('flow', 'cumulative') THEN target_low
    WHEN is_integer THEN floor(target_low * elapsed + 0.5)
    ELSE target_low * elapsed
END"""

FORECAST_SQL = """CASE
    WHEN value IS NULL THEN NULL
    WHEN pace = 'flow' THEN CASE WHEN elapsed > 0 THEN value / elapsed ELSE value END
    WHEN pace = 'age' THEN value + days_left
    ELSE value
END"""

_BEHIND_SQL = f"""CASE
        WHEN value >= expected_by_now THEN 'on_track'
        WHEN value >= {AT_RISK_SHARE} * expected_by_now
             OR (is_integer AND value >= expected_by_now - 1) THEN 'at_risk'
        ELSE 'off_track'
    END"""

STATUS_SQL = f"""CASE
    WHEN value IS NULL THEN 'no_data'
    WHEN target_op = 'info'
         OR (target_op IN ('>=', 'between') AND target_low IS NULL)
         OR (target_op IN ('<=', 'between') AND target_high IS NULL) THEN 'info'
    WHEN closed THEN CASE
        WHEN (target_op = '>=' AND value >= target_low)
          OR (target_op = '<=' AND value <= target_high)
          OR (target_op = 'between' AND value BETWEEN target_low AND target_high) THEN 'achieved'
        ELSE 'missed' END
    WHEN target_op = '<=' THEN CASE
        WHEN value > target_high THEN 'off_track'
        WHEN value > {NEAR_LIMIT_SHARE} * target_high THEN 'at_risk'
        ELSE 'on_track' END
    WHEN target_op = 'between' AND value > target_high THEN 'off_track'
    ELSE {_BEHIND_SQL}
END"""

RATIO_SQL = """CASE WHEN target_op = '<=' THEN value / nullif(target_high, 0)
                    ELSE value / nullif(target_low, 0) END"""

_SIDE_HIGH = "CASE WHEN value <= target_high THEN 1.0 WHEN value > 0 THEN target_high / value ELSE 1.0 END"
_SIDE_LOW = "CASE WHEN expected_by_now <= 0 THEN 1.0 ELSE least(value / expected_by_now, 1.0) END"

SCORE_SQL = f"""CASE
    WHEN value IS NULL OR target_op = 'info' THEN NULL
    WHEN target_op = '>=' THEN CASE WHEN expected_by_now IS NULL THEN NULL ELSE {_SIDE_LOW} END
    WHEN target_high IS NULL THEN NULL
    WHEN target_op = '<=' THEN {_SIDE_HIGH}
    WHEN expected_by_now IS NULL THEN NULL
    WHEN value <= target_high THEN {_SIDE_LOW}
    ELSE {_SIDE_HIGH}
END"""


# -- the same rules over numpy arrays, for the engine's table of cells (metrics/grid.py) ----------
#    NaN stands for NULL; each function follows its SQL CASE above branch by branch.


def expected_by_now_np(
    low: np.ndarray, elapsed: np.ndarray, accumulating: np.ndarray, integer: np.ndarray
) -> np.ndarray:
    """EXPECTED_SQL: NaN without a low bound; pro-rated for accumulating goals, rounded for counts."""
    share = low * elapsed
    return np.where(accumulating, np.where(integer, np.floor(share + 0.5), share), low)


def forecast_np(
    value: np.ndarray, elapsed: np.ndarray, pace: np.ndarray, days_left: np.ndarray
) -> np.ndarray:
    """FORECAST_SQL: flow value / elapsed share, age value + days left, others the value."""
    with np.errstate(divide="ignore", invalid="ignore"):
        flow = np.where(elapsed > 0, value / elapsed, value)
    return np.where(pace == "flow", flow, np.where(pace == "age", value + days_left, value))


def status_np(
    value: np.ndarray,
    op: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    closed: np.ndarray,
    expected: np.ndarray,
    integer: np.ndarray,
) -> np.ndarray:
    """STATUS_SQL as positions in STATUSES (int8)."""
    code = {s: i for i, s in enumerate(STATUSES)}
    ge, le, between = op == ">=", op == "<=", op == "between"
    info = (op == "info") | ((ge | between) & np.isnan(low)) | ((le | between) & np.isnan(high))
    met = (ge & (value >= low)) | (le & (value <= high)) | (between & (value >= low) & (value <= high))
    behind = np.select(
        [value >= expected, (value >= AT_RISK_SHARE * expected) | (integer & (value >= expected - 1))],
        [code["on_track"], code["at_risk"]],
        code["off_track"],
    )
    near = np.select(
        [value > high, value > NEAR_LIMIT_SHARE * high],
        [code["off_track"], code["at_risk"]],
        code["on_track"],
    )
    return np.select(
        [np.isnan(value), info, closed & met, closed, le, between & (value > high)],
        [code["no_data"], code["info"], code["achieved"], code["missed"], near, code["off_track"]],
        behind,
    ).astype(np.int8)


def ratio_np(value: np.ndarray, op: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """RATIO_SQL: value / target (high for '<=', else low); NaN for a missing or zero target."""
    target = np.where(op == "<=", high, low)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(target == 0, np.nan, value / target)


def score_np(value: np.ndarray, op: np.ndarray, expected: np.ndarray, high: np.ndarray) -> np.ndarray:
    """SCORE_SQL: closeness to the (pro-rated) target in 0..1, NaN where it has no meaning."""
    with np.errstate(divide="ignore", invalid="ignore"):
        side_low = np.where(expected <= 0, 1.0, np.minimum(value / expected, 1.0))
        side_high = np.where(value <= high, 1.0, np.where(value > 0, high / value, 1.0))
    return np.select(
        [
            np.isnan(value) | (op == "info"),
            op == ">=",
            np.isnan(high),
            op == "<=",
            np.isnan(expected),
            value <= high,
        ],
        [np.nan, np.where(np.isnan(expected), np.nan, side_low), np.nan, side_high, np.nan, side_low],
        side_high,
    )
