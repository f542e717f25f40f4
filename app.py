"""Yaad (יעד): the entry point. It only sets up the frame and routes to pages."""

from __future__ import annotations

import streamlit as st

from pages._shared import apply_direction, get_store, t

st.set_page_config(page_title="יעד · Yaad", page_icon="🎯", layout="wide")


@st.cache_resource(show_spinner=False)
def _first_start() -> int:
    """Once per server process: reference data, and the sample data when the store is empty."""
    from ingest.first_run import ensure_ready

    return ensure_ready(get_store())


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
    st.Page("pages/overview.py", title=t("nav_overview"), icon="📊", url_path="overview", default=True),
]
st.navigation(pages).run()
