"""`python -m store backup --out FILE` / `python -m store restore FILE`: see store.backup.
`python -m store set-password USER`: a new password for a user (e.g. a locked-out admin).

Exit code 0 on success, 2 when refused (the database is held by another process, or the file
is not a backup) or failed; nothing is changed then.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from store import StoreLockedError, default_db_path


def build_parser() -> argparse.ArgumentParser:
    """The commands and their options (every option has help text)."""
    p = argparse.ArgumentParser(
        prog="python -m store", description="גיבוי ושחזור של מסד הנתונים של יעד / Back up and restore Yaad."
    )
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("backup", help="write the whole store to one zip (Parquet + manifest)")
    b.add_argument("--out", type=Path, required=True, help="the backup file to write, e.g. yaad-2026-11.zip")
    b.add_argument("--db", type=Path, default=None, help=f"database file (default: {default_db_path()})")
    r = sub.add_parser("restore", help="replace the database with a backup (old file kept as .bak)")
    r.add_argument("file", type=Path, help="a backup zip written by `python -m store backup`")
    r.add_argument("--db", type=Path, default=None, help=f"database file (default: {default_db_path()})")
    pw = sub.add_parser(
        "set-password", help="set a user's password (e.g. a locked-out admin); prompts for it"
    )
    pw.add_argument("username", help="the user name")
    pw.add_argument("--db", type=Path, default=None, help=f"database file (default: {default_db_path()})")
    for sp in (b, r, pw):
        sp.add_argument("--lang", choices=("he", "en"), default="he", help="language of messages")
    return p


def _set_password(db: Path, username: str, en: bool) -> int:
    """The operator on the server (who holds the database file) sets a password; audited as 'cli'."""
    import getpass

    from store import Store, users

    password = getpass.getpass("Password: " if en else "סיסמה: ")
    if password != getpass.getpass("Again: " if en else "שוב: "):
        print("The passwords differ." if en else "הסיסמאות אינן זהות.", file=sys.stderr)
        return 2
    with Store(db, wait_seconds=5) as store:
        try:
            users.update_user(store, "cli", username, password=password, disabled=False)
        except users.UserError as exc:
            print(exc.message("en" if en else "he"), file=sys.stderr)
            return 2
    print(f"password set for {username}" if en else f"הסיסמה של {username} עודכנה")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    from store.backup import BackupError, backup, restore

    args = build_parser().parse_args(argv)
    db = args.db or default_db_path()
    en = args.lang == "en"
    try:
        if args.command == "set-password":
            return _set_password(db, args.username, en)
        if args.command == "backup":
            manifest = backup(db, args.out)
            rows = sum(manifest["tables"].values())
            print(
                f"backup written: {args.out} ({rows:,} rows)"
                if en
                else f"נכתב גיבוי: {args.out} ({rows:,} שורות)"
            )
        else:
            manifest = restore(args.file, db)
            rows = sum(manifest["tables"].values())
            bak = db.with_name(db.name + ".bak")
            kept = f"; previous file kept as {bak}" if bak.exists() else ""
            kept_he = f"; הקובץ הקודם נשמר בשם {bak}" if bak.exists() else ""
            print(
                f"restored {db} from {args.file} ({rows:,} rows){kept}"
                if en
                else f"שוחזר {db} מתוך {args.file} ({rows:,} שורות){kept_he}"
            )
    except BackupError as exc:
        print(exc.message_en if en else exc.message_he, file=sys.stderr)
        return 2
    except StoreLockedError as exc:
        he, _, en_text = str(exc).partition(" / ")
        print(en_text if en and en_text else he, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
