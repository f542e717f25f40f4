"""The attainment table from its inputs: every authority × goal × period cell, with numpy.

The engine's queries and metrics/kinds.py compute what needs the stored rows — each catalog
measure per authority and period, and the spans (rows sent per dataset, authority and span of
half-years) — and this module
derives the scope, the first year and the rows sent per period (coverage) from the spans, lays
it all on the grid of cells and applies targets and the status rules (metrics/status.py, numpy
form). The same cells as the readable query `explain` shows
(engine.build_sql), row for row; tests/test_metrics_engine.py checks the two agree.

Why not in SQL: joining 55,845 cells to measures, coverage and targets and evaluating five CASE
rules costs DuckDB about as much as all the measures together (and planning a query of ~300
operators), while here the cells are dense arrays indexed by position.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from metrics import status as rules
from metrics.catalog import Catalog, Goal

TARGET_SOURCES = ("catalog", "year", "locality")
REASONS = ("no_dataset", "no_rows", "not_applicable")

# Row kinds of the inputs query (engine.inputs_sql): kind, k, authority_code, pid, value, and for
# spans rows h_to, h_first, h_activity.
MEASURE, SPANS = 0, 1


@dataclass(frozen=True)
class Periods:
    """The periods of the table, in order: pid = 3 × year + half (0: the year, 1 and 2: halves)."""

    year: np.ndarray
    half: np.ndarray
    start: np.ndarray  # datetime64[D]
    end: np.ndarray

    @property
    def pid(self) -> np.ndarray:
        return 3 * self.year + self.half


def periods(first: int, last: int, as_of: dt.date) -> Periods:
    """Years and half-years from `first` to `last` that have started by as-of (the periods CTE)."""
    rows = []
    for y in range(first, last + 1):
        rows += [(y, 0, dt.date(y, 1, 1), dt.date(y, 12, 31)), (y, 1, dt.date(y, 1, 1), dt.date(y, 6, 30))]
        rows.append((y, 2, dt.date(y, 7, 1), dt.date(y, 12, 31)))
    rows = [r for r in rows if r[2] <= as_of]
    return Periods(
        year=np.array([r[0] for r in rows], dtype=np.int64),
        half=np.array([r[1] for r in rows], dtype=np.int64),
        start=np.array([r[2] for r in rows], dtype="datetime64[D]"),
        end=np.array([r[3] for r in rows], dtype="datetime64[D]"),
    )


def first_year(inputs: dict[str, np.ndarray], as_of: dt.date) -> int:
    """The table's first year from the spans rows: build_sql's `bounds` (NULLs come as -1).

    The first half-year with dated activity (logs, snapshots' report dates), else with any date,
    as a year, and never after as-of's year.
    """
    spans = inputs["kind"] == SPANS
    activity = inputs["h_activity"][spans]
    activity = activity[activity >= 0]
    first = inputs["h_first"][spans]
    first = first[first >= 0]
    h = activity.min() if len(activity) else first.min() if len(first) else 2 * as_of.year
    return min(int(h) // 2, as_of.year)


def _covered(
    inputs: dict[str, np.ndarray],
    datasets: Sequence[str],
    keys: Sequence[Sequence[str]],
    auth_pos: np.ndarray,
    per: Periods,
    n_auth: int,
) -> np.ndarray:
    """Rows sent per coverage key × authority × period (pid - min pid), NaN where none: build_sql's
    `coverage`, from the spans rows.

    A spans row (dataset, authority, half-years h_from..h_to, n rows) covers the half-years
    h_from..h_to and the years h_from // 2..h_to // 2 (a row spanning both halves of a year
    counts once for the year) — the periods whose half-years it overlaps. Each dataset is added
    up with a difference array along the half-years and along the years.
    """
    kind = inputs["kind"]
    rows = (kind == SPANS) & (auth_pos >= 0) & (inputs["pid"] >= 0) & (inputs["h_to"] >= 0)
    ds = inputs["k"][rows].astype(np.int64)
    auth = auth_pos[rows]
    h_from, h_to = inputs["pid"][rows].astype(np.int64), inputs["h_to"][rows].astype(np.int64)
    n = inputs["value"][rows]
    y0 = int(per.year.min()) if len(per.year) else 0
    n_years = int(per.year.max()) - y0 + 1 if len(per.year) else 0
    shape_d = (len(datasets), max(n_auth, 1))

    def spread(lo: np.ndarray, hi: np.ndarray, size: int) -> np.ndarray:
        """Sum of n over the rows whose range [lo, hi] (relative) covers each slot."""
        lo, hi = np.maximum(lo, 0), np.minimum(hi, size - 1)
        ok = lo <= hi
        base = (ds[ok] * shape_d[1] + auth[ok]) * (size + 1)
        total = shape_d[0] * shape_d[1] * (size + 1)
        diff = np.bincount(base + lo[ok], n[ok], total) - np.bincount(base + hi[ok] + 1, n[ok], total)
        return np.cumsum(diff.reshape(*shape_d, size + 1), axis=2)[:, :, :size]

    by_half = spread(h_from - 2 * y0, h_to - 2 * y0, 2 * n_years)
    by_year = spread(h_from // 2 - y0, h_to // 2 - y0, n_years)
    pid_min = int(per.pid.min()) if len(per.pid) else 0
    n_pid = int(per.pid.max()) - pid_min + 1 if len(per.pid) else 0
    y = per.year - y0
    slot = np.where(per.half == 0, -1, 2 * y + per.half - 1)
    index = {name: i for i, name in enumerate(datasets)}
    out = np.full((max(len(keys), 1), max(n_auth, 1), max(n_pid, 1)), np.nan)
    for c, key in enumerate(keys):
        members = [index[d] for d in key]
        total_half, total_year = by_half[members].sum(axis=0), by_year[members].sum(axis=0)
        values = np.where(per.half == 0, total_year[:, y], total_half[:, np.maximum(slot, 0)])
        out[c][:, per.pid - pid_min] = np.where(values > 0, values, np.nan)
    return out


def _distinct(codes: np.ndarray) -> np.ndarray:
    """The distinct authority codes, sorted (np.unique without its sort: codes are small integers)."""
    if not len(codes):
        return codes.astype(np.int64)
    low = int(codes.min())
    present = np.zeros(int(codes.max()) - low + 1, dtype=bool)
    present[codes - low] = True
    return np.flatnonzero(present) + low


def _positions(scope: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each code's position in the sorted scope, -1 where it is not in it (a lookup table)."""
    if not len(scope) or not len(codes):
        return np.full(len(codes), -1, dtype=np.int64)
    low, high = int(min(scope[0], codes.min())), int(max(scope[-1], codes.max()))
    table = np.full(high - low + 1, -1, dtype=np.int64)
    table[scope - low] = np.arange(len(scope))
    return table[codes - low]


