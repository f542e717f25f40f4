"""Streamlit glue shared by the pages: the store, language, strings and cached queries.

Pages stay layout only; anything computed comes from metrics/, and results are cached against the
store's data version so they are never stale after an upload or a rollback.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st
import yaml

from store import Store, default_db_path
from store.access import AccessDenied, User, can

if TYPE_CHECKING:
    from charts.overview import FilterChoices

STRINGS_PATH = Path(__file__).with_name("strings.yaml")

RTL_CSS = """
<style>
.stMain, [data-testid="stSidebar"] { direction: rtl; text-align: right; }
[data-testid="stElementContainer"] { text-align: right; }
[data-testid="stSelectboxVirtualDropdown"] { direction: rtl; }
[data-testid="stPlotlyChart"] { direction: ltr; }
html, body, .stMain, [data-testid="stSidebar"] {
  font-family: "Noto Sans Hebrew", "DejaVu Sans", Arial, sans-serif;
}
</style>
"""


@cache
def _strings() -> dict[str, dict[str, str]]:
    return yaml.safe_load(STRINGS_PATH.read_text(encoding="utf-8"))


def lang() -> str:
    """The reader's language: Hebrew unless they switched."""
    return st.session_state.get("lang", "he")


def t(key: str, **kwargs: object) -> str:
    """The user-facing string `key` in the reader's language."""
    entry = _strings().get(key, {})
    text = entry.get(lang()) or entry.get("he") or key
    return text.format(**kwargs) if kwargs else text


def apply_direction() -> None:
    """Right-to-left layout for Hebrew (Streamlit has none built in: streamlit#552)."""
    if lang() == "he":
        st.html(RTL_CSS)


@st.cache_resource(show_spinner=False)
def get_store() -> Store:
    """One store per server process; every script run takes its own cursor from it."""
    return Store(default_db_path(), wait_seconds=10)


def user() -> User:
    """The signed-in user of this session (app.py signs in before any page runs); stops the page
    when there is none.

    Every page calls this (through `require_page`) before drawing anything: on a freshly started
    server, before any session has called st.navigation, Streamlit still serves the pages/ folder
    the old way, so a deep link can run a page file without app.py (and without sign-in).
    """
    who = st.session_state.get("user")
    if not isinstance(who, User):
        st.stop()
    return who


def require_page(action: str) -> User:
    """Stop a page with a clear message when the user's role does not allow `action`."""
    who = user()
    if not can(who, action):
        from store.access import require

        try:
            require(who, action)
        except AccessDenied as exc:
            st.error(exc.message(lang()))
        st.stop()
    return who


def scope_key() -> tuple[int, ...] | None:
    """The signed-in user's authorities as a cache key (None: all)."""
    codes = user().codes()
    return None if codes is None else tuple(codes)


def _scope_user(scope: tuple[int, ...] | None) -> User | None:
    return None if scope is None else User("scope", "viewer", frozenset(scope))


@st.cache_data(show_spinner=False, max_entries=16)
def _attainment(
    data_version: int, year: int | None, as_of: str | None, scope: tuple[int, ...] | None
) -> pd.DataFrame:
    from metrics.engine import attainment as compute

    return compute(get_store(), year=year, as_of=as_of, user=_scope_user(scope))


def attainment(data_version: int, year: int | None, as_of: str | None) -> pd.DataFrame:
    """The tidy attainment frame of the user's localities, cached per data version and scope."""
    return _attainment(data_version, year, as_of, scope_key())


@st.cache_data(show_spinner=False, max_entries=16)
def _years(data_version: int, scope: tuple[int, ...] | None) -> list[int]:
    return sorted({int(y) for y in _attainment(data_version, None, None, scope)["year"]}, reverse=True)


def years(data_version: int) -> list[int]:
    """The years the user's attainment table covers, newest first."""
    return _years(data_version, scope_key())


@st.cache_data(show_spinner=False, max_entries=32)
def _attainment_year(data_version: int, year: int, scope: tuple[int, ...] | None) -> pd.DataFrame:
    att = _attainment(data_version, None, None, scope)
    return att[att["year"] == year].reset_index(drop=True)


def attainment_year(data_version: int, year: int) -> pd.DataFrame:
    """One year's slice: small to hand out on every rerun (the whole table is ~60k rows)."""
    return _attainment_year(data_version, year, scope_key())


