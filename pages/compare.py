"""Compare 2–6 localities side by side over chosen goals and years."""

from __future__ import annotations

import streamlit as st

from charts.figures import compare_bars
from charts.style import status_label
from pages._exports import chart_downloads, table_download
from pages._shared import attainment, data_version, empty_state, goal_labels, lang, require_page, t

require_page("compare")
st.title(t("nav_compare"))
att_all = attainment(data_version(), None, None)
if att_all.empty:
    empty_state()

labels = goal_labels()
localities = att_all[["locality_code", "locality_name"]].drop_duplicates().sort_values("locality_name")
names = dict(localities.itertuples(index=False))
chosen = st.multiselect(
    t("choose_localities"), list(names), default=list(names)[:3], format_func=names.get, max_selections=6
)
goals = st.multiselect(t("choose_goals"), list(labels), default=list(labels)[:4], format_func=labels.get)
all_years = sorted(att_all["year"].unique(), reverse=True)
years = st.multiselect(t("choose_years"), all_years, default=all_years[:1])

if not 2 <= len(chosen) <= 6:
    st.warning(t("pick_2_to_6"))
    st.stop()
rows = att_all[
    att_all["locality_code"].isin(chosen) & att_all["goal"].isin(goals) & att_all["year"].isin(years)
]
for year in sorted(years, reverse=True):
    fig = compare_bars(rows[rows["year"] == year], labels, title=f"{year}")
    st.plotly_chart(fig, key=f"compare_{year}")
    chart_downloads(fig, f"compare_{year}", f"dl_compare_{year}")
table = rows.assign(
    goal_label=rows["goal"].map(labels), status_label=rows["status"].map(lambda s: status_label(s, lang()))
)
wide = table.pivot_table(
    index=["goal_label", "year"], columns="locality_name", values="value", aggfunc="first"
)
st.dataframe(wide.iloc[:, ::-1], column_config={"goal_label": t("goal"), "year": t("year")})
table_download(wide.reset_index(), "compare", "xl_compare")
