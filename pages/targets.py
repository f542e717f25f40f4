"""Targets: view and edit targets per year and per locality, with their history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics.targets import set_goal_target
from pages._shared import (
    attainment,
    catalog,
    data_version,
    get_store,
    goal_labels,
    lang,
    require_page,
    t,
    year_select,
)
from store import targets, views
from store.access import AccessDenied

who = require_page("edit_targets")
st.title(t("nav_targets"))
store = get_store()
labels = goal_labels()
att_all = attainment(data_version(), None, None)
year = year_select(list(att_all["year"].unique()) if not att_all.empty else [2026])

st.subheader(t("targets_defaults"))
st.dataframe(
    pd.DataFrame(
        [
            {
                t("target_high"): g.target.high,
                t("target_low"): g.target.low,
                t("op"): g.target.op,
                t("goal"): labels[g.id],
            }
            for g in catalog().goals
        ]
    ),
    hide_index=True,
)

st.subheader(t("targets_overrides"))
st.dataframe(targets.current_targets(store, int(year), user=who), hide_index=True)

st.subheader(t("targets_edit"))
authorities = views.authorities(store, user=who)
names = dict(zip(authorities["code"], authorities["name"], strict=True))
with st.form("edit_target"):
    goal = st.selectbox(t("goal"), list(labels), format_func=labels.get)
    scope = st.selectbox(
        t("locality"), [None, *names], format_func=lambda c: t("scope_all") if c is None else names[c]
    )
    low = st.number_input(t("target_low"), value=None, step=1.0)
    high = st.number_input(t("target_high"), value=None, step=1.0)
    note = st.text_input(t("note"))
    if st.form_submit_button(t("save")):
        try:
            version = set_goal_target(
                store,
                goal,
                int(year),
                scope,
                low,
                high,
                user=who,
                note=note,
            )
        except AccessDenied as exc:
            st.error(exc.message(lang()))
        except ValueError as exc:
            st.error(t("target_invalid", err=exc))
        else:
            st.success(t("saved_target", version=version))

st.subheader(t("targets_history"))
st.dataframe(targets.target_history(store, year=int(year), user=who), hide_index=True)
