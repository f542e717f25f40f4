"""Roles and locality scope, enforced in the data layer: what each role sees, what is refused, the
crafted-file case, and the audit trail (issue 7)."""

from __future__ import annotations

import ast
import io
import shutil
from pathlib import Path

import openpyxl
import pytest

from exports.deck import locality_deck, national_deck
from exports.templates import LISTS_SHEET, template_workbook
from ingest.pipeline import analyse, commit
from metrics.engine import attainment, source_rows
from metrics.targets import set_goal_target
from store import Store, audit, batches, targets, users, views
from store.access import PERMISSIONS, ROLES, AccessDenied, User, can, require, scope_condition
from tests.access_fixtures import ARAD, NETANYA, PASSWORD, as_user

ROOT = Path(__file__).resolve().parent.parent
ADMIN, STAFF, MANAGER, VIEWER = (as_user(n) for n in ("admin", "staff", "arad", "netanya_viewer"))
MEETINGS = ["יישוב", "תאריך", "סוג מפגש", "נושא", "מספר משתתפים"]


@pytest.fixture
def db(tmp_path, sample_db) -> Store:
    """The sample store with one user per role (a copy per test)."""
    path = tmp_path / "yaad.duckdb"
    shutil.copy(sample_db, path)
    s = Store(path)
    yield s
    s.close()


def workbook(rows: list[list], sheet: str = "נוכחות במפגשים", header: list | None = None) -> bytes:
    """A one-sheet workbook: a header row, then `rows`."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header or MEETINGS)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def meetings_file(*localities: str) -> bytes:
    """Round tables in 2025 for each named locality, three per locality."""
    import datetime as dt

    return workbook(
        [
            [name, dt.date(2025, month, 14), "שולחן עגול", "תכנון", 12]
            for name in localities
            for month in (2, 5, 9)
        ]
    )


def audit_rows(store: Store, action: str, username: str | None = None) -> list[dict]:
    """Audit entries of one action (and user), newest first; the sample data's own are by 'sample-data'."""
    return audit.entries(store, ADMIN, action=action, username=username).to_dict("records")


