"""Benchmark: the full attainment table at national scale, against a DuckDB pass and pandas.

    python benchmarks/bench_metrics.py [--repeat 5] [--years 10] [--seed 7] [--keep PATH]

Builds a national-scale store in a temp file (all 255 authorities × 10 years, rows generated
directly with a fixed seed, realistic row counts per dataset), then measures in the same run:
  (a) one DuckDB aggregation pass over all stored rows (count and sum per authority and year in
      every dataset table),
  (b) metrics.engine.attainment(store) — the full table, every goal and period, into a DataFrame,
  (c) the same attainment computed with pandas on DataFrames already loaded in memory (the load
      time is reported separately and not counted).
Targets: (b) <= 3 × (a) and (c) / (b) >= 5. Medians of --repeat runs; (a) and (b) are run in
turns (a, b, a, b, ...), and each is also reported repeated alone, back to back (see in_turns).
The pandas result is also checked against the engine's (values and statuses), so (c) is the same
computation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metrics import engine
from metrics import status as st
from metrics.catalog import load_catalog
from metrics.engine import attainment
from store import Store
from store.memory import keep_freed_memory
from store.reference import load_reference

AS_OF = dt.date(2025, 6, 30)
MEETING_TYPES = {  # mean meetings per authority-year
    "round_table": 4,
    "leading_team": 10,
    "cluster": 8,
    "national_forum": 6,
    "steering_committee": 3,
}
PARTICIPANTS_PER_MEETING = 12
SECTORS = np.array(["authority", "government", "ngo", "business", "philanthropy", "residents", "jdc"])


# -- generating a national store ----------------------------------------------------------------
def _dates(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    starts = pd.to_datetime(pd.Series(years).astype(str) + "-01-01").to_numpy()
    return starts + rng.integers(0, 365, len(years)).astype("timedelta64[D]")


def generate(codes: np.ndarray, first_year: int, n_years: int, seed: int) -> dict[str, pd.DataFrame]:
    """Dataset tables as DataFrames shaped like the store's, with provenance columns."""
    rng = np.random.default_rng(seed)
    years = np.arange(first_year, first_year + n_years)
    ay = pd.MultiIndex.from_product([codes, years], names=["authority_code", "year"]).to_frame(index=False)
    tables: dict[str, pd.DataFrame] = {}

    def repeat(frame: pd.DataFrame, mean: float) -> pd.DataFrame:
        counts = rng.poisson(mean, len(frame))
        return frame.loc[frame.index.repeat(counts)].reset_index(drop=True)

    parts = []
    for kind, mean in MEETING_TYPES.items():
        m = repeat(ay, mean)
        m["meeting_type"] = kind
        parts.append(m)
    meetings = pd.concat(parts, ignore_index=True)
    meetings["meeting_date"] = _dates(rng, meetings["year"].to_numpy())
    meetings = meetings.drop_duplicates(["authority_code", "meeting_date", "meeting_type"], ignore_index=True)
    meetings["locality_code"] = meetings["authority_code"]
    meetings["meeting_id"] = (
        meetings["authority_code"].astype(str)
        + "|"
        + meetings["meeting_date"].dt.strftime("%Y-%m-%d")
        + "|"
        + meetings["meeting_type"]
    )
    meetings["topic"] = "נושא"
    meetings["participants"] = rng.integers(5, 25, len(meetings))
    tables["meetings"] = meetings.drop(columns="year")

    part = meetings.loc[meetings.index.repeat(rng.poisson(PARTICIPANTS_PER_MEETING, len(meetings)))]
    tables["meeting_participants"] = pd.DataFrame(
        {
            "meeting_id": part["meeting_id"].to_numpy(),
            "authority_code": part["authority_code"].to_numpy(),
            "meeting_date": part["meeting_date"].to_numpy(),
            "meeting_type": part["meeting_type"].to_numpy(),
            "person_key": rng.integers(0, 10**9, len(part)).astype(str),
            "organisation": "ארגון",
            "sector": np.where(rng.random(len(part)) < 0.05, None, rng.choice(SECTORS, len(part))),
            "role": None,
        }
    )

    tr = repeat(ay, 8)
    tables["trainings"] = pd.DataFrame(
        {
            "authority_code": tr["authority_code"],
            "locality_code": tr["authority_code"],
            "training_date": _dates(rng, tr["year"].to_numpy()),
            "topic": "הכשרה",
            "training_kind": rng.choice(["workshop", "study_day", "course", "needs_assessment"], len(tr)),
            "participants": rng.integers(5, 40, len(tr)),
            "hours": 3.0,
        }
    )

    months = pd.MultiIndex.from_product(
        [codes, years, range(1, 13), ["א", "ב", "ג"]], names=["authority_code", "year", "month", "cluster"]
    ).to_frame(index=False)
    starts = pd.to_datetime(dict(year=months["year"], month=months["month"], day=1))
    tables["volunteers"] = pd.DataFrame(
        {
            "authority_code": months["authority_code"],
            "locality_code": months["authority_code"],
            "period": starts.dt.strftime("%Y-%m"),
            "period_kind": "month",
            "period_start": starts,
            "period_end": starts + pd.offsets.MonthEnd(0),
            "cluster": months["cluster"],
            "volunteers": rng.integers(5, 60, len(months)),
            "new_volunteers": rng.integers(0, 6, len(months)),
            "hours": rng.random(len(months)) * 100,
        }
    )

    sources = pd.MultiIndex.from_product(
        [codes, years, ["welfare", "authority", "philanthropy", "business", "other"]],
        names=["authority_code", "year", "source"],
    ).to_frame(index=False)
    sources["amount"] = rng.random(len(sources)) * 1e6
    sources["locality_code"] = sources["authority_code"]
    tables["budgets"] = sources

    per_auth = pd.DataFrame({"authority_code": codes})
    pr = repeat(per_auth, 25)
    pr["year"] = rng.integers(first_year, first_year + n_years, len(pr))
    tables["programs"] = pd.DataFrame(
        {
            "authority_code": pr["authority_code"],
            "locality_code": pr["authority_code"],
            "program_name": "תוכנית " + pd.Series(range(len(pr))).astype(str),
            "operator": rng.choice(["jdc", "authority", "ngo", "government", "business"], len(pr)),
            "flagship": rng.random(len(pr)) < 0.2,
            "start_date": _dates(rng, pr["year"].to_numpy()),
            "status": rng.choice(
                ["active", "active", "active", "establishing", "phasing_out", "scaling_down", "ended"],
                len(pr),
            ),
            "new_response": rng.random(len(pr)) < 0.3,
            "continuity_plan": rng.random(len(pr)) < 0.5,
            "participants": rng.integers(10, 300, len(pr)),
            "last_updated": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(0, 400, len(pr)), unit="D"),
        }
    )
    pa = repeat(per_auth, 12)
    tables["partnerships"] = pd.DataFrame(
        {
            "authority_code": pa["authority_code"],
            "locality_code": pa["authority_code"],
            "partnership_name": "שותפות",
            "start_date": _dates(rng, rng.integers(first_year, first_year + n_years, len(pa))),
            "level": rng.choice(["information", "coordination", "cooperation"], len(pa)),
            "status": rng.choice(["active", "active", "ended", "planned"], len(pa)),
            "new_response": rng.random(len(pa)) < 0.3,
        }
    )
    cl = repeat(per_auth, 3)
    tables["clusters"] = pd.DataFrame(
        {
            "authority_code": cl["authority_code"],
            "locality_code": cl["authority_code"],
            "cluster_name": "אשכול",
            "has_coordinator": rng.random(len(cl)) < 0.9,
            "has_authority_rep": rng.random(len(cl)) < 0.8,
            "has_ngo_rep": rng.random(len(cl)) < 0.7,
            "established": _dates(rng, rng.integers(first_year, first_year + n_years, len(cl))),
            "status": rng.choice(["active", "active", "inactive"], len(cl)),
        }
    )
    for name, df in tables.items():
        df["batch_id"] = 1
        df["sheet"] = name
        df["source_row"] = np.arange(len(df)) + 2
        df["superseded_by"] = pd.Series([None] * len(df), dtype="Int64")
    return tables


