"""First start of an embedded installation: reference data, then the sample workbooks if empty."""

from __future__ import annotations

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
    by the sample coming back.
    """
    load_reference(store)
    if not load_sample or store.query_one("SELECT count(*) FROM import_batches"):
        return 0
    from ingest.pipeline import import_paths  # the pipeline is heavier; only needed on first start

    files = sample_files()
    results = import_paths(store, files, user="sample-data", progress=progress)
    return sum(1 for r in results if r.status == "loaded")