# -- the role table ------------------------------------------------------------------------------
EXPECTED = {  # the issue's table, action by action
    "admin": {
        "read",
        "compare",
        "export",
        "upload",
        "rollback",
        "edit_targets",
        "manage_users",
        "view_audit",
    },
    "staff": {"read", "compare", "export", "edit_targets"},
    "manager": {"read", "export", "upload", "rollback"},
    "viewer": {"read"},
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_exactly_what_the_issue_says(role):
    user = User("x", role, None if role in ("admin", "staff") else frozenset({ARAD}))
    assert {a for a in PERMISSIONS if can(user, a)} == EXPECTED[role]
    for action in set(PERMISSIONS) - EXPECTED[role]:
        with pytest.raises(AccessDenied) as err:
            require(user, action)
        assert "אין לך הרשאה" in err.value.message_he and "not allowed" in err.value.message_en


def test_national_roles_always_see_all_and_scoped_roles_only_theirs():
    assert User("s", "staff", frozenset({ARAD})).sees_all  # a national role is never narrowed
    assert MANAGER.allows(ARAD) and not MANAGER.allows(NETANYA) and not MANAGER.allows(None)
    assert scope_condition(ADMIN) == "TRUE"
    assert scope_condition(MANAGER, "t.authority_code") == f"t.authority_code IN ({ARAD})"
    assert scope_condition(User("v", "viewer", frozenset())) == "FALSE"


# -- reads ---------------------------------------------------------------------------------------
def test_attainment_is_limited_to_the_users_localities(db):
    assert set(attainment(db, user=MANAGER)["locality_code"]) == {ARAD}
    assert set(attainment(db, user=VIEWER)["locality_code"]) == {NETANYA}
    assert len(set(attainment(db, user=STAFF)["locality_code"])) == 11
    # Asking for another locality explicitly gives nothing, not its rows.
    assert attainment(db, user=MANAGER, localities=[NETANYA]).empty


def test_locality_views_refuse_other_localities(db):
    assert set(views.authorities(db, user=MANAGER)["code"]) == {ARAD}
    assert len(views.authorities(db, user=STAFF)) > 200
    assert not views.locality_meetings(db, ARAD, user=MANAGER).empty
    for fn in (views.locality_programs, views.locality_meetings, views.locality_partnerships):
        with pytest.raises(AccessDenied):
            fn(db, NETANYA, user=MANAGER)
        assert fn(db, NETANYA, user=VIEWER) is not None
    assert set(views.freshness(db, user=MANAGER)["locality_code"]) == {ARAD}
    assert set(views.missing_datasets(db, user=VIEWER)["locality_code"]) <= {NETANYA}
    assert len(set(views.freshness(db, user=STAFF)["locality_code"])) == 11


def test_rows_behind_a_number_refuse_other_localities(db):
    assert not source_rows(db, "round_table_meetings", ARAD, "2025", user=MANAGER).empty
    with pytest.raises(AccessDenied):
        source_rows(db, "round_table_meetings", NETANYA, "2025", user=MANAGER)


def test_import_history_shows_only_batches_of_the_users_localities(db):
    everything = batches.list_batches(db, user=ADMIN)
    assert len(everything) == 12
    mine = batches.list_batches(db, user=MANAGER)
    assert list(mine["file_name"]) == ["arad.xlsx"]  # not Netanya's, not the national attributes file
    assert list(batches.list_batches(db, user=VIEWER)["file_name"]) == ["netanya.xlsx"]


# -- writes: rollback, targets -------------------------------------------------------------------
def test_rollback_is_limited_to_roles_and_localities(db):
    ids = dict(
        zip(*(batches.list_batches(db, user=ADMIN)[c] for c in ("file_name", "batch_id")), strict=True)
    )
    with pytest.raises(AccessDenied):
        batches.rollback_batch(db, int(ids["netanya.xlsx"]), user=MANAGER)
    with pytest.raises(AccessDenied):  # touches every locality
        batches.rollback_batch(db, int(ids["national_attributes.xlsx"]), user=MANAGER)
    for user in (VIEWER, STAFF):
        with pytest.raises(AccessDenied):
            batches.rollback_batch(db, int(ids["netanya.xlsx"]), user=user)
    assert db.query_one("SELECT count(*) FROM import_batches WHERE status = 'rolled_back'") == 0
    batches.rollback_batch(db, int(ids["arad.xlsx"]), user=MANAGER)
    assert db.query_one("SELECT rolled_back_by FROM import_batches WHERE file_name = 'arad.xlsx'") == "arad"
    [entry] = audit_rows(db, "rollback")
    assert (entry["username"], entry["target"]) == ("arad", "arad.xlsx")


def test_targets_are_changed_only_by_staff_and_admin_and_audited(db):
    for user in (MANAGER, VIEWER):
        with pytest.raises(AccessDenied):
            set_goal_target(db, "round_table_meetings", 2025, None, 1.0, None, user=user)
        with pytest.raises(AccessDenied):
            targets.set_target(db, "round_table_meetings", 2025, ARAD, 1.0, None, user)
    version = set_goal_target(db, "round_table_meetings", 2025, None, 1.0, None, user=STAFF, note="פיילוט")
    assert db.query_one("SELECT set_by FROM targets WHERE target_id = ?", [version]) == "staff"
    [entry] = audit_rows(db, "target")
    assert entry["username"] == "staff" and entry["target"] == "round_table_meetings/2025/all"
    assert '"low": 1.0' in entry["details"]


# -- uploads: roles, the crafted file, defense in depth ------------------------------------------
def test_manager_uploads_own_locality_and_the_upload_is_audited(db):
    analysis = analyse(meetings_file("ערד"), "arad_2025.xlsx", db, user=MANAGER)
    assert not analysis.errors
    result = commit(analysis, db, user=MANAGER)
    assert result.status == "loaded"
    assert (
        db.query_one("SELECT imported_by FROM import_batches WHERE batch_id = ?", [result.batch_id]) == "arad"
    )
    assert len(audit_rows(db, "upload", "sample-data")) == 12  # the first start's imports, too
    [entry] = audit_rows(db, "upload", "arad")
    assert entry["target"] == "arad_2025.xlsx"
    assert f'"batch_id": {result.batch_id}' in entry["details"] and f"[{ARAD}]" in entry["details"]


@pytest.mark.parametrize("name", ["netanya_viewer", "staff"])
def test_viewer_and_staff_cannot_upload(db, name):
    before = db.query_one("SELECT count(*) FROM import_batches")
    result = commit(analyse(meetings_file("נתניה"), "n.xlsx", db, user=as_user(name)), db, user=as_user(name))
    assert result.status == "rejected" and result.refused
    assert "אין לך הרשאה להעלות קבצים" in result.errors[0]["message"]
    assert db.query_one("SELECT count(*) FROM import_batches") == before


def test_crafted_file_naming_another_locality_is_rejected_with_file_sheet_and_row(db):
    netanya_before = db.query_one("SELECT count(*) FROM meetings WHERE authority_code = ?", [NETANYA])
    data = meetings_file("ערד", "נתניה")  # rows 2-4 Arad, rows 5-7 Netanya
    analysis = analyse(data, "crafted.xlsx", db, user=MANAGER)
    refused = [p for p in analysis.errors if "אינה באחריותך" in p.message_he]
    assert [p.row for p in refused] == [5, 6, 7]
    assert {p.sheet for p in refused} == {"נוכחות במפגשים"}
    first = refused[0]
    assert "crafted.xlsx" in first.message_he and "שורה 5" in first.message_he and "נתניה" in first.message_he
    assert "row 5" in first.message_en and "not one of your localities" in first.message_en
    assert commit(analysis, db, user=MANAGER).status == "rejected"  # errors block the file
    # Skipping invalid rows loads Arad's rows only; Netanya's stored rows are untouched.
    result = commit(analysis, db, user=MANAGER, skip_invalid=True)
    assert result.status == "loaded"
    assert db.query_df("SELECT DISTINCT authority_code FROM meetings WHERE batch_id = ?", [result.batch_id])[
        "authority_code"
    ].tolist() == [ARAD]
    assert db.query_one("SELECT count(*) FROM meetings WHERE authority_code = ?", [NETANYA]) == netanya_before


def test_default_locality_outside_scope_is_rejected_too(db):
    import datetime as dt

    headerless = workbook(
        [[dt.date(2025, 3, 1), "שולחן עגול", "תכנון", 9]],
        header=["תאריך", "סוג מפגש", "נושא", "מספר משתתפים"],
    )
    analysis = analyse(headerless, "no_locality.xlsx", db, locality="נתניה", user=MANAGER)
    assert any("אינה באחריותך" in p.message_he for p in analysis.errors)


def test_the_store_rechecks_scope_when_writing(db):
    """An analysis made without the user's scope (or altered) still cannot write another locality."""
    analysis = analyse(meetings_file("נתניה"), "sneaky.xlsx", db)  # no user: nothing flagged here
    assert not analysis.errors
    result = commit(analysis, db, user=MANAGER)
    assert result.status == "rejected" and result.refused
    assert "נתניה" in result.errors[0]["message"]
    assert not db.query_one("SELECT count(*) FROM import_batches WHERE file_name = 'sneaky.xlsx'")
    assert not audit_rows(db, "upload", "arad")


def test_manager_cannot_change_targets_through_a_targets_sheet(db):
    data = workbook(
        [["round_table_meetings", 2025, "ערד", 1]],
        sheet="יעדים",
        header=["מזהה יעד", "שנה", "יישוב", "יעד מינימום"],
    )
    analysis = analyse(data, "targets.xlsx", db, user=MANAGER)
    assert any("גיליון יעדים נדחה" in p.message_he for p in analysis.errors)
    assert commit(analysis, db, user=MANAGER, skip_invalid=True).status == "rejected"
    sneaky = analyse(data, "targets.xlsx", db)
    result = commit(sneaky, db, user=MANAGER)
    assert result.refused and "לשנות יעדים" in result.errors[0]["message"]


# -- exports -------------------------------------------------------------------------------------
def test_decks_respect_scope(db):
    with pytest.raises(AccessDenied):
        locality_deck(db, NETANYA, 2025, "2025-12-31", user=MANAGER)
    with pytest.raises(AccessDenied):
        national_deck(db, 2025, "2025-12-31", user=MANAGER)
    with pytest.raises(AccessDenied):
        locality_deck(db, NETANYA, 2025, "2025-12-31", user=VIEWER)  # viewers do not export


def test_template_lists_only_the_users_localities():
    wb = openpyxl.load_workbook(io.BytesIO(template_workbook("meetings", ["ערד"])))
    values = [c.value for c in wb[LISTS_SHEET]["A"] if c.value]
    assert values[1:] == ["ערד"]
    wb = openpyxl.load_workbook(io.BytesIO(template_workbook("meetings")))
    assert len([c for c in wb[LISTS_SHEET]["A"] if c.value]) > 200


# -- users and sign-in ---------------------------------------------------------------------------
def test_password_sign_in_and_its_audit(db):
    assert users.authenticate(db, "Arad ", PASSWORD) == users.load_user(db, "arad")
    assert users.authenticate(db, "arad", "wrong-password") is None
    assert users.authenticate(db, "nobody", PASSWORD) is None
    stored = db.query_one("SELECT password_hash FROM users WHERE username = 'arad'")
    assert stored.startswith("$2b$") and PASSWORD not in stored
    assert [e["username"] for e in audit_rows(db, "sign_in")] == ["arad"]
    assert {e["target"] for e in audit_rows(db, "sign_in_failed")} == {"arad", "nobody"}


def test_user_changes_are_admin_only_audited_and_take_effect(db):
    with pytest.raises(AccessDenied):
        users.create_user(db, STAFF, "x", "viewer", password=PASSWORD, all_localities=True)
    with pytest.raises(AccessDenied):
        users.list_users(db, MANAGER)
    with pytest.raises(AccessDenied):
        audit.entries(db, STAFF)
    users.update_user(db, ADMIN, "arad", authorities=[ARAD, NETANYA])
    assert users.load_user(db, "arad").authorities == {ARAD, NETANYA}
    users.update_user(db, ADMIN, "arad", disabled=True)
    assert users.load_user(db, "arad") is None and users.authenticate(db, "arad", PASSWORD) is None
    updates = audit_rows(db, "user_update")
    assert [(e["username"], e["target"]) for e in updates] == [("admin", "arad"), ("admin", "arad")]
    assert len(audit_rows(db, "user_create")) == 4  # the first admin and three users in the fixture


def test_user_rules(db):
    with pytest.raises(users.UserError):  # a manager needs a locality
        users.create_user(db, ADMIN, "m", "manager", password=PASSWORD)
    with pytest.raises(users.UserError):
        users.create_user(db, ADMIN, "m", "manager", password="short", authorities=[ARAD])
    with pytest.raises(users.UserError):
        users.create_user(db, ADMIN, "arad", "viewer", password=PASSWORD, all_localities=True)
    with pytest.raises(users.UserError):  # the last admin keeps their rights
        users.update_user(db, ADMIN, "admin", role="staff")
    with pytest.raises(users.UserError):  # the first-run step runs once
        users.create_first_admin(db, "intruder", PASSWORD)
    assert users.create_user(db, ADMIN, "everyone", "viewer", email="v@x.org", all_localities=True).sees_all


def test_oidc_email_is_mapped_to_role_and_localities(db):
    users.create_user(
        db, ADMIN, "dana@arad.muni.il", "manager", email="Dana@Arad.muni.il", authorities=[ARAD]
    )
    mapped = users.user_for_claims(db, {"email": "dana@arad.MUNI.il", "email_verified": True, "name": "Dana"})
    assert mapped is not None and mapped.role == "manager" and mapped.authorities == {ARAD}
    assert users.user_for_claims(db, {"email": "dana@arad.muni.il", "email_verified": False}) is None
    assert users.user_for_claims(db, {"email": "stranger@example.org"}) is None
    assert users.user_for_claims(db, {}) is None
    users.update_user(db, ADMIN, "dana@arad.muni.il", disabled=True)
    assert users.user_for_claims(db, {"email": "dana@arad.muni.il"}) is None


# -- structure: nothing edits the audit log; pages always pass the user ---------------------------
def test_no_code_updates_or_deletes_the_audit_log():
    for path in [*ROOT.glob("*.py"), *ROOT.glob("*/*.py")]:
        if path.parts[-2] in ("tests", ".venv"):
            continue
        text = path.read_text(encoding="utf-8").lower()
        for verb in (
            "update audit_log",
            "delete from audit_log",
            "drop table audit_log",
            "truncate audit_log",
        ):
            assert verb not in text, f"{path} {verb}"


SCOPED_CALLS = {
    "freshness", "missing_datasets", "authorities", "locality_programs", "locality_meetings",
    "locality_partnerships", "list_batches", "rollback_batch", "source_rows", "set_goal_target",
    "current_targets", "target_history", "analyse", "commit", "locality_deck", "national_deck",
    "compute",
}  # fmt: skip


def test_pages_pass_the_signed_in_user_to_every_scoped_data_call():
    missing = []
    for path in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = (
                    node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                )
                if name in SCOPED_CALLS and not any(k.arg == "user" for k in node.keywords):
                    missing.append(f"{path.name}:{node.lineno} {name}")
    assert not missing, missing


def test_operator_can_reset_a_locked_out_admins_password(tmp_path, sample_db, monkeypatch):
    from store.__main__ import main

    path = tmp_path / "yaad.duckdb"
    shutil.copy(sample_db, path)
    answers = iter(["a-new-password-9", "a-new-password-9"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["set-password", "admin", "--db", str(path)]) == 0
    with Store(path) as s:
        assert users.authenticate(s, "admin", "a-new-password-9") is not None
        assert users.authenticate(s, "admin", PASSWORD) is None
        [entry] = audit_rows(s, "user_update", "cli")
        assert entry["target"] == "admin" and '"password_changed": true' in entry["details"]
