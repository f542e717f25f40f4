"""First start of an embedded installation: reference data, then the sample workbooks if empty."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from store import Store
from store.reference import load_reference

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data" / "workbooks"


def sample_files(folder: Path = SAMPLE_DIR) -> list[Path]:
    """The committed sample workbooks, national attributes last so localities exist first."""
    files = sorted(folder.glob("*.xlsx"))
    return sorted(files, key=lambda p: p.name.startswith("national"))


def ensure_ready(
    store: Store,
    *,
    load_sample: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> int:
    """Load the reference list; on an empty store, import the sample data. Returns files imported.

    "Empty" means no import batch ever ran, so a user who rolled everything back is not surprised
    by the sample coming back. YAAD_SAMPLE=0 starts an installation empty.
    """
    load_reference(store)
    load_sample = load_sample and os.environ.get("YAAD_SAMPLE", "1") != "0"
    if not load_sample or store.query_one("SELECT count(*) FROM import_batches"):
        return 0
    return load_sample_data(store, progress=progress)


def load_sample_data(store: Store, *, progress: Callable[[int, int, str], None] | None = None) -> int:
    """Import the sample workbooks (again): what the empty dashboard offers. Returns files loaded."""
    from ingest.pipeline import import_paths  # the pipeline is heavier; only needed here

    results = import_paths(store, sample_files(), user="sample-data", progress=progress)
    return sum(1 for r in results if r.status == "loaded")
