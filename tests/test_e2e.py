"""Real browser end-to-end: `streamlit run` on 127.0.0.1, Debian Chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect, sync_playwright
from pptx import Presentation

from tests.browser import CHROMIUM_ARGS, chromium_path, streamlit_server

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(os.environ.get("YAAD_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))


def extra_round_tables(path: Path) -> Path:
    """Arad's corrected 2025 meeting log: three round tables (Hebrew headers).

    A newer sheet replaces the locality's stored rows for the years it covers, so Arad's 2025
    count becomes exactly 3 (from 1).
    """
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "נוכחות במפגשים"
    ws.append(["יישוב", "תאריך", "סוג מפגש", "נושא", "מספר משתתפים"])
    for month in (2, 5, 9):
        ws.append(["ערד", dt.date(2025, month, 14), "שולחן עגול", "תכנון שנתי", 12])
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


def scorecard_text(page) -> str:
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=30_000)
    return page.locator('[data-testid="stPlotlyChart"]').first.inner_text()


# The text of one scorecard tile as drawn: rows are the y axis' localities, columns the x axis'
# goal labels (tick texts); each trace is one goal column's run of rows from `y0` (charts.scorecard).
TILE_TEXT_JS = """([locality, goal]) => {
    const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
    if (!gd || !gd._fullData || !gd.layout.xaxis.ticktext) return null;
    const rows = gd.layout.yaxis.categoryarray, column = gd.layout.xaxis.ticktext.indexOf(goal);
    for (const t of gd._fullData) {
        const i = rows.indexOf(locality) - rows.indexOf(t.y0);
        if (t.x[0] === column && i >= 0 && i < t.text.length) return String(t.text[i]);
    }
    return null;
}"""


def arad_round_tables(page) -> str:
    """The text of Arad's round-table cell in the scorecard, read from the rendered chart."""
    return page.evaluate(TILE_TEXT_JS, ["ערד", "מפגשי שולחן עגול"])


def choose_year(page, year: int) -> None:
    page.get_by_label("שנה").first.click()
    page.get_by_role("option", name=str(year)).click()
    page.wait_for_timeout(500)


def test_upload_changes_scorecard_and_pages_are_rtl(tmp_path, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    workbook = extra_round_tables(tmp_path / "arad_round_tables.xlsx")
    # Single-user mode (no sign-in): allowed because the test server listens on 127.0.0.1 only.
    # Signing in is the subject of test_e2e_auth.py.
    with streamlit_server(tmp_path / "yaad.duckdb", env={"YAAD_AUTH": "none"}) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="he-IL")
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=90_000)
        expect(page.get_by_role("heading", name="תמונת מצב ארצית")).to_be_visible()
        # Right to left: the main area and the sidebar are laid out RTL.
        direction = page.evaluate("getComputedStyle(document.querySelector('.stMain')).direction")
        assert direction == "rtl"
        assert (
            page.evaluate("getComputedStyle(document.querySelector('[data-testid=\"stSidebar\"]')).direction")
            == "rtl"
        )
        choose_year(page, 2025)
        # The 2025 chart replaces the first year's: wait for its value (a wrong one times out).
        page.wait_for_function(f"() => ({TILE_TEXT_JS})(['ערד', 'מפגשי שולחן עגול']) === '1'", timeout=30_000)
        before = arad_round_tables(page)
        assert before == "1"
        page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

        # Upload through the real file input, then commit.
        page.get_by_role("link", name="העלאת קבצים").click()
        page.wait_for_selector('input[type="file"]', state="attached", timeout=20_000)
        page.set_input_files('input[type="file"]', str(workbook))
        expect(page.get_by_text("לא נמצאו בעיות")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "upload.png"), full_page=True)
        page.get_by_role("button", name="שמירה במאגר").click()
        expect(page.get_by_text("נשמר: ייבוא מס'")).to_be_visible(timeout=30_000)

        # Back on the overview, Arad's 2025 round tables went from 1 to 3.
        page.get_by_role("link", name="תמונת מצב ארצית").click()
        page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=30_000)
        choose_year(page, 2025)
        page.wait_for_function(f"() => ({TILE_TEXT_JS})(['ערד', 'מפגשי שולחן עגול']) === '3'", timeout=30_000)
        assert arad_round_tables(page) == "3"

        # Clicking Arad's round-table cell shows the rows behind the number, with their file.
        box = page.evaluate(
            """() => {
                const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
                const fl = gd._fullLayout, r = gd.getBoundingClientRect();
                const column = gd.layout.xaxis.ticktext.indexOf('מפגשי שולחן עגול');
                return {x: r.left + fl._size.l + fl.xaxis.d2p(column),
                        y: r.top + fl._size.t + fl.yaxis.d2p('ערד')};
            }"""
        )
        page.mouse.click(box["x"], box["y"])
        expect(page.get_by_text("השורות שמאחורי המספר")).to_be_visible(timeout=30_000)
        # st.dataframe draws on a canvas; its accessible grid cells carry the text.
        page.get_by_text("arad_round_tables.xlsx").first.wait_for(state="attached", timeout=30_000)

        # The scorecard downloads as SVG with its Hebrew labels (kaleido on Debian's Chromium).
        page.get_by_role("button", name="ייצוא").first.click()  # the scorecard's export menu
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="SVG").first.click()
        svg = Path(download.value.path()).read_text(encoding="utf-8")
        assert svg.lstrip().startswith(("<svg", "<?xml")) and "ערד" in svg
        page.keyboard.press("Escape")  # close the menu (a click elsewhere would only close it)
        page.wait_for_timeout(500)

        # Every page opens, in Hebrew, right to left.
        for name, shot in (
            ("רשות", "locality.png"),
            ("יעד לרוחב הרשויות", "goal.png"),
            ("השוואת רשויות", "compare.png"),
            ("איכות נתונים", "data_quality.png"),
            ("יעדים מספריים", "targets.png"),
        ):
            page.get_by_role("link", name=name, exact=True).click()
            expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible(timeout=30_000)
            page.wait_for_timeout(800)
            assert page.evaluate("getComputedStyle(document.querySelector('.stMain')).direction") == "rtl"
            assert page.locator('[data-testid="stException"]').count() == 0
            page.screenshot(path=str(ARTIFACTS / shot), full_page=True)

        # A steering-committee deck from the locality page opens as 16:9 PowerPoint with RTL text.
        page.get_by_role("link", name="רשות", exact=True).click()
        expect(page.get_by_role("heading", name="רשות", exact=True)).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="מצגת לוועדת ההיגוי", exact=True).click()  # the deck menu
        with page.expect_download(timeout=120_000) as download:
            page.get_by_role("button", name="מצגת לוועדת ההיגוי (PowerPoint)").click()
        deck = Presentation(download.value.path())
        assert deck.slide_width * 9 == deck.slide_height * 16
        texts = [sh.text_frame.text for sl in deck.slides for sh in sl.shapes if sh.has_text_frame]
        assert any("אור עקיבא" in text for text in texts)
        page.close()
