"""Charts to PNG / SVG / PDF bytes through kaleido 1.x and the machine's Chromium.

Starting Chromium costs 3–4 s; rendering one image on a running one ~0.2 s (RECIPES.md). So one
renderer (one Chromium, driven from its own event-loop thread) lives for the whole process and
every export reuses it; `ImageRenderer` is also usable on its own for a batch.

Nothing here downloads a browser. Without Chromium every call raises `ExportUnavailable`, whose
message says in Hebrew and English what to install, so the app keeps running and the download
buttons can show that message instead of a traceback.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Literal

import plotly.graph_objects as go

from store.errors import BilingualError

ImageFormat = Literal["png", "svg", "pdf"]
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
MIME_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
DEFAULT_WIDTH = 1100
DEFAULT_HEIGHT = 560
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
TYPICAL_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
START_TIMEOUT = 60.0
IMAGE_TIMEOUT = 90.0
RECYCLE_AFTER = 150  # images per Chromium before a fresh one (bounds kaleido's memory growth)


class ExportUnavailable(BilingualError, RuntimeError):
    """A part the export needs (Chromium, LibreOffice) is missing; the message says what to install."""

    def __str__(self) -> str:
        return f"{self.message_he}\n{self.message_en}"  # both: the CLI prints it as is


def _no_browser(detail: str = "") -> ExportUnavailable:
    where = f" ({detail})" if detail else ""
    return ExportUnavailable(
        "ייצוא גרפים לתמונה, PDF ומצגת דורש את הדפדפן Chromium, והוא לא נמצא במחשב הזה"
        f"{where}. התקינו אותו (Debian/Ubuntu: sudo apt-get install chromium fonts-noto-core) "
        "או הגדירו את משתנה הסביבה BROWSER_PATH לנתיב של Chrome/Chromium, והפעילו מחדש.",
        "Exporting charts as images, PDF and decks needs the Chromium browser, which was not found"
        f"{where}. Install it (Debian/Ubuntu: sudo apt-get install chromium fonts-noto-core) or set "
        "BROWSER_PATH to a Chrome/Chromium executable, then restart.",
    )


def find_browser() -> str | None:
    """The Chromium/Chrome executable kaleido will use: BROWSER_PATH if set, else PATH, else usual places.

    Never the choreographer download: nothing here fetches a browser.
    """
    configured = os.environ.get("BROWSER_PATH")
    if configured:
        return configured if _is_exe(configured) else None
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path and _is_exe(path):
            return path
    for path in TYPICAL_PATHS:
        if _is_exe(path):
            return path
    return None


def _is_exe(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def require_browser() -> str:
    """The browser path, or ExportUnavailable with what to install."""
    path = find_browser()
    if path is None:
        configured = os.environ.get("BROWSER_PATH")
        raise _no_browser(f"BROWSER_PATH={configured}" if configured else "")
    return path


def hebrew_font_available() -> bool:
    """True when fontconfig knows a Hebrew-capable font (without one, Hebrew renders as boxes)."""
    if shutil.which("fc-list") is None:
        return True  # cannot tell; do not warn on systems without fontconfig tools
    try:
        out = subprocess.run(
            ["fc-list", ":lang=he", "family"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return True
    return bool(out.strip())


def missing_parts(lang: str = "he") -> list[str]:
    """What this machine lacks for exports, as messages for a page or the CLI (empty: all present)."""
    problems: list[str] = []
    if find_browser() is None:
        problems.append(_no_browser().message(lang))
    if not hebrew_font_available():
        problems.append(
            "לא נמצא גופן עברי: בייצוא יופיעו ריבועים במקום אותיות. התקינו fonts-noto-core."
            if lang == "he"
            else "No Hebrew font found: exports would show boxes. Install fonts-noto-core."
        )
    return problems


def _size(fig: go.Figure, width: int | None, height: int | None) -> tuple[int, int]:
    w = width or fig.layout.width or DEFAULT_WIDTH
    h = height or fig.layout.height or DEFAULT_HEIGHT
    return int(w), int(h)


class ImageRenderer:
    """One Chromium (through kaleido) for many images; thread-safe, ~0.2 s per image once started.

    `tabs` > 1 renders that many images at once in `render_many` (one tab per CPU is a good start).
    """

    def __init__(
        self, *, tabs: int = 1, browser_path: str | None = None, recycle_after: int = RECYCLE_AFTER
    ) -> None:
        self._path = browser_path or require_browser()
        self._tabs = max(1, tabs)
        self._recycle_after = recycle_after
        self._rendered = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kaleido", daemon=True)
        self._thread.start()
        self._lock = threading.Lock()
        try:
            self._kaleido = self._start()
        except ExportUnavailable:
            self._stop_loop()
            raise
        except Exception as exc:  # any start failure means: no usable browser
            self._stop_loop()
            raise _no_browser(f"{self._path}: {type(exc).__name__}: {exc}") from exc
        self._closed = False

    def _start(self):  # returns a kaleido.Kaleido
        import kaleido  # heavy import; only when an export is actually made

        # mathjax=False: the default loads MathJax from a CDN, and this machine has no internet.
        k = kaleido.Kaleido(path=self._path, n=self._tabs, timeout=IMAGE_TIMEOUT, mathjax=False)
        self._call(k.open(), START_TIMEOUT)
        return k

    def _recycle(self) -> None:
        """A fresh Chromium: kaleido's tabs grow by a few MB per image (measured: ~30 MB per deck)."""
        try:
            self._call(self._kaleido.close(), 30)
        except Exception:  # closing a dead browser is not an error
            pass
        self._kaleido = self._start()
        self._rendered = 0

    def _call(self, coro, timeout: float):  # noqa: ANN001 - a coroutine and its result
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise

    def render(
        self,
        fig: go.Figure,
        fmt: ImageFormat = "png",
        *,
        width: int | None = None,
        height: int | None = None,
        scale: float = 2.0,
    ) -> bytes:
        """One figure as bytes in `fmt` (png, svg or pdf)."""
        return self.render_many([fig], fmt, width=width, height=height, scale=scale)[0]

    def render_many(
        self,
        figs: Sequence[go.Figure],
        fmt: ImageFormat = "png",
        *,
        width: int | None = None,
        height: int | None = None,
        scale: float = 2.0,
    ) -> list[bytes]:
        """Many figures at once on the running browser, in order."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown image format {fmt!r}; use one of {', '.join(FORMATS)}")
        if self._closed:
            raise RuntimeError("the image renderer is closed")
        with self._lock:
            if self._rendered >= self._recycle_after:
                self._recycle()
            self._rendered += len(figs)
        jobs = []
        for fig in figs:
            w, h = _size(fig, width, height)
            opts = {"format": fmt, "width": w, "height": h, "scale": scale if fmt == "png" else 1}
            jobs.append(self._kaleido.calc_fig(fig, opts=opts))

        async def gather() -> list[bytes]:
            return list(await asyncio.gather(*jobs))

        return self._call(gather(), IMAGE_TIMEOUT * max(1, len(jobs)))

    def close(self) -> None:
        """Stop Chromium and the loop thread."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        try:
            self._call(self._kaleido.close(), 30)
        except Exception:  # closing a dead browser is not an error
            pass
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> ImageRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared: ImageRenderer | None = None
_shared_lock = threading.Lock()


