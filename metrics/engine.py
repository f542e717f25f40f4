"""The attainment engine: the catalog's measures in DuckDB, the table of cells in numpy.

Two verbs, as in metricflow: `attainment` computes the tidy frame (docs/CONTRACTS.md); `explain`
returns the one readable SQL query that gives the same rows for a goal, so no number is a black
box. `source_rows` shows the stored rows behind one number. The result is a pure function of the
store contents and the arguments.

Periods: the table runs from the first year with dated activity data to the as-of year (or only
`year`). Dated activity is the rows of the log datasets (meetings, trainings, volunteers, budgets:
the dates each row covers) and the snapshot datasets' own update/report date (`reported` in the
catalog, e.g. programs.last_updated) — never a snapshot's historical date such as a program's
start date, so one program started in 2013 does not add a decade of no_data years. Only when the
store has no such dates does the table start at the earliest date of anything. The authorities in
the table are every authority that sent any row (`scope`).

The readable query (build_sql; `explain`, `attainment_sql`), in order:
  spans     one scan per dataset: month-aligned spans with row counts (scope, first year, no_data)
  periods   years and half-years from the first year to as-of, with elapsed share and eval date
  coverage  rows sent per coverage key (a goal's dataset or datasets) × authority × period, for
            every dataset at once
  m_<goal>  each catalog measure as written in metrics/catalog.yaml; `measures` is their union
  goals     one row of constants per goal (target op and bounds, pace, unit, weight, empty value)
  grid      scope × goals × the periods of each goal's kind, joined to coverage, measures, targets
  and the status, pace and forecast rules of metrics/status.py.

`attainment` does not run that query. Seven plain queries run at once on the pool's cursors: the
spans in one aggregation (spans_rows_sql), the measures that do not read `periods` as written
(kinds.standalone_sql), the rows of the measures that declare `compute` (kinds.Plan.queries), the
targets and the authorities. metrics/kinds.py computes the declared measures per period in numpy;
metrics/grid.py derives the scope, the first year and the coverage from the spans, lays the
measures on the grid of cells as dense arrays and applies the targets and the numpy form of the
same rules. A measure that reads `periods` without `compute` runs as SQL (inputs_sql) once the
spans give the first year. Tests keep the rules equal to the SQL and the whole table equal to
build_sql's, row for row. The data version is compared before and after the reads, so the
queries never mix two versions of the store.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from metrics import grid, kinds
from metrics import status as rules
from metrics.catalog import Catalog, Goal, load_catalog
from store import Store
from store.access import User, actor, require_authorities

OUTPUT_COLUMNS = (
    "locality_code",
    "locality_name",
    "locality_name_en",
    "goal",
    "label_he",
    "label_en",
    "period",
    "period_kind",
    "year",
    "period_start",
    "period_end",
    "eval_date",
    "closed",
    "elapsed",
    "value",
    "target",
    "target_low",
    "target_high",
    "target_op",
    "target_version",
    "target_source",
    "expected_by_now",
    "ratio",
    "score",
    "status",
    "forecast",
    "unit",
    "pace",
    "weight",
    "data_rows",
    "reason",
)


# The engine's queries run at once on this many threads (at most 2: measured on 2 cores, where a
# third or fourth thread gained nothing and one thread was slower).
_PARTS = max(1, min(2, os.cpu_count() or 1))

# Which column of each dataset table marks a row as current, and how its rows are traced.
_TRACE_SQL = {
    "file": "LEFT JOIN import_batches b ON b.batch_id = t.batch_id",
}


def _sql_date(d: dt.date) -> str:
    return f"DATE '{d.isoformat()}'"


def _sql_num(x: float | None) -> str:
    return "NULL" if x is None else f"CAST({float(x)!r} AS DOUBLE)"


def _sql_str(x: str | None) -> str:
    return "NULL" if x is None else "'" + x.replace("'", "''") + "'"


def _indent(sql: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line if line.strip() else line for line in sql.splitlines())


def _as_of(as_of: dt.date | str | None) -> dt.date:
    if as_of is None:
        return dt.date.today()
    if isinstance(as_of, str):
        return dt.date.fromisoformat(as_of)
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    return as_of


def _half(expr: str) -> str:
    """SQL for the half-year index of a DATE expression: 2 × year + (0 for Jan–Jun, 1 for Jul–Dec)."""
    return f"(2 * year({expr}) + (month({expr}) > 6)::INTEGER)"


def _cov_key(goal: Goal) -> str | None:
    """The coverage key of a goal: its dataset(s) joined by '+' (None: no dataset yet)."""
    return "+".join(goal.datasets) if goal.measure is not None else None


def _spans_cte(catalog: Catalog, as_of: dt.date) -> str:
    """spans: one scan per dataset, rows per authority and covered span of half-years.

    h_first is the half-year of any date of the rows; h_activity only of dated activity: the
    dates a log row covers, a snapshot row's own update/report date (`reported`).
    """
    day = _sql_date(as_of)
    parts = []
    for name, spec in catalog.datasets.items():
        if spec.kind == "snapshot":
            # A snapshot (a list describing now) covers every period from its earliest date.
            reported = _half(f"min({spec.reported})") if spec.reported else "NULL"
            parts.append(
                f"    SELECT '{name}' AS dataset, authority_code,\n"
                f"           {_half(f'coalesce(min({spec.date}), {day})')} AS h_from,\n"
                f"           {_half(day)} AS h_to, count(*) AS n,\n"
                f"           {_half(f'min({spec.date})')} AS h_first, {reported} AS h_activity\n"
                f"    FROM {name} WHERE superseded_by IS NULL GROUP BY authority_code"
            )
        else:
            parts.append(
                f"    SELECT '{name}', authority_code, {_half(spec.date_from or 'NULL')} AS h,\n"
                f"           {_half(spec.date_to or 'NULL')}, count(*), h, h\n"
                f"    FROM {name} WHERE superseded_by IS NULL GROUP BY 2, 3, 4"
            )
    # the columns named here: the first SELECT may be a log's, whose columns have no names
    columns = "dataset, authority_code, h_from, h_to, n, h_first, h_activity"
    return f"spans({columns}) AS MATERIALIZED (\n" + "\n    UNION ALL\n".join(parts) + "\n),\n"


def spans_rows_sql(catalog: Catalog) -> str:
    """The engine's form of the spans: every dataset's current rows in one aggregation.

    One GROUP BY over the union (dataset, authority, log half-years; snapshots' earliest dates)
    instead of one per dataset as in the spans CTE: a fifth less DuckDB work. spans_rows turns
    the result into the spans rows, as the CTE gives them (tests compare the two).
    """
    parts = []
    for i, (name, spec) in enumerate(catalog.datasets.items()):
        if spec.kind == "snapshot":
            reported = f"CAST({spec.reported} AS DATE)" if spec.reported else "NULL::DATE"
            parts.append(
                f"SELECT {i} AS ds, authority_code, NULL::INTEGER AS h_from, NULL::INTEGER AS h_to,"
                f" CAST({spec.date} AS DATE) AS d, {reported} AS r\n"
                f"FROM {name} WHERE superseded_by IS NULL"
            )
        else:
            h_from, h_to = _half(spec.date_from or "NULL"), _half(spec.date_to or "NULL")
            parts.append(
                f"SELECT {i}, authority_code, {h_from}, {h_to}, NULL::DATE, NULL::DATE\n"
                f"FROM {name} WHERE superseded_by IS NULL"
            )
    union = "\nUNION ALL\n".join(parts)
    return (
        "SELECT ds, authority_code, h_from, h_to, count(*) AS n, min(d) AS d, min(r) AS r\n"
        f"FROM (\n{union}\n) u(ds, authority_code, h_from, h_to, d, r)\nGROUP BY ALL"
    )


def _half_np(days: np.ndarray) -> np.ndarray:
    """The half-year index (2 × year + 0/1) of datetime64 values; -1 for NaT."""
    d = days.astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return np.where(np.isnat(d), -1, 2 * year + (month > 6))


def spans_rows(catalog: Catalog, got: dict[str, np.ndarray], as_of: dt.date) -> dict[str, np.ndarray]:
    """spans_rows_sql's result as the spans rows of inputs_sql (kind 1; NULL as -1)."""

    def ints(col: np.ndarray) -> np.ndarray:
        return (
            np.ma.filled(col.astype(np.int64), -1) if np.ma.isMaskedArray(col) else np.asarray(col, np.int64)
        )

    def dates(col: np.ndarray) -> np.ndarray:
        if np.ma.isMaskedArray(col):
            return np.where(np.ma.getmaskarray(col), np.datetime64("NaT"), col.data.astype("datetime64[D]"))
        return np.asarray(col).astype("datetime64[D]")

    ds, h_from, h_to = ints(got["ds"]), ints(got["h_from"]), ints(got["h_to"])
    snapshot = np.array([spec.kind == "snapshot" for spec in catalog.datasets.values()], dtype=bool)[ds]
    first, reported = np.full(len(ds), -1), np.full(len(ds), -1)  # the dates only snapshots have
    first[snapshot] = _half_np(dates(got["d"][snapshot]))
    reported[snapshot] = _half_np(dates(got["r"][snapshot]))
    has_reported = np.array([bool(spec.reported) for spec in catalog.datasets.values()], dtype=bool)[ds]
    today = 2 * as_of.year + int(as_of.month > 6)
    n = len(ds)
    return {
        "kind": np.full(n, grid.SPANS, dtype=np.int64),
        "k": ds,
        "authority_code": ints(got["authority_code"]),
        "pid": np.where(snapshot, np.where(first >= 0, first, today), h_from),
        "value": np.asarray(got["n"], dtype=np.float64),
        "h_to": np.where(snapshot, today, h_to),
        "h_first": np.where(snapshot, first, h_from),
        "h_activity": np.where(snapshot, np.where(has_reported, reported, -1), h_from),
    }


def _scope_ctes(as_of: dt.date, codes: Sequence[int] | None) -> str:
    """scope: authorities that sent anything; bounds: the first year (see the module docstring)."""
    where = ""
    if codes is not None:
        where = f" WHERE authority_code IN ({', '.join(str(int(c)) for c in codes) or 'NULL'})"
    return (
        "-- every authority that sent anything, in any dataset and any year\n"
        f"scope AS (SELECT DISTINCT authority_code FROM spans{where}),\n" + _bounds_cte(as_of)
    )


def _bounds_cte(as_of: dt.date) -> str:
    """bounds: the first year of the table (grid.first_year is the same rule in numpy)."""
    y = as_of.year
    return (
        "-- the first year with dated activity (logs, snapshots' report dates), else with any date\n"
        f"bounds AS (\n    SELECT least(coalesce(min(h_activity), min(h_first), {2 * y}) // 2, {y})"
        " AS first_year\n    FROM spans\n),\n"
    )


def _periods_ctes(as_of: dt.date, year: int | None) -> str:
    """periods of both kinds up to as-of (pid = 3 × year + half), and one view per kind."""
    last = as_of.year if year is None else min(year, as_of.year)
    first = "first_year" if year is None else str(int(year))
    day = _sql_date(as_of)
    return f"""years AS (SELECT CAST(unnest(range({first}, {last} + 1)) AS INTEGER) AS year FROM bounds),
periods AS MATERIALIZED (
    SELECT *, 3 * year + half AS pid,
        -- the half-years the period spans (see spans)
        2 * year + (half = 2)::INTEGER AS h_lo, 2 * year + (half <> 1)::INTEGER AS h_hi,
        least(period_end, {day}) AS eval_date,
        {day} > period_end AS closed,
        CAST(least(period_end, {day}) - period_start + 1 AS DOUBLE)
            / (period_end - period_start + 1) AS elapsed,
        greatest(period_end - {day}, 0) AS days_left
    FROM (
        SELECT 'year' AS period_kind, CAST(year AS VARCHAR) AS period, year, 0 AS half,
               make_date(year, 1, 1) AS period_start, make_date(year, 12, 31) AS period_end
        FROM years
        UNION ALL
        SELECT 'half_year', year || '-H' || h, year, h,
               make_date(year, 6 * h - 5, 1), last_day(make_date(year, 6 * h, 1))
        FROM years, (VALUES (1), (2)) halves(h)
    )
    WHERE period_start <= {day}
),
periods_year AS (FROM periods SELECT period, year, period_start, period_end, eval_date, closed, elapsed,
                 days_left WHERE half = 0),
periods_half_year AS (FROM periods SELECT period, year, period_start, period_end, eval_date, closed,
                      elapsed, days_left WHERE half > 0),
"""


def _coverage_cte(goals: Sequence[Goal]) -> str:
    """coverage: rows sent per coverage key × authority × period, every dataset in one join."""
    keys = sorted({(_cov_key(g), ds, g.period) for g in goals if g.measure is not None for ds in g.datasets})
    values = ", ".join(f"('{k}', '{ds}', '{kind}')" for k, ds, kind in keys)
    return f"""coverage AS MATERIALIZED (
    SELECT k.cov_key, s.authority_code, p.pid, sum(s.n) AS n
    FROM spans s
    JOIN (VALUES {values or "(NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR)"}) k(cov_key, dataset, period_kind)
        USING (dataset)
    JOIN periods p ON p.period_kind = k.period_kind AND s.h_from <= p.h_hi AND s.h_to >= p.h_lo
    GROUP BY ALL
),
"""


def _measure_cte(goal: Goal) -> str:
    """m_<goal>: the catalog measure over the periods of the goal's kind."""
    return f"""m_{goal.id} AS (
    WITH periods AS (FROM periods_{goal.period})
    SELECT authority_code, CAST(period AS VARCHAR) AS period, CAST(value AS DOUBLE) AS value
    FROM (
{_indent(goal.measure or "", 8)}
    )
),
"""


def _measure_ctes(catalog: Catalog, goals: Sequence[Goal]) -> str:
    """m_<goal> for these goals and the measures they use (catalog `uses`), each once, used first."""
    done: dict[str, Goal] = {}

    def add(goal: Goal) -> None:
        if goal.id in done or goal.measure is None:
            return
        for used in goal.uses:
            add(catalog.goal(used))
        done[goal.id] = goal

    for g in goals:
        add(g)
    return "".join(_measure_cte(g) for g in done.values())


def _goals_cte(goals: Sequence[Goal], order: dict[str, int]) -> str:
    """goals: one row of constants per goal; measures: every measure's rows by goal and period."""
    rows = []
    for g in goals:
        t = g.target
        rows.append(
            f"({order[g.id]}, '{g.id}', '{g.period}', {_sql_str(_cov_key(g))}, '{t.op}', "
            f"{_sql_num(t.low)}, {_sql_num(t.high)}, '{g.pace}', '{g.unit}', "
            f"{str(g.unit in rules.INTEGER_UNITS).lower()}, {_sql_num(g.weight)}, "
            f"{str(g.empty == 'zero').lower()})"
        )
    union = "\n        UNION ALL ".join(
        f"SELECT {order[g.id]}, * FROM m_{g.id}" for g in goals if g.measure is not None
    )
    if not union:
        union = "SELECT NULL::INTEGER, NULL::INTEGER, NULL::VARCHAR, NULL::DOUBLE WHERE false"
    return (
        "goals(goal_order, goal, period_kind, cov_key, target_op, default_low, default_high,\n"
        "      pace, unit, is_integer, weight, empty_zero) AS (VALUES\n    " + ",\n    ".join(rows) + "\n),\n"
        "measures AS (\n"
        "    SELECT m.goal_order, m.authority_code, p.pid, m.value\n"
        f"    FROM (\n        {union}\n    ) m(goal_order, authority_code, period, value)\n"
        "    JOIN periods p USING (period)\n),\n"
    )


def _final_select() -> str:
    order_by = "\nORDER BY x.authority_code, x.goal_order, x.pid"
    return f"""-- targets: a locality override beats a year-wide override beats the catalog default
targets_current AS MATERIALIZED (
    SELECT g.goal_order, t.year, t.authority_code, t.target_id, t.target_low, t.target_high
    FROM targets t JOIN goals g USING (goal)
    WHERE t.superseded_by IS NULL AND (t.target_low IS NOT NULL OR t.target_high IS NOT NULL)
),
-- every goal × period of its kind, with its constants and the year-wide override
goal_periods AS MATERIALIZED (
    SELECT g.*, p.* EXCLUDE (period_kind),
        ty.target_id AS year_target, ty.target_low AS year_low, ty.target_high AS year_high
    FROM goals g
    JOIN periods p USING (period_kind)
    LEFT JOIN targets_current ty
        ON ty.goal_order = g.goal_order AND ty.year = p.year AND ty.authority_code IS NULL
),
-- the cells of the table (scope × goal periods), with rows sent and the measured value
cells AS (
    SELECT s.authority_code, gp.goal_order, gp.pid, c.n AS data_rows, m.value AS measured
    FROM scope s
    CROSS JOIN goal_periods gp
    LEFT JOIN coverage c
        ON c.cov_key = gp.cov_key AND c.authority_code = s.authority_code AND c.pid = gp.pid
    LEFT JOIN measures m
        ON m.goal_order = gp.goal_order AND m.authority_code = s.authority_code AND m.pid = gp.pid
),
resolved AS (
    SELECT c.authority_code, c.data_rows, gp.*,
        -- no rows sent for the dataset(s) in the period: no value (no_data), never zero
        coalesce(c.measured, CASE WHEN gp.empty_zero THEN 0.0 END) AS measured,
        CASE WHEN c.data_rows > 0
             THEN coalesce(c.measured, CASE WHEN gp.empty_zero THEN 0.0 END) END AS value,
        CASE WHEN tl.target_id IS NOT NULL THEN 'locality'
             WHEN gp.year_target IS NOT NULL THEN 'year' ELSE 'catalog' END AS target_source,
        coalesce(tl.target_id, gp.year_target, 0) AS target_version,
        CASE WHEN tl.target_id IS NOT NULL THEN tl.target_low
             WHEN gp.year_target IS NOT NULL THEN gp.year_low ELSE gp.default_low END AS target_low,
        CASE WHEN tl.target_id IS NOT NULL THEN tl.target_high
             WHEN gp.year_target IS NOT NULL THEN gp.year_high ELSE gp.default_high END AS target_high
    FROM cells c
    JOIN goal_periods gp USING (goal_order, pid)
    LEFT JOIN targets_current tl
        ON tl.goal_order = c.goal_order AND tl.year = gp.year AND tl.authority_code = c.authority_code
),
paced AS MATERIALIZED (
    SELECT *, {_indent(rules.EXPECTED_SQL, 4).strip()} AS expected_by_now
    FROM resolved
)
SELECT
    x.authority_code AS locality_code, x.goal, x.period, x.period_kind, x.year,
    x.period_start, x.period_end, x.eval_date, x.closed, x.elapsed,
    x.value,
    CASE WHEN x.target_op = '<=' THEN x.target_high ELSE x.target_low END AS target,
    x.target_low, x.target_high, x.target_op, x.target_version, x.target_source,
    x.expected_by_now,
    {_indent(rules.RATIO_SQL, 4).strip()} AS ratio,
    {_indent(rules.SCORE_SQL, 4).strip()} AS score,
    {_indent(rules.STATUS_SQL, 4).strip()} AS status,
    {_indent(rules.FORECAST_SQL, 4).strip()} AS forecast,
    x.unit, x.pace, x.weight, CAST(x.data_rows AS DOUBLE) AS data_rows,
    CASE WHEN x.cov_key IS NULL THEN 'no_dataset' WHEN x.data_rows IS NULL THEN 'no_rows'
         WHEN x.measured IS NULL THEN 'not_applicable' END AS reason,
    x.goal_order, x.half
FROM paced x{order_by}
"""


def build_sql(
    catalog: Catalog,
    goal_ids: Sequence[str],
    *,
    as_of: dt.date,
    year: int | None = None,
    codes: Sequence[int] | None = None,
) -> str:
    """The one query computing attainment for these goals (readable; `explain` shows it)."""
    goals = [catalog.goal(g) for g in dict.fromkeys(goal_ids)]
    order = {g.id: i for i, g in enumerate(catalog.goals)}
    header = (
        f"-- Yaad attainment: goals {', '.join(goal_ids)}\n"
        f"-- as of {as_of.isoformat()}" + (f", year {year}" if year else "") + "\n"
    )
    return (
        header
        + "WITH\n"
        + _spans_cte(catalog, as_of)
        + _scope_ctes(as_of, codes)
        + _periods_ctes(as_of, year)
        + _coverage_cte(goals)
        + _measure_ctes(catalog, goals)
        + _goals_cte(goals, order)
        + _final_select()
    )


def _spans_select(catalog: Catalog) -> str:
    """The spans rows as inputs rows: kind 1, k = the dataset's position in the catalog, pid = h_from."""
    names = ", ".join(_sql_str(n) for n in catalog.datasets) or "NULL"
    return (
        f"SELECT 1 AS kind, list_position([{names}], dataset) - 1 AS k, authority_code, h_from AS pid,"
        " CAST(n AS DOUBLE) AS value, h_to, h_first, h_activity FROM spans"
    )


def inputs_sql(
    catalog: Catalog,
    goal_ids: Sequence[str],
    *,
    as_of: dt.date,
    year: int | None = None,
    measures_of: Sequence[str] | None = None,
    spans: bool = True,
    first_year: int | None = None,
) -> str:
    """What the attainment table needs from the stored rows, as one query (see metrics/grid.py).

    The same CTEs as build_sql up to the measures — spans, the first year, periods and the
    catalog measures — with rows returned instead of joined to the grid: (kind, k,
    authority_code, pid, value, h_to, h_first, h_activity), where kind 0 is a measure (k = catalog
    goal order) and kind 1 a spans row (k = the dataset's position in the catalog, pid = h_from,
    value = rows). metrics/grid.py derives the scope, the first year and the coverage from the
    spans rows, as build_sql's scope, bounds and coverage CTEs do.

    To split the work into parts that run at once: `measures_of` limits the measures to some
    goals (none: only the spans), spans=False leaves the spans rows out, and a known `first_year`
    (grid.first_year of the spans) replaces the scan of every dataset that finds it.
    """
    goals = [catalog.goal(g) for g in dict.fromkeys(goal_ids)]
    mine = goals if measures_of is None else [catalog.goal(g) for g in dict.fromkeys(measures_of)]
    order = {g.id: i for i, g in enumerate(catalog.goals)}
    if first_year is not None and spans:
        raise ValueError("a given first year replaces the spans")
    ctes = ""
    if spans or (mine and first_year is None):  # the spans rows, or the first year from them
        ctes += _spans_cte(catalog, as_of)
    if mine:
        if first_year is not None:
            ctes += f"bounds AS (SELECT {int(first_year)} AS first_year),\n"
        else:
            ctes += _bounds_cte(as_of)
        ctes += _periods_ctes(as_of, year) + _measure_ctes(catalog, mine) + _goals_cte(mine, order)
    selects = (
        [
            "SELECT 0 AS kind, goal_order AS k, authority_code, pid, value,"
            " NULL::INTEGER AS h_to, NULL::INTEGER AS h_first, NULL::INTEGER AS h_activity FROM measures"
        ]
        if mine
        else []
    )
    if spans:
        selects.append(_spans_select(catalog))
    return (
        f"-- Yaad attainment inputs, as of {as_of.isoformat()}\n"
        f"WITH\n{ctes.rstrip().rstrip(',')}\n" + "\nUNION ALL ".join(selects) + "\n"
    )


def resolve_localities(store: Store, localities: Iterable[int | str]) -> list[int]:
    """Authority codes for codes or names (exact Hebrew/English name, or a unique substring)."""
    authorities = store.query_df("SELECT code, name, name_en FROM authorities")
    codes: list[int] = []
    for item in localities:
        text = str(item).strip()
        if text.isdigit():
            codes.append(int(text))
            continue
        exact = authorities[
            (authorities["name"] == text) | (authorities["name_en"].str.lower() == text.lower())
        ]
        if exact.empty:
            exact = authorities[
                authorities["name"].str.contains(text, regex=False)
                | authorities["name_en"].fillna("").str.lower().str.contains(text.lower(), regex=False)
            ]
        if len(exact) != 1:
            found = ", ".join(exact["name"].head(5)) or "none"
            raise LookupError(f"locality {text!r} matches {len(exact)} authorities ({found})")
        codes.append(int(exact["code"].iloc[0]))
    return codes


_PARSED = threading.local()  # per thread: SQL text -> parsed statement (the text is data-independent)


def _parsed(cur: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    """The parsed statement for this SQL, parsed once per thread (a parse is ~1 ms per KB)."""
    cache: dict[str, duckdb.Statement] = _PARSED.__dict__.setdefault("cache", {})
    if sql not in cache:
        if len(cache) >= 32:
            cache.clear()
        (cache[sql],) = cur.extract_statements(sql)
    return cache[sql]


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """Threads for running the engine's queries at once (DuckDB releases the GIL)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_PARTS, thread_name_prefix="yaad-attainment")
        return _POOL


_AUTHORITIES_SQL = "SELECT code, name, name_en, CAST(population AS DOUBLE) AS population FROM authorities"
_TARGETS_SQL = """
SELECT goal, year, authority_code, target_id, target_low, target_high FROM targets
WHERE superseded_by IS NULL AND (target_low IS NOT NULL OR target_high IS NOT NULL)
"""


def _run(
    store: Store,
    catalog: Catalog,
    goal_ids: list[str],
    *,
    as_of: dt.date,
    year: int | None,
) -> tuple[dict[str, np.ndarray], dict[int, kinds.Result], list[tuple], list[tuple]]:
    """The inputs of the grid (spans and measure rows, see inputs_sql), the computed measures
    (metrics/kinds.py), the target overrides and the authorities (code, name, name_en, population).

    The spans, the measures that run as they are (one query), each computed goal's rows
    (metrics/kinds.py) and the targets are plain queries that do not depend on each other: they
    run at once on the pool's cursors (DuckDB releases the GIL), then kinds computes the measures
    per period. Measures of neither sort run as SQL after the spans give the first year. Separate
    cursors could see a commit in between, so the data version is compared before and after, and
    a mixed result is read again.
    """
    goals = [catalog.goal(g) for g in goal_ids]
    plan = kinds.Plan.of(catalog, goals)
    queries = {"spans": spans_rows_sql(catalog)}
    if plan.standalone:
        queries["standalone"] = kinds.standalone_sql(catalog, plan.standalone)
    queries.update(plan.queries())
    queries["targets"] = _TARGETS_SQL
    queries["authorities"] = _AUTHORITIES_SQL

    def sql_measures(got: dict[str, dict[str, np.ndarray]]) -> str:
        """Measures that read the periods and declare no `compute`: once the spans give the first year."""
        first = grid.first_year(spans_rows(catalog, got["spans"], as_of), as_of)
        ids = [g.id for g in plan.sql]
        return inputs_sql(
            catalog, goal_ids, measures_of=ids, spans=False, first_year=first, as_of=as_of, year=year
        )

    def read() -> dict[str, dict[str, np.ndarray]]:
        # the two long queries first, one on each thread; the small ones fill in after them
        names = ["spans", *(["standalone"] if "standalone" in queries else [])]
        names += [n for n in queries if n not in names]
        got = dict(zip(names, _pool().map(lambda n: _fetch_raw(store, queries[n]), names), strict=True))
        if plan.sql:
            got["sql"] = _fetch_raw(store, sql_measures(got))
        return got

    for _ in range(3):
        before = store.data_version()
        got = read()
        if store.data_version() == before:
            break
    else:  # written to all the time: one transaction sees one version
        with store.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                got = {n: cur.execute(q).fetchnumpy() for n, q in queries.items()}
                if plan.sql:
                    got["sql"] = cur.execute(sql_measures(got)).fetchnumpy()
            finally:
                cur.execute("ROLLBACK")
    spans = spans_rows(catalog, got["spans"], as_of)
    first = grid.first_year(spans, as_of) if year is None else int(year)
    per = grid.periods(first, as_of.year if year is None else min(year, as_of.year), as_of)
    standalone, computed = kinds.measures(catalog, plan, got, per, as_of)
    parts = [spans, standalone] + ([_filled(got["sql"])] if "sql" in got else [])
    columns = {
        c: np.concatenate([p[c].astype(np.float64 if c == "value" else np.int64) for p in parts])
        for c in spans
    }
    return columns, computed, _tuples(got["targets"]), _tuples(got["authorities"])


def _tuples(columns: dict[str, np.ndarray]) -> list[tuple]:
    """A small result's rows as tuples of Python values, NULL as None (as fetchall gives them)."""

    def values(col: np.ndarray) -> list:
        if isinstance(col, np.ma.MaskedArray):
            mask = np.ma.getmaskarray(col).tolist()
            return [None if m else v for v, m in zip(col.data.tolist(), mask, strict=True)]
        return np.asarray(col).tolist()

    return list(zip(*(values(c) for c in columns.values()), strict=True))


def _fetch_raw(store: Store, sql: str) -> dict[str, np.ndarray]:
    """Run a query (parsed once per thread) on a cursor of its own; NULLs come masked.

    (numpy rather than Arrow: as fast here, and without DuckDB's warning about Arrow from a
    DB-API result, which cannot be silenced safely from two threads at once.)
    """
    with store.cursor() as cur:
        return cur.execute(_parsed(cur, sql)).fetchnumpy()


def _filled(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Columns with NULL as -1 (integers) or NaN (floats), as grid.assemble takes them."""
    out = {}
    for name, col in columns.items():
        fill = np.nan if col.dtype.kind == "f" else -1
        out[name] = np.ma.filled(col, fill) if isinstance(col, np.ma.MaskedArray) else np.asarray(col)
    return out


# The frame's label columns (names, goal and period texts) repeated along the table, by layout:
# they depend on the goals, the periods and the authorities in scope, never on a value, so a
# page that draws the same table again (the dashboard reruns its script on every click) gets them
# ready. Arrow arrays are immutable: frames share them safely.
_LABELS: dict[tuple, dict[str, pa.Array]] = {}
_LABELS_LOCK = threading.Lock()
_LABELS_KEPT = 4  # layouts kept (~10 MB each at national scale)


def _cells_frame(cells: dict[str, np.ndarray], catalog: Catalog, authorities: list[tuple]) -> pd.DataFrame:
    """The tidy frame from the grid's columns: texts attached from small lookups by position.

    Built as one Arrow table and converted once: far cheaper than thirty pandas Series. The
    label columns come from `_LABELS` when the table's layout was drawn before (building them
    is more than half of this function's time).
    """
    goal_order, half, years = cells["goal_order"], cells["half"], cells["year"]
    n = len(goal_order)
    goals = catalog.goals
    first = int(years.min()) if n else 0
    last = int(years.max()) if n else -1
    labels = [p for y in range(first, last + 1) for p in (str(y), f"{y}-H1", f"{y}-H2")]
    # The cells are authority-major, each authority with the same goal-periods: the texts that
    # depend only on the authority or only on the goal-period are looked up once and repeated.
    code = cells["locality_code"]
    n_gp = int(np.argmax(code != code[0])) or n if n else 0
    repeat = n // n_gp if n_gp else 0
    scope = code[::n_gp] if n_gp else code[:0]
    per_gp = ("goal", "label_he", "label_en", "unit", "pace", "target_op", "period", "period_kind")
    layout = (
        tuple((g.id, g.label_he, g.label_en, g.unit, g.pace, g.target.op) for g in goals),
        tuple(authorities),
        goal_order[:n_gp].tobytes(),
        years[:n_gp].tobytes(),
        half[:n_gp].tobytes(),
        scope.tobytes(),  # with the goal-periods, also the table's length
    )
    with _LABELS_LOCK:
        kept = _LABELS.get(layout)
    texts = {
        "status": (rules.STATUSES, cells["status"]),
        "target_source": (grid.TARGET_SOURCES, cells["target_source"]),
        "reason": (grid.REASONS, cells["reason"]),
    }
    if kept is None:
        codes = np.array([a[0] for a in authorities], dtype=np.int64)
        by_code = np.argsort(codes)
        found = np.minimum(np.searchsorted(codes, scope, sorter=by_code), max(len(codes) - 1, 0))
        position = by_code[found] if len(codes) else np.full(len(scope), -1)
        position = np.where(codes[position] == scope, position, -1) if len(codes) else position
        position = np.repeat(position, n_gp)
        texts |= {
            "locality_name": ([a[1] for a in authorities], position),
            "locality_name_en": ([a[2] for a in authorities], position),
            "goal": ([g.id for g in goals], goal_order),
            "label_he": ([g.label_he for g in goals], goal_order),
            "label_en": ([g.label_en for g in goals], goal_order),
            "unit": ([g.unit for g in goals], goal_order),
            "pace": ([g.pace for g in goals], goal_order),
            "target_op": ([g.target.op for g in goals], goal_order),
            "period": (labels, 3 * (years.astype(np.int64) - first) + half),
            "period_kind": (["year", "half_year"], np.minimum(half, 1)),
        }
    built: dict[str, pa.Array] = {}
    arrays = []
    for c in OUTPUT_COLUMNS:
        if kept is not None and c in kept:
            arrays.append(kept[c])
        elif c in texts:
            values, index = texts[c]
            index = np.asarray(index, dtype=np.int64)
            if c in per_gp and repeat > 1:
                index = index[:n_gp]
            missing = index < 0
            positions = pa.array(index, mask=missing) if missing.any() else pa.array(index)
            column = pa.array(list(values), pa.large_string()).take(positions)
            arrays.append(pa.concat_arrays([column] * repeat) if c in per_gp and repeat > 1 else column)
            if c in per_gp or c in ("locality_name", "locality_name_en"):
                built[c] = arrays[-1]
        else:
            arrays.append(pa.array(cells[c]))
    if kept is None:
        with _LABELS_LOCK:
            # (another thread may have built this layout meanwhile: then it is only replaced)
            if layout not in _LABELS and len(_LABELS) >= _LABELS_KEPT:
                _LABELS.pop(next(iter(_LABELS)))  # the oldest layout
            _LABELS[layout] = built
    table = pa.Table.from_arrays(arrays, names=list(OUTPUT_COLUMNS))
    return table.to_pandas(date_as_object=False, split_blocks=True)


def attainment(
    store: Store,
    *,
    year: int | None = None,
    as_of: dt.date | str | None = None,
    localities: Iterable[int | str] | None = None,
    goals: Iterable[str] | None = None,
    catalog: Catalog | None = None,
    user: User | str | None = None,
) -> pd.DataFrame:
    """The tidy attainment frame: one row per authority with data × goal × period up to as-of.

    `user` limits the rows to their authorities (a trusted local caller passes none: all).
    """
    catalog = catalog or load_catalog()
    day = _as_of(as_of)
    goal_ids = list(goals) if goals is not None else list(catalog.goal_ids)
    for gid in goal_ids:
        catalog.goal(gid)  # unknown ids fail loudly, with the known list
    codes = resolve_localities(store, localities) if localities is not None else None
    scope = actor(user).codes()
    if scope is not None:
        codes = [c for c in (codes if codes is not None else scope) if c in set(scope)]
    if not goal_ids or (year is not None and year > day.year):
        return pd.DataFrame(columns=list(OUTPUT_COLUMNS))
    inputs, computed, targets, authorities = _run(store, catalog, goal_ids, as_of=day, year=year)
    cells = grid.assemble(
        inputs, targets, catalog, goal_ids, as_of=day, year=year, codes=codes, computed=computed
    )
    # Names and labels are attached here, from small lookups, rather than carried per row:
    # converting repeated strings row by row is most of the cost of building the frame.
    return _cells_frame(cells, catalog, authorities)


def attainment_sql(
    store: Store,
    *,
    year: int | None = None,
    as_of: dt.date | str | None = None,
    goals: Iterable[str] | None = None,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """The same table computed by the one readable query that `explain` shows (build_sql).

    Slower than `attainment` (DuckDB joins every cell and applies the rules row by row); kept as
    the reference the engine is checked against, row for row (tests/test_metrics_engine.py).
    """
    catalog = catalog or load_catalog()
    day = _as_of(as_of)
    goal_ids = list(goals) if goals is not None else list(catalog.goal_ids)
    if not goal_ids or (year is not None and year > day.year):
        return pd.DataFrame(columns=list(OUTPUT_COLUMNS))
    with store.cursor() as cur:
        df = cur.execute(build_sql(catalog, goal_ids, as_of=day, year=year)).df()
    names = store.query_df("SELECT code, name, name_en FROM authorities").set_index("code")
    by_goal = pd.DataFrame(
        [(g.label_he, g.label_en) for g in catalog.goals], columns=["label_he", "label_en"], dtype="str"
    )
    for c in ("label_he", "label_en"):
        df[c] = by_goal[c].to_numpy()[df["goal_order"].to_numpy()] if len(df) else []
    for c, source in (("locality_name", "name"), ("locality_name_en", "name_en")):
        df[c] = names[source].reindex(df["locality_code"]).to_numpy()
    for c in ("period_start", "period_end", "eval_date"):
        df[c] = df[c].astype("datetime64[us]")
    df = df[list(OUTPUT_COLUMNS)].reset_index(drop=True)
    return df.astype({c: "str" for c in df.columns if df[c].dtype in (object, "str")})


def explain(
    goal_id: str,
    *,
    catalog: Catalog | None = None,
    as_of: dt.date | str | None = None,
    year: int | None = None,
) -> str:
    """The SQL for one goal: its measure, coverage, targets and status rules, as one readable query.

    It gives exactly the rows `attainment` gives for the goal (the engine runs the same measure
    and coverage SQL, and applies the same rules to the cells in numpy; tested row for row).
    """
    catalog = catalog or load_catalog()
    catalog.goal(goal_id)
    return build_sql(catalog, [goal_id], as_of=_as_of(as_of), year=year)


def source_rows(
    store: Store,
    goal_id: str,
    locality_code: int,
    period: str,
    *,
    catalog: Catalog | None = None,
    user: User | str | None = None,
) -> pd.DataFrame:
    """The current stored rows of the goal's dataset(s) behind one number, with their file.

    These are the rows of the goal's dataset(s) for that authority whose dates fall in the period
    (snapshot datasets: the whole current list). Columns: dataset, batch_id, file_name, sheet,
    source_row, plus the row's own columns. Participant rows carry no names (the store has none).
    A locality outside the user's scope raises AccessDenied.
    """
    require_authorities(user, [int(locality_code)])
    catalog = catalog or load_catalog()
    goal = catalog.goal(goal_id)
    start, end = _period_bounds(period)
    frames = []
    for ds in goal.datasets:
        spec = catalog.datasets[ds]
        if spec.kind == "snapshot":
            where = ""
        else:
            where = f" AND {spec.date_from} <= ? AND {spec.date_to} >= ?"
        params: list = [int(locality_code)] + ([end, start] if where else [])
        df = store.query_df(
            f"SELECT '{ds}' AS dataset, t.batch_id, b.file_name, t.sheet, t.source_row, "
            f"t.* EXCLUDE (batch_id, sheet, source_row, superseded_by) "
            f"FROM {ds} t {_TRACE_SQL['file']} "
            f"WHERE t.superseded_by IS NULL AND t.authority_code = ?{where} "
            f"ORDER BY b.file_name, t.sheet, t.source_row",
            params,
        )
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """'2025' -> the year; '2025-H1' / '2025-H2' -> the half-year."""
    text = str(period)
    if "-H" in text:
        y, h = text.split("-H")
        year, half = int(y), int(h)
        start = dt.date(year, 6 * half - 5, 1)
        end = dt.date(year, 6, 30) if half == 1 else dt.date(year, 12, 31)
        return start, end
    year = int(text)
    return dt.date(year, 1, 1), dt.date(year, 12, 31)
