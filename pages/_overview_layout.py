"""National overview: scorecard of localities × goals, headline counts and a map, with filters.

The layout lives here, in a module, and pages/overview.py only calls `render()`: Python compiles
an imported module once per process, whereas AppTest compiles the page file itself (with
Streamlit's "magic" rewriting) on every run — a few milliseconds for a page this size. The
running server keeps page bytecode across reruns, so there it changes nothing.
"""

from __future__ import annotations

import streamlit as st

from charts.overview import OverviewFilters
from charts.scorecard import cell_at
from charts.style import status_label
from pages._exports import chart_downloads, deck_downloads, table_download
from pages._shared import (
    catalog,
    data_version,
    empty_state,
    goal_labels,
    lang,
    overview,
    overview_choices,
    require_page,
    show_rows_behind,
    t,
    user,
    year_select,
    years,
)


def render() -> None:
    """Draw the overview page for the signed-in user."""
    require_page("read")  # first: nothing shows for nobody (see _shared.require_page)
    st.title(t("nav_overview"))
    version = data_version()
    available = years(version)
    if not available:
        empty_state()

    choices = overview_choices(version)
    models = catalog().models
    f1, f2, f3, f4 = st.columns(4)
    with f1:
        year = year_select(available)
    model = f2.selectbox(
        t("program_model"),
        [None, *models],
        format_func=lambda m: t("all") if m is None else getattr(models[m], lang()),
    )
    district = f3.selectbox(
        t("district"), [None, *choices.districts], format_func=lambda d: t("all") if d is None else d
    )
    peer_column = f4.selectbox(
        t("peer_group"), [None, *choices.peer_columns], format_func=lambda c: t("all") if c is None else c
    )
    peer_value = None
    if peer_column:
        peer_value = st.selectbox(t("peer_value"), choices.peer_values[peer_column])

    view = overview(version, OverviewFilters(year, model, district, peer_column, peer_value), lang())
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("localities_with_data"), view.counts["localities"])
    c2.metric(t("achieved_or_on_track"), view.counts["achieved_or_on_track"])
    c3.metric(t("at_risk"), view.counts["at_risk"])
    c4.metric(t("off_track"), view.counts["off_track"])

    st.subheader(t("scorecard"))
    event = st.plotly_chart(view.scorecard, key="scorecard", on_select="rerun", selection_mode="points")
    chart_downloads(view.scorecard, f"scorecard_{year}", "dl_scorecard")
    points = event.selection["points"] if event else []
    cell = cell_at(view.scorecard, points[0]) if points else None

    att = view.attainment
    if st.toggle(t("show_table"), key="overview_table"):
        labels = goal_labels()
        table = att.assign(
            goal_label=att["goal"].map(labels),
            status_label=att["status"].map(lambda s: status_label(s, lang())),
        )
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
        table_download(table.drop(columns=["goal", "locality_code"]), f"scorecard_{year}", "xl_scorecard")
        if picked and picked.selection["rows"]:
            row = table.iloc[picked.selection["rows"][0]]
            cell = (int(row["locality_code"]), str(row["goal"]))
    if cell:
        match = att[(att["locality_code"] == cell[0]) & (att["goal"] == cell[1])]
        if not match.empty:
            show_rows_behind(cell[1], cell[0], str(match["period"].iloc[-1]))
    else:
        st.caption(t("pick_cell"))

    st.subheader(t("map_title"))
    st.plotly_chart(view.map, key="map")
    chart_downloads(view.map, f"map_{year}", "dl_map")

    if user().sees_all:  # the national deck is for national scope only (exports.deck checks too)
        deck_downloads("national", year, "deck_national")
