"""AppTest: sign-in, the first run, and what each role sees and is refused in the pages (issue 7)."""

from __future__ import annotations

import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pages._exports import _audited
from store import Store, audit
from tests.access_fixtures import ARAD, PASSWORD, as_user
from tests.test_pages import ROOT, new_app

OVERVIEW = "תמונת מצב ארצית"
REJECTED = "הקובץ לא נשמר: יש לתקן את הבעיות או לבחור לטעון רק שורות תקינות."
TITLES = {
    "pages/overview.py": OVERVIEW,
    "pages/locality.py": "רשות",
    "pages/goal.py": "יעד לרוחב הרשויות",
    "pages/compare.py": "השוואת רשויות",
    "pages/data_quality.py": "איכות נתונים",
    "pages/targets.py": "יעדים מספריים",
    "pages/upload.py": "העלאת קבצים",
    "pages/admin.py": "משתמשים ויומן פעולות",
}
ALLOWED = {
    "admin": set(TITLES),
    "staff": set(TITLES) - {"pages/upload.py", "pages/admin.py"},
    "arad": {
        "pages/overview.py",
        "pages/locality.py",
        "pages/goal.py",
        "pages/data_quality.py",
        "pages/upload.py",
    },
    "netanya_viewer": {"pages/overview.py", "pages/locality.py", "pages/goal.py", "pages/data_quality.py"},
}


def scorecard_localities(at: AppTest) -> list[str]:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["yaxis"]["categoryarray"]


