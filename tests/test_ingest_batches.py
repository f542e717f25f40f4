"""Batches: supersede per replace rule, diff preview, rollback restores exactly, targets, history, report."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

from ingest.pipeline import analyse, commit, import_paths
from ingest.report import problems_to_excel
from store.batches import BatchError, list_batches, rollback_batch
from tests import odd_files as O

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("programs", "meetings", "meeting_participants", "trainings", "targets", "import_batches")

H = ["יישוב", "תאריך", "נושא", "סוג", "משתתפים"]


def _trainings(rows):
    return O.xlsx({"הכשרות": [H, *rows]})


def _snapshot(store):
    out = {}
    for t in TABLES:
        df = store.query_df(f"SELECT * FROM {t}")
        df = df.drop(
            columns=[
                c
                for c in ("imported_at", "rolled_back_at", "rolled_back_by", "status", "set_at")
                if c in df.columns and t != "import_batches"
            ]
        )
        out[t] = df.sort_values(list(df.columns[:3])).reset_index(drop=True).to_csv()
    return out


def _load(store, data, name="f.xlsx", user="u"):
    return commit(analyse(data, name, store), store, user=user)


def test_years_rule_replaces_only_the_years_the_new_sheet_covers(store):
    _load(
        store,
        _trainings(
            [
                ["ערד", "01/03/2024", "א", "סדנה", 5],
                ["ערד", "01/03/2025", "ב", "סדנה", 5],
                ["דימונה", "01/03/2025", "ג", "סדנה", 5],
            ]
        ),
    )
    analysis = analyse(
        _trainings([["ערד", "01/03/2025", "ב", "סדנה", 9], ["ערד", "02/04/2025", "ד", "קורס", 5]]),
        "new.xlsx",
        store,
    )
    diff = analysis.diff.set_index(["dataset", "authority_code"])
    assert diff.loc[("trainings", 2560), ["added", "changed", "removed"]].tolist() == [1, 1, 0]
    result = commit(analysis, store, user="u")
    assert result.status == "loaded"
    current = store.query_df(
        "SELECT authority_code, topic, participants FROM trainings WHERE superseded_by IS NULL ORDER BY 1, 2"
    )
    assert current.values.tolist() == [[2200, "ג", 5], [2560, "א", 5], [2560, "ב", 9], [2560, "ד", 5]]
    assert store.query_one("SELECT count(*) FROM trainings WHERE superseded_by = ?", [result.batch_id]) == 1


def test_snapshot_rule_replaces_all_of_the_authoritys_rows(store):
    head = ["יישוב", "שם התוכנית", "סטטוס"]
    _load(
        store, O.xlsx({"p": [head, ["ערד", "א", "פעילה"], ["ערד", "ב", "פעילה"], ["דימונה", "ג", "פעילה"]]})
    )
    analysis = analyse(O.xlsx({"p": [head, ["ערד", "א", "הסתיימה"]]}), "v2.xlsx", store)
    diff = analysis.diff.set_index(["dataset", "authority_code"])
    assert diff.loc[("programs", 2560), ["added", "changed", "removed"]].tolist() == [0, 1, 1]
    commit(analysis, store, user="u")
    current = store.query_df(
        "SELECT authority_code, program_name, status FROM programs WHERE superseded_by IS NULL ORDER BY 1, 2"
    )
    assert current.values.tolist() == [[2200, "ג", "active"], [2560, "א", "ended"]]


def test_rollback_restores_exactly_the_state_before(store):
    _load(store, _trainings([["ערד", "01/03/2025", "א", "סדנה", 5]]), "one.xlsx")
    att = [
        ["יישוב", "תאריך", "סוג מפגש", "שם משתתף"],
        ["ערד", "01/02/2025", "שולחן עגול", "א ב"],
        ["ערד", "01/02/2025", "שולחן עגול", "ג ד"],
    ]
    _load(store, O.xlsx({"att": att}), "att.xlsx")
    before = _snapshot(store)
    second = _load(
        store,
        O.xlsx(
            {
                "t": [H, ["ערד", "05/03/2025", "ב", "קורס", 7]],
                "att": [*att[:2], ["ערד", "01/02/2025", "שולחן עגול", "ה ו"]],
            }
        ),
        "two.xlsx",
    )
    assert second.status == "loaded"
    assert store.query_one("SELECT count(*) FROM trainings WHERE superseded_by IS NULL") == 1
    assert store.query_one("SELECT count(*) FROM meeting_participants WHERE superseded_by IS NULL") == 2
    rollback_batch(store, second.batch_id, "admin")
    after = _snapshot(store)
    for t in TABLES[:-1]:
        assert after[t] == before[t], t
    history = list_batches(store)
    assert history.set_index("batch_id").loc[second.batch_id, "status"] == "rolled_back"
    with pytest.raises(BatchError):
        rollback_batch(store, second.batch_id, "admin")


def test_rollback_of_a_replaced_batch_is_refused_until_the_later_one_is_undone(store):
    first = _load(store, _trainings([["ערד", "01/03/2025", "א", "סדנה", 5]]))
    second = _load(store, _trainings([["ערד", "01/03/2025", "א", "סדנה", 6]]))
    with pytest.raises(BatchError) as exc:
        rollback_batch(store, first.batch_id, "admin")
    assert str(second.batch_id) in exc.value.message_he
    rollback_batch(store, second.batch_id, "admin")
    rollback_batch(store, first.batch_id, "admin")
    assert store.query_one("SELECT count(*) FROM trainings") == 0


def test_targets_sheet_versions_overrides_and_rollback_reopens_them(store):
    head = ["מזהה יעד", "שנה", "יישוב", "יעד מינימום", "יעד מקסימום"]
    first = _load(
        store,
        O.xlsx(
            {
                "יעדים": [
                    head,
                    ["round_table_meetings", 2025, None, 3, None],
                    ["round_table_meetings", 2025, "ערד", 4, 6],
                ]
            }
        ),
    )
    assert first.status == "loaded"
    second = _load(store, O.xlsx({"יעדים": [head, ["round_table_meetings", 2025, "ערד", 5, 6]]}))
    rows = store.query_df(
        "SELECT goal, year, authority_code, target_low, superseded_by, batch_id, set_by "
        "FROM targets ORDER BY target_id"
    )
    assert rows["authority_code"].isna().iloc[0] and rows["authority_code"].iloc[1] == 2560
    active = rows[rows["superseded_by"].isna()]
    assert sorted(active["target_low"].tolist()) == [3.0, 5.0]
    assert (rows["set_by"] == "u").all()
    again = _load(store, O.xlsx({"יעדים": [head, ["round_table_meetings", 2025, "ערד", 5, 6]]}))
    assert again.status == "unchanged"
    rollback_batch(store, second.batch_id, "admin")
    active = store.query_df("SELECT target_low FROM targets WHERE superseded_by IS NULL ORDER BY 1")
    assert active["target_low"].tolist() == [3.0, 4.0]


def test_report_marks_problem_cells_and_masks_names(store):
    rows = [
        ["יישוב", "תאריך", "סוג מפגש", "שם משתתף"],
        ["ערד", "31/02/2025", "שולחן עגול", "ישראל ישראלי"],
        ["ערד", "01/02/2025", "ישיבה", "שרה כהן"],
    ]
    analysis = analyse(O.xlsx({"נוכחות": rows}), "att.xlsx", store)
    data = problems_to_excel(analysis)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    listing = wb["בעיות"]
    assert listing.max_row == 3  # header + two problems
    copy = wb["נוכחות"]
    assert copy["B2"].fill.fgColor.rgb.endswith("FFC7CE") and "31/02/2025" in copy["B2"].comment.text
    assert copy["C3"].fill.fgColor.rgb.endswith("FFC7CE")
    assert copy["D2"].value == "•••" and copy["D1"].value == "שם משתתף"
    text = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value)
    assert "ישראלי" not in text and "שרה" not in text
    # also from a bare list of problems
    assert openpyxl.load_workbook(io.BytesIO(problems_to_excel(analysis.problems))).sheetnames == ["בעיות"]


def test_sample_workbooks_all_import_with_zero_errors(store):
    paths = sorted((ROOT / "sample_data" / "workbooks").glob("*.xlsx"))
    assert len(paths) == 12, "the committed sample workbooks are missing"
    for path in paths:
        analysis = analyse(path.read_bytes(), path.name, store)
        assert analysis.errors == [], (path.name, analysis.errors[:3])
        assert all(s.dataset for s in analysis.sheets), path.name
    results = import_paths(store, paths, user="sample")
    assert [r.status for r in results] == ["loaded"] * len(paths)
    assert store.query_one("SELECT count(DISTINCT authority_code) FROM programs") == len(paths) - 1
    assert [r.status for r in import_paths(store, paths)] == ["unchanged"] * len(paths)
