"""End to end: realistic workbooks through analyse -> commit into a real DuckDB file."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import openpyxl

from ingest.pipeline import analyse, commit, import_paths

ROOT = Path(__file__).resolve().parent.parent


def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


PROGRAMS = [
    ["רשימת תוכניות - קריית גת 2025"],
    [],
    ["יישוב", "שם התוכנית", "גוף מפעיל", "תוכנית דגל", "תאריך התחלה", "סטטוס", "מס' משתתפים"],
    ["ק. גת", "תוכנית א", "ג׳וינט", "כן", "29/01/2017", "פעילה", "1,200"],
    ["קרית גת", "תוכנית ב", "רשות", "v", dt.date(2020, 3, 1), "בהקמה", 30],
    ["יוקנעם", "תוכנית ג", "עמותה", "x", "29.1.17", "phasing out", 12],
    ["מ.א. משגב", "תוכנית ד", "עמותה", "לא", "3 במרץ 2021", "הסתיימה", 5],
    ["יודפת", "תוכנית ה", "עמותה", "לא", 44000, "פעילה", 5],
    ['סה"כ', None, None, None, None, None, 1252],
]


def test_programs_sheet_with_title_rows_and_totals_loads_every_row(store):
    analysis = analyse(_xlsx({"תוכניות": PROGRAMS}), "gat.xlsx", store)
    sheet = analysis.sheets[0]
    assert sheet.dataset == "programs"
    assert sheet.header_row == 3
    assert sheet.skipped_totals == 1
    assert analysis.errors == []
    result = commit(analysis, store, user="tester")
    assert result.status == "loaded"
    rows = store.query_df(
        "SELECT authority_code, locality_code, program_name, operator, flagship, start_date, "
        "status, participants, "
        "source_row FROM programs WHERE superseded_by IS NULL ORDER BY source_row"
    )
    assert rows["authority_code"].tolist() == [2630, 2630, 240, 10056, 10056]
    assert rows["locality_code"].iloc[4] == 1112  # יודפת keeps the settlement
    assert rows["operator"].tolist() == ["jdc", "authority", "ngo", "ngo", "ngo"]
    assert rows["flagship"].tolist() == [True, True, False, False, False]
    assert [d.date() for d in rows["start_date"]] == [
        dt.date(2017, 1, 29),
        dt.date(2020, 3, 1),
        dt.date(2017, 1, 29),
        dt.date(2021, 3, 3),
        dt.date(2020, 6, 18),
    ]
    assert rows["participants"].tolist() == [1200, 30, 12, 5, 5]
    assert rows["source_row"].tolist() == [4, 5, 6, 7, 8]
    assert result.datasets["programs"]["rows"] == 5
    assert {loc["code"] for loc in result.datasets["programs"]["localities"]} == {2630, 240, 10056}


def test_reimport_is_unchanged_and_writes_nothing(store):
    data = _xlsx({"תוכניות": PROGRAMS})
    assert commit(analyse(data, "gat.xlsx", store), store, user="a").status == "loaded"
    version = store.data_version()
    again = commit(analyse(data, "gat-copy.xlsx", store), store, user="a")
    assert again.status == "unchanged"
    assert again.batch_id is None
    assert store.data_version() == version
    assert store.query_one("SELECT count(*) FROM import_batches") == 1


def test_participant_sheet_counts_distinct_people_and_stores_no_names(store):
    rows = [["יישוב", "תאריך", "סוג מפגש", "נושא", "שם משתתף", "ארגון", "מגזר"]]
    for day in ("01/02/2025", "01/03/2025"):
        for name in ("דנה כהן", "יוסי לוי", "דנה  כהן"):
            rows.append(["קריית גת", day, "שולחן עגול", "פתיחה", name, "עירייה", "רשות"])
    result = commit(analyse(_xlsx({"נוכחות": rows}), "att.xlsx", store), store, user="a")
    assert result.status == "loaded"
    meetings = store.query_df("SELECT meeting_date, meeting_type, participants FROM meetings ORDER BY 1")
    assert meetings["participants"].tolist() == [2, 2]
    assert meetings["meeting_type"].tolist() == ["round_table", "round_table"]
    people = store.query_df("SELECT DISTINCT person_key FROM meeting_participants")
    assert len(people) == 2
    # No name anywhere in the database file.
    for table in ("meetings", "meeting_participants", "import_batches", "store_meta"):
        dump = store.query_df(f"SELECT * FROM {table}").to_csv()
        assert "דנה" not in dump and "יוסי" not in dump


def test_import_paths_and_cli_json(store, tmp_path):
    path = tmp_path / "gat.xlsx"
    path.write_bytes(_xlsx({"תוכניות": PROGRAMS}))
    results = import_paths(store, [path], user="dash")
    assert [r.status for r in results] == ["loaded"]
    db = tmp_path / "cli.duckdb"
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", str(path), "--db", str(db), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload[0]["file"] == "gat.xlsx"
    assert payload[0]["status"] == "loaded"
    assert set(payload[0]) == {"file", "status", "datasets", "errors"}
    assert payload[0]["datasets"]["programs"]["rows"] == 5