def build_store(path: Path, years: int, seed: int) -> tuple[Store, dict[str, int]]:
    store = Store(path)
    load_reference(store)
    codes = store.query_df("SELECT code FROM authorities ORDER BY code")["code"].to_numpy()
    tables = generate(codes, AS_OF.year - years + 1, years, seed)
    with store.transaction() as cur:
        cur.execute(
            "INSERT INTO import_batches (batch_id, file_name, content_hash, imported_by, imported_at, status)"
            " "
            "VALUES (1, 'national.xlsx', 'x', 'bench', TIMESTAMP '2025-01-01 09:00', 'committed')"
        )
        for name, df in tables.items():
            cur.register("bench_rows", df)
            cur.execute(f"INSERT INTO {name} BY NAME SELECT * FROM bench_rows")
            cur.unregister("bench_rows")
    cur_overrides = [
        ("round_table_meetings", AS_OF.year - 1, None, 4.0, None),
        ("training_activities", AS_OF.year, int(codes[0]), 5.0, None),
    ]
    with store.transaction() as cur:
        for goal, year, code, low, high in cur_overrides:
            cur.execute(
                "INSERT INTO targets (goal, year, authority_code, target_low, target_high, set_by, set_at) "
                "VALUES (?, ?, ?, ?, ?, 'bench', now())",
                [goal, year, code, low, high],
            )
    with store.cursor() as cur:
        # As the file is after a server restart or a large import (DuckDB checkpoints then): the
        # rows compressed in row groups, not waiting in the write-ahead log.
        cur.execute("CHECKPOINT")
    return store, {name: len(df) for name, df in tables.items()}


