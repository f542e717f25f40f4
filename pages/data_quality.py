"""Data quality: what each locality sent and when, freshness, missing datasets, history, rollback."""

from __future__ import annotations

import streamlit as st

from pages._shared import empty_state, get_store, t
from store import batches, views

st.title(t("nav_quality"))
store = get_store()

fresh = views.freshness(store)
if fresh.empty:
    empty_state()

st.subheader(t("what_sent"))
st.dataframe(
    fresh.pivot_table(index="locality_name", columns="dataset", values="last_import", aggfunc="max"),
)

st.subheader(t("stale_programs"))
programs = fresh[fresh["dataset"] == "programs"]
st.dataframe(programs[programs["days_since_import"] > 183], hide_index=True)

st.subheader(t("missing"))
st.dataframe(views.missing_datasets(store), hide_index=True)

st.subheader(t("history"))
history = batches.list_batches(store)
st.dataframe(history, hide_index=True)

st.subheader(t("rollback"))
committed = history[history["status"] == "committed"]
if committed.empty:
    st.caption(t("nothing_to_roll_back"))
else:
    with st.form("rollback"):
        batch_id = st.selectbox(
            t("rollback_pick"),
            list(committed["batch_id"]),
            format_func=lambda b: f"{b} · {committed.set_index('batch_id').loc[b, 'file_name']}",
        )
        sure = st.checkbox(t("rollback_confirm"))
        if st.form_submit_button(t("rollback_do"), disabled=False) and sure:
            batches.rollback_batch(store, int(batch_id), user=st.session_state.get("user", "dashboard"))
            st.success(t("rollback_done", batch=batch_id))
