"""National overview: the scorecard of localities × goals for a year."""

from __future__ import annotations

import streamlit as st

from charts.scorecard import scorecard_figure
from metrics.catalog import load_catalog
from pages._shared import attainment, data_version, lang, t

st.title(t("nav_overview"))

catalog = load_catalog()
version = data_version()
all_years = attainment(version, None, None)
if all_years.empty:
    st.info(t("no_data_yet"))
    st.stop()

years = sorted(all_years["year"].unique(), reverse=True)
year = st.selectbox(t("year"), years, index=0)
att = all_years[all_years["year"] == year]

scored = att[att["status"] != "no_data"]
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("localities_with_data"), att.loc[att["status"] != "no_data", "locality_code"].nunique())
c2.metric(t("achieved_or_on_track"), int(scored["status"].isin(["achieved", "on_track"]).sum()))
c3.metric(t("at_risk"), int((scored["status"] == "at_risk").sum()))
c4.metric(t("off_track"), int(scored["status"].isin(["off_track", "missed"]).sum()))

label_key = "label_he" if lang() == "he" else "label_en"
goal_labels = {g.id: getattr(g, label_key) for g in catalog.goals}
st.subheader(t("scorecard"))
st.plotly_chart(scorecard_figure(att, goal_labels, lang=lang()), key="scorecard")

table = att.assign(goal_label=att["goal"].map(goal_labels))[
    ["status", "target", "value", "goal_label", "locality_name"]
]
st.dataframe(table, hide_index=True)
