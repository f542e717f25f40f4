"""Hostile input: every generated input gets a clear error or a safe load, in bounded memory and time,
and a refused input leaves the store exactly as it was.

Each input runs in its own process (tests/hostile_corpus.py `measure`): peak memory is that
process's VmHWM, and a reader that aborted the process would show up as 'crashed' here instead of
taking the test run down. The corpus is generated into a temporary folder, never committed.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from ingest.pipeline import analyse, import_file
from ingest.reading import MAX_FILE_BYTES, ReadError, read_workbook, upload_limit_bytes
from store import Store
from tests import hostile_corpus as H

PEAK_MB = 700  # per input, whole process (Python + pandas + DuckDB are ~170 MB of it)
SECONDS = 30  # per input


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[dict[str, Path], Path]:
    work = tmp_path_factory.mktemp("hostile")
    files = H.build_corpus(work / "files")
    base = H.prepared_store(work / "base.duckdb")
    return files, base


def _run(corpus, name: str, tmp_path: Path) -> tuple[dict, dict, dict, Path]:
    files, base = corpus
    db = tmp_path / "yaad.duckdb"
    shutil.copy(base, db)
    with Store(db) as store:
        before = H.snapshot(store)
    result = H.measure(db, files[name])
    with Store(db) as store:
        after = H.snapshot(store)
    return result, before, after, db


@pytest.mark.parametrize("case", H.CORPUS, ids=lambda h: h.name)
def test_each_input_is_refused_clearly_or_loads_safely(corpus, case, tmp_path):
    result, before, after, _ = _run(corpus, case.name, tmp_path)
    assert result["status"] != "crashed", result
    assert result["peak_mb"] < PEAK_MB, result
    assert result["seconds"] < SECONDS, result
    assert result["english"], "every problem has an English message too"
    if case.refused:
        assert result["status"] == "rejected", result
        text = " ".join(result["messages"])
        assert case.refused in text, result["messages"]
        assert after == before, "a refused file changed the store"
    else:
        assert result["status"] == "loaded", result
        assert result["cell_problems"] == case.cell_problems, result["messages"]
        assert after["import_batches"][0] == before["import_batches"][0] + 1


def test_formula_errors_are_reported_per_cell_with_the_error_value(corpus, tmp_path):
    files, base = corpus
    db = tmp_path / "yaad.duckdb"
    shutil.copy(base, db)
    with Store(db) as store:
        analysis = analyse(files["errors.xlsx"].read_bytes(), "errors.xlsx", store)
    found = {p.row: p for p in analysis.errors}
    assert set(found) == set(H.FORMULA_ERROR_ROWS)
    for row, value in H.FORMULA_ERROR_ROWS.items():
        assert value in found[row].message_he and value in found[row].message_en
        assert found[row].column is not None  # the cell, not just the row
    assert analysis.sheets[0].rows_valid == 1  # the one good row


def test_control_and_bidi_characters_are_stripped_from_stored_text(corpus, tmp_path):
    for name, topics in (("controls.csv", H.CONTROL_TOPICS), ("controls.xlsx", H.XLSX_CONTROL_TOPICS)):
        (tmp_path / name).mkdir()
        result, _, _, db = _run(corpus, name, tmp_path / name)
        assert result["status"] == "loaded"
        with Store(db) as store:
            stored = store.query_df(
                "SELECT topic FROM trainings WHERE batch_id = ? ORDER BY source_row", [result["batch_id"]]
            )["topic"].tolist()
        assert len(stored) == len(topics)
        assert all(H.stored_text_is_clean(t) for t in stored), stored
        assert stored[0] == "evil.exe סדנת"  # the visible text stays, in logical order
        assert "סדנה" in stored[3] and "\u200b" not in stored[3]


def test_injection_strings_are_stored_as_plain_text_and_exported_as_text(corpus, tmp_path):
    from exports.excel import table_to_excel

    result, _, _, db = _run(corpus, "injection.xlsx", tmp_path)
    assert result["status"] == "loaded"
    with Store(db) as store:
        stored = store.query_df(
            "SELECT topic FROM trainings WHERE batch_id = ? ORDER BY source_row", [result["batch_id"]]
        )
        assert store.query_one("SELECT count(*) FROM programs") > 0  # nothing was executed
    assert stored["topic"].tolist() == list(H.INJECTION_TOPICS.values())
    data = table_to_excel(stored)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet and b"<f " not in sheet  # no formula in the export
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = {ws.cell(row=i, column=1).value: ws.cell(row=i, column=1) for i in range(2, ws.max_row + 1)}
    for text in ("=cmd|' /C calc'!A0", "@SUM(1)", "+1+1", "-2+3"):
        assert cells[text].data_type == "s" and cells[text].quotePrefix, text


def test_every_refusal_names_the_file(corpus, tmp_path):
    files, base = corpus
    db = tmp_path / "yaad.duckdb"
    shutil.copy(base, db)
    with Store(db) as store:
        for case in H.CORPUS:
            if not case.refused:
                continue
            analysis = analyse(files[case.name].read_bytes(), case.name, store)
            assert all(p.file == case.name for p in analysis.problems)
            for p in analysis.file_problems:  # a whole-file refusal says which file in its text
                assert case.name in p.message_he and case.name in p.message_en, p


# -- the byte limit ---------------------------------------------------------------------------------
def test_the_ingest_byte_limit_is_streamlits_upload_limit():
    text = (Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text()
    mb = int(next(line for line in text.splitlines() if line.startswith("maxUploadSize")).split("=")[1])
    assert MAX_FILE_BYTES == mb * 1024 * 1024 == upload_limit_bytes()


def test_upload_limit_falls_back_when_the_config_is_missing(tmp_path):
    assert upload_limit_bytes(tmp_path / "none.toml") == 50 * 1024 * 1024
    (tmp_path / "c.toml").write_text("[server]\nmaxUploadSize = 7\n")
    assert upload_limit_bytes(tmp_path / "c.toml") == 7 * 1024 * 1024


def test_an_oversized_file_is_refused_before_it_is_read(store, tmp_path, monkeypatch):
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:  # a sparse file: over the limit on disk, nothing to parse
        fh.write("יישוב,שנה,מקור,סכום\n".encode())
        fh.truncate(MAX_FILE_BYTES + 1)
    reads = []
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or b"")
    version = store.data_version()
    result = import_file(big, store)
    assert result.status == "rejected" and not reads
    assert "big.csv" in result.errors[0]["message"] and "גדול מדי" in result.errors[0]["message"]
    assert store.data_version() == version
    with pytest.raises(ReadError, match="too large"):
        read_workbook(b"x" * (MAX_FILE_BYTES + 1), "big.csv")


def test_the_cli_refuses_an_oversized_file_with_exit_code_1(tmp_path):
    import subprocess
    import sys

    big = tmp_path / "big.xlsx"
    with open(big, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", str(big), "--db", str(tmp_path / "y.duckdb"), "--json"],
        cwd=H.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "גדול מדי" in proc.stdout and "Traceback" not in proc.stderr


def test_error_values_and_long_text_are_caught_in_a_long_free_text_column(store):
    """Also when a text column has hundreds of distinct values (where cleaning may take a fast path)."""
    topics = [f"נושא {i}" for i in range(400)]
    topics[10], topics[20] = "#REF!", "ב" * 40_000
    data = H._trainings_csv(topics)
    analysis = analyse(data, "many.csv", store)
    cells = sorted((p.row, p.column) for p in analysis.errors)
    assert cells == [(12, "נושא"), (22, "נושא")], [p.message_en for p in analysis.errors]
