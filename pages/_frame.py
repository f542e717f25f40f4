"""The frame of every page (what app.py runs): page config, language switch, right-to-left
styling, first start, sign-in and the navigation to the pages the user's role allows
(store.access.PERMISSIONS).

It lives in a module rather than in app.py itself so that Python compiles it once per process:
AppTest (the tests and benchmarks/bench_pages.py) compiles the entry script again, with
Streamlit's "magic" rewriting, on every run, where the running server keeps its bytecode.
"""

from __future__ import annotations

import threading

import streamlit as st

from pages._auth import current_user, user_badge
from pages._server import tune_interpreter
from pages._shared import apply_direction, get_store, t
from store.access import can


@st.cache_resource(show_spinner=False)
def _first_start() -> int:
    """Once per server process: reference data, and the sample data when the store is empty."""
    from ingest.first_run import ensure_ready
    from ingest.inbox import start_worker

    store = get_store()
    loaded = ensure_ready(store)
    start_worker(store)  # imports handed over by `python -m ingest` while this server holds the file
    return loaded


_started = threading.Event()


def _start() -> None:
    """`_first_start`, under a spinner only until it has succeeded once in this process: a spinner
    starts a timer thread on every run, and after the first start the call is a cache hit."""
    if _started.is_set():
        _first_start()
        return
    with st.spinner(t("loading_sample")):
        _first_start()
    _started.set()


# (page file, title key, icon, url path, the action the page needs)
PAGES = [
    ("pages/overview.py", "nav_overview", ":material/dashboard:", "overview", "read"),
    ("pages/locality.py", "nav_locality", ":material/location_city:", "locality", "read"),
    ("pages/goal.py", "nav_goal", ":material/flag:", "goal", "read"),
    ("pages/compare.py", "nav_compare", ":material/compare_arrows:", "compare", "compare"),
    ("pages/data_quality.py", "nav_quality", ":material/fact_check:", "data-quality", "read"),
    ("pages/targets.py", "nav_targets", ":material/tune:", "targets", "edit_targets"),
    ("pages/upload.py", "nav_upload", ":material/upload_file:", "upload", "upload"),
    ("pages/admin.py", "nav_admin", ":material/admin_panel_settings:", "admin", "manage_users"),
]


def main() -> None:
    """Set up the frame, sign the user in and run the page they asked for."""
    tune_interpreter()  # the server's sessions share one GIL (pages/_server.py)
    st.set_page_config(page_title="יעד · Yaad", page_icon=":material/flag:", layout="wide")

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
        _start()
    except Exception as exc:  # the store could not be opened or set up: say so, no traceback
        st.error(t("store_error", err=str(exc)))
        st.stop()

    user = current_user()  # the sign-in or first-run form, and st.stop(), when nobody is signed in
    st.session_state["user"] = user
    with st.sidebar:
        user_badge(user)

    pages = [
        st.Page(path, title=t(title), icon=icon, url_path=url, default=url == "overview")
        for path, title, icon, url, action in PAGES
        if can(user, action)
    ]
    st.navigation(pages).run()
