"""Measures computed from a few plain queries: the engine's fast path for the catalog measures.

Why: run as one query, the measures cost DuckDB more in planning and running ~300 tiny operators
(a periods join per measure, windows, arg_max over a few thousand rows) than in reading the
stored rows. So the engine reads what the measures need with plain queries that all run at once,
and does the per-period arithmetic here, on arrays of a few thousand rows:

- A measure that does not read `periods` (a flow counted by year, a yearly share) runs as it is,
  all such measures in one query; their period labels become period keys here.
- A measure that reads `periods` declares how it is computed (catalog `compute`): one of the
  KINDS below, with its table, dates and filters as SQL expressions. One small query reads the
  rows; the kind's function computes the value per authority and period.
- Any other measure runs as SQL, as before (engine.inputs_sql).

The goal's `measure` SQL stays its definition: `explain` shows it, engine.attainment_sql runs
it, and the tests keep both forms equal row for row (tests/test_metrics_kinds.py,
tests/test_metrics_engine.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from metrics import grid
from metrics.catalog import Catalog, Goal

# kind -> (required parameters, optional parameters). Expressions are SQL over the kind's table.
KINDS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # rows dated on or before each evaluation date: their count, or the mean of `mean`
    "stock": (("table", "date"), ("where", "mean")),
    # days from the latest date on or before each evaluation date to it
    "age": (("table", "date"), ("where",)),
    # per year: `value` (an aggregate) of the latest reported span (start, end) started by the
    # evaluation date; the shortest if two end together
    "latest": (("table", "start", "end", "value"), ("where",)),
    # another computed goal's value per 1,000 residents (the reference list's population)
    "per_1000": (("of",), ()),
    # per year: the longest gap between consecutive distinct dates, or the open gap since the
    # last one (carried over years without dates) if longer
    "max_gap": (("table", "date"), ("where",)),
    # per year: distinct dates per month since the year's first one, up to the evaluation date
    "per_month": (("table", "date"), ("where",)),
}

_PERIODS = re.compile(r"\bperiods\b")
_DAYS_PER_MONTH = 30.4375


def standalone(goal: Goal) -> bool:
    """A measure that runs as it is: SQL that reads neither `periods` nor another measure."""
    return (
        bool(goal.measure) and not goal.compute and not goal.uses and not _PERIODS.search(goal.measure or "")
    )


def standalone_sql(catalog: Catalog, goals: Sequence[Goal]) -> str:
    """One query for measures that run as they are: (k = catalog goal order, authority_code, pid, value).

    pid = 3 × year + half from the period label ('2025', '2025-H1'); other labels give NULL and
    match no period, as they join no period in build_sql.
    """
    order = {g.id: i for i, g in enumerate(catalog.goals)}
    parts = [
        f"SELECT {order[g.id]} AS k, authority_code, CAST(period AS VARCHAR) AS period,"
        f" CAST(value AS DOUBLE) AS value\nFROM (\n{g.measure}\n)"
        for g in goals
    ]
    return (
        "SELECT k, authority_code,\n"
        "       CASE WHEN regexp_full_match(period, '[0-9]{4}') THEN 3 * CAST(period AS INTEGER)\n"
        "            WHEN regexp_full_match(period, '[0-9]{4}-H[12]')\n"
        "            THEN 3 * CAST(period[1:4] AS INTEGER) + CAST(period[7:7] AS INTEGER) END AS pid,\n"
        "       value\n"
        "FROM (\n" + "\nUNION ALL\n".join(parts) + "\n)"
    )


def _where(params: Mapping[str, str]) -> str:
    extra = params.get("where")
    return "t.superseded_by IS NULL" + (f" AND ({extra})" if extra else "")


# Goals whose rows have the same columns share one query (a UNION ALL tagged with g): one query
# per shape instead of one per goal, as each query costs about a millisecond to plan.
_SHAPE = {"stock": "rows", "age": "rows", "latest": "reports", "max_gap": "dates", "per_month": "dates"}


def fetch_sql(goal: Goal) -> str | None:
    """The rows a computed goal reads, as one SELECT (None: it reads another goal's result).

    Columns by shape: rows (authority_code, d, m), reports (authority_code, s, e, v), dates
    (authority_code, d), distinct.
    """
    c = goal.computed()
    kind = c.get("kind")
    if kind in ("stock", "age"):
        mean = f"CAST({c['mean']} AS DOUBLE)" if c.get("mean") else "CAST(NULL AS DOUBLE)"
        return (
            f"SELECT authority_code, CAST({c['date']} AS DATE) AS d, {mean} AS m\nFROM {c['table']} t\n"
            f"WHERE {_where(c)} AND ({c['date']}) IS NOT NULL"
        )
    if kind == "latest":
        return (
            f"SELECT authority_code, CAST({c['start']} AS DATE) AS s, CAST({c['end']} AS DATE) AS e,\n"
            f"       CAST({c['value']} AS DOUBLE) AS v\nFROM {c['table']} t\n"
            f"WHERE {_where(c)} AND ({c['start']}) IS NOT NULL AND ({c['end']}) IS NOT NULL\nGROUP BY ALL"
        )
    if kind in ("max_gap", "per_month"):
        return (
            f"SELECT DISTINCT authority_code, CAST({c['date']} AS DATE) AS d\nFROM {c['table']} t\n"
            f"WHERE {_where(c)} AND ({c['date']}) IS NOT NULL"
        )
    return None


@dataclass
class Plan:
    """How each wanted goal's measure is computed, and the queries its rows come from."""

    standalone: list[Goal] = field(default_factory=list)
    computed: list[Goal] = field(default_factory=list)  # wanted, plus the goals they build on
    sql: list[Goal] = field(default_factory=list)
    wanted: set[str] = field(default_factory=set)
    source: dict[str, tuple[str, int]] = field(default_factory=dict)  # goal id -> (shape, tag g)
    selects: dict[str, list[str]] = field(default_factory=dict)  # shape -> its SELECTs, by tag

    @classmethod
    def of(cls, catalog: Catalog, goals: Sequence[Goal]) -> Plan:
        """Sort the goals: measures that run as they are, computed ones (and what they build on), SQL."""
        plan = cls(wanted={g.id for g in goals})
        seen: set[str] = set()

        def add_computed(g: Goal) -> None:
            if g.id in seen:
                return
            seen.add(g.id)
            of = g.computed().get("of")
            if of:
                add_computed(catalog.goal(of))
            plan.computed.append(g)
            sql = fetch_sql(g)
            if sql:
                selects = plan.selects.setdefault(_SHAPE[g.computed()["kind"]], [])
                if sql not in selects:  # goals reading the same rows share them
                    selects.append(sql)
                plan.source[g.id] = (_SHAPE[g.computed()["kind"]], selects.index(sql))

        for g in goals:
            if g.measure is None:
                continue  # no dataset yet: always no_data
            if g.compute:
                add_computed(g)
            elif standalone(g):
                plan.standalone.append(g)
            else:
                plan.sql.append(g)
        return plan

    def queries(self) -> dict[str, str]:
        """One query per shape: its goals' SELECTs tagged with g (dates sorted as _team_days takes
        them: the sort then runs on the query's thread, beside other work)."""
        out = {}
        for shape, selects in self.selects.items():
            union = "\nUNION ALL\n".join(
                f"SELECT {tag} AS g, *\nFROM (\n{sql}\n)" for tag, sql in enumerate(selects)
            )
            out[shape] = union + ("\nORDER BY g, authority_code, d" if shape == "dates" else "")
        return out


@dataclass(frozen=True)
class _GoalPeriods:
    pid: np.ndarray
    year: np.ndarray
    start: np.ndarray  # days since 1970-01-01
    eval: np.ndarray  # min(end, as-of), days


def _goal_periods(per: grid.Periods, goal: Goal, as_of: dt.date) -> _GoalPeriods:
    wanted = per.half == 0 if goal.period == "year" else per.half > 0
    end = per.end[wanted].astype(np.int64)
    return _GoalPeriods(
        pid=per.pid[wanted],
        year=per.year[wanted],
        start=per.start[wanted].astype(np.int64),
        eval=np.minimum(end, np.datetime64(as_of, "D").astype(np.int64)),
    )


def _days(col: np.ndarray) -> np.ndarray:
    """Dates (any datetime64 unit, never NULL here: the queries drop NULL dates) as day numbers."""
    col = np.asarray(col)
    return col.astype(np.int64) if col.dtype.kind in "iu" else col.astype("datetime64[D]").astype(np.int64)


def _plain(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A query's columns as plain arrays: dates as day numbers, floats with NULL as NaN.

    Masked arrays cost several times more to index, and each goal takes its rows by a mask.
    """
    out = {}
    for name, col in columns.items():
        kind = col.dtype.kind
        out[name] = _days(col) if kind == "M" else _floats(col) if kind == "f" else np.asarray(col)
    return out


def _floats(col: np.ndarray) -> np.ndarray:
    """A numeric column with NULL as NaN."""
    if isinstance(col, np.ma.MaskedArray):
        return col.astype(np.float64).filled(np.nan)
    return np.asarray(col, dtype=np.float64)


def _authorities(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct authority codes, sorted, and each row's position among them.

    np.unique's sort is most of the cost at this size; codes are small integers, so a
    presence table does it in one pass.
    """
    code = np.asarray(col, dtype=np.int64)
    if not len(code):
        return code, code
    low = int(code.min())
    present = np.zeros(int(code.max()) - low + 1, dtype=bool)
    present[code - low] = True
    return np.flatnonzero(present) + low, (np.cumsum(present) - 1)[code - low]


def _slot_of_year(days: np.ndarray, gp: _GoalPeriods) -> np.ndarray:
    """Each date's position among the goal's (year) periods by its calendar year; -1 outside them.

    Year periods start on 1 January and are in order, so a search of the starts finds the year.
    """
    if not len(gp.year):
        return np.full(len(days), -1)
    slot = np.searchsorted(gp.start, days, side="right") - 1
    year_end = np.datetime64(f"{int(gp.year.max())}-12-31", "D").astype(np.int64)
    # the year after a missing year is never a period here: the periods are consecutive years
    return np.where((slot >= 0) & (days <= year_end), slot, -1)


Result = tuple[np.ndarray, np.ndarray, np.ndarray]  # authority_code, pid, value


def _cells(codes: np.ndarray, gp: _GoalPeriods, present: np.ndarray, value: np.ndarray) -> Result:
    """The (authority, period) cells that exist, from dense [authority, period] arrays."""
    a, p = np.nonzero(present)
    return codes[a], gp.pid[p], value[a, p].astype(np.float64)


def _stock(rows: dict, c: Mapping[str, str], gp: _GoalPeriods) -> Result:
    codes, a = _authorities(rows["authority_code"])
    n_p = len(gp.eval)
    slot = np.searchsorted(gp.eval, _days(rows["d"]), side="left")  # the first period it counts in
    keep = slot < n_p
    flat = a[keep] * n_p + slot[keep]
    size = len(codes) * n_p

    def running(weights: np.ndarray | None) -> np.ndarray:
        return np.bincount(flat, weights=weights, minlength=size).reshape(len(codes), n_p).cumsum(axis=1)

    count = running(None)
    value = running(_floats(rows["m"])[keep]) / np.maximum(count, 1) if c.get("mean") else count
    return _cells(codes, gp, count > 0, value)


def _age(rows: dict, c: Mapping[str, str], gp: _GoalPeriods) -> Result:
    codes, a = _authorities(rows["authority_code"])
    n_p = len(gp.eval)
    d = _days(rows["d"])
    slot = np.searchsorted(gp.eval, d, side="left")
    keep = slot < n_p
    latest = np.full(len(codes) * n_p, np.iinfo(np.int64).min)
    np.maximum.at(latest, a[keep] * n_p + slot[keep], d[keep])
    latest = np.maximum.accumulate(latest.reshape(len(codes), n_p), axis=1)
    present = latest > np.iinfo(np.int64).min
    return _cells(codes, gp, present, np.where(present, gp.eval[None, :] - latest, 0))


def _latest(rows: dict, c: Mapping[str, str], gp: _GoalPeriods) -> Result:
    codes, a = _authorities(rows["authority_code"])
    n_p = len(gp.eval)
    s, e, v = _days(rows["s"]), _days(rows["e"]), _floats(rows["v"])
    slot = _slot_of_year(s, gp)
    keep = slot >= 0
    keep[keep] = s[keep] <= gp.eval[slot[keep]]
    flat = a * n_p + slot
    present = np.zeros(len(codes) * n_p, dtype=bool)
    present[flat[keep]] = True
    value = np.full(len(codes) * n_p, np.nan)
    pick = keep & ~np.isnan(v)  # arg_max skips NULL values
    if pick.any():
        # the latest end, then start, per cell: one integer key (unique in a cell: the rows are
        # grouped by them), its maximum per cell, and the row that has it
        e0, s0 = e - e[pick].min(), s - s[pick].min()
        key = e0 * (int(s0[pick].max()) + 1) + s0
        best = np.full(len(codes) * n_p, -1, dtype=np.int64)
        np.maximum.at(best, flat[pick], key[pick])
        win = pick & (key == best[np.where(pick, flat, 0)])
        value[flat[win]] = v[win]
    return _cells(codes, gp, present.reshape(len(codes), n_p), value.reshape(len(codes), n_p))


def _per_1000(authorities: Mapping[str, np.ndarray], of: Result) -> Result:
    codes, pid, value = of
    known = np.asarray(authorities["code"], dtype=np.int64)
    population = _floats(authorities["population"])
    order = np.argsort(known)
    pos = np.minimum(np.searchsorted(known, codes, sorter=order), max(len(known) - 1, 0))
    found = known[order][pos] == codes if len(known) else np.zeros(len(codes), dtype=bool)
    pop = population[order][pos][found] if len(known) else np.empty(0)
    pop = np.where(pop == 0, np.nan, pop)
    return codes[found], pid[found], value[found] * 1000.0 / pop


def _team_days(rows: dict, gp: _GoalPeriods) -> tuple[np.ndarray, ...]:
    """Distinct dates sorted by authority and date, with their year's position among the periods."""
    codes, a = _authorities(rows["authority_code"])
    d = _days(rows["d"])
    d0 = int(d.min()) if len(d) else 0
    span = int(d.max()) - d0 + 1 if len(d) else 1
    key = a * span + (d - d0)  # by authority, then date: one integer key
    if not np.all(key[1:] > key[:-1]):  # the query sorts them (on its own thread); else sort here
        key = np.sort(key)
        a, d = key // span, key % span + d0
    slot = _slot_of_year(d, gp)
    inside = slot >= 0
    inside[inside] = d[inside] <= gp.eval[slot[inside]]
    return codes, a, d, slot, inside


def _team_days_of(rows: dict, gp: _GoalPeriods) -> tuple[np.ndarray, ...]:
    """_team_days, once per row set: goals that read the same dates share the work."""
    if "_team_days" not in rows:
        rows["_team_days"] = _team_days(rows, gp)
    return rows["_team_days"]


def _max_gap(rows: dict, c: Mapping[str, str], gp: _GoalPeriods) -> Result:
    codes, a, d, slot, inside = _team_days_of(rows, gp)
    n_a, n_p = len(codes), len(gp.eval)
    gap = np.full(len(d), np.nan)
    same = np.flatnonzero(a[1:] == a[:-1]) + 1
    gap[same] = d[same] - d[same - 1]  # since the authority's previous date
    flat = a[inside] * n_p + slot[inside]
    longest = np.full(n_a * n_p, np.nan)
    np.fmax.at(longest, flat, gap[inside])
    never = np.iinfo(np.int64).min
    last = np.full(n_a * n_p, never)
    np.maximum.at(last, flat, d[inside])
    last = np.maximum.accumulate(last.reshape(n_a, n_p), axis=1)  # carried over empty years
    if n_p:  # the last date before the first period
        before = d < gp.start.min()
        first_last = np.full(n_a, never)
        np.maximum.at(first_last, a[before], d[before])
        last = np.maximum(last, first_last[:, None])
    present = last > never
    open_gap = np.where(present, gp.eval[None, :] - last, 0).astype(np.float64)
    return _cells(codes, gp, present, np.fmax(longest.reshape(n_a, n_p), open_gap))


def _per_month(rows: dict, c: Mapping[str, str], gp: _GoalPeriods) -> Result:
    codes, a, d, slot, inside = _team_days_of(rows, gp)
    n_a, n_p = len(codes), len(gp.eval)
    flat = a[inside] * n_p + slot[inside]
    count = np.bincount(flat, minlength=n_a * n_p).reshape(n_a, n_p)
    first = np.full(n_a * n_p, np.iinfo(np.int64).max)
    np.minimum.at(first, flat, d[inside])
    months = (gp.eval[None, :] - first.reshape(n_a, n_p) + 1) / _DAYS_PER_MONTH
    present = count > 0
    return _cells(codes, gp, present, np.where(present, count / np.maximum(1.0, months), 0.0))


_COMPUTE: Mapping[str, Callable[[dict, Mapping[str, str], _GoalPeriods], Result]] = {
    "stock": _stock,
    "age": _age,
    "latest": _latest,
    "max_gap": _max_gap,
    "per_month": _per_month,
}


def _tagged(rows: Mapping[str, np.ndarray], tag: int) -> dict[str, np.ndarray]:
    """The rows of one SELECT of a tagged union: a slice when they come in tag order (DuckDB
    keeps a UNION ALL's order), else by a mask."""
    g = rows["g"]
    if np.all(g[1:] >= g[:-1]):
        lo, hi = np.searchsorted(g, [tag, tag + 1])
        return {name: col[lo:hi] for name, col in rows.items()}
    mine = g == tag
    return {name: col[mine] for name, col in rows.items()}


def measures(
    catalog: Catalog,
    plan: Plan,
    fetched: Mapping[str, Mapping[str, np.ndarray]],
    per: grid.Periods,
    as_of: dt.date,
) -> tuple[dict[str, np.ndarray], dict[int, Result]]:
    """The plan's measures: the standalone ones as inputs rows (kind 0), the computed ones as
    catalog goal order -> (authority codes, pids, values) for grid.assemble to lay on the cells.

    `fetched` holds each query's columns (NULLs masked): "standalone" and the Plan.queries
    shapes, and "authorities" (code, population) for values per 1,000 residents.
    """
    order = {g.id: i for i, g in enumerate(catalog.goals)}
    rows = fetched.get("standalone")
    if rows is not None and len(rows["k"]):
        p = _floats(rows["pid"])
        p = np.where(np.isnan(p), -1, p).astype(np.int64)
        inside = np.isin(p, per.pid)  # a label of no period (or NULL) matches none, as in build_sql
        k = np.asarray(rows["k"], dtype=np.int64)[inside]
        auth = np.asarray(rows["authority_code"], dtype=np.int64)[inside]
        pid, value = p[inside], _floats(rows["value"])[inside]
    else:
        k = auth = pid = np.empty(0, dtype=np.int64)
        value = np.empty(0)
    n = len(k)
    standalone = {
        "kind": np.full(n, grid.MEASURE, dtype=np.int64),
        "k": k,
        "authority_code": auth,
        "pid": pid,
        "value": value,
        "h_to": np.full(n, -1, dtype=np.int64),
        "h_first": np.full(n, -1, dtype=np.int64),
        "h_activity": np.full(n, -1, dtype=np.int64),
    }
    results: dict[str, Result] = {}
    shapes = {shape: _plain(fetched[shape]) for shape in plan.selects}
    split: dict[tuple[str, int, str], dict] = {}
    for g in plan.computed:  # goals built on come first (Plan.of)
        c = g.computed()
        if c["kind"] == "per_1000":
            results[g.id] = _per_1000(fetched["authorities"], results[c["of"]])
            continue
        shape, tag = plan.source[g.id]
        if (shape, tag, g.period) not in split:  # goals that read the same rows share them
            split[shape, tag, g.period] = _tagged(shapes[shape], tag)
        results[g.id] = _COMPUTE[c["kind"]](split[shape, tag, g.period], c, _goal_periods(per, g, as_of))
    computed = {order[gid]: r for gid, r in results.items() if gid in plan.wanted}
    return standalone, computed
