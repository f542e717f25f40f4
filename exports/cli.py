"""`python -m exports`: decks and templates outside the dashboard (a thin shell over exports/).

    python -m exports deck (--locality NAME | --national) --year YYYY [--as-of YYYY-MM-DD] [--db PATH]
                           --out FILE.pptx|FILE.pdf
    python -m exports deck --all-localities --year YYYY [--as-of ...] [--db PATH] --out-dir DIR
                           [--format pptx|pdf|both]
    python -m exports template SHEET_TYPE --out FILE.xlsx

Exit codes: 0 done, 1 an export failed (message on stderr), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from charts.export import ExportUnavailable, ImageRenderer
from store import Store, StoreLockedError, default_db_path


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every command and option has help text; a test checks)."""
    parser = argparse.ArgumentParser(
        prog="python -m exports",
        description="Steering-committee decks (PPTX/PDF) and blank Excel templates.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    deck = sub.add_parser("deck", help="a locality deck, the national deck, or a deck per locality")
    who = deck.add_mutually_exclusive_group(required=True)
    who.add_argument("--locality", help="authority name (Hebrew or English) or authority code")
    who.add_argument("--national", action="store_true", help="the national deck")
    who.add_argument(
        "--all-localities", action="store_true", help="one deck per locality with data (--out-dir)"
    )
    deck.add_argument("--year", type=int, required=True, help="the year the deck reports")
    deck.add_argument("--as-of", type=_date, help="evaluation date YYYY-MM-DD (default: today)")
    deck.add_argument("--db", type=Path, help="DuckDB file (default: the dashboard's database, or YAAD_DB)")
    deck.add_argument("--out", type=Path, help="output file, .pptx or .pdf")
    deck.add_argument("--out-dir", type=Path, help="output folder for --all-localities")
    deck.add_argument(
        "--format", choices=("pptx", "pdf", "both"), default="pptx", help="file type for --all-localities"
    )
    deck.add_argument("--lang", choices=("he", "en"), default="he", help="deck language (default Hebrew)")

    template = sub.add_parser("template", help="a blank Excel template for one sheet type")
    template.add_argument("sheet_type", help="an ingest dataset name, e.g. meetings, programs, trainings")
    template.add_argument("--out", type=Path, required=True, help="output .xlsx file")
    return parser


def _error(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def _open_store(path: Path | None) -> Store:
    return Store(path or default_db_path(), wait_seconds=5)


def _locked_message(path: Path | None, exc: Exception) -> str:
    db = path or default_db_path()
    return (
        f"{exc}\n"
        f"מסד הנתונים {db} תפוס (כנראה שרת הדשבורד פועל). עצרו את השרת, או העתיקו את הקובץ "
        "יחד עם קובץ ה-wal שלידו (או קחו גיבוי) והריצו עם --db על העותק.\n"
        f"The database {db} is in use (probably by the running dashboard). Stop the server, or copy "
        "the file together with its .wal file (or take a backup) and pass the copy with --db."
    )


def _safe_file_name(text: str) -> str:
    return re.sub(r"[^\w\u0590-\u05FF.-]+", "_", text).strip("_") or "deck"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _deck(args: argparse.Namespace) -> int:
    from exports.deck import DeckError, deck_pdf, locality_deck, national_deck

    if args.all_localities:
        if args.out_dir is None:
            return _error("--all-localities needs --out-dir DIR")
    elif args.out is None or args.out.suffix.lower() not in (".pptx", ".pdf"):
        return _error("--out must name a .pptx or .pdf file")
    try:
        store = _open_store(args.db)
    except StoreLockedError as exc:
        return _error(_locked_message(args.db, exc))
    try:
        if args.all_localities:
            return _all_localities(store, args)
        if args.national:
            data = national_deck(store, args.year, args.as_of, lang=args.lang)
        else:
            data = locality_deck(store, args.locality, args.year, args.as_of, lang=args.lang)
        if args.out.suffix.lower() == ".pdf":
            data = deck_pdf(data)
        _write(args.out, data)
        print(f"{args.out} ({len(data) / 1024:,.0f} KB)", file=sys.stderr)
        return 0
    except (DeckError, ExportUnavailable) as exc:
        return _error(str(exc))
    finally:
        store.close()


def _all_localities(store: Store, args: argparse.Namespace) -> int:
    """A deck per locality with data in the year: one attainment query, one browser, one LibreOffice run."""
    from exports.deck import as_of_date, locality_deck
    from exports.pdf import convert_many
    from metrics.engine import attainment

    as_of = as_of_date(args.as_of)
    started = time.monotonic()
    att = attainment(store, year=args.year, as_of=as_of)
    localities = att[["locality_code", "locality_name"]].drop_duplicates().sort_values("locality_name")
    total = len(localities)
    if not total:
        return _error(f"אין נתונים לשנת {args.year}. / No data for {args.year}.")
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with ImageRenderer(tabs=2) as renderer:
        for i, (code, name) in enumerate(localities.itertuples(index=False), start=1):
            data = locality_deck(
                store, int(code), args.year, as_of, lang=args.lang, att=att, renderer=renderer
            )
            path = out_dir / f"{int(code)}_{_safe_file_name(str(name))}_{args.year}.pptx"
            _write(path, data)
            written.append(path)
            elapsed = time.monotonic() - started
            print(f"[{i}/{total}] {name} ({elapsed:,.0f} s)", file=sys.stderr, flush=True)
    if args.format in ("pdf", "both"):
        print(f"PDF: converting {len(written)} decks with LibreOffice…", file=sys.stderr, flush=True)
        convert_many(
            written,
            out_dir,
            progress=lambda done, n: print(f"[PDF {done}/{n}]", file=sys.stderr, flush=True),
        )
        if args.format == "pdf":
            for path in written:
                path.unlink()
    print(f"{total} decks in {out_dir} ({time.monotonic() - started:,.0f} s)", file=sys.stderr)
    return 0


def _template(args: argparse.Namespace) -> int:
    from exports.templates import UnknownSheetType, template_workbook

    try:
        data = template_workbook(args.sheet_type)
    except UnknownSheetType as exc:
        return _error(str(exc.args[0]))
    _write(args.out, data)
    print(f"{args.out} ({len(data) / 1024:,.0f} KB)", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "deck":
            return _deck(args)
        return _template(args)
    except ExportUnavailable as exc:
        return _error(str(exc))