def shared_renderer() -> ImageRenderer:
    """The process-wide renderer, started on first use and stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ImageRenderer()
            atexit.register(shutdown)
        return _shared


def shutdown() -> None:
    """Stop the process-wide renderer (it restarts on the next export)."""
    global _shared
    with _shared_lock:
        renderer, _shared = _shared, None
    if renderer is not None:
        renderer.close()


def figure_bytes(
    fig: go.Figure,
    fmt: ImageFormat = "png",
    *,
    width: int | None = None,
    height: int | None = None,
    scale: float = 2.0,
    renderer: ImageRenderer | None = None,
) -> bytes:
    """A chart as PNG, SVG or PDF bytes (for a download button). Raises ExportUnavailable."""
    return figures_bytes([fig], fmt, width=width, height=height, scale=scale, renderer=renderer)[0]


def figures_bytes(
    figs: Iterable[go.Figure],
    fmt: ImageFormat = "png",
    *,
    width: int | None = None,
    height: int | None = None,
    scale: float = 2.0,
    renderer: ImageRenderer | None = None,
) -> list[bytes]:
    """Many charts in one batch on one browser. A crashed browser is restarted once."""
    figs = list(figs)
    if renderer is not None:
        return renderer.render_many(figs, fmt, width=width, height=height, scale=scale)
    try:
        return shared_renderer().render_many(figs, fmt, width=width, height=height, scale=scale)
    except ExportUnavailable:
        raise
    except Exception:  # e.g. Chromium was killed: start a fresh one and retry once
        shutdown()
        return shared_renderer().render_many(figs, fmt, width=width, height=height, scale=scale)
