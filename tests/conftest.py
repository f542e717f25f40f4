"""Shared fixtures: a real DuckDB file per test, with the CBS reference loaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st

from store import Store
from store.reference import load_reference
from tests.access_fixtures import add_users


@pytest.fixture
def store(tmp_path: Path):
    """A fresh store in a real DuckDB file, reference data loaded."""
    s = Store(tmp_path / "yaad.duckdb")
    load_reference(s)
    yield s
    s.close()


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """A database file filled the way a first start fills it, plus one user per role (built once;
    tests copy it)."""
    from ingest.first_run import ensure_ready

    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    s = Store(path)
    assert ensure_ready(s) == 12
    add_users(s)
    s.close()
    return path


@pytest.fixture
def app_db(tmp_path, sample_db, monkeypatch) -> Path:
    """A copy of the sample database as the app's (YAAD_DB), with Streamlit's caches cleared."""
    path = tmp_path / "yaad.duckdb"
    shutil.copy(sample_db, path)
    monkeypatch.setenv("YAAD_DB", str(path))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield path
    st.cache_resource.clear()


@pytest.fixture
def localhost():
    """The server option as `./run.sh` sets it: listening on 127.0.0.1 only."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)
