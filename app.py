"""Yaad (יעד): the entry point. It only sets up the frame and routes to pages."""

from __future__ import annotations

import streamlit as st

from pages._shared import apply_direction, get_store, t

st.set_page_config(page_title="יעד · Yaad", page_icon=":material/flag:", layout="wide")


@st.cache_resource(show_spinner=False)
def _first_start() -> int:
    """Once per server process: reference data, and the sample data when the store is empty."""
    from ingest.first_run import ensure_ready
    from ingest.inbox import start_worker

    store = get_store()
    loaded = ensure_ready(store)
    start_worker(store)  # imports handed over by `python -m ingest` while this server holds the file
    return loaded


with st.sidebar:
    st.radio(
        t("language"),
        options=["he", "en"],
        format_func=lambda code: {"he": "עברית", "en": "English"}[code],
        key="lang",
        horizontal=True,
    )
apply_direction()

try:
    with st.spinner(t("loading_sample")):
        _first_start()
except Exception as exc:  # the store could not be opened or set up: say so, no traceback
    st.error(t("store_error", err=str(exc)))
    st.stop()

pages = [
    st.Page(
        "pages/overview.py",
        title=t("nav_overview"),
        icon=":material/dashboard:",
        url_path="overview",
        default=True,
    ),
    st.Page(
        "pages/locality.py", title=t("nav_locality"), icon=":material/location_city:", url_path="locality"
    ),
    st.Page("pages/goal.py", title=t("nav_goal"), icon=":material/flag:", url_path="goal"),
    st.Page("pages/compare.py", title=t("nav_compare"), icon=":material/compare_arrows:", url_path="compare"),
    st.Page(
        "pages/data_quality.py", title=t("nav_quality"), icon=":material/fact_check:", url_path="data-quality"
    ),
    st.Page("pages/targets.py", title=t("nav_targets"), icon=":material/tune:", url_path="targets"),
    st.Page("pages/upload.py", title=t("nav_upload"), icon=":material/upload_file:", url_path="upload"),
]
st.navigation(pages).run()
