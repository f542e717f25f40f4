"""One goal across localities: ranked bars with the target line, the distribution, peer groups."""

from __future__ import annotations

import streamlit as st

from charts.figures import distribution, ranked_bars
from metrics.peers import rank_within
from pages._exports import chart_downloads, table_download
from pages._shared import (
    attainment,
    data_version,
    empty_state,
    goal_labels,
    lang,
    peers,
    require_page,
    show_rows_behind,
    t,
    year_select,
)

require_page("read")
st.title(t("nav_goal"))
att_all = attainment(data_version(), None, None)
if att_all.empty:
    empty_state()

labels = goal_labels()
goal = st.selectbox(t("choose_goal"), list(labels), format_func=labels.get, key="goal")
year = year_select(list(att_all["year"].unique()))
rows = att_all[(att_all["goal"] == goal) & (att_all["year"] == year)]

groups = peers(data_version()).assign(everyone="")
group_columns = [
    c
    for c in groups.columns
    if c not in ("authority_code", "name", "name_en", "population", "lat", "lon", "everyone")
]
c1, c2, c3 = st.columns(3)
by = c1.selectbox(t("peer_group"), [None, *group_columns], format_func=lambda c: t("all") if c is None else c)
if by:
    options = sorted(groups[by].dropna().astype(str).unique())
    chosen = c2.selectbox(by, options)
    rows = rows[rows["locality_code"].isin(groups.loc[groups[by].astype(str) == chosen, "authority_code"])]
rows = rank_within(rows, groups, by or "everyone")
use_per_resident = c3.toggle(t("per_resident"), disabled=rows["value_per_1000"].isna().all())
value_column = "value_per_1000" if use_per_resident else "value"

ranked = ranked_bars(rows, lang=lang(), title=t("ranked"), value_column=value_column)
event = st.plotly_chart(ranked, key="ranked", on_select="rerun", selection_mode="points")
chart_downloads(ranked, f"{goal}_{year}", "dl_ranked")
table_download(rows, f"{goal}_{year}", "xl_ranked")
points = event.selection["points"] if event else []
if points and points[0].get("customdata"):
    code = int(points[0]["customdata"][0])
    period = rows.loc[rows["locality_code"] == code, "period"].iloc[0]
    show_rows_behind(goal, code, period)
spread = distribution(rows, title=t("distribution"))
st.plotly_chart(spread, key="distribution")
chart_downloads(spread, f"{goal}_{year}_distribution", "dl_distribution")
