"""The attainment engine: the catalog's measures composed into one readable DuckDB query.

Two verbs, as in metricflow: `attainment` runs it and returns the tidy frame (docs/CONTRACTS.md);
`explain` returns the SQL for one goal, so no number is a black box. `source_rows` shows the
stored rows behind one number. Everything is computed in SQL (one UNION ALL over the goals), and
the result is a pure function of the store contents and the arguments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd

from metrics import status as rules
from metrics.catalog import Catalog, Goal, load_catalog
from store import Store

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

# Which column of each dataset table marks a row as current, and how its rows are traced.
_TRACE_SQL = {
    "file": "LEFT JOIN import_batches b ON b.batch_id = t.batch_id",
}


def _sql_date(d: dt.date) -> str:
    return f"DATE '{d.isoformat()}'"


def _sql_num(x: float | None) -> str:
    return "NULL" if x is None else f"CAST({float(x)!r} AS DOUBLE)"


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


def _coverage_dates(catalog: Catalog, dataset: str) -> tuple[str, str]:
    """SQL expressions (from, to) for the span one row of a dataset covers."""
    spec = catalog.datasets[dataset]
    if spec.kind == "snapshot":
        return spec.date or "NULL", spec.date or "NULL"
    return spec.date_from or "NULL", spec.date_to or "NULL"


def _scope_ctes(
    catalog: Catalog, datasets: Iterable[str], as_of: dt.date, codes: Sequence[int] | None
) -> str:
    """activity/scope/bounds: which authorities have any data, and the first year with data."""
    parts = []
    for ds in datasets:
        date_from, _ = _coverage_dates(catalog, ds)
        parts.append(
            f"    SELECT authority_code, min({date_from}) AS first_date\n"
            f"    FROM {ds} WHERE superseded_by IS NULL GROUP BY authority_code"
        )
    where = ""
    if codes is not None:
        where = f"\n    WHERE authority_code IN ({', '.join(str(int(c)) for c in codes) or 'NULL'})"
    return (
        "activity AS MATERIALIZED (\n" + "\n    UNION ALL\n".join(parts) + "\n),\n"
        "-- every authority that sent anything, in any dataset and any year\n"
        f"scope AS MATERIALIZED (\n    SELECT DISTINCT authority_code FROM activity{where}\n),\n"
        "bounds AS MATERIALIZED (\n"
        f"    SELECT least(coalesce(year(min(first_date)), {as_of.year}), {as_of.year}) AS first_year\n"
        "    FROM activity\n),\n"
    )


def _periods_ctes(as_of: dt.date, year: int | None) -> str:
    """periods_year and periods_half_year up to as-of, with the evaluation date and elapsed share."""
    last = as_of.year if year is None else min(year, as_of.year)
    first = "first_year" if year is None else str(int(year))
    common = f"""least(period_end, {_sql_date(as_of)}) AS eval_date,
        {_sql_date(as_of)} > period_end AS closed,
        CAST(least(period_end, {_sql_date(as_of)}) - period_start + 1 AS DOUBLE)
            / (period_end - period_start + 1) AS elapsed,
        greatest(period_end - {_sql_date(as_of)}, 0) AS days_left"""
    return f"""years AS (
    SELECT CAST(unnest(range({first}, {last} + 1)) AS INTEGER) AS year FROM bounds
),
periods_year AS MATERIALIZED (
    SELECT *, {common}
    FROM (SELECT CAST(year AS VARCHAR) AS period, year,
                 make_date(year, 1, 1) AS period_start, make_date(year, 12, 31) AS period_end
          FROM years)
),
periods_half_year AS MATERIALIZED (
    SELECT *, {common}
    FROM (SELECT year || '-H' || h AS period, year,
                 make_date(year, 6 * h - 5, 1) AS period_start,
                 last_day(make_date(year, 6 * h, 1)) AS period_end
          FROM years, (VALUES (1), (2)) halves(h))
    WHERE period_start <= {_sql_date(as_of)}
),
"""


def _coverage_ctes(
    catalog: Catalog, datasets: Iterable[str], as_of: dt.date, kinds: Sequence[str] = ("year", "half_year")
) -> str:
    """cov_<dataset>: month-aligned spans with row counts; cov_<dataset>_<kind>: rows per period."""
    out = []
    for ds in datasets:
        spec = catalog.datasets[ds]
        if spec.kind == "snapshot":
            # A snapshot (a list describing now) covers every period from its earliest date.
            body = (
                f"    SELECT authority_code,\n"
                f"           date_trunc('month', coalesce(min({spec.date}), {_sql_date(as_of)}))"
                " AS date_from,\n"
                f"           {_sql_date(as_of)} AS date_to, count(*) AS n\n"
                f"    FROM {ds} WHERE superseded_by IS NULL GROUP BY authority_code"
            )
        else:
            body = (
                f"    SELECT authority_code, date_trunc('month', {spec.date_from}) AS date_from,\n"
                f"           last_day({spec.date_to}) AS date_to, count(*) AS n\n"
                f"    FROM {ds} WHERE superseded_by IS NULL GROUP BY ALL"
            )
        out.append(f"cov_{ds} AS MATERIALIZED (\n{body}\n),\n")
        for kind in kinds:
            out.append(
                f"cov_{ds}_{kind} AS MATERIALIZED (\n"
                f"    SELECT c.authority_code, p.period, sum(c.n) AS n\n"
                f"    FROM cov_{ds} c\n"
                f"    JOIN periods_{kind} p ON c.date_from <= p.period_end AND c.date_to >= p.period_start\n"
                f"    GROUP BY c.authority_code, p.period\n),\n"
            )
    return "".join(out)


def _goal_cte(goal: Goal, order: int) -> str:
    """m_<goal> (the catalog measure) and g_<goal> (scope × periods with value and defaults)."""
    periods = f"periods_{goal.period}"
    cov_union = "\n        UNION ALL\n".join(
        f"        SELECT authority_code, period, n FROM cov_{ds}_{goal.period}" for ds in goal.datasets
    )
    is_integer = "true" if goal.unit in rules.INTEGER_UNITS else "false"
    t = goal.target
    consts = (
        f"'{goal.id}' AS goal, {order} AS goal_order, '{goal.period}' AS period_kind,\n"
        f"        '{t.op}' AS target_op, {_sql_num(t.low)} AS default_low,\n"
        f"        {_sql_num(t.high)} AS default_high,\n"
        f"        '{goal.pace}' AS pace, '{goal.unit}' AS unit, {is_integer} AS is_integer,\n"
        f"        {_sql_num(goal.weight)} AS weight"
    )
    if goal.measure is None:  # declared kind not_available: no dataset in the store yet
        return (
            f"g_{goal.id} AS (\n"
            f"    SELECT s.authority_code, p.*, {consts},\n"
            f"        CAST(NULL AS BIGINT) AS data_rows, CAST(NULL AS DOUBLE) AS value,\n"
            f"        'no_dataset' AS reason\n"
            f"    FROM scope s CROSS JOIN {periods} p\n),\n"
        )
    empty = "0" if goal.empty == "zero" else "NULL"
    return f"""m_{goal.id} AS (
    -- measure: {goal.id} (metrics/catalog.yaml)
    WITH periods AS (SELECT * FROM {periods})
    SELECT authority_code, CAST(period AS VARCHAR) AS period, CAST(value AS DOUBLE) AS value
    FROM (
{_indent(goal.measure, 8)}
    )
),
g_{goal.id} AS (
    SELECT s.authority_code, p.*, {consts},
        cov.n AS data_rows,
        CASE WHEN cov.n > 0 THEN coalesce(m.value, {empty}) END AS value,
        CASE WHEN cov.n IS NULL THEN 'no_rows'
             WHEN coalesce(m.value, {empty}) IS NULL THEN 'not_applicable' END AS reason
    FROM scope s
    CROSS JOIN {periods} p
    LEFT JOIN (
        SELECT authority_code, period, sum(n) AS n
        FROM (
{cov_union}
        )
        GROUP BY authority_code, period
    ) cov ON cov.authority_code = s.authority_code AND cov.period = p.period
    LEFT JOIN m_{goal.id} m ON m.authority_code = s.authority_code AND m.period = p.period
),
"""


def _final_select(goal_ids: Sequence[str]) -> str:
    union = "\n    UNION ALL BY NAME\n".join(f"    SELECT * FROM g_{gid}" for gid in goal_ids)
    return f"""all_goals AS (
{union}
),
-- targets: a locality override beats a year-wide override beats the catalog default
targets_current AS MATERIALIZED (
    SELECT target_id, goal, year, authority_code, target_low, target_high
    FROM targets
    WHERE superseded_by IS NULL AND (target_low IS NOT NULL OR target_high IS NOT NULL)
),
resolved AS (
    SELECT g.*,
        CASE WHEN tl.target_id IS NOT NULL THEN 'locality'
             WHEN ty.target_id IS NOT NULL THEN 'year' ELSE 'catalog' END AS target_source,
        coalesce(tl.target_id, ty.target_id, 0) AS target_version,
        CASE WHEN tl.target_id IS NOT NULL THEN tl.target_low
             WHEN ty.target_id IS NOT NULL THEN ty.target_low ELSE g.default_low END AS target_low,
        CASE WHEN tl.target_id IS NOT NULL THEN tl.target_high
             WHEN ty.target_id IS NOT NULL THEN ty.target_high ELSE g.default_high END AS target_high
    FROM all_goals g
    LEFT JOIN targets_current tl
        ON tl.goal = g.goal AND tl.year = g.year AND tl.authority_code = g.authority_code
    LEFT JOIN targets_current ty
        ON ty.goal = g.goal AND ty.year = g.year AND ty.authority_code IS NULL
),
paced AS (
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
    x.unit, x.pace, x.weight, x.data_rows, x.reason
FROM paced x
ORDER BY x.authority_code, x.goal_order, x.period_start
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
    goals = [catalog.goal(g) for g in goal_ids]
    all_datasets = list(catalog.datasets)
    used = sorted({ds for g in goals for ds in g.datasets}, key=all_datasets.index)
    order = {g.id: i for i, g in enumerate(catalog.goals)}
    header = (
        f"-- Yaad attainment: goals {', '.join(goal_ids)}\n"
        f"-- as of {as_of.isoformat()}" + (f", year {year}" if year else "") + "\n"
    )
    return (
        header
        + "WITH\n"
        + _scope_ctes(catalog, all_datasets, as_of, codes)
        + _periods_ctes(as_of, year)
        + _coverage_ctes(catalog, used, as_of, sorted({g.period for g in goals}))
        + "".join(_goal_cte(g, order[g.id]) for g in goals)
        + _final_select(goal_ids)
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


def attainment(
    store: Store,
    *,
    year: int | None = None,
    as_of: dt.date | str | None = None,
    localities: Iterable[int | str] | None = None,
    goals: Iterable[str] | None = None,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """The tidy attainment frame: one row per authority with data × goal × period up to as-of."""
    catalog = catalog or load_catalog()
    day = _as_of(as_of)
    goal_ids = list(goals) if goals is not None else list(catalog.goal_ids)
    for gid in goal_ids:
        catalog.goal(gid)  # unknown ids fail loudly, with the known list
    codes = resolve_localities(store, localities) if localities is not None else None
    if not goal_ids or (year is not None and year > day.year):
        return pd.DataFrame(columns=list(OUTPUT_COLUMNS))
    sql = build_sql(catalog, goal_ids, as_of=day, year=year, codes=codes)
    df = store.query_df(sql)
    # Names and labels are attached here, from small lookups, rather than carried per row in SQL:
    # converting repeated strings row by row is most of the cost of fetching the frame.
    names = store.query_df("SELECT code, name, name_en FROM authorities").set_index("code")
    goals_by_id = {g.id: g for g in catalog.goals}
    df["locality_name"] = df["locality_code"].map(names["name"])
    df["locality_name_en"] = df["locality_code"].map(names["name_en"])
    df["label_he"] = df["goal"].map({k: g.label_he for k, g in goals_by_id.items()})
    df["label_en"] = df["goal"].map({k: g.label_en for k, g in goals_by_id.items()})
    return df.loc[:, list(OUTPUT_COLUMNS)]


def explain(
    goal_id: str,
    *,
    catalog: Catalog | None = None,
    as_of: dt.date | str | None = None,
    year: int | None = None,
) -> str:
    """The SQL the engine runs for one goal: its measure, coverage, targets and status rules."""
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
) -> pd.DataFrame:
    """The current stored rows of the goal's dataset(s) behind one number, with their file.

    These are the rows of the goal's dataset(s) for that authority whose dates fall in the period
    (snapshot datasets: the whole current list). Columns: dataset, batch_id, file_name, sheet,
    source_row, plus the row's own columns. Participant rows carry no names (the store has none).
    """
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
