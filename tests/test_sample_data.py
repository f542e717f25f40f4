"""The sample-data generator: deterministic, committed output current, and the story in the cells.

The checks that read workbooks do so with openpyxl and the registries only, never with the
generator's own helpers, so a bug in the generator cannot hide itself.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ingest.registry import category_lookup, datasets, header_key
from sample_data import generate as gen
from store.reference import read_reference

SAMPLE_DIR = Path(gen.__file__).resolve().parent
WORKBOOKS = SAMPLE_DIR / "workbooks"
LOCALITY_FILES = [f"{p.slug}.xlsx" for p in gen.STORY]
SHEET_DATASET = {
    "תוכניות": "programs",
    "נוכחות במפגשים": "meetings",
    "שיתופי פעולה": "partnerships",
    "מתנדבים": "volunteers",
    "הכשרות": "trainings",
    "תקציב": "budgets",
    "אשכולות": "clusters",
}


# -- reading workbooks independently -------------------------------------------------------------


def cell_values(path: Path) -> dict[str, list[tuple]]:
    wb = load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()


def folder_values(folder: Path) -> dict[str, dict[str, list[tuple]]]:
    return {p.name: cell_values(p) for p in sorted(folder.glob("*.xlsx"))}


def as_date(value: object) -> dt.date | None:
    """Excel dates, and dates typed as 29/01/2025 or 29.1.25."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    match = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{2}|\d{4})", str(value or "").strip())
    if not match:
        return None
    day, month, year = (int(x) for x in match.groups())
    return dt.date(year + 2000 if year < 100 else year, month, day)


def table(rows: list[tuple], dataset: str) -> tuple[dict[str, int], list[tuple]]:
    """(column name -> index, data rows) below the first row that reads as the dataset's header."""
    keys: dict[str, list[str]] = defaultdict(list)
    for col in datasets()[dataset].columns:
        for key in col.header_keys():
            keys[key].append(col.name)
    for i, row in enumerate(rows):
        found = {}
        for j, cell in enumerate(row):
            names = keys.get(header_key(cell)) if cell is not None else None
            if names:
                assert len(names) == 1, f"header {cell!r} is ambiguous in {dataset}: {names}"
                found[names[0]] = j
        if len(found) >= 2:
            body = [r for r in rows[i + 1 :] if any(v is not None for v in r)]
            return found, body
    raise AssertionError(f"no {dataset} header found")


def is_totals(row: tuple) -> bool:
    return str(row[0] or "").strip().startswith(('סה"כ', "סה״כ"))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fresh")
    gen.generate(out)
    return out


@pytest.fixture(scope="module")
def committed() -> dict[str, dict[str, list[tuple]]]:
    return folder_values(WORKBOOKS)


# -- determinism and the committed copy -----------------------------------------------------------


def test_same_seed_writes_the_same_cells_and_bytes(fresh, tmp_path):
    gen.generate(tmp_path)
    assert folder_values(tmp_path) == folder_values(fresh)
    for path in sorted(fresh.glob("*.xlsx")):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_another_seed_writes_other_cells(fresh, tmp_path):
    gen.generate(tmp_path, seed=7)
    ours, theirs = folder_values(fresh), folder_values(tmp_path)
    assert ours.keys() == theirs.keys()
    changed = [name for name in LOCALITY_FILES if ours[name] != theirs[name]]
    assert changed == LOCALITY_FILES


def test_committed_workbooks_equal_a_fresh_generation(fresh, committed):
    assert committed == folder_values(fresh), "regenerate with: python -m sample_data.generate"


# -- shape of the committed sample --------------------------------------------------------------


def test_every_locality_has_its_workbook_with_its_sheets(committed):
    assert set(committed) == {*LOCALITY_FILES, "national_attributes.xlsx"}
    all_sheets = list(SHEET_DATASET)
    for name in LOCALITY_FILES:
        expected = all_sheets.copy()
        if name == "or_akiva.xlsx":
            expected.remove("הכשרות")
        if name == "sderot.xlsx":
            expected.remove("מתנדבים")
        assert list(committed[name]) == expected, name