# -- (a) one DuckDB aggregation pass over all stored rows ---------------------------------------
ONE_PASS_SQL = """
SELECT 'programs' AS t, authority_code, year(start_date) AS y, count(*) AS n, sum(participants) AS s
FROM programs GROUP BY ALL
UNION ALL SELECT 'meetings', authority_code, year(meeting_date), count(*), sum(participants)
FROM meetings GROUP BY ALL
UNION ALL SELECT 'meeting_participants', authority_code, NULL, count(*), count(DISTINCT sector)
FROM meeting_participants GROUP BY ALL
UNION ALL SELECT 'partnerships', authority_code, year(start_date), count(*), sum(new_response::INT)
FROM partnerships GROUP BY ALL
UNION ALL SELECT 'volunteers', authority_code, year(period_start), count(*), sum(volunteers)
FROM volunteers GROUP BY ALL
UNION ALL SELECT 'trainings', authority_code, year(training_date), count(*), sum(participants)
FROM trainings GROUP BY ALL
UNION ALL SELECT 'budgets', authority_code, year, count(*), sum(amount) FROM budgets GROUP BY ALL
UNION ALL SELECT 'clusters', authority_code, year(established), count(*), sum(has_ngo_rep::INT)
FROM clusters GROUP BY ALL
"""


# -- (c) the same attainment in pandas ----------------------------------------------------------
def load_frames(store: Store) -> dict[str, pd.DataFrame]:
    names = ("programs", "meetings", "meeting_participants", "partnerships", "volunteers", "trainings")
    frames = {n: store.query_df(f"SELECT * FROM {n}") for n in (*names, "budgets", "clusters")}
    frames["authorities"] = store.query_df("SELECT code, name, name_en, population FROM authorities")
    frames["import_batches"] = store.query_df("SELECT batch_id, imported_at FROM import_batches")
    frames["targets"] = store.query_df("SELECT * FROM targets")
    return frames


def _periods(first: int, as_of: pd.Timestamp, half: bool) -> pd.DataFrame:
    rows = []
    for y in range(first, as_of.year + 1):
        spans = [(f"{y}-H1", f"{y}-01-01", f"{y}-06-30"), (f"{y}-H2", f"{y}-07-01", f"{y}-12-31")]
        for period, s, e in spans if half else [(str(y), f"{y}-01-01", f"{y}-12-31")]:
            rows.append((period, y, pd.Timestamp(s), pd.Timestamp(e)))
    p = pd.DataFrame(rows, columns=["period", "year", "period_start", "period_end"])
    p = p[p["period_start"] <= as_of].reset_index(drop=True)
    p["eval_date"] = p["period_end"].clip(upper=as_of)
    p["closed"] = as_of > p["period_end"]
    p["elapsed"] = ((p["eval_date"] - p["period_start"]).dt.days + 1) / (
        (p["period_end"] - p["period_start"]).dt.days + 1
    )
    p["days_left"] = (p["period_end"] - as_of).dt.days.clip(lower=0)
    return p


def _by_year(df: pd.DataFrame, date: str, value: pd.Series | None = None, how: str = "size") -> pd.DataFrame:
    key = [df["authority_code"], df[date].dt.year.astype(str).rename("period")]
    g = (value if value is not None else df["authority_code"]).groupby(key)
    out = getattr(g, how)() if how != "sum" else g.sum(min_count=1)
    return out.rename("value").reset_index()


def _asof(df: pd.DataFrame, periods: pd.DataFrame, date: str) -> pd.DataFrame:
    """Rows joined to every period whose evaluation date is on or after the row's date."""
    x = df.merge(periods[["period", "period_start", "eval_date"]], how="cross")
    return x[x[date].fillna(pd.Timestamp("1900-01-01")) <= x["eval_date"]]


