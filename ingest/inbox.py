"""Handing imports to the running dashboard when it holds the database (the CLI-while-server design).

DuckDB lets exactly one process open a database file read-write, and then no other process may
open it at all (RECIPES.md). So while the dashboard runs, the CLI cannot write, and must not try
to work around the lock. Instead the dashboard process runs a small import worker (a daemon
thread started by app.py through `start_worker(store)`), and the CLI hands it the job through a
spool folder next to the database:

    data/inbox/worker.json            heartbeat: pid, database, time (rewritten every second)
    data/inbox/<job>/request.json     written by the CLI (atomically: built as <job>.tmp, renamed)
    data/inbox/<job>/files/...        copies of the files to import
    data/inbox/<job>/response.json    written by the worker: the same JSON the CLI prints

The worker imports through the same pipeline and store as everything else (one lock, one
transaction per file), so a handed-over import is exactly as atomic as a direct one.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path

from store import Store
from store.errors import BilingualError

HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 10.0  # a heartbeat older than this means no live worker

LOCKED_MESSAGE = {
    "he": "מסד הנתונים פתוח בשרת הדשבורד; פעולה זו אפשרית רק כשהשרת כבוי (או מדף ההיסטוריה בדשבורד).",
    "en": "The dashboard server holds the database; this works only while it is stopped (or "
    "from its history page).",
}
HANDOVER_MESSAGE = {
    "he": "מסד הנתונים פתוח בשרת הדשבורד: הקבצים נמסרים לשרת לטעינה, ממתינים לתשובה…",
    "en": "The dashboard server holds the database: handing the files to it for import, waiting "
    "for its answer…",
}


class InboxError(BilingualError):
    """The handover could not complete, with a message in Hebrew and English."""


def inbox_dir(db_path: str | Path) -> Path:
    """The spool folder that belongs to a database file."""
    return Path(db_path).resolve().parent / "inbox"


# -- the CLI side --------------------------------------------------------------------------------
def worker_alive(db_path: str | Path) -> bool:
    """Whether a dashboard process is serving the inbox of this database right now."""
    beat = inbox_dir(db_path) / "worker.json"
    try:
        info = json.loads(beat.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    fresh = time.time() - float(info.get("time", 0)) < STALE_SECONDS
    return fresh and info.get("db") == str(Path(db_path).resolve())


def submit(
    db_path: str | Path,
    files: list[Path],
    *,
    user: str,
    locality: str | None = None,
    skip_invalid: bool = False,
    lang: str = "he",
    timeout: float = 600.0,
    poll: float = 0.2,
) -> list[dict]:
    """Hand files to the running dashboard's worker and wait for its results (the CLI JSON list)."""
    if not worker_alive(db_path):
        raise InboxError(
            f"מסד הנתונים {db_path} פתוח בתהליך אחר, ואין שרת דשבורד פעיל שיקבל את הקבצים. "
            "נסו שוב כשהתהליך האחר יסתיים.",
            f"The database {db_path} is held by another process and no dashboard import worker is running. "
            "Try again when the other process has finished.",
        )
    root = inbox_dir(db_path)
    job = uuid.uuid4().hex
    staging = root / f"{job}.tmp"
    names = []
    for i, path in enumerate(files):
        name = f"{i:03d}/{Path(path).name}"  # one folder per file keeps the user's file name
        (staging / "files" / f"{i:03d}").mkdir(parents=True)
        try:
            shutil.copyfile(path, staging / "files" / name)
        except OSError:
            pass  # the worker reports a missing file like a direct import would
        names.append(name)
    staging.mkdir(parents=True, exist_ok=True)
    request = {
        "files": names,
        "user": user,
        "locality": locality,
        "skip_invalid": skip_invalid,
        "lang": lang,
        "created": time.time(),
    }
    (staging / "request.json").write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    final = root / job
    staging.rename(final)  # atomic: the worker never sees a half-written job
    deadline = time.monotonic() + timeout
    response = final / "response.json"
    while time.monotonic() < deadline:
        if response.exists():
            payload = json.loads(response.read_text(encoding="utf-8"))
            shutil.rmtree(final, ignore_errors=True)
            return payload
        time.sleep(poll)
    (final / "cancel").touch()
    raise InboxError(
        f"שרת הדשבורד לא השיב תוך {timeout:.0f} שניות. ייתכן שהטעינה עוד תושלם: בדקו בהיסטוריית הטעינות.",
        f"The dashboard server did not answer within {timeout:.0f} s. The import may still complete: "
        "check the import history.",
    )


# -- the dashboard side -------------------------------------------------------------------------
_workers: dict[Path, Worker] = {}
_workers_lock = threading.Lock()


class Worker(threading.Thread):
    """A daemon thread in the dashboard process that imports jobs from the inbox."""

    def __init__(self, store: Store, root: Path, interval: float = HEARTBEAT_SECONDS) -> None:
        super().__init__(name="yaad-inbox", daemon=True)
        self.store = store
        self.root = root
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        """Beat, take waiting jobs oldest first, repeat until stopped."""
        self.root.mkdir(parents=True, exist_ok=True)
        while not self.stopping.is_set():
            self._beat()
            for job in self._waiting():
                self._process(job)
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        """Stop after the current job (used by tests)."""
        self.stopping.set()

    def _beat(self) -> None:
        info = {"pid": os.getpid(), "db": str(Path(self.store.path).resolve()), "time": time.time()}
        tmp = self.root / f"worker.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(info), encoding="utf-8")
        tmp.replace(self.root / "worker.json")

    def _waiting(self) -> list[Path]:
        jobs = [
            p
            for p in self.root.iterdir()
            if p.is_dir()
            and not p.name.endswith(".tmp")
            and (p / "request.json").exists()
            and not (p / "response.json").exists()
        ]
        return sorted(jobs, key=lambda p: (p / "request.json").stat().st_mtime)

    def _process(self, job: Path) -> None:
        from ingest.cli import localised
        from ingest.pipeline import import_paths

        if (job / "cancel").exists():
            shutil.rmtree(job, ignore_errors=True)
            return
        try:
            req = json.loads((job / "request.json").read_text(encoding="utf-8"))
            paths = [job / "files" / name for name in req["files"]]
            results = import_paths(
                self.store,
                paths,
                user=str(req.get("user") or "cli"),
                locality=req.get("locality"),
                skip_invalid=bool(req.get("skip_invalid")),
            )
            payload = []
            payload = [localised(r.to_json(), r.problems, req.get("lang", "he")) for r in results]
        except Exception as exc:
            payload = [
                {
                    "file": "?",
                    "status": "rejected",
                    "datasets": {},
                    "errors": [
                        {
                            "sheet": None,
                            "row": None,
                            "column": None,
                            "value": None,
                            "message": f"שגיאה בטעינה בשרת / import failed on the server: {exc}",
                        }
                    ],
                }
            ]
        tmp = job / "response.tmp"
        tmp.write_text(json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8")
        tmp.replace(job / "response.json")
        shutil.rmtree(job / "files", ignore_errors=True)


def start_worker(store: Store, *, interval: float = HEARTBEAT_SECONDS) -> Worker:
    """Start (once per process and database) the thread that serves CLI imports; returns it."""
    root = inbox_dir(store.path)
    with _workers_lock:
        worker = _workers.get(root)
        if worker is None or not worker.is_alive():
            worker = Worker(store, root, interval)
            worker.start()
            _workers[root] = worker
        return worker