@pytest.mark.parametrize("name", list(ALLOWED))
def test_each_role_reaches_its_pages_and_no_others(app_db, name):
    for page, title in TITLES.items():
        at = new_app(name).run()
        assert not at.exception, [e.value for e in at.exception]
        if page not in ALLOWED[name]:  # not in this role's navigation at all
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(page)
            continue
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title[0].value == title, (name, page)


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("netanya_viewer", "pages/upload.py"),
        ("staff", "pages/upload.py"),
        ("arad", "pages/targets.py"),
        ("arad", "pages/compare.py"),
        ("staff", "pages/admin.py"),
        ("arad", "pages/admin.py"),
    ],
)
def test_a_page_run_directly_refuses_a_role_without_the_right(app_db, name, page):
    """Below the navigation: the page itself stops with the reason (e.g. a stale link)."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    at.session_state["user"] = as_user(name)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("אין לך הרשאה" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.title and not at.button and not at.dataframe


def test_locality_manager_sees_only_their_locality(app_db):
    at = new_app("arad").run()
    assert scorecard_localities(at) == ["ערד"]
    assert at.metric[0].value == "1"  # localities with data
    at.switch_page("pages/locality.py").run()
    assert at.selectbox(key="locality").options == ["ערד"]
    at.switch_page("pages/data_quality.py").run()
    assert set(at.dataframe[0].value.index) == {"ערד"}
    assert any(b.label == "בטלו את הייבוא" for b in at.button)  # may roll back own uploads
    at.switch_page("pages/upload.py").run()
    default = at.selectbox[0]
    assert default.options[1:] == ["ערד"]  # after "none chosen"
    assert any("ערד" in c.value and "יידחו" in c.value for c in at.caption)


def test_manager_upload_of_a_crafted_file_is_refused_on_the_page(app_db):
    from tests.test_access import meetings_file

    at = new_app("arad").run()
    at.switch_page("pages/upload.py").run()
    at.get("file_uploader")[0].set_value(
        ("crafted.xlsx", meetings_file("ערד", "נתניה"), "application/vnd.ms-excel")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    problems = next(d.value for d in at.dataframe if "message" in d.value.columns)
    assert problems["row"].tolist() == [5, 6, 7]
    assert (
        "הקובץ crafted.xlsx, גיליון 'נוכחות במפגשים', שורה 5: הרשות 'נתניה' אינה באחריותך"
        in problems["message"][0]
    )
    next(b for b in at.button if b.label == "שמירה במאגר").click().run()
    assert any(e.value == REJECTED for e in at.error), [e.value for e in at.error]
    s = Store(app_db)
    assert not s.query_one("SELECT count(*) FROM import_batches WHERE file_name = 'crafted.xlsx'")
    s.close()


def test_viewer_sees_only_their_locality_cannot_upload_roll_back_or_export(app_db):
    at = new_app("netanya_viewer").run()
    assert scorecard_localities(at) == ["נתניה"]
    assert not at.get("download_button"), "viewers do not export"
    assert "dl_scorecard_menu" not in at.session_state, "nor see an export menu"
    at.switch_page("pages/data_quality.py").run()
    assert not any(b.label == "בטלו את הייבוא" for b in at.button)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/upload.py")
    assert not any(b.label == "שמירה במאגר" for b in at.button)


def test_staff_see_everything_edit_targets_but_do_not_upload(app_db):
    at = new_app("staff").run()
    assert len(scorecard_localities(at)) == 11
    assert not at.get("download_button"), "export buttons are built only when their menu opens"
    at.session_state["dl_scorecard_menu"] = True  # the reader opens the scorecard's export menu
    at.run()
    assert {b.proto.label for b in at.get("download_button")} == {"PNG", "SVG", "PDF"}, "staff export"
    at.switch_page("pages/targets.py").run()
    at.selectbox(key="year").set_value(2025).run()
    next(sb for sb in at.selectbox if sb.label == "יעד").set_value("round_table_meetings")
    at.number_input[0].set_value(1.0)
    next(b for b in at.button if b.label == "שמירה").click().run()
    assert any("היעד נשמר" in s.value for s in at.success)
    s = Store(app_db)
    entries = audit.entries(s, as_user("admin"), action="target")
    s.close()
    assert entries["username"].tolist() == ["staff"]


def test_admin_page_adds_a_user_and_shows_the_audit_log(app_db):
    at = new_app("admin").run()
    at.switch_page("pages/admin.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert set(at.dataframe[0].value["username"]) == {"admin", "staff", "arad", "netanya_viewer"}
    at.text_input(key="add_user").input("Dimona")
    at.selectbox(key="add_role").set_value("manager")
    at.multiselect(key="add_codes").set_value([2200])
    at.text_input(key="add_password").input(PASSWORD)
    next(b for b in at.button if b.label == "הוספת משתמש/ת").click().run()
    assert any("dimona" in s.value for s in at.success), [e.value for e in at.error]
    log = at.dataframe[-1].value
    assert log.iloc[0]["action"] == "user_create" and log.iloc[0]["target"] == "dimona"
    assert not any(hasattr(d, "edited") for d in at.get("data_editor")), "the audit log is not editable"


def test_password_sign_in_reaches_the_overview_and_sign_out_returns(app_db):
    at = new_app(None).run()
    assert at.title[0].value == "כניסה ליעד"
    assert not at.get("plotly_chart")
    at.text_input(key="sign_in_user").input("arad")
    at.text_input(key="sign_in_password").input("not-the-password")
    next(b for b in at.button if b.label == "כניסה").click().run()
    assert any("שגויים" in e.value for e in at.error)
    at.text_input(key="sign_in_password").input(PASSWORD)
    next(b for b in at.button if b.label == "כניסה").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == OVERVIEW and scorecard_localities(at) == ["ערד"]
    assert any("מחובר/ת: arad" in c.value for c in at.sidebar.caption)
    at.sidebar.button(key="sign_out").click().run()
    assert "user" not in at.session_state and not at.get("plotly_chart")
    assert new_app(None).run().title[0].value == "כניסה ליעד"


def test_a_disabled_user_is_signed_out_at_once(app_db):
    from store import users

    assert new_app("arad").run().title[0].value == OVERVIEW
    from pages._shared import get_store

    users.update_user(get_store(), as_user("admin"), "arad", disabled=True)
    # The next run of the app reloads the session's user from the store: gone, so sign in again.
    at = new_app("arad").run()
    assert at.title[0].value == "כניסה ליעד" and "user" not in at.session_state


def test_single_user_mode_only_on_localhost(app_db, monkeypatch, localhost):
    monkeypatch.setenv("YAAD_AUTH", "none")
    at = new_app(None).run()
    assert at.title[0].value == OVERVIEW and len(scorecard_localities(at)) == 11


def test_single_user_mode_is_refused_beyond_localhost(app_db, monkeypatch):
    from streamlit import config

    monkeypatch.setenv("YAAD_AUTH", "none")
    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = new_app(None).run()
    finally:
        config.set_option("server.address", before)
    assert any("YAAD_AUTH=none" in w.value for w in at.warning)
    assert at.title[0].value == "כניסה ליעד"


def test_first_run_beyond_localhost_needs_the_setup_token(tmp_path, monkeypatch):
    monkeypatch.setenv("YAAD_DB", str(tmp_path / "empty.duckdb"))
    monkeypatch.setenv("YAAD_SAMPLE", "0")
    st.cache_resource.clear()
    st.cache_data.clear()
    at = new_app(None).run()
    assert any("YAAD_SETUP_TOKEN" in e.value for e in at.error)
    assert not any(b.label == "יצירה וכניסה" for b in at.button)
    monkeypatch.setenv("YAAD_SETUP_TOKEN", "s3cret-token")
    at = new_app(None).run()
    at.text_input(key="first_user").input("admin")
    at.text_input(key="first_password").input(PASSWORD)
    at.text_input(key="first_password_again").input(PASSWORD)
    at.text_input(key="first_token").input("guess")
    next(b for b in at.button if b.label == "יצירה וכניסה").click().run()
    assert any("קוד ההתקנה שגוי" in e.value for e in at.error)
    at.text_input(key="first_token").input("s3cret-token")
    next(b for b in at.button if b.label == "יצירה וכניסה").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("אין עדיין נתונים" in i.value for i in at.info)
    st.cache_resource.clear()


def test_exports_are_audited_when_the_file_is_made(app_db):
    st.cache_resource.clear()
    make = _audited(as_user("arad"), "deck", "yaad_locality_2560_2025.pptx", lambda: b"PK\x03\x04")
    assert make() == b"PK\x03\x04"
    from pages._shared import get_store

    entries = audit.entries(get_store(), as_user("admin"), action="export")
    assert (
        entries.iloc[0]["username"] == "arad" and entries.iloc[0]["target"] == "yaad_locality_2560_2025.pptx"
    )
    assert '"kind": "deck"' in entries.iloc[0]["details"]
    get_store().close()
    st.cache_resource.clear()
    assert ARAD == 2560


OIDC_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-long-random-string-for-tests-only-0123456789",
        "client_id": "yaad",
        "client_secret": "not-a-secret",
        "server_metadata_url": "https://login.example.org/.well-known/openid-configuration",
    }
}


def oidc_app(email: str, verified: bool = True) -> AppTest:
    """The app as after an organisation sign-in (st.user as the provider's claims give it)."""
    at = new_app(None)
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": email, "email_verified": verified, "name": "Dana"}
    return at


def test_organisation_sign_in_maps_the_email_to_role_and_localities(app_db):
    from pages._shared import get_store
    from store import users

    users.create_user(
        get_store(), as_user("admin"), "dana", "manager", email="Dana@Arad.muni.il", authorities=[ARAD]
    )
    at = oidc_app("dana@arad.muni.il").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == OVERVIEW and scorecard_localities(at) == ["ערד"]
    assert at.session_state["user"].username == "dana"
    entries = audit.entries(get_store(), as_user("admin"), action="sign_in", username="dana")
    assert '"method": "oidc"' in entries.iloc[0]["details"]

    stranger = oidc_app("someone@example.org").run()
    assert any("אינה רשומה ביעד" in e.value for e in stranger.error)
    assert not stranger.get("plotly_chart")
    unverified = oidc_app("dana@arad.muni.il", verified=False).run()
    assert any("אינה רשומה ביעד" in e.value for e in unverified.error)


def test_without_oidc_settings_the_sign_in_offers_passwords_only(app_db):
    at = new_app(None).run()
    assert not any(b.label == "כניסה עם חשבון הארגון" for b in at.button)
    at = new_app(None)
    at.secrets = OIDC_SECRETS
    at.run()
    assert any(b.label == "כניסה עם חשבון הארגון" for b in at.button)