def data_version() -> int:
    """The store's current data version, read once per script run."""
    return get_store().data_version()


@st.cache_resource(show_spinner=False)
def catalog():
    """The goal catalog, loaded once per process."""
    from metrics.catalog import load_catalog

    return load_catalog()


def goal_labels() -> dict[str, str]:
    """Goal id -> label in the reader's language, in catalog order."""
    return goal_labels_for(lang())


def show_rows_behind(goal: str, locality_code: int, period: str) -> None:
    """The rows and the SQL behind one number (traceability), below a chart or table."""
    from metrics.engine import explain, source_rows

    rows = source_rows(get_store(), goal, int(locality_code), str(period), user=user())
    st.markdown(f"**{t('rows_behind')}** — {goal_labels().get(goal, goal)}, {period}")
    st.dataframe(rows, hide_index=True)
    from pages._exports import table_download  # (cycle: _exports uses this module's helpers)

    table_download(rows, f"rows_{goal}_{locality_code}_{period}", f"xl_rows_{goal}_{locality_code}_{period}")
    with st.expander(t("sql_used")):
        st.code(explain(goal), language="sql")


def year_select(options: list[int], key: str = "year") -> int:
    """A year picker shared by the pages; remembers the choice across pages."""
    options = sorted({int(y) for y in options}, reverse=True)
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
    return st.selectbox(t("year"), options, key=key)


@st.cache_data(show_spinner=False, max_entries=16)
def _composite_scores(data_version: int, scope: tuple[int, ...] | None) -> pd.DataFrame:
    from metrics.composite import composite

    return composite(_attainment(data_version, None, None, scope), catalog=catalog())


def composite_scores(data_version: int) -> pd.DataFrame:
    """Composite score per locality × year × program model (metrics.composite), in scope."""
    return _composite_scores(data_version, scope_key())


@st.cache_data(show_spinner=False, max_entries=16)
def peers(data_version: int) -> pd.DataFrame:
    """Peer-group attributes of every authority, with coordinates for the map."""
    from metrics.peers import peer_groups

    store = get_store()
    groups = peer_groups(store)
    coords = store.query_df("SELECT code AS authority_code, lat, lon FROM authorities")
    return groups.merge(coords, on="authority_code", how="left")


@st.cache_resource(show_spinner=False, max_entries=16)
def overview_choices(data_version: int) -> FilterChoices:
    """The overview's filter options, worked out once per data version (shared, read-only)."""
    from charts.overview import filter_choices

    return filter_choices(peers(data_version))


def overview(data_version: int, filters, lang_code: str):  # noqa: ANN001 - charts.overview types
    """The overview of the user's localities for these filters."""
    return _overview(data_version, filters, lang_code, scope_key())


@st.cache_resource(show_spinner=False, max_entries=32)
def _overview(data_version: int, filters, lang_code: str, scope: tuple[int, ...] | None):  # noqa: ANN001
    """Built once per data version, filters and scope (figures are not pickled)."""
    from charts.overview import build_overview

    model_goals = {g.id for g in catalog().goals_of_model(filters.model)} if filters.model else None
    scores = _composite_scores(data_version, scope)
    return build_overview(
        _attainment_year(data_version, filters.year, scope),
        scores[scores["year"] == filters.year],
        peers(data_version),
        goal_labels_for(lang_code),
        model_goals,
        filters,
        lang_code,
    )


def goal_labels_for(lang_code: str) -> dict[str, str]:
    """Goal id -> label in the given language, in catalog order."""
    key = "label_he" if lang_code == "he" else "label_en"
    return {g.id: getattr(g, key) for g in catalog().goals}


def empty_state() -> None:
    """What a page shows when the store has no data yet: the way to templates and the sample."""
    st.info(t("no_data_yet"))
    c1, c2 = st.columns(2)
    if can(user(), "upload") and user().sees_all:
        if c1.button(t("load_sample"), type="primary", key="empty_load_sample"):
            from ingest.first_run import load_sample_data

            bar = st.progress(0.0)
            load_sample_data(get_store(), progress=lambda i, n, name: bar.progress(i / max(n, 1), text=name))
            st.rerun()
    if can(user(), "upload"):
        c2.page_link("pages/upload.py", label=t("go_upload"), icon=":material/upload_file:")
    st.stop()
