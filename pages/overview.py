"""National overview: scorecard of localities × goals, headline counts and a map, with filters."""

from __future__ import annotations

import streamlit as st

from charts.figures import locality_map
from charts.scorecard import scorecard_figure
from charts.style import status_label
from pages._shared import (
    attainment,
    catalog,
    composite_scores,
    data_version,
    goal_labels,
    lang,
    peers,
    selected_cell,
    show_rows_behind,
    t,
    year_select,
)

st.title(t("nav_overview"))
version = data_version()
all_years = attainment(version, None, None)
if all_years.empty:
    st.info(t("no_data_yet"))
    st.stop()

groups = peers(version)
models = catalog().models
f1, f2, f3, f4 = st.columns(4)
with f1:
    year = year_select(list(all_years["year"].unique()))
model = f2.selectbox(
    t("program_model"),
    [None, *models],
    format_func=lambda m: t("all") if m is None else getattr(models[m], lang()),
)
districts = sorted(groups["district"].dropna().unique())
district = f3.selectbox(t("district"), [None, *districts], format_func=lambda d: t("all") if d is None else d)
attribute_columns = [
    c
    for c in groups.columns
    if c not in ("authority_code", "name", "name_en", "population", "lat", "lon", "district")
]
peer_column = f4.selectbox(
    t("peer_group"), [None, *attribute_columns], format_func=lambda c: t("all") if c is None else c
)

att = all_years[all_years["year"] == year]
labels = goal_labels()
if model:
    labels = {g: label for g, label in labels.items() if g in {x.id for x in catalog().goals_of_model(model)}}
    att = att[att["goal"].isin(labels)]
keep = groups
if district:
    keep = keep[keep["district"] == district]
if peer_column:
    values = sorted(groups[peer_column].dropna().astype(str).unique())
    chosen = st.selectbox(t("peer_value"), values)
    keep = keep[keep[peer_column].astype(str) == chosen]
att = att[att["locality_code"].isin(keep["authority_code"])]

scored = att[~att["status"].isin(["no_data", "info"])]
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("localities_with_data"), scored["locality_code"].nunique())
c2.metric(t("achieved_or_on_track"), int(scored["status"].isin(["achieved", "on_track"]).sum()))
c3.metric(t("at_risk"), int((scored["status"] == "at_risk").sum()))
c4.metric(t("off_track"), int(scored["status"].isin(["off_track", "missed"]).sum()))

st.subheader(t("scorecard"))
event = st.plotly_chart(
    scorecard_figure(att, labels, lang=lang()), key="scorecard", on_select="rerun", selection_mode="points"
)
cell = selected_cell(event)

st.caption(t("scorecard_table"))
table = att.assign(
    goal_label=att["goal"].map(labels), status_label=att["status"].map(lambda s: status_label(s, lang()))
)[["status_label", "target", "value", "goal_label", "locality_name", "goal", "locality_code", "period"]]
picked = st.dataframe(
    table,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="scorecard_table",
    column_order=["status_label", "target", "value", "goal_label", "locality_name"],
    column_config={
        "status_label": t("status"),
        "target": t("target"),
        "value": t("value"),
        "goal_label": t("goal"),
        "locality_name": t("locality"),
    },
)
if picked and picked.selection["rows"]:
    row = table.iloc[picked.selection["rows"][0]]
    cell = (int(row["locality_code"]), str(row["goal"]))
if cell:
    match = att[(att["locality_code"] == cell[0]) & (att["goal"] == cell[1])]
    if not match.empty:
        show_rows_behind(cell[1], cell[0], str(match["period"].iloc[-1]))
else:
    st.caption(t("pick_cell"))

scores = composite_scores(version)
scores = scores[(scores["year"] == year) & (scores["model"] == (model or "all"))]
scores = scores.merge(
    keep[["authority_code", "lat", "lon"]], left_on="locality_code", right_on="authority_code"
)
st.subheader(t("map_title"))
st.plotly_chart(locality_map(scores), key="map")
