"""One locality: every goal against its target, with pace, forecast, trend and its own rows."""

from __future__ import annotations

import streamlit as st

from charts.figures import meetings_timeline, trend
from charts.style import status_label
from ingest.registry import categories
from pages._exports import chart_downloads, deck_downloads, table_download
from pages._shared import (
    attainment,
    data_version,
    empty_state,
    get_store,
    goal_labels,
    lang,
    require_page,
    show_rows_behind,
    t,
    year_select,
)
from store import views

who = require_page("read")
st.title(t("nav_locality"))
att_all = attainment(data_version(), None, None)
if att_all.empty:
    empty_state()

localities = att_all[["locality_code", "locality_name"]].drop_duplicates().sort_values("locality_name")
names = dict(localities.itertuples(index=False))
code = st.selectbox(t("choose_locality"), list(names), format_func=names.get, key="locality")
year = year_select(list(att_all["year"].unique()))
labels = goal_labels()

mine = att_all[att_all["locality_code"] == code]
this_year = mine[mine["year"] == year].assign(
    # Half-year goals appear once per half: say which.
    goal_label=lambda d: (
        d["goal"].map(labels)
        + d["period"].where(d["period_kind"] != "year", "").map(lambda p: f" ({p})" if p else "")
    ),
    status_label=lambda d: d["status"].map(lambda s: status_label(s, lang())),
)
st.subheader(t("goals_of_locality"))
event = st.dataframe(
    this_year[["status_label", "forecast", "expected_by_now", "target", "value", "goal_label"]],
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="goals_table",
    column_config={
        "goal_label": t("goal"),
        "value": st.column_config.NumberColumn(t("value"), format="%.4g"),
        "target": t("target"),
        "forecast": st.column_config.NumberColumn(t("forecast"), format="%.3g"),
        "expected_by_now": st.column_config.NumberColumn(t("expected_by_now"), format="%.3g"),
        "status_label": t("status"),
    },
)
table_download(this_year, f"goals_{code}_{year}", "xl_goals")
picked = event.selection["rows"] if event else []
if picked:
    row = this_year.iloc[picked[0]]
    show_rows_behind(row["goal"], code, row["period"])

trend_fig = trend(mine, labels, title=t("trend_title"))
st.plotly_chart(trend_fig, key="trend")
chart_downloads(trend_fig, f"trend_{code}", "dl_trend")

store = get_store()
tab_p, tab_m, tab_s, tab_f = st.tabs([t("programs"), t("meetings"), t("partnerships"), t("freshness")])
with tab_p:
    st.dataframe(views.locality_programs(store, code, user=who), hide_index=True)
with tab_m:
    meetings = views.locality_meetings(store, code, user=who)
    kinds = {k: (c.he if lang() == "he" else c.en) for k, c in categories()["meeting_type"].items()}
    st.plotly_chart(meetings_timeline(meetings, kinds), key="timeline")
    st.dataframe(meetings, hide_index=True)
with tab_s:
    st.dataframe(views.locality_partnerships(store, code, user=who), hide_index=True)
with tab_f:
    fresh = views.freshness(store, user=who)
    st.dataframe(fresh[fresh["locality_code"] == code], hide_index=True)

deck_downloads("locality", year, "deck_locality", locality=code)
