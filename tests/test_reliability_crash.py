"""Crash safety: SIGKILL an importing process at random points; the store holds the whole batch or none.

A real worker process (forked from a server that has the modules loaded, so a kill costs
milliseconds, not an interpreter start) opens the store, imports a two-sheet workbook of 20,000
rows that supersedes stored rows, and rolls it back, in a loop. The parent kills it at a random
delay into each phase in turn (open and WAL replay, read, analyse, inside the write transaction,
during COMMIT, during the rollback) and then reopens the same file and checks it every time.
YAAD_CRASH_KILLS raises the count (the benchmark's --soak does the same for longer runs).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests import hostile_corpus as H

KILLS = int(os.environ.get("YAAD_CRASH_KILLS", "56"))


@pytest.fixture(scope="module")
def crash_setup(tmp_path_factory) -> tuple[Path, Path, Path]:
    work = tmp_path_factory.mktemp("crash")
    workbook = work / H.CRASH_FILE
    workbook.write_bytes(H.crash_workbook())
    base = H.prepared_store(work / "base.duckdb")
    return base, workbook, work


def test_sigkill_at_random_points_leaves_the_whole_batch_or_none(crash_setup):
    base, workbook, work = crash_setup
    report = H.run_kills(base, workbook, work, KILLS, seed=8)
    assert len(report.kills) == KILLS >= 50
    # check_crash_state asserted every kill; here: the kills covered every phase and both outcomes.
    aimed = {k.target for k in report.kills}
    assert aimed == {*H.PHASES, "any"}
    phases = report.by_phase()
    for phase, least in (("open", 3), ("read", 3), ("analyse", 3), ("txn", 2), ("rollback", 3)):
        assert sum(phases.get(phase, {}).values()) >= least, phases
    in_write = sum(sum(phases.get(p, {}).values()) for p in ("txn", "commit", "committed"))
    assert in_write >= 10, phases
    outcomes = {k.outcome for k in report.kills}
    assert outcomes == {"before", "after"}, phases
    # read, analyse and the transaction come after the worker rolled back any batch a previous
    # worker left committed: a kill there can only find the state before the import
    assert all(v["after"] == 0 for p, v in phases.items() if p in ("read", "analyse", "txn")), phases
    assert all(k.reopen_seconds < 10 for k in report.kills)
    print(json.dumps({"kills": len(report.kills), "by_phase": phases, "seconds": round(report.seconds, 1)}))


def test_the_killed_store_still_imports_and_rolls_back(crash_setup):
    """After all those kills the file is an ordinary store: a new import and its rollback work."""
    from ingest.pipeline import analyse, commit
    from store import Store
    from store.batches import rollback_batch

    base, workbook, work = crash_setup
    db = work / "crash.duckdb"
    if not db.exists():
        pytest.skip("needs the store the kill test left behind")
    states = H.crash_states(base, workbook, work)
    outcome = H.check_crash_state(db, states, workbook.name)
    with Store(db) as store:
        if outcome == "after":
            left = store.query_one(
                "SELECT max(batch_id) FROM import_batches WHERE status = 'committed' AND file_name = ?",
                [workbook.name],
            )
            rollback_batch(store, int(left), "test")
        result = commit(analyse(workbook.read_bytes(), workbook.name, store), store, user="test")
        assert result.status == "loaded"
    assert H.check_crash_state(db, states, workbook.name) == "after"


def test_the_check_catches_a_half_written_batch(crash_setup):
    """The checker itself can fail: a batch record without its rows, or rows without a record."""
    from store import Store

    base, workbook, work = crash_setup
    states = H.crash_states(base, workbook, work)
    for n, damage in enumerate(
        (
            "INSERT INTO import_batches VALUES "
            "(9999, '{f}', 'x', 't', now(), 'committed', '{{}}', NULL, NULL)",
            "INSERT INTO programs (authority_code, program_name, batch_id, sheet, source_row) "
            "VALUES (2630, 'half', 9999, 's', 1)",
        )
    ):
        db = work / f"damaged{n}.duckdb"
        db.write_bytes(base.read_bytes())
        with Store(db) as store, store.transaction() as cur:
            cur.execute(damage.format(f=workbook.name))
        with pytest.raises(AssertionError):
            H.check_crash_state(db, states, workbook.name)