def _dense(
    kind: np.ndarray,
    want: int,
    keys: np.ndarray,
    auth: np.ndarray,
    pid: np.ndarray,
    value: np.ndarray,
    shape: tuple[int, int, int],
) -> np.ndarray:
    """Rows of one kind as a dense (key, authority, period) array; NaN where no row."""
    out = np.full(shape, np.nan)
    rows = (kind == want) & (auth >= 0) & (pid >= 0) & (pid < shape[2])
    out[keys[rows], auth[rows], pid[rows]] = value[rows]
    return out


def assemble(
    inputs: dict[str, np.ndarray],
    targets: Sequence[tuple],
    catalog: Catalog,
    goal_ids: Sequence[str],
    *,
    as_of: dt.date,
    year: int | None,
    codes: Sequence[int] | None = None,
    computed: Mapping[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
) -> dict[str, np.ndarray]:
    """The cells' columns (engine.OUTPUT_COLUMNS but the texts), in table order.

    `inputs` holds the inputs query's columns (NULL as -1, or NaN for value); `computed` more
    measures as goal order -> (authority codes, pids, values), laid on the cells directly
    (metrics/kinds.py: no rows to build and look up again); `codes` limits the
    authorities (build_sql's scope: every authority with a spans row, among `codes`). Order: authority,
    catalog goal order, period (the year before its halves). Texts come as positions: goal_order,
    period key (3 × (year - first) + half), status, target_source, reason.
    """
    kind = inputs["kind"]
    k = inputs["k"].astype(np.int64)
    authority = inputs["authority_code"].astype(np.int64)
    pid = inputs["pid"].astype(np.int64)
    value = inputs["value"].astype(np.float64)

    scope = _distinct(authority[kind == SPANS])
    if codes is not None:
        scope = np.intersect1d(scope, np.asarray(list(codes), dtype=np.int64))
    last = as_of.year if year is None else min(year, as_of.year)
    per = periods(first_year(inputs, as_of) if year is None else int(year), last, as_of)

    order = {g.id: i for i, g in enumerate(catalog.goals)}
    goals: list[Goal] = sorted((catalog.goal(g) for g in dict.fromkeys(goal_ids)), key=lambda g: order[g.id])
    gp_goal, gp_period = [], []
    for g in goals:
        wanted = per.half == 0 if g.period == "year" else per.half > 0
        idx = np.flatnonzero(wanted)
        gp_goal += [order[g.id]] * len(idx)
        gp_period += idx.tolist()
    gp_goal_a = np.array(gp_goal, dtype=np.int64)
    gp_per = np.array(gp_period, dtype=np.int64)
    n_auth, n_gp = len(scope), len(gp_goal_a)

    # positions of the input rows: authority in scope, period in the table, key
    auth_pos = _positions(scope, authority)
    pid_min = int(per.pid.min()) if len(per.pid) else 0
    n_pid = int(per.pid.max()) - pid_min + 1 if len(per.pid) else 0
    pid_pos = np.where(pid >= 0, pid - pid_min, -1)
    shape_p = max(n_pid, 1)
    measured_all = _dense(
        kind, MEASURE, k, auth_pos, pid_pos, value, (len(catalog.goals), max(n_auth, 1), shape_p)
    )
    for goal_order, (m_codes, m_pid, m_value) in (computed or {}).items():
        m_pos = _positions(scope, np.asarray(m_codes, dtype=np.int64))
        m_pid_pos = m_pid - pid_min
        ok = (m_pos >= 0) & (m_pid_pos >= 0) & (m_pid_pos < shape_p)
        measured_all[goal_order, m_pos[ok], m_pid_pos[ok]] = m_value[ok]
    cov_keys = sorted({tuple(g.datasets) for g in goals if g.measure is not None})
    covered = _covered(inputs, list(catalog.datasets), cov_keys, auth_pos, per, n_auth)

    # per goal-period constants
    cov_index = {key: i for i, key in enumerate(cov_keys)}

    def per_goal(value: Callable[[Goal], object], dtype: type, default: object) -> np.ndarray:
        """A goal attribute per goal-period: looked up per goal, then by position."""
        out = np.full(len(catalog.goals), default, dtype=dtype)
        for g in goals:
            out[order[g.id]] = value(g)
        return out[gp_goal_a]

    g_cov = per_goal(lambda g: cov_index.get(tuple(g.datasets), -1) if g.measure else -1, np.int64, -1)
    g_op = per_goal(lambda g: g.target.op, object, "").astype(str)
    g_pace = per_goal(lambda g: g.pace, object, "").astype(str)
    g_int = per_goal(lambda g: g.unit in rules.INTEGER_UNITS, bool, False)
    g_zero = per_goal(lambda g: g.empty == "zero", bool, False)
    g_low = per_goal(lambda g: np.nan if g.target.low is None else g.target.low, float, np.nan)
    g_high = per_goal(lambda g: np.nan if g.target.high is None else g.target.high, float, np.nan)
    g_year = per.year[gp_per]
    g_pidx = per.pid[gp_per] - pid_min
    day = np.datetime64(as_of, "D")
    g_end, g_start = per.end[gp_per], per.start[gp_per]
    g_eval = np.minimum(g_end, day)
    g_closed = day > g_end
    g_elapsed = ((g_eval - g_start).astype(np.int64) + 1) / ((g_end - g_start).astype(np.int64) + 1)
    g_days_left = np.maximum((g_end - day).astype(np.int64), 0).astype(float)

    # targets: the catalog default, a year-wide override, a locality override (each replaces both bounds)
    source = np.zeros((n_auth, n_gp), dtype=np.int8)
    version = np.zeros((n_auth, n_gp), dtype=np.int32)
    low = np.broadcast_to(g_low, (n_auth, n_gp)).copy()
    high = np.broadcast_to(g_high, (n_auth, n_gp)).copy()
    if targets:
        slots: dict[tuple[int, int], list[int]] = {}
        for i, key in enumerate(zip(gp_goal_a.tolist(), g_year.tolist(), strict=True)):
            slots.setdefault(key, []).append(i)
        # year-wide overrides first, then a locality's (which win); the newest last within each
        ordered = sorted(targets, key=lambda r: (r[2] is not None, int(r[3])))
        for goal, yr, code, tid, lo, hi in ordered:
            cols = slots.get((order.get(goal, -1), int(yr)))
            if cols is None:
                continue
            if code is None:
                rows_: slice = slice(None)
            else:
                p = int(np.searchsorted(scope, int(code)))
                if p >= n_auth or scope[p] != int(code):
                    continue
                rows_ = slice(p, p + 1)
            source[rows_, cols] = 1 if code is None else 2
            version[rows_, cols] = int(tid)
            low[rows_, cols] = np.nan if lo is None else float(lo)
            high[rows_, cols] = np.nan if hi is None else float(hi)

    # the cells as (authority, goal-period) arrays: per goal-period constants broadcast along
    # the authorities, so the rules compare a goal's operator 219 times, not 55,845
    shape = (n_auth, n_gp)
    has_cov = g_cov >= 0
    if n_auth:
        data_rows = np.where(
            has_cov,
            covered[np.maximum(g_cov, 0)[None, :], np.arange(n_auth)[:, None], g_pidx[None, :]],
            np.nan,
        )
        raw = measured_all[gp_goal_a[None, :], np.arange(n_auth)[:, None], g_pidx[None, :]]
    else:
        data_rows = raw = np.zeros(shape)
    measured = np.where(np.isnan(raw) & g_zero, 0.0, raw)
    value_c = np.where(data_rows > 0, measured, np.nan)
    expected = rules.expected_by_now_np(low, g_elapsed, np.isin(g_pace, rules.ACCUMULATING), g_int)
    reason = np.select([~has_cov, np.isnan(data_rows), np.isnan(measured)], [0, 1, 2], -1).astype(np.int8)
    weight = per_goal(lambda g: np.nan if g.weight is None else float(g.weight), float, np.nan)

    def cells(x: np.ndarray) -> np.ndarray:
        """One column of the table, authority-major."""
        return np.broadcast_to(x, shape).reshape(-1)

    def per_gp(x: np.ndarray) -> np.ndarray:
        return np.tile(x, n_auth)

    return {
        "locality_code": np.repeat(scope, n_gp).astype(np.int32),
        "goal_order": per_gp(gp_goal_a),
        "year": per_gp(g_year.astype(np.int32)),
        "half": per_gp(per.half[gp_per]),
        "period_start": per_gp(g_start.astype("datetime64[us]")),
        "period_end": per_gp(g_end.astype("datetime64[us]")),
        "eval_date": per_gp(g_eval.astype("datetime64[us]")),
        "closed": per_gp(g_closed),
        "elapsed": per_gp(g_elapsed),
        "value": cells(value_c),
        "target": cells(np.where(g_op == "<=", high, low)),
        "target_low": cells(low),
        "target_high": cells(high),
        "target_version": cells(version),
        "target_source": cells(source),
        "expected_by_now": cells(expected),
        "ratio": cells(rules.ratio_np(value_c, g_op, low, high)),
        "score": cells(rules.score_np(value_c, g_op, expected, high)),
        "status": cells(rules.status_np(value_c, g_op, low, high, g_closed, expected, g_int)),
        "forecast": cells(rules.forecast_np(value_c, g_elapsed, g_pace, g_days_left)),
        "weight": per_gp(weight),
        "data_rows": cells(data_rows),
        "reason": cells(reason),
    }
