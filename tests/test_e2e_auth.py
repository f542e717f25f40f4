"""Real browser: password sign-in reaches the pages of the user's role, and only their locality."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser import CHROMIUM_ARGS, chromium_path, streamlit_server

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(os.environ.get("YAAD_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))
PASSWORD = "correct-horse-1"
LINKS = ("תמונת מצב ארצית", "רשות", "השוואת רשויות", "יעדים מספריים", "העלאת קבצים", "משתמשים ויומן פעולות")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


def sign_in(page, name: str, password: str) -> None:
    expect(page.get_by_role("heading", name="כניסה ליעד")).to_be_visible(timeout=90_000)
    page.get_by_label("שם משתמש").fill(name)
    page.get_by_label("סיסמה").fill(password)
    page.get_by_role("button", name="כניסה", exact=True).click()


def nav_links(page) -> set[str]:
    return {name for name in LINKS if page.get_by_role("link", name=name, exact=True).count()}


def scorecard_localities(page) -> list[str]:
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
    return page.evaluate(
        "() => Array.from(document.querySelector("
        "'[data-testid=\"stPlotlyChart\"] .js-plotly-plot').layout.yaxis.categoryarray)"
    )


def test_password_sign_in_reaches_the_pages_of_each_role(tmp_path, sample_db, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    db = tmp_path / "yaad.duckdb"
    shutil.copy(sample_db, db)  # sample data plus admin, staff, Arad's manager and a Netanya viewer
    with streamlit_server(db) as url:  # the default: password sign-in
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="he-IL")
        # A deep link while signed out shows nothing of the page. (On a fresh server Streamlit may
        # run a pages/ file directly, without app.py: the page's own guard stops it.)
        page.goto(f"{url}/upload", wait_until="domcontentloaded")
        page.wait_for_timeout(6000)
        assert page.get_by_role("heading", name="העלאת קבצים").count() == 0
        assert page.locator('input[type="file"]').count() == 0
        page.goto(url, wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="כניסה ליעד")).to_be_visible(timeout=90_000)
        assert page.get_by_role("link", name="העלאת קבצים").count() == 0

        sign_in(page, "arad", "wrong-password")
        expect(page.get_by_text("שם המשתמש או הסיסמה שגויים.")).to_be_visible(timeout=30_000)
        sign_in(page, "arad", PASSWORD)
        expect(page.get_by_role("heading", name="תמונת מצב ארצית")).to_be_visible(timeout=60_000)
        assert scorecard_localities(page) == ["ערד"]
        assert nav_links(page) == {"תמונת מצב ארצית", "רשות", "העלאת קבצים"}
        expect(page.get_by_text("מחובר/ת: arad")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "signed_in_manager.png"), full_page=True)
        page.get_by_role("link", name="העלאת קבצים").click()
        expect(page.get_by_role("heading", name="העלאת קבצים")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("אפשר להעלות נתונים של: ערד")).to_be_visible(timeout=30_000)

        page.get_by_role("button", name="יציאה").click()
        sign_in(page, "admin", PASSWORD)
        expect(page.get_by_role("heading", name="תמונת מצב ארצית")).to_be_visible(timeout=60_000)
        assert len(scorecard_localities(page)) == 11
        assert nav_links(page) == set(LINKS)
        page.get_by_role("link", name="משתמשים ויומן פעולות").click()
        expect(page.get_by_role("heading", name="יומן פעולות", exact=True)).to_be_visible(timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / "admin.png"), full_page=True)
        page.close()
