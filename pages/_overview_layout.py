"""National overview: scorecard of localities × goals, headline counts and a map, with filters.

The layout lives here, in a module, and pages/overview.py only calls `render()`: Python compiles
an imported module once per process, whereas AppTest compiles the page file itself (with
Streamlit's "magic" rewriting) on every run — a few milliseconds for a page this size. The
running server keeps page bytecode across reruns, so there it changes nothing.
"""

from __future__ import annotations

import streamlit as st

from charts.overview import Overview, OverviewFilters
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

    filters = _filters(version, available)
    view = overview(version, filters, lang())
    # One row of four, as st.columns(4) lays it out, in one block instead of five.
    headline = st.container(horizontal=True)
    headline.metric(t("localities_with_data"), view.counts["localities"])
    headline.metric(t("achieved_or_on_track"), view.counts["achieved_or_on_track"])
    headline.metric(t("at_risk"), view.counts["at_risk"])
    headline.metric(t("off_track"), view.counts["off_track"])

    # Lazy tabs: only the open tab is built on a rerun (opening the other reruns the page).
    scorecard_tab, map_tab = st.tabs([t("scorecard"), t("map_title")], key="overview_tab", on_change="rerun")
    if scorecard_tab.open:
        with scorecard_tab:
            _scorecard(view, filters.year)
    if map_tab.open:
        with map_tab:
            st.plotly_chart(view.map, key="map")
            chart_downloads(view.map, f"map_{filters.year}", "dl_map")

    if user().sees_all:  # the national deck is for national scope only (exports.deck checks too)
        deck_downloads("national", filters.year, "deck_national")


def _filters(version: int, available: list[int]) -> OverviewFilters:
    """The year, programme model, district and peer-group pickers, in one row."""
    choices = overview_choices(version)
    models = catalog().models
    row = st.container(horizontal=True)
    with row:
        year = year_select(available)
    model = row.selectbox(
        t("program_model"),
        [None, *models],
        format_func=lambda m: t("all") if m is None else getattr(models[m], lang()),
    )
    district = row.selectbox(
        t("district"), [None, *choices.districts], format_func=lambda d: t("all") if d is None else d
    )
    peer_column = row.selectbox(
        t("peer_group"), [None, *choices.peer_columns], format_func=lambda c: t("all") if c is None else c
    )
    peer_value = None
    if peer_column:
        peer_value = st.selectbox(t("peer_value"), choices.peer_values[peer_column])
    return OverviewFilters(year, model, district, peer_column, peer_value)


def _scorecard(view: Overview, year: int) -> None:
    """The scorecard, its export menu, the table view and the rows behind a picked number."""
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
