"""Charts to PNG / SVG / PDF through kaleido and the machine's Chromium, and the no-Chromium path."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

from charts import export
from charts.export import ExportUnavailable, figure_bytes, figures_bytes
from charts.scorecard import scorecard_figure
from charts.style import FONT_FAMILY

ROOT = Path(__file__).resolve().parent.parent


def _hebrew_bar() -> go.Figure:
    fig = go.Figure(go.Bar(x=[5, 3], y=["נתניה", "עפולה"], orientation="h"))
    fig.update_layout(title="מפגשי שולחן עגול", font_family=FONT_FAMILY, width=600, height=300)
    return fig


@pytest.mark.parametrize(
    ("fmt", "magic"), [("png", b"\x89PNG\r\n\x1a\n"), ("svg", b"<svg"), ("pdf", b"%PDF-")]
)
def test_formats_have_their_magic(fmt: str, magic: bytes) -> None:
    data = figure_bytes(_hebrew_bar(), fmt)
    assert data.startswith(magic)
    assert len(data) > 1000


def test_svg_keeps_the_hebrew_text_and_font() -> None:
    svg = figure_bytes(_hebrew_bar(), "svg").decode("utf-8")
    assert "נתניה" in svg and "מפגשי שולחן עגול" in svg
    assert "Noto Sans Hebrew" in svg


def test_a_page_chart_renders_to_png_at_the_asked_size() -> None:
    """The overview page's scorecard, rendered as PNG: proves the page -> image path end to end."""
    att = pd.DataFrame(
        {
            "locality_code": [7400, 7400, 7700],
            "locality_name": ["נתניה", "נתניה", "עפולה"],
            "goal": ["round_table_meetings", "new_partnerships", "round_table_meetings"],
            "value": [5.0, 3.0, 2.0],
            "target": [3.0, 2.0, 3.0],
            "status": ["achieved", "achieved", "missed"],
        }
    )
    fig = scorecard_figure(
        att, {"round_table_meetings": "מפגשי שולחן עגול", "new_partnerships": "שיתופי פעולה"}
    )
    png = figure_bytes(fig, "png", width=640, height=320, scale=1)
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert (width, height) == (640, 320)


def test_a_batch_reuses_one_browser() -> None:
    first = export.shared_renderer()
    images = figures_bytes([_hebrew_bar() for _ in range(4)], "png")
    assert len(images) == 4 and all(i.startswith(b"\x89PNG") for i in images)
    assert export.shared_renderer() is first


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="png"):
        figure_bytes(_hebrew_bar(), "gif", renderer=_FakeRenderer())  # type: ignore[arg-type]


class _FakeRenderer(export.ImageRenderer):
    """A renderer without a browser: only the argument checks of render_many run."""

    def __init__(self) -> None:
        self._closed = False


def test_no_browser_found_gives_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(export, "TYPICAL_PATHS", ())
    assert export.find_browser() is None
    with pytest.raises(ExportUnavailable) as info:
        export.require_browser()
    assert "apt-get install chromium" in info.value.message("he")
    assert "Chromium" in info.value.message("en") and "BROWSER_PATH" in info.value.message("en")
    assert any("Chromium" in m for m in export.missing_parts("en"))


def test_missing_browser_path_in_a_fresh_process_says_what_to_install(tmp_path: Path) -> None:
    """BROWSER_PATH pointing nowhere: the export raises the clear message; nothing is downloaded."""
    script = (
        "import plotly.graph_objects as go\n"
        "from charts.export import ExportUnavailable, figure_bytes, missing_parts\n"
        "try:\n"
        "    figure_bytes(go.Figure(go.Bar(x=[1], y=[1])), 'png')\n"
        "except ExportUnavailable as exc:\n"
        "    print('HE:', exc.message('he'))\n"
        "    print('EN:', exc.message('en'))\n"
        "print('PARTS:', len(missing_parts()))\n"
    )
    env = {**os.environ, "BROWSER_PATH": str(tmp_path / "no-chromium-here"), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "HE:" in done.stdout and "sudo apt-get install chromium" in done.stdout
    assert "EN: Exporting charts as images" in done.stdout
    assert "no-chromium-here" in done.stdout
    assert "PARTS: 1" in done.stdout or "PARTS: 2" in done.stdout


def test_renderer_recycles_its_browser_and_keeps_rendering() -> None:
    """kaleido's tabs grow with every image; a renderer starts a fresh Chromium after N images."""
    with export.ImageRenderer(recycle_after=2) as renderer:
        first = renderer._kaleido
        for _ in range(3):
            assert renderer.render(_hebrew_bar(), "png").startswith(b"\x89PNG")
        assert renderer._kaleido is not first
        assert renderer._rendered == 1
