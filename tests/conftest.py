"""Shared fixtures: a real DuckDB file per test, with the CBS reference loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from store import Store
from store.reference import load_reference


@pytest.fixture
def store(tmp_path: Path):
    """A fresh store in a real DuckDB file, reference data loaded."""
    s = Store(tmp_path / "yaad.duckdb")
    load_reference(s)
    yield s
    s.close()