def test_sample_folder_stays_under_2_mb():
    files = [p for p in SAMPLE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert sum(p.stat().st_size for p in files) < 2_000_000


def test_national_attributes_give_every_locality_a_cohort_and_a_peer_group(committed):
    rows = committed["national_attributes.xlsx"]["מאפייני רשויות"]
    assert rows[0] == ("יישוב", "מאפיין", "ערך")
    pairs = {(r[0], r[1]): r[2] for r in rows[1:]}
    for p in gen.STORY:
        assert pairs[(p.name, "מחזור")] in ("א", "ב")
        assert pairs[(p.name, "קבוצת השוואה")]


def test_every_sheet_reads_with_the_registry(committed):
    """Each header names one column, required columns are there, and each data row names a locality."""
    for name in LOCALITY_FILES:
        for sheet, rows in committed[name].items():
            dataset = SHEET_DATASET[sheet]
            cols, body = table(rows, dataset)
            header_row = next(r for r in rows if any(header_key(v) in _keys(dataset) for v in r if v))
            unknown = [v for v in header_row if v is not None and header_key(v) not in _keys(dataset)]
            assert unknown in ([], ["הערות"]), (name, sheet, unknown)
            missing = {c.name for c in datasets()[dataset].required} - set(cols)
            assert not missing, (name, sheet, missing)
            data = [r for r in body if not is_totals(r)]
            assert data, (name, sheet)
            assert all(r[cols["locality"]] for r in data), (name, sheet)


def _keys(dataset: str) -> set[str]:
    return {k for c in datasets()[dataset].columns for k in c.header_keys()}


def test_no_date_is_after_today_and_2026_runs_to_autumn(committed):
    latest = dt.date(2000, 1, 1)
    for name in LOCALITY_FILES:
        for rows in committed[name].values():
            for row in rows:
                for value in row:
                    day = as_date(value) if not isinstance(value, int) else None
                    if day:
                        assert day <= dt.date(2026, 11, 22), (name, value)
                        latest = max(latest, day)
    assert latest >= dt.date(2026, 10, 1)


def test_messy_forms_are_present(committed):
    """The importer's test bed: spellings, text dates, title and totals rows, both attendance forms."""
    localities = {
        name: {str(r[0]).strip() for rows in committed[name].values() for r in rows if r and r[0]}
        for name in LOCALITY_FILES
    }
    assert {"ק. גת", "קרית גת", "קריית גת"} <= localities["kiryat_gat.xlsx"]
    assert "יוקנעם" in localities["yokneam.xlsx"]
    assert {"מ.א. משגב", "מועצה אזורית משגב", "יודפת"} <= localities["misgav.xlsx"]
    all_values = [v for name in LOCALITY_FILES for rows in committed[name].values() for r in rows for v in r]
    assert any(isinstance(v, str) and re.fullmatch(r"\d{2}/\d{2}/\d{4}", v) for v in all_values)
    assert any(isinstance(v, str) and re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{2}", v) for v in all_values)
    assert any(isinstance(v, str) and v.startswith("רשימת תוכניות – עיריית עפולה") for v in all_values)
    assert any(isinstance(v, str) and v.startswith('סה"כ') for v in all_values)
    periods = {str(r[1]) for name in LOCALITY_FILES for r in committed[name].get("מתנדבים", [])}
    for pattern in (r"Q[1-4] \d{4}", r"רבעון [1-4] \d{4}", r"\d{4}-\d{2}", r"\d{4}"):
        assert any(re.fullmatch(pattern, p) for p in periods), pattern


def test_misgav_settlements_roll_up_to_the_council():
    ref = read_reference()
    misgav = set(ref.loc[ref["municipal_status_id"] == 56, "name"].str.strip())
    profile = gen.STORY_BY_SLUG["misgav"]
    assert set(profile.settlements) <= misgav


def test_participants_recur_across_meetings(committed):
    cols, body = table(committed["netanya.xlsx"]["נוכחות במפגשים"], "meetings")
    dates_by_person = defaultdict(set)
    for row in body:
        dates_by_person[row[cols["participant_name"]]].add(as_date(row[cols["meeting_date"]]))
    assert max(len(d) for d in dates_by_person.values()) >= 10
    cols, _ = table(committed["afula.xlsx"]["נוכחות במפגשים"], "meetings")
    assert "participants" in cols and "participant_name" not in cols


def test_hadera_program_list_is_stale_and_netanya_is_not(committed):
    cutoff = dt.date(2026, 11, 22) - dt.timedelta(days=183)
    for name, stale in (("hadera.xlsx", True), ("netanya.xlsx", False)):
        cols, body = table(committed[name]["תוכניות"], "programs")
        updated = [as_date(r[cols["last_updated"]]) for r in body if not is_totals(r)]
        assert (max(updated) < cutoff) is stale, name


# -- the story table ------------------------------------------------------------------------------


def test_story_round_tables_equal_the_meetings_in_the_workbooks(committed):
    round_table = category_lookup("meeting_type")
    for profile in gen.STORY:
        cols, body = table(committed[f"{profile.slug}.xlsx"]["נוכחות במפגשים"], "meetings")
        days_by_year: dict[int, set[dt.date]] = defaultdict(set)
        for row in body:
            kind = row[cols["meeting_type"]]
            if kind and round_table.get(header_key(kind)) == "round_table":
                day = as_date(row[cols["meeting_date"]])
                assert day is not None, row
                days_by_year[day.year].add(day)
        counted = {year: len(days_by_year.get(year, ())) for year in range(2023, 2027)}
        assert counted == profile.round_tables, profile.slug


def test_round_table_counts_tell_a_varied_story():
    values = {n for p in gen.STORY for n in p.round_tables.values()}
    assert {0, 1, 2, 3} <= values
    assert max(values) >= 4
    strong = [gen.STORY_BY_SLUG[s] for s in ("netanya", "yokneam")]
    assert all(n >= 3 for p in strong for n in p.round_tables.values())
    assert all(n >= 2 for p in strong for n in p.new_partnerships.values())
    behind = [gen.STORY_BY_SLUG[s] for s in ("arad", "dimona")]
    assert all(n <= 2 for p in behind for n in p.round_tables.values())


def test_story_trainings_partnerships_and_programs_equal_the_workbooks(committed):
    years = range(2023, 2027)
    kinds, operators = category_lookup("training_kind"), category_lookup("operator")
    for profile in gen.STORY:
        sheets = committed[f"{profile.slug}.xlsx"]
        if "הכשרות" in sheets:
            cols, body = table(sheets["הכשרות"], "trainings")
            trainings: dict[int, int] = defaultdict(int)
            needs = set()
            for row in body:
                if is_totals(row):
                    continue
                year = as_date(row[cols["training_date"]]).year
                if kinds[header_key(row[cols["training_kind"]])] == "needs_assessment":
                    needs.add(year)
                else:
                    trainings[year] += 1
            assert {y: trainings.get(y, 0) for y in years} == profile.trainings, profile.slug
            assert tuple(sorted(needs)) == profile.needs_assessment, profile.slug
        cols, body = table(sheets["שיתופי פעולה"], "partnerships")
        started: dict[int, int] = defaultdict(int)
        for row in body:
            started[as_date(row[cols["start_date"]]).year] += 1
        assert {y: started.get(y, 0) for y in years} == profile.new_partnerships, profile.slug
        cols, body = table(sheets["תוכניות"], "programs")
        jdc: dict[int, int] = defaultdict(int)
        for row in body:
            if not is_totals(row) and operators[header_key(row[cols["operator"]])] == "jdc":
                jdc[as_date(row[cols["start_date"]]).year] += 1
        assert {y: jdc.get(y, 0) for y in years} == profile.new_jdc_programs, profile.slug


def test_readme_carries_the_story_table():
    assert gen.story_markdown() in (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")


# -- registry consistency -------------------------------------------------------------------------


def test_header_variants_are_synonyms_of_exactly_their_column():
    for variant, by_dataset in gen.HEADER_VARIANTS.items():
        for dataset, headers in by_dataset.items():
            for column, text in headers.items():
                matches = [c.name for c in datasets()[dataset].columns if header_key(text) in c.header_keys()]
                assert matches == [column], (variant, dataset, text, matches)
    period = datasets()["volunteers"].column("period")
    assert all(header_key(h) in period.header_keys() for h in gen.PERIOD_HEADERS.values())


def test_category_spellings_are_known():
    for profile in gen.STORY:
        for key, text in profile.labels.items():
            category_set, code = key.split(".")
            assert category_lookup(category_set)[header_key(text)] == code, (profile.slug, key)


def test_no_clock_and_no_global_random_in_the_generator():
    source = Path(gen.__file__).read_text(encoding="utf-8")
    assert ".now(" not in source and ".today(" not in source
    assert not re.search(r"\brandom\.(random|randint|choice|choices|sample|shuffle|uniform)\(", source)


# -- national mode and CLI ---------------------------------------------------------------------


def test_national_mode_writes_one_workbook_per_authority(tmp_path):
    paths = gen.generate(tmp_path, national=True, years=range(2025, 2027))
    localities = [p for p in paths if p.name != "national_attributes.xlsx"]
    assert len(localities) == len({p.name for p in localities}) == 255
    assert paths[-1].name == "national_attributes.xlsx"
    rows = cell_values(paths[-1])["מאפייני רשויות"]
    assert len(rows) == 1 + 2 * 255
    netanya = cell_values(tmp_path / "netanya.xlsx")
    cols, body = table(netanya["נוכחות במפגשים"], "meetings")
    years = {as_date(r[cols["meeting_date"]]).year for r in body}
    assert years == {2025, 2026}


def test_national_mode_refuses_to_write_into_the_repository():
    with pytest.raises(ValueError, match="repository"):
        gen.generate(SAMPLE_DIR / "national", national=True, years=range(2026, 2027))
    assert not (SAMPLE_DIR / "national").exists()


def test_cli_parses_years_and_has_help(capsys):
    assert gen.parse_years("2017-2026") == range(2017, 2027)
    assert gen.parse_years("2026") == range(2026, 2027)
    with pytest.raises(SystemExit) as exit_info:
        gen.main(["--help"])
    assert exit_info.value.code == 0
    assert "--national" in capsys.readouterr().out


def test_cli_writes_into_out(tmp_path, capsys):
    assert gen.main(["--out", str(tmp_path), "--years", "2026"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path)
    assert {p.name for p in tmp_path.glob("*.xlsx")} == {*LOCALITY_FILES, "national_attributes.xlsx"}
