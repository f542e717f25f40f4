"""PPTX -> PDF through LibreOffice headless, so the PDF is the deck itself, not a second layout.

LibreOffice is optional (~270 MB): without it the PDF buttons and `--out x.pdf` say what to
install (ExportUnavailable), and PPTX still works. Each conversion uses its own throw-away
LibreOffice profile, so conversions from the dashboard and the CLI never block each other.
Many decks convert in a few LibreOffice runs (`convert_many`), saving its ~2 s start per deck.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from charts.export import ExportUnavailable

OFFICE_NAMES = ("soffice", "libreoffice")
TIMEOUT_SECONDS = 180
CHUNK = 20  # decks per LibreOffice run


def find_office() -> str | None:
    """The LibreOffice executable, or None."""
    for name in OFFICE_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def no_office() -> ExportUnavailable:
    """The error (Hebrew and English) shown when LibreOffice is missing."""
    return ExportUnavailable(
        "יצירת PDF ממצגת דורשת את LibreOffice, והוא לא מותקן במחשב הזה. התקינו אותו "
        "(Debian/Ubuntu: sudo apt-get install libreoffice-impress) או הורידו את המצגת כ-PPTX.",
        "Making a PDF from a deck needs LibreOffice, which is not installed here. Install it "
        "(Debian/Ubuntu: sudo apt-get install libreoffice-impress) or download the deck as PPTX.",
    )


def _convert(office: str, pptx_paths: Sequence[Path], out_dir: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="yaad_lo_") as profile:
        cmd = [
            office,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out_dir),
            *[str(p) for p in pptx_paths],
        ]
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS + 10 * len(pptx_paths),
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            return f"timed out after {exc.timeout:.0f} s"
    return (done.stderr or done.stdout).strip()[-500:]


def convert_many(
    pptx_paths: Sequence[Path],
    out_dir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Convert PPTX files to PDF into `out_dir`; returns the PDF paths, in order.

    One LibreOffice run per chunk of files: a single run over hundreds of decks was seen to stop
    part way (after ~250 decks) without an error. Files a chunk missed are retried one by one.
    `progress(done, total)` is called after each chunk.
    """
    office = find_office()
    if office is None:
        raise no_office()
    out_dir.mkdir(parents=True, exist_ok=True)
    pdfs = [out_dir / (Path(p).stem + ".pdf") for p in pptx_paths]
    detail = ""
    for start in range(0, len(pptx_paths), CHUNK):
        detail = _convert(office, pptx_paths[start : start + CHUNK], out_dir) or detail
        if progress is not None:
            progress(min(start + CHUNK, len(pptx_paths)), len(pptx_paths))
    for src, pdf in zip(pptx_paths, pdfs, strict=True):
        if not pdf.exists():
            detail = _convert(office, [src], out_dir) or detail
    missing = [p for p in pdfs if not p.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice did not produce {', '.join(p.name for p in missing)}: {detail}")
    return pdfs


def pptx_to_pdf(pptx: bytes) -> bytes:
    """One deck as PDF bytes (for a download button). Raises ExportUnavailable without LibreOffice."""
    if find_office() is None:
        raise no_office()
    with tempfile.TemporaryDirectory(prefix="yaad_pdf_") as tmp:
        src = Path(tmp) / "deck.pptx"
        src.write_bytes(pptx)
        (pdf,) = convert_many([src], Path(tmp) / "out")
        return pdf.read_bytes()
