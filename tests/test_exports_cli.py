"""`python -m exports`: help text, templates, decks to PPTX/PDF, and the locked-database message."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from pptx import Presentation

from exports.cli import build_parser, main
from ingest.first_run import ensure_ready
from store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("cli")) / "x.duckdb"
    with Store(path) as s:
        assert ensure_ready(s) == 12
    return path


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "exports", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_every_command_and_option_has_help() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.dest}"


def test_template_command_writes_the_template(tmp_path: Path) -> None:
    out = tmp_path / "t" / "meetings.xlsx"
    assert main(["template", "meetings", "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert wb.worksheets[0].title == "נוכחות במפגשים"


def test_unknown_template_fails_with_the_known_list(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["template", "nope", "--out", str(tmp_path / "x.xlsx")]) == 1
    assert "meetings" in capsys.readouterr().err


def test_deck_needs_pptx_or_pdf(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert (
        main(["deck", "--national", "--year", "2025", "--db", str(db), "--out", str(tmp_path / "x.txt")]) == 1
    )
    assert ".pptx" in capsys.readouterr().err


def test_locality_deck_by_spelling_variant(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "kg.pptx"
    done = _run("deck", "--locality", "קרית גת", "--year", "2025", "--as-of", "2026-01-15",
                "--db", str(db), "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    prs = Presentation(io.BytesIO(out.read_bytes()))
    assert prs.slides[0].shapes[2].text_frame.text == "עמידה ביעדים – קריית גת"


def test_national_deck_as_pdf(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "national.pdf"
    done = _run(
        "deck", "--national", "--year", "2025", "--as-of", "2026-01-15", "--db", str(db), "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF-")


def test_all_localities_with_progress(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "decks"
    done = _run("deck", "--all-localities", "--year", "2025", "--as-of", "2026-01-15", "--db", str(db),
                "--out-dir", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    decks = sorted(out.glob("*.pptx"))
    assert len(decks) == 11
    assert "[11/11]" in done.stderr and "[1/11]" in done.stderr
    assert any("נתניה" in p.name for p in decks)


def test_unknown_locality_is_a_clear_error(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["deck", "--locality", "עיר שאינה קיימת", "--year", "2025", "--db", str(db),
                 "--out", str(tmp_path / "x.pptx")])  # fmt: skip
    assert code == 1
    assert "לא נמצאה" in capsys.readouterr().err


def test_locked_database_says_what_to_do(db: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked.duckdb"
    shutil.copy(db, locked)
    with Store(locked):  # this process holds the file, as the dashboard would
        done = _run(
            "deck", "--national", "--year", "2025", "--db", str(locked), "--out", str(tmp_path / "x.pptx")
        )
    assert done.returncode == 1
    assert "--db" in done.stderr and "wal" in done.stderr
    assert "Stop the server" in done.stderr and "עצרו את השרת" in done.stderr
    assert "Traceback" not in done.stderr
