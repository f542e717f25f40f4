"""Data quality: what each locality sent and when, freshness, missing datasets, history, rollback."""

from __future__ import annotations

import streamlit as st

from ingest.registry import datasets
from pages._shared import empty_state, get_store, lang, require_page, t
from store import batches, views
from store.access import AccessDenied, can

who = require_page("read")
st.title(t("nav_quality"))
store = get_store()

fresh = views.freshness(store, user=who)
if fresh.empty:
    empty_state()
ds_label = {name: (d.he if lang() == "he" else d.en) for name, d in datasets().items()}
fresh = fresh.assign(
    dataset_label=fresh["dataset"].map(ds_label), last_import_day=fresh["last_import"].dt.date
)
columns = {
    "locality_name": t("locality"),
    "dataset_label": t("dataset"),
    "rows": t("rows"),
    "latest_content_date": t("latest_content_date"),
    "last_import_day": t("last_import"),
    "days_since_content": t("days_since_content"),
}

st.subheader(t("what_sent"))
sent = fresh.pivot_table(
    index="locality_name", columns="dataset_label", values="last_import_day", aggfunc="max"
)
st.dataframe(sent.iloc[:, ::-1], column_config={"locality_name": t("locality")})

st.subheader(t("stale_programs"))
st.caption(t("freshness_goal"))
programs = fresh[fresh["dataset"] == "programs"]
stale = programs[programs["days_since_content"] > 183]
if stale.empty:
    st.success(t("all_fresh"))
else:
    st.dataframe(
        stale[list(columns)[::-1]], hide_index=True, column_config=columns, column_order=list(columns)[::-1]
    )

st.subheader(t("missing"))
missing = views.missing_datasets(store, user=who)
missing = missing.assign(dataset_label=missing["dataset"].map(ds_label))
st.dataframe(
    missing[["dataset_label", "locality_name"]],
    hide_index=True,
    column_config={"dataset_label": t("dataset"), "locality_name": t("locality")},
)

st.subheader(t("history"))
history = batches.list_batches(store, user=who)
st.dataframe(history, hide_index=True)

if can(who, "rollback"):  # viewers and national staff only read the history
    st.subheader(t("rollback"))
    committed = history[history["status"] == "committed"]
    if committed.empty:
        st.caption(t("nothing_to_roll_back"))
    else:
        names = committed.set_index("batch_id")["file_name"]
        with st.form("rollback"):
            batch_id = st.selectbox(
                t("rollback_pick"), list(committed["batch_id"]), format_func=lambda b: f"{b} · {names[b]}"
            )
            sure = st.checkbox(t("rollback_confirm"))
            if st.form_submit_button(t("rollback_do")) and sure:
                try:
                    batches.rollback_batch(store, int(batch_id), user=who)
                except (batches.BatchError, AccessDenied) as exc:
                    st.error(exc.message(lang()))
                else:
                    st.success(t("rollback_done", batch=batch_id))
