"""PPTX -> PDF through LibreOffice headless, so the PDF is the deck itself, not a second layout.

LibreOffice is optional (~270 MB): without it the PDF buttons and `--out x.pdf` say what to
install (ExportUnavailable), and PPTX still works. Each conversion uses its own throw-away
LibreOffice profile, so conversions from the dashboard and the CLI never block each other.
Many decks convert in one LibreOffice run (`convert_many`), which saves its ~2 s start per deck.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from charts.export import ExportUnavailable

OFFICE_NAMES = ("soffice", "libreoffice")
TIMEOUT_SECONDS = 180


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


def convert_many(pptx_paths: Sequence[Path], out_dir: Path) -> list[Path]:
    """Convert PPTX files to PDF into `out_dir` in one LibreOffice run; returns the PDF paths."""
    office = find_office()
    if office is None:
        raise no_office()
    out_dir.mkdir(parents=True, exist_ok=True)
    if not pptx_paths:
        return []
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
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS + 5 * len(pptx_paths), check=False
        )
    pdfs = [out_dir / (Path(p).stem + ".pdf") for p in pptx_paths]
    missing = [p for p in pdfs if not p.exists()]
    if missing:
        raise RuntimeError(
            f"LibreOffice did not produce {', '.join(p.name for p in missing)}: "
            f"{(done.stderr or done.stdout).strip()[-500:]}"
        )
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
