"""The odd-file corpus (tests/odd_files.py): every form loads with the rows asserted, or is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from ingest.pipeline import analyse, commit
from tests import odd_files as O


def _load(store, data, name, **kw):
    analysis = analyse(data, name, store, locality=kw.pop("locality", None))
    result = commit(analysis, store, user="test", **kw)
    return analysis, result


def _dates(series):
    return [v.date() if hasattr(v, "date") else v for v in series]


def test_title_rows_merged_cells_and_totals(store):
    analysis, result = _load(store, O.title_rows_and_merged_cells(), "trainings.xlsx")
    assert result.status == "loaded", result.errors
    assert analysis.sheets[0].header_row == 4
    assert analysis.sheets[0].skipped_totals == 1
    rows = store.query_df("SELECT * FROM trainings ORDER BY source_row")
    assert rows["authority_code"].tolist() == [2630, 2630, 2630]  # merged-down locality filled
    assert rows["training_kind"].tolist() == ["workshop", "study_day", "course"]
    assert _dates(rows["training_date"]) == [dt.date(2025, 1, 5), dt.date(2025, 2, 20), dt.date(2025, 3, 9)]
    assert rows["participants"].tolist() == [12, 40, 15]
    assert rows["source_row"].tolist() == [5, 6, 7]


def test_english_headers_and_hebrew_synonyms(store):
    _analysis, result = _load(store, O.english_headers_and_synonyms(), "export.xlsx")
    assert result.status == "loaded", result.errors
    programs = store.query_df("SELECT * FROM programs")
    assert programs[["authority_code", "program_name", "operator", "flagship", "status"]].values.tolist() == [
        [2630, "Youth at risk", "jdc", True, "active"]
    ]
    budgets = store.query_df("SELECT source, amount, year FROM budgets ORDER BY amount")
    assert budgets.values.tolist() == [
        ["authority", 30000.0, 2025],
        ["philanthropy", 45500.0, 2025],
        ["welfare", 120000.0, 2025],
    ]


def test_dates_every_way(store):
    _, result = _load(store, O.dates_every_way(), "dates.xlsx")
    assert result.status == "loaded", result.errors
    rows = store.query_df("SELECT training_date FROM trainings ORDER BY source_row")
    assert _dates(rows["training_date"]) == O.DATES_EXPECTED


def test_periods_every_way(store):
    _, result = _load(store, O.periods_every_way(), "vol.xlsx")
    assert result.status == "loaded", result.errors
    rows = store.query_df(
        "SELECT period, period_kind, volunteers, new_volunteers, hours, authority_code "
        "FROM volunteers ORDER BY source_row"
    )
    assert list(zip(rows["period"], rows["period_kind"], strict=True)) == O.PERIODS_EXPECTED
    assert rows["volunteers"].tolist() == [1200, 80, 12, 10, 150]
    assert rows["hours"].iloc[0] == 450.5
    assert set(rows["authority_code"]) == {240}


def test_clusters_keep_only_whether_roles_are_filled(store):
    _, result = _load(store, O.clusters_yes_no(), "clusters.xlsx")
    assert result.status == "loaded", result.errors
    rows = store.query_df("SELECT * FROM clusters ORDER BY source_row")
    assert rows["has_coordinator"].tolist() == [True, True, True]
    assert rows["has_authority_rep"].tolist() == [True, False, True]
    assert rows["has_ngo_rep"].tolist() == [False, True, True]
    assert rows["work_plan"].tolist() == [True, False, True]
    assert rows["locality_code"].iloc[2] == 1112 and set(rows["authority_code"]) == {10056}
    dump = rows.to_csv()
    assert not any(name in dump for name in O.CLUSTER_NAMES)


def test_csv_windows_1255_with_semicolons(store):
    _, result = _load(store, O.csv_windows_1255_semicolons(), "budget.csv")
    assert result.status == "loaded", result.errors
    rows = store.query_df("SELECT authority_code, source, amount FROM budgets ORDER BY amount")
    assert rows.values.tolist() == [[2630, "philanthropy", 300.0], [2630, "welfare", 1250.0]]


def test_csv_utf8_bom_with_tabs(store):
    _, result = _load(store, O.csv_utf8_bom_tabs(), "budget.csv")
    assert result.status == "loaded", result.errors
    assert store.query_df("SELECT authority_code, amount FROM budgets").values.tolist() == [[7700, 700.0]]


def test_ods(store):
    _, result = _load(store, O.ods_partnerships(), "p.ods")
    assert result.status == "loaded", result.errors
    rows = store.query_df("SELECT partnership_name, level, status, start_date FROM partnerships ORDER BY 1")
    assert rows["level"].tolist() == ["cooperation", "coordination"]
    assert rows["status"].tolist() == ["active", "active"]


def test_xls(store):
    _, result = _load(store, O.xls_programs(), "legacy.xls")
    assert result.status == "loaded", result.errors
    rows = store.query_df("SELECT authority_code, program_name, operator, status FROM programs ORDER BY 2")
    assert rows.values.tolist() == [
        [2200, "גיל הזהב", "authority", "establishing"],
        [2200, "הורים וילדים", "jdc", "active"],
    ]


def test_locality_variants_and_suggestions(store):
    analysis = analyse(O.locality_variants(), "loc.xlsx", store)
    table = analysis.sheets[0].localities.set_index("raw")
    for raw, expected in zip([r[0] for r in _rows(O.locality_variants())], O.LOCALITY_EXPECTED, strict=True):
        if raw == "בית יצחק":
            assert table.loc[raw, "authority_code"] > 10000  # a settlement in a regional council
        elif expected is None:
            continue
        else:
            key = " ".join(raw.split())
            assert table.loc[key, "authority_code"] == expected, raw
    errors = analysis.errors
    assert len(errors) == 1
    assert errors[0].value == "דימונא" and "אולי: דימונה" in errors[0].message_he


def _rows(data):
    import io

    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    return [r for r in ws.iter_rows(min_row=2, values_only=True)]


def test_every_problem_is_reported_with_row_column_and_value(store):
    analysis = analyse(O.with_errors(), "bad.xlsx", store)
    found = {(p.row, p.column) for p in analysis.errors}
    assert found == {(3, "תאריך"), (4, "סוג"), (5, "משתתפים"), (6, "יישוב"), (7, None), (8, "תאריך")}
    by_row = {p.row: p for p in analysis.errors}
    assert "הרצאה" in by_row[4].message_he and "סדנה" in by_row[4].message_he
    assert "Allowed" in by_row[4].message_en
    assert "שורה כפולה" in by_row[7].message_he
    assert "מחוץ לטווח" in by_row[8].message_he
    result = commit(analysis, store, user="t")
    assert result.status == "rejected"
    assert store.query_one("SELECT count(*) FROM trainings") == 0
    assert {(e["row"], e["column"]) for e in result.errors} == found


def test_skip_invalid_loads_only_valid_rows(store):
    result = commit(analyse(O.with_errors(), "bad.xlsx", store), store, user="t", skip_invalid=True)
    assert result.status == "loaded"
    assert store.query_df("SELECT topic, source_row FROM trainings").values.tolist() == [["טובה", 2]]
    assert len(result.errors) == 6  # the rows left out are still reported


@pytest.mark.parametrize("file_name", sorted(O.HOSTILE))
def test_hostile_files_are_refused_with_a_message_and_store_unchanged(store, file_name):
    build, expected = O.HOSTILE[file_name]
    version = store.data_version()
    analysis = analyse(build(), file_name, store)
    result = commit(analysis, store, user="t", skip_invalid=True)
    assert result.status == "rejected"
    messages = " ".join(e["message"] for e in result.errors)
    assert expected in messages
    assert file_name in messages
    assert all(p.message_en for p in analysis.problems)
    assert store.data_version() == version
    assert store.query_one("SELECT count(*) FROM import_batches") == 0


def test_sheet_without_locality_column_takes_the_chosen_locality(store):
    data = O.xlsx({"x": [["תאריך", "נושא", "סוג"], ["05/01/2025", "סדנה", "סדנה"]]})
    refused = commit(analyse(data, "t.xlsx", store), store, user="t")
    assert refused.status == "rejected"
    assert "--locality" in refused.errors[0]["message"]
    _, result = _load(store, data, "t.xlsx", locality="ק. גת")
    assert result.status == "loaded"
    assert store.query_one("SELECT authority_code FROM trainings") == 2630
