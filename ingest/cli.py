"""The command line: a thin shell over ingest.pipeline (and store.batches for history and rollback).

    python -m ingest FILE... [--db PATH] [--locality NAME] [--skip-invalid] [--json]

Exit code 0 when every file loaded or was unchanged, 1 when any was rejected, 2 on usage or
database errors. When the dashboard holds the database (DuckDB lets one process open it), the
files are handed to the dashboard's import worker through the inbox folder (ingest.inbox).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from store import Store, StoreLockedError, default_db_path

EXIT_OK, EXIT_REJECTED, EXIT_ERROR = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The CLI's arguments (also documents them: every option has help text)."""
    p = argparse.ArgumentParser(
        prog="python -m ingest",
        description="טעינת קובצי Excel/CSV של רשויות למסד הנתונים של יעד / "
        "Import locality spreadsheets into Yaad.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="xlsx / xlsm / xls / ods / csv files to import")
    p.add_argument("--db", type=Path, default=None, help=f"database file (default: {default_db_path()})")
    p.add_argument("--locality", help="locality for sheets with no locality column (e.g. 'קריית גת')")
    p.add_argument(
        "--skip-invalid", action="store_true", help="load the valid rows and leave out rows with errors"
    )
    p.add_argument(
        "--json", action="store_true", help="print one JSON document (a list, one object per file)"
    )
    p.add_argument("--user", default=None, help="who imports (recorded in the history; default: OS user)")
    p.add_argument("--lang", choices=("he", "en"), default="he", help="language of messages (default: he)")
    p.add_argument(
        "--wait",
        type=float,
        default=3.0,
        help="seconds to wait for the database before handing the job to the running dashboard",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds to wait for the running dashboard to finish a handed-over import",
    )
    p.add_argument("--history", action="store_true", help="list import batches, newest first")
    p.add_argument("--rollback", type=int, metavar="BATCH_ID", help="undo one import batch exactly")
    return p


def _user(args: argparse.Namespace) -> str:
    if args.user:
        return args.user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _print_human(results: list[dict], lang: str) -> None:
    labels = {
        "he": {"loaded": "נטען", "unchanged": "ללא שינוי", "rejected": "נדחה", "rows": "שורות"},
        "en": {"loaded": "loaded", "unchanged": "unchanged", "rejected": "rejected", "rows": "rows"},
    }[lang]
    for r in results:
        mark = {"loaded": "✔", "unchanged": "=", "rejected": "✘"}.get(r["status"], "?")
        print(f"{mark} {r['file']}: {labels.get(r['status'], r['status'])}")
        for name, info in r["datasets"].items():
            locs = ", ".join(str(loc["name"]) for loc in info["localities"][:6])
            more = "…" if len(info["localities"]) > 6 else ""
            print(f"    {name}: {info['rows']} {labels['rows']} ({locs}{more})")
        for e in r["errors"][:50]:
            where = " ".join(
                str(x)
                for x in (
                    e.get("sheet") or "",
                    f"row {e['row']}" if e.get("row") else "",
                    e.get("column") or "",
                )
                if x
            )
            print(f"    - {where}: {e['message']}" if where else f"    - {e['message']}")
        if len(r["errors"]) > 50:
            print(f"    … (+{len(r['errors']) - 50})")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = build_parser().parse_args(argv)
    db = args.db or default_db_path()
    if not args.files and not args.history and args.rollback is None:
        build_parser().print_usage(sys.stderr)
        print("error: give at least one FILE (or --history / --rollback)", file=sys.stderr)
        return EXIT_ERROR
    try:
        store = Store(db, wait_seconds=args.wait)
    except StoreLockedError:
        return _via_inbox(args, db)
    with store:
        from store.reference import load_reference

        load_reference(store)
        if args.history:
            from store.batches import list_batches

            print(list_batches(store).to_string(index=False))
            return EXIT_OK
        if args.rollback is not None:
            from store.batches import BatchError, rollback_batch

            try:
                rollback_batch(store, args.rollback, _user(args))
            except BatchError as exc:
                print(exc.message_en if args.lang == "en" else exc.message_he, file=sys.stderr)
                return EXIT_REJECTED
            print(f"batch {args.rollback} rolled back")
            return EXIT_OK
        from ingest.pipeline import import_paths

        results = import_paths(
            store, args.files, user=_user(args), locality=args.locality, skip_invalid=args.skip_invalid
        )
        payload = [localised(r.to_json(), r.problems, args.lang) for r in results]
    return _finish(payload, args)


def localised(obj: dict, problems: list, lang: str) -> dict:
    """The JSON object of a file with its error messages in the chosen language."""
    if lang == "en":
        errs = [p for p in problems if p.is_error]
        if len(errs) == len(obj["errors"]):
            for e, p in zip(obj["errors"], errs, strict=True):
                e["message"] = p.message_en
    return obj


def _finish(payload: list[dict], args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        _print_human(payload, args.lang)
    return EXIT_OK if all(r["status"] in ("loaded", "unchanged") for r in payload) else EXIT_REJECTED


def _via_inbox(args: argparse.Namespace, db: Path) -> int:
    from ingest import inbox

    if args.history or args.rollback is not None:
        print(inbox.LOCKED_MESSAGE[args.lang], file=sys.stderr)
        return EXIT_ERROR
    print(inbox.HANDOVER_MESSAGE[args.lang], file=sys.stderr)
    try:
        payload = inbox.submit(
            db,
            [Path(f) for f in args.files],
            user=_user(args),
            locality=args.locality,
            skip_invalid=args.skip_invalid,
            lang=args.lang,
            timeout=args.timeout,
        )
    except inbox.InboxError as exc:
        print(exc.message_en if args.lang == "en" else exc.message_he, file=sys.stderr)
        return EXIT_ERROR
    return _finish(payload, args)