def pandas_attainment(f: dict[str, pd.DataFrame], as_of: dt.date) -> pd.DataFrame:
    """The engine's computation re-written with pandas, for comparison (same rules and output)."""
    catalog = load_catalog()
    day = pd.Timestamp(as_of)
    cur = {
        k: v[v["superseded_by"].isna()] if "superseded_by" in v and k != "targets" else v
        for k, v in f.items()
    }
    pr, me, mp, pa = cur["programs"], cur["meetings"], cur["meeting_participants"], cur["partnerships"]
    vo, tr, bu, cl = cur["volunteers"], cur["trainings"], cur["budgets"], cur["clusters"]
    for df, cols in ((pr, ["start_date", "last_updated"]), (me, ["meeting_date"]), (pa, ["start_date"])):
        for c in cols:
            df[c] = pd.to_datetime(df[c])
    for df, cols in ((vo, ["period_start", "period_end"]), (tr, ["training_date"]), (cl, ["established"])):
        for c in cols:
            df[c] = pd.to_datetime(df[c])
    bu = bu.assign(d_from=pd.to_datetime(dict(year=bu["year"], month=1, day=1)))
    bu["d_to"] = bu["d_from"] + pd.offsets.YearEnd(0)
    prog_date = pr["start_date"].fillna(pr["last_updated"])
    spans = {
        "programs": ("snapshot", pr.assign(d=prog_date), "d", None),
        "partnerships": ("snapshot", pa, "start_date", None),
        "clusters": ("snapshot", cl, "established", None),
        "meetings": ("log", me, "meeting_date", "meeting_date"),
        "trainings": ("log", tr, "training_date", "training_date"),
        "volunteers": ("log", vo, "period_start", "period_end"),
        "budgets": ("log", bu, "d_from", "d_to"),
    }
    firsts = [df.groupby("authority_code")[a].min() for _, df, a, _ in spans.values()]
    first_dates = pd.concat(firsts)
    scope = pd.DataFrame({"authority_code": sorted(first_dates.index.unique())})
    # The first year with dated activity (log dates, the program list's update dates), else any date.
    activity = pd.concat([df[a] for kind, df, a, _ in spans.values() if kind == "log"] + [pr["last_updated"]])
    first = activity.min() if activity.notna().any() else first_dates.min()
    first_year = min(int(first.year), day.year) if pd.notna(first) else day.year
    periods = {"year": _periods(first_year, day, False), "half_year": _periods(first_year, day, True)}

    cov_spans = {}
    for ds, (kind, df, a, b) in spans.items():
        if kind == "snapshot":
            g = df.groupby("authority_code")
            s = pd.DataFrame({"date_from": g[a].min().fillna(day), "n": g.size()}).reset_index()
            s["date_from"] = s["date_from"].dt.to_period("M").dt.to_timestamp()
            s["date_to"] = day
        else:
            s = pd.DataFrame(
                {
                    "authority_code": df["authority_code"],
                    "date_from": df[a].dt.to_period("M").dt.to_timestamp(),
                    "date_to": df[b] + pd.offsets.MonthEnd(0),
                }
            )
            s = s.groupby(["authority_code", "date_from", "date_to"]).size().rename("n").reset_index()
        cov_spans[ds] = s

    covered: dict[tuple[tuple[str, ...], str], pd.DataFrame] = {}

    def coverage(datasets: tuple[str, ...], kind: str) -> pd.DataFrame:
        """Rows sent per authority and period, once per dataset(s) and period kind."""
        if (datasets, kind) not in covered:
            s = pd.concat([cov_spans[d] for d in datasets])
            x = s.merge(periods[kind][["period", "period_start", "period_end"]], how="cross")
            x = x[(x["date_from"] <= x["period_end"]) & (x["date_to"] >= x["period_start"])]
            by = x.groupby(["authority_code", "period"])["n"].sum().rename("data_rows").reset_index()
            covered[datasets, kind] = by
        return covered[datasets, kind]

    py, ph = periods["year"], periods["half_year"]
    rt = me[me["meeting_type"] == "round_table"]
    lt = me[me["meeting_type"] == "leading_team"][["authority_code", "meeting_date"]].drop_duplicates()

    def volunteers_latest() -> pd.DataFrame:
        x = vo[["authority_code", "period_start", "period_end", "volunteers"]].merge(
            py[["period", "period_start", "eval_date"]].rename(columns={"period_start": "ps"}), how="cross"
        )
        x = x[(x["period_start"] >= x["ps"]) & (x["period_start"] <= x["eval_date"])]
        key = ["authority_code", "period"]
        x = x[x["period_end"] == x.groupby(key)["period_end"].transform("max")]
        x = x[x["period_start"] == x.groupby(key)["period_start"].transform("max")]
        return x.groupby(key)["volunteers"].sum(min_count=1).rename("value").reset_index()

    def freshness() -> pd.DataFrame:
        imported = f["import_batches"].set_index("batch_id")["imported_at"].dt.normalize()
        u = pd.DataFrame(
            {
                "authority_code": pr["authority_code"],
                "u": pr["last_updated"].fillna(pr["batch_id"].map(imported)),
            }
        )
        x = u.merge(ph[["period", "eval_date"]], how="cross")
        x = x[x["u"] <= x["eval_date"]]
        x = x.assign(value=(x["eval_date"] - x["u"]).dt.days)
        return x.groupby(["authority_code", "period"])["value"].min().reset_index()

    def cadence() -> pd.DataFrame:
        g = lt.sort_values(["authority_code", "meeting_date"])
        g = g.assign(gap=g.groupby("authority_code")["meeting_date"].diff().dt.days)
        x = g.merge(py[["period", "period_start", "eval_date"]], how="cross")
        x = x[x["meeting_date"] <= x["eval_date"]]
        x = x.assign(in_period=x["gap"].where(x["meeting_date"] >= x["period_start"]))
        agg = x.groupby(["authority_code", "period"]).agg(
            gap=("in_period", "max"), last=("meeting_date", "max"), eval_date=("eval_date", "first")
        )
        agg["value"] = np.fmax(agg["gap"], (agg["eval_date"] - agg["last"]).dt.days)
        return agg["value"].reset_index()

    def misgav_rate() -> pd.DataFrame:
        x = lt.merge(py[["period", "period_start", "eval_date"]], how="cross")
        x = x[(x["meeting_date"] >= x["period_start"]) & (x["meeting_date"] <= x["eval_date"])]
        agg = x.groupby(["authority_code", "period"]).agg(
            n=("meeting_date", "nunique"), first=("meeting_date", "min"), eval_date=("eval_date", "first")
        )
        months = ((agg["eval_date"] - agg["first"]).dt.days + 1) / 30.4375
        return (agg["n"] / months.clip(lower=1.0)).rename("value").reset_index()

    def shares(df: pd.DataFrame, flag: pd.Series, date: str) -> pd.DataFrame:
        x = _asof(df.assign(flag=flag.astype(float)), py, date)
        return x.groupby(["authority_code", "period"])["flag"].mean().rename("value").reset_index()

    def counts_asof(df: pd.DataFrame, date: str) -> pd.DataFrame:
        return _asof(df, py, date).groupby(["authority_code", "period"]).size().rename("value").reset_index()

    jdc = pr[pr["operator"] == "jdc"]
    active_pa = pa[pa["status"].fillna("active") == "active"]
    active_cl = cl[cl["status"].fillna("active") == "active"]
    phasing = pr[pr["status"].isin(["phasing_out", "scaling_down"])]
    nr = pd.concat([pr.loc[pr["new_response"] == True, ["authority_code", "start_date"]],  # noqa: E712
                    pa.loc[pa["new_response"] == True, ["authority_code", "start_date"]]])  # fmt: skip  # noqa: E712
    forum = me[me["meeting_type"] == "national_forum"]
    # as the engine: each participant row carries its meeting's date and type
    participants = mp[(mp["meeting_type"] == "round_table") & mp["sector"].notna()]
    participants = participants.assign(meeting_date=pd.to_datetime(participants["meeting_date"]))
    latest = volunteers_latest()
    pop = f["authorities"].set_index("code")["population"]
    welfare = bu["amount"].where(bu["source"] != "welfare")
    nw = bu.assign(nw=welfare).groupby(["authority_code", bu["year"].astype(str).rename("period")])
    measures: dict[str, Callable[[], pd.DataFrame]] = {
        "round_table_meetings": lambda: _by_year(
            rt[["authority_code", "locality_code", "meeting_date"]].drop_duplicates(), "meeting_date"
        ),
        "round_table_sectors": lambda: _by_year(
            participants, "meeting_date", participants["sector"], "nunique"
        ),
        "new_jdc_programs": lambda: _by_year(jdc[jdc["start_date"].notna()], "start_date"),
        "active_jdc_programs": lambda: counts_asof(jdc[jdc["status"] == "active"], "start_date"),
        "new_responses": lambda: _by_year(nr[nr["start_date"].notna()], "start_date"),
        "continuity_plans": lambda: shares(phasing, phasing["continuity_plan"].fillna(False), "start_date"),
        "program_db_freshness": freshness,
        "new_partnerships": lambda: _by_year(pa[pa["start_date"].notna()], "start_date"),
        "partnership_level": lambda: shares(active_pa, active_pa["level"] == "cooperation", "start_date"),
        "needs_assessment": lambda: _by_year(
            tr[tr["training_kind"] == "needs_assessment"], "training_date"
        ).assign(value=1),
        "training_activities": lambda: _by_year(
            tr[tr["training_kind"] != "needs_assessment"], "training_date"
        ),
        "active_clusters": lambda: counts_asof(active_cl, "established"),
        "cluster_lead_trio": lambda: shares(
            active_cl,
            active_cl["has_coordinator"] & active_cl["has_authority_rep"] & active_cl["has_ngo_rep"],
            "established",
        ),
        "national_forum_attendance": lambda: _by_year(
            forum, "meeting_date", forum["meeting_date"], "nunique"
        ).assign(value=lambda d: (d["value"] / 8.0).clip(upper=1.0)),
        "volunteers": lambda: latest,
        "new_volunteers": lambda: _by_year(vo, "period_start", vo["new_volunteers"], "sum"),
        "volunteers_per_1000": lambda: latest.assign(
            value=latest["value"] * 1000.0 / latest["authority_code"].map(pop).replace(0, np.nan)
        ),
        "meeting_cadence": cadence,
        "non_welfare_budget_share": lambda: (
            (nw["nw"].sum(min_count=1) / nw["amount"].sum(min_count=1).replace(0, np.nan))
            .rename("value")
            .reset_index()
        ),
        "misgav_meetings_per_month": misgav_rate,
    }

    frames = []
    for order, goal in enumerate(catalog.goals):
        p = periods[goal.period]
        grid = scope.merge(p, how="cross")
        if goal.measure is None:
            grid = grid.assign(data_rows=np.nan, value=np.nan, reason="no_dataset")
        else:
            grid = grid.merge(
                coverage(goal.datasets, goal.period), on=["authority_code", "period"], how="left"
            )
            m = measures[goal.id]()
            m = m.assign(authority_code=m["authority_code"].astype("int64"), period=m["period"].astype(str))
            grid = grid.merge(m, on=["authority_code", "period"], how="left")
            raw = grid["value"].astype(float)
            filled = raw.fillna(0.0) if goal.empty == "zero" else raw
            has = grid["data_rows"].fillna(0) > 0
            grid["value"] = filled.where(has)
            grid["reason"] = np.where(~has, "no_rows", np.where(filled.isna(), "not_applicable", None))
        grid = grid.assign(
            goal=goal.id,
            goal_order=order,
            target_op=goal.target.op,
            default_low=goal.target.low,
            default_high=goal.target.high,
            pace=goal.pace,
            unit=goal.unit,
            is_integer=goal.unit in st.INTEGER_UNITS,
        )
        frames.append(grid)
    df = pd.concat(frames, ignore_index=True)

    t = f["targets"]
    t = t[t["superseded_by"].isna() & (t["target_low"].notna() | t["target_high"].notna())]
    loc = t[t["authority_code"].notna()].astype({"authority_code": "int64"})
    df = df.merge(
        loc[["goal", "year", "authority_code", "target_id", "target_low", "target_high"]].rename(
            columns={"target_id": "tl_id", "target_low": "tl_low", "target_high": "tl_high"}
        ),
        on=["goal", "year", "authority_code"],
        how="left",
    )
    df = df.merge(
        t[t["authority_code"].isna()][["goal", "year", "target_id", "target_low", "target_high"]].rename(
            columns={"target_id": "ty_id", "target_low": "ty_low", "target_high": "ty_high"}
        ),
        on=["goal", "year"],
        how="left",
    )
    has_l, has_y = df["tl_id"].notna(), df["ty_id"].notna()
    df["target_source"] = np.where(has_l, "locality", np.where(has_y, "year", "catalog"))
    df["target_version"] = df["tl_id"].fillna(df["ty_id"]).fillna(0).astype(int)
    df["target_low"] = np.where(has_l, df["tl_low"], np.where(has_y, df["ty_low"], df["default_low"]))
    df["target_high"] = np.where(has_l, df["tl_high"], np.where(has_y, df["ty_high"], df["default_high"]))
    df["target_low"] = df["target_low"].astype(float)
    df["target_high"] = df["target_high"].astype(float)

    v, lo, hi, op = df["value"], df["target_low"], df["target_high"], df["target_op"]
    accumulating = df["pace"].isin(st.ACCUMULATING)
    pro = lo * df["elapsed"]
    df["expected_by_now"] = np.where(
        accumulating, np.where(df["is_integer"], np.floor(pro + 0.5), pro), lo
    ).astype(float)
    exp = df["expected_by_now"]
    df["forecast"] = np.where(
        df["pace"] == "flow",
        np.where(df["elapsed"] > 0, v / df["elapsed"], v),
        np.where(df["pace"] == "age", v + df["days_left"], v),
    )
    met = np.where(op == ">=", v >= lo, np.where(op == "<=", v <= hi, (v >= lo) & (v <= hi)))
    behind = np.where(
        v >= exp,
        "on_track",
        np.where((v >= st.AT_RISK_SHARE * exp) | (df["is_integer"] & (v >= exp - 1)), "at_risk", "off_track"),
    )
    le_running = np.where(v > hi, "off_track", np.where(v > st.NEAR_LIMIT_SHARE * hi, "at_risk", "on_track"))
    running = np.where(op == "<=", le_running, np.where((op == "between") & (v > hi), "off_track", behind))
    info = (
        (op == "info") | (op.isin([">=", "between"]) & lo.isna()) | (op.isin(["<=", "between"]) & hi.isna())
    )
    df["status"] = np.select(
        [v.isna(), info, df["closed"]],
        ["no_data", "info", np.where(met, "achieved", "missed")],
        running,
    )
    df["target"] = np.where(op == "<=", hi, lo)
    df["ratio"] = v / pd.Series(np.where(op == "<=", hi, lo)).replace(0, np.nan)
    side_low = np.where(exp <= 0, 1.0, np.minimum(v / exp, 1.0))
    side_high = np.where(v <= hi, 1.0, np.where(v > 0, hi / v, 1.0))
    df["score"] = np.select(
        [v.isna() | (op == "info"), op == ">=", op == "<=", v <= hi],
        [np.nan, side_low, side_high, side_low],
        side_high,
    )
    names = f["authorities"].set_index("code")
    df["locality_code"] = df["authority_code"]
    df["locality_name"] = df["authority_code"].map(names["name"])
    return df.sort_values(["authority_code", "goal_order", "period_start"], ignore_index=True)


# -- running it ---------------------------------------------------------------------------------
CPU: dict[str, float] = {}  # median process CPU time (all threads) per measured step
FAULTS: dict[str, float] = {}  # minor page faults per run of each measured step


def timed(fn: Callable[[], object], repeat: int, name: str = "") -> tuple[float, object]:
    """Median wall time of `repeat` runs (and the median CPU time, kept in CPU[name])."""
    times, cpu, result = [], [], None
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU[name] = statistics.median(cpu)
    FAULTS[name] = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / max(repeat, 1)
    return statistics.median(times), result


def in_turns(
    steps: dict[str, Callable[[], object]], repeat: int
) -> tuple[dict[str, float], dict[str, object]]:
    """Median wall time of each step, the steps run in turns (a, b, a, b, ...).

    Side by side in the strict sense: both steps see the same machine, and neither runs right
    after itself. Run back to back, the small pass finds its data and plan in the CPU caches
    from its own previous run, which a real page never does (the table before it evicts them);
    the engine's ~15 MB of output leaves it nothing to find. Medians per step; CPU time and page
    faults are kept in CPU and FAULTS as `timed` does.
    """
    times: dict[str, list[float]] = {n: [] for n in steps}
    cpu: dict[str, list[float]] = {n: [] for n in steps}
    faults: dict[str, int] = dict.fromkeys(steps, 0)
    results: dict[str, object] = {}
    for _ in range(repeat):
        for name, fn in steps.items():
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t0, c0 = time.perf_counter(), time.process_time()
            results[name] = fn()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            faults[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    for name in steps:
        CPU[name] = statistics.median(cpu[name])
        FAULTS[name] = faults[name] / max(repeat, 1)
    return {n: statistics.median(t) for n, t in times.items()}, results


def compare(engine: pd.DataFrame, pandas_df: pd.DataFrame) -> int:
    """Rows where the pandas computation disagrees with the engine (value or status)."""
    a = engine.set_index(["locality_code", "goal", "period"])[["value", "status"]]
    b = pandas_df.set_index(["locality_code", "goal", "period"])[["value", "status"]]
    if len(a) != len(b):
        return abs(len(a) - len(b)) + 10**6
    b = b.reindex(a.index)
    same_value = np.isclose(a["value"].astype(float), b["value"].astype(float), equal_nan=True, rtol=1e-9)
    return int((~same_value | (a["status"] != b["status"])).sum())


def _differing_rows(a: pd.DataFrame, b: pd.DataFrame) -> int:
    """Rows that differ between two attainment tables in the same order (NaN equals NaN)."""
    if a.shape != b.shape or list(a.columns) != list(b.columns):
        return max(len(a), len(b))
    same = np.ones(len(a), dtype=bool)
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        both_null = pd.isna(x) & pd.isna(y)
        same &= both_null | (x == y)
    return int((~same).sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the generated store at this path")
    args = parser.parse_args()
    # as the dashboard's server and `python -m metrics` do (store/memory.py)
    kept = keep_freed_memory()

    tmp = tempfile.TemporaryDirectory()
    path = args.keep or Path(tmp.name) / "national.duckdb"
    t0 = time.perf_counter()
    store, counts = build_store(path, args.years, args.seed)
    print(f"store: {sum(counts.values()):,} rows in {time.perf_counter() - t0:.1f} s ({path})")
    print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    store.query_df(ONE_PASS_SQL)  # warm the file cache for everyone
    # each step repeated alone first (the way earlier rounds measured), then the two in turns,
    # which is what the target is judged on
    alone_pass, _ = timed(lambda: store.query_df(ONE_PASS_SQL), args.repeat, "pass")
    alone_att, _ = timed(lambda: attainment(store, as_of=AS_OF), args.repeat, "engine")
    steps = {"pass": lambda: store.query_df(ONE_PASS_SQL), "engine": lambda: attainment(store, as_of=AS_OF)}
    medians, results = in_turns(steps, args.repeat)
    t_pass, t_att, att = medians["pass"], medians["engine"], results["engine"]
    # the engine keeps the frame's label columns between calls by layout (engine._LABELS): the
    # same in turns, the labels rebuilt on every call, as a first page run or a new layout has it
    cold = {"pass": steps["pass"], "engine": lambda: (engine._LABELS.clear(), attainment(store, as_of=AS_OF))}
    measured = dict(CPU), dict(FAULTS)
    cold_medians, _ = in_turns(cold, args.repeat)
    CPU.update(measured[0])  # the CPU time and faults printed are the judged pair's
    FAULTS.update(measured[1])
    t0 = time.perf_counter()
    frames = load_frames(store)
    t_load = time.perf_counter() - t0
    t_pd, pdf = timed(lambda: pandas_attainment(frames, AS_OF), args.repeat, "pandas")
    mismatches = compare(att, pdf)  # type: ignore[arg-type]

    print(f"attainment rows: {len(att):,} ({att['locality_code'].nunique()} authorities)")  # type: ignore[index]
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores)")
    # The engine computes most measures from plain queries (metrics/kinds.py): the same table as
    # the one readable query explain shows, checked here at national scale, row for row.
    reference = engine.attainment_sql(store, as_of=AS_OF)
    differ = _differing_rows(att, reference)  # type: ignore[arg-type]
    print(f"engine vs the readable query (attainment_sql): {differ} rows differ")
    print(f"median of {args.repeat} runs ((a) and (b) in turns):")
    print(f"  (a) one DuckDB aggregation pass over all rows : {t_pass * 1000:8.1f} ms")
    print(f"  (b) full attainment table (engine)            : {t_att * 1000:8.1f} ms")
    print(f"  (c) same computation in pandas (compute only) : {t_pd * 1000:8.1f} ms")
    print(f"      loading the tables into pandas (not in c) : {t_load * 1000:8.1f} ms")
    print(f"  (b)/(a) = {t_att / t_pass:.2f}  (target <= 3; (a) and (b) run in turns)")
    print(
        f"      each repeated alone instead: (a) {alone_pass * 1000:.1f} ms, (b) {alone_att * 1000:.1f} ms,"
        f" (b)/(a) = {alone_att / alone_pass:.2f}"
    )
    cold_pass, cold_att = cold_medians["pass"], cold_medians["engine"]
    print(
        f"      labels rebuilt on every call (a first page run): (a) {cold_pass * 1000:.1f} ms,"
        f" (b) {cold_att * 1000:.1f} ms, (b)/(a) = {cold_att / cold_pass:.2f}"
    )
    print(f"  (c)/(b) = {t_pd / t_att:.1f}  (target >= 5)")
    # CPU time is steadier than wall time on a busy machine (the targets are judged on wall time).
    pass_cpu, att_cpu, pd_cpu = CPU["pass"], CPU["engine"], CPU["pandas"]
    print(f"  CPU time: (a) {pass_cpu * 1e3:.1f} ms, (b) {att_cpu * 1e3:.1f} ms, (c) {pd_cpu * 1e3:.1f} ms")
    print(f"  CPU (b)/(a) = {att_cpu / pass_cpu:.2f}, (c)/(b) = {pd_cpu / att_cpu:.1f}")
    print(f"  pandas vs engine: {mismatches} rows differ in value or status")
    print(
        f"  minor page faults per run: (a) {FAULTS['pass']:.0f}, (b) {FAULTS['engine']:.0f}"
        f" (freed memory kept for reuse: {'yes' if kept else 'no'}, store/memory.py)"
    )
    store.close()
    ok = t_att <= 3 * t_pass and t_pd / t_att >= 5 and mismatches == 0 and differ == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
