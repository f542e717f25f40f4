"""Faults and hostile inputs for the reliability suite, all generated in code (nothing binary committed).

Two parts, shared by tests/test_reliability_*.py and benchmarks/bench_hostile.py:

* crash harness: a worker process imports and rolls back a multi-sheet workbook in a loop while
  the parent SIGKILLs it at random points (process start, read, analyse, write, rollback) and
  then checks that the DuckDB file holds the whole batch or none of it;
* hostile corpus: files a locality (or an attacker) could send, each run in its own process so
  that peak memory (ru_maxrss) and time are measured per input, and a crash stays contained.

Builders from tests/odd_files.py are reused where they exist.

    python -m tests.hostile_corpus crash-zygote DB FILE    (the harness's fork server)
    python -m tests.hostile_corpus measure DB FILE         (one input, prints JSON)
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import odd_files as O

ROOT = Path(__file__).resolve().parent.parent
CRASH_FILE = "crash_workbook.xlsx"
LOCALITIES = ["קריית גת", "דימונה", "ערד", "נתניה", "חדרה", "עפולה", "שדרות", "יוקנעם"]
CHECKED_TABLES = ("programs", "trainings", "meetings", "budgets", "volunteers", "targets")


# -- store snapshots ------------------------------------------------------------------------------
def snapshot(store: Any) -> dict[str, Any]:
    """Row counts (all and current) of every table, batches and data version: 'the store unchanged'."""
    from store import DATASET_TABLES

    out: dict[str, Any] = {}
    with store.cursor() as cur:
        for t in (*DATASET_TABLES, "targets"):
            out[t] = cur.execute(
                f"SELECT count(*), count(*) FILTER (WHERE superseded_by IS NULL) FROM {t}"
            ).fetchone()
        out["import_batches"] = cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'committed') FROM import_batches"
        ).fetchone()
        out["data_version"] = cur.execute(
            "SELECT value FROM store_meta WHERE key = 'data_version'"
        ).fetchone()[0]
    return out


def prepared_store(path: Path, *, sample: bool = True) -> Path:
    """A closed store file with the reference list (and the sample workbooks): copied per run."""
    from ingest.first_run import ensure_ready
    from store import Store

    with Store(path) as store:
        ensure_ready(store, load_sample=sample)
    return path


# -- crash harness --------------------------------------------------------------------------------
def crash_workbook(programs: int = 12_000, trainings: int = 8_000, seed: int = 8) -> bytes:
    """Two sheets for eight sample localities: the batch supersedes stored rows and appends its own."""
    import openpyxl

    rnd = random.Random(seed)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("רשימת תוכניות")
    ws.append(["יישוב", "שם התוכנית", "גוף מפעיל", "סטטוס", "מספר משתתפים", "תאריך התחלה"])
    for i in range(programs):
        ws.append(
            [
                LOCALITIES[i % len(LOCALITIES)],
                f"תוכנית עמידות {i}",
                rnd.choice(["ג'וינט", "רשות", "עמותה"]),
                rnd.choice(["פעילה", "בהקמה"]),
                rnd.randrange(500),
                dt.date(2020, 1, 1) + dt.timedelta(days=rnd.randrange(1500)),
            ]
        )
    ws = wb.create_sheet("הכשרות")
    ws.append(O.TRAININGS_HEADER)
    for i in range(trainings):
        ws.append(
            [
                LOCALITIES[i % len(LOCALITIES)],
                dt.date(2025, 1, 1) + dt.timedelta(days=i % 300),
                f"נושא {i}",
                rnd.choice(["סדנה", "קורס", "יום עיון"]),
                "רכזים",
                rnd.randrange(1, 60),
                rnd.randrange(1, 10),
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _mark(phase: str) -> None:
    os.write(1, (phase + "\n").encode())  # unbuffered: a marker is in the pipe before any kill


def _crash_zygote(db: str, file: str) -> None:
    """Import everything once, then fork a worker per request: a kill costs no interpreter start.

    Each forked worker opens the store (WAL replay), then imports the file and rolls it back,
    forever, printing a marker before every step. The parent SIGKILLs it at a random point.
    """
    import ingest.pipeline as pipeline
    from store import Store
    from store.batches import rollback_batch

    read = pipeline.read_workbook

    def marked_read(*args: Any, **kwargs: Any):  # a test hook
        _mark("read")
        out = read(*args, **kwargs)
        _mark("analyse")
        return out

    pipeline.read_workbook = marked_read
    transaction = Store.transaction
    importing = [False]

    @contextmanager
    def marked_transaction(self: Store):  # wraps Store.transaction
        with transaction(self) as cur:
            if importing[0]:
                _mark("txn")
            yield cur
            if importing[0]:
                _mark("commit")  # the wrapped context runs COMMIT (and any checkpoint) on exit
        if importing[0]:
            _mark("committed")

    Store.transaction = marked_transaction
    name = Path(file).name
    _mark("zygote")
    for line in sys.stdin:
        command = line.split()
        if command[0] == "reap":
            _, status = os.waitpid(int(command[1]), 0)
            _mark(f"reaped {command[1]} {status}")
            continue
        pid = os.fork()
        if pid:
            _mark(f"pid {pid}")
            continue
        try:  # the worker
            _mark("open")
            store = Store(db)
            _mark("recover")  # a previous worker may have been killed after its commit
            left = store.query_one(
                "SELECT max(batch_id) FROM import_batches WHERE file_name = ? AND status = 'committed'",
                [name],
            )
            if left is not None:
                _mark("rollback")
                rollback_batch(store, int(left), "crash-test")
            while True:
                _mark("ready")
                analysis = pipeline.analyse(Path(file).read_bytes(), name, store)
                _mark("write")
                importing[0] = True
                result = pipeline.commit(analysis, store, user="crash-test")
                importing[0] = False
                if result.status != "loaded":
                    _mark(f"failed {result.status} {result.errors[:2]}")
                    break
                _mark("rollback")
                rollback_batch(store, int(result.batch_id), "crash-test")
        except BaseException as exc:
            _mark(f"died {type(exc).__name__}: {exc}"[:500].replace("\n", " "))
        finally:
            os._exit(3)


@dataclass
class CrashStates:
    """The two states a killed import may leave: before (no batch) and after (the whole batch)."""

    before: dict[str, Any]
    after: dict[str, Any]
    batch_rows: dict[str, int]  # table -> rows the file's batch carries


def crash_states(base_db: Path, workbook: Path, work: Path) -> CrashStates:
    """Import the workbook once, unkilled, into a copy of the base store: the reference states."""
    from ingest.pipeline import analyse, commit
    from store import Store

    db = work / "reference.duckdb"
    shutil.copy(base_db, db)
    with Store(db) as store:
        before = snapshot(store)
        result = commit(analyse(workbook.read_bytes(), workbook.name, store), store, user="crash-test")
        assert result.status == "loaded", result.errors[:3]
        after = snapshot(store)
        rows = {
            t: int(store.query_one(f"SELECT count(*) FROM {t} WHERE batch_id = ?", [result.batch_id]))
            for t in CHECKED_TABLES
        }
    return CrashStates(_comparable(before), _comparable(after), rows)


def _comparable(snap: dict[str, Any]) -> dict[str, Any]:
    """Everything but the counters that legitimately grow with every import and rollback."""
    return {k: v for k, v in snap.items() if k not in ("import_batches", "data_version")}


@dataclass
class KillRecord:
    """One SIGKILL: the phase aimed at, the delay into it, where the worker was, what the store held."""

    target: str
    delay: float
    phase: str
    outcome: str  # before | after
    reopen_seconds: float


@dataclass
class CrashReport:
    """The kills of one run and what they found."""

    kills: list[KillRecord] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def by_phase(self) -> dict[str, dict[str, int]]:
        """phase -> {'before': n, 'after': n}."""
        out: dict[str, dict[str, int]] = {}
        for k in self.kills:
            out.setdefault(k.phase, {"before": 0, "after": 0})[k.outcome] += 1
        return out


PHASES = ("open", "read", "analyse", "txn", "commit", "rollback")
# marker -> the phase it starts (the others name themselves)
_PHASE_OF = {"ready": "read", "write": "analyse", "committed": "committed", "recover": "open"}


class _Zygote:
    """The parent's handle on the fork server: fork a worker, wait for a marker, kill, reap."""

    def __init__(self, db: Path, workbook: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.hostile_corpus", "crash-zygote", str(db), str(workbook)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[tuple[float, str]] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_for(lambda m: m == "zygote", 120)

    def _pump(self) -> None:
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append((time.monotonic(), line.strip()))
                self.cond.notify_all()

    def wait_for(
        self, match: Callable[[str], bool], timeout: float, since: int = 0
    ) -> tuple[int, float, str]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(since, len(self.lines)):
                    if match(self.lines[i][1]):
                        return i, *self.lines[i]
                    if self.lines[i][1].startswith(("died ", "failed ")):
                        raise RuntimeError(f"crash worker: {self.lines[i][1]}")
                since = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(f"crash worker: no marker in time; last lines {self.lines[-5:]}")
                self.cond.wait(left)

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def fork(self) -> tuple[int, int]:
        """Start a worker; returns (its pid, index of its first line)."""
        since = len(self.lines)
        self.send("fork")
        i, _, line = self.wait_for(lambda m: m.startswith("pid "), 30, since)
        return int(line.split()[1]), i + 1

    def kill(self, pid: int, since: int) -> str:
        """SIGKILL the worker, reap it, and return the last phase it had announced."""
        os.kill(pid, signal.SIGKILL)
        self.send(f"reap {pid}")
        i, _, line = self.wait_for(lambda m: m.startswith(f"reaped {pid}"), 30, since)
        status = int(line.split()[2])
        if not os.WIFSIGNALED(status) or os.WTERMSIG(status) != signal.SIGKILL:
            raise AssertionError(f"worker ended by itself ({status}): {self.lines[since:i][-3:]}")
        marks = [m for _, m in self.lines[since:i] if m in (*PHASES, *_PHASE_OF)]
        last = marks[-1] if marks else "open"
        return _PHASE_OF.get(last, last)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _calibrate(z: _Zygote) -> dict[str, float]:
    """How long each phase takes in one unkilled loop (the window random kills are drawn from)."""
    pid, since = z.fork()
    i, _, _ = z.wait_for(lambda m: m == "ready", 60, since)
    z.wait_for(lambda m: m == "ready", 120, i + 1)
    z.kill(pid, since)
    first: dict[str, float] = {}
    for t, m in z.lines[since:]:
        first.setdefault(m, t)
    first["read"] = first["ready"]
    ends = {"open": "ready", "read": "analyse", "analyse": "txn", "txn": "commit", "commit": "committed"}
    out = {p: first[ends[p]] - first[p] for p in ends}
    out["rollback"] = [t for t, m in z.lines[since:] if m == "ready"][1] - first["rollback"]
    return out


def check_crash_state(db: Path, states: CrashStates, file_name: str) -> str:
    """Open the killed store (WAL replay) and prove it holds the whole batch or none: 'before'/'after'."""
    from store import Store

    with Store(db) as store:
        now = _comparable(snapshot(store))
        batches = store.query_df(
            "SELECT batch_id, status FROM import_batches WHERE file_name = ? ORDER BY batch_id", [file_name]
        )
        committed = batches[batches["status"] == "committed"]["batch_id"].tolist()
        rolled = batches[batches["status"] == "rolled_back"]["batch_id"].tolist()
        for t in CHECKED_TABLES:
            orphans = store.query_one(
                f"SELECT count(*) FROM {t} WHERE batch_id IS NOT NULL AND batch_id NOT IN "
                "(SELECT batch_id FROM import_batches)"
            )
            assert orphans == 0, f"{t}: {orphans} rows of a batch that is not recorded"
            if rolled:
                ids = ", ".join(map(str, rolled))
                left = store.query_one(f"SELECT count(*) FROM {t} WHERE batch_id IN ({ids})")
                assert left == 0, f"{t}: {left} rows of rolled-back batches"
                if t != "targets":  # targets are superseded by target_id, not batch_id
                    marked = store.query_one(f"SELECT count(*) FROM {t} WHERE superseded_by IN ({ids})")
                    assert marked == 0, f"{t}: {marked} rows still superseded by a rolled-back batch"
        assert len(committed) <= 1, f"more than one live batch of the file: {committed}"
        if committed:
            for t, n in states.batch_rows.items():
                got = store.query_one(f"SELECT count(*) FROM {t} WHERE batch_id = ?", [committed[0]])
                assert got == n, f"{t}: batch {committed[0]} has {got} rows, the file has {n}"
            assert now == states.after, f"batch recorded but counts differ: {now} != {states.after}"
            return "after"
        assert now == states.before, f"no batch recorded but counts changed: {now} != {states.before}"
        return "before"


def run_kills(
    base_db: Path,
    workbook: Path,
    work: Path,
    kills: int,
    *,
    seed: int = 8,
    progress: Callable[[KillRecord], None] | None = None,
) -> CrashReport:
    """SIGKILL an importing worker `kills` times at random points on one store file, checking each time.

    Kills are aimed at each phase in turn (open with WAL replay, read, analyse, inside the write
    transaction, during COMMIT, during the rollback transaction),
    at a random delay into it; one in seven lands anywhere in a whole loop.
    """
    started = time.monotonic()
    rnd = random.Random(seed)
    states = crash_states(base_db, workbook, work)
    db = work / "crash.duckdb"
    shutil.copy(base_db, db)
    z = _Zygote(db, workbook)
    try:
        report = CrashReport(durations=_calibrate(z))
        check_crash_state(db, states, workbook.name)
        loop = sum(report.durations.values())
        for i in range(kills):
            target = "any" if i % 7 == 6 else PHASES[i % 7]
            pid, since = z.fork()
            if target in ("open", "any"):
                t0 = z.lines[since - 1][0]
                delay = rnd.uniform(0, report.durations["open"] if target == "open" else loop)
            else:
                marker = "ready" if target == "read" else target
                _, t0, _ = z.wait_for(lambda m, marker=marker: m == marker, 120, since)
                delay = rnd.uniform(0, report.durations[target] * 1.1)
            time.sleep(max(0.0, t0 + delay - time.monotonic()))
            phase = z.kill(pid, since)
            t1 = time.monotonic()
            outcome = check_crash_state(db, states, workbook.name)
            record = KillRecord(target, round(delay, 4), phase, outcome, round(time.monotonic() - t1, 3))
            report.kills.append(record)
            if progress is not None:
                progress(record)
    finally:
        z.close()
    report.seconds = time.monotonic() - started
    return report


# -- hostile corpus: builders -----------------------------------------------------------------------
BUDGET_HEADER = "יישוב,שנה,מקור,סכום"


def _rezip(data: bytes, edit: Callable[[str, bytes], bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zi, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            zo.writestr(info.filename, edit(info.filename, zi.read(info.filename)))
    return buf.getvalue()


def pdf_file() -> bytes:
    """A PDF renamed to .xlsx."""
    return b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def html_table() -> bytes:
    """An HTML 'Excel export' from a web system."""
    return "<html><body><table><tr><td>יישוב</td></tr></table></body></html>".encode()


def random_bytes() -> bytes:
    """64 KB of noise with an .xlsx name."""
    return random.Random(1).randbytes(65536)


def corrupt_sheet() -> bytes:
    """An xlsx whose worksheet's compressed bytes were damaged (CRC mismatch)."""
    rows = [["יישוב", "שנה", "מקור", "סכום"]] + [["ערד", 2025, "רשות", i] for i in range(300)]
    data = bytearray(O.xlsx({"x": rows}))
    name = b"xl/worksheets/sheet1.xml"
    header = data.find(b"PK\x03\x04")  # the first local header
    while data[header + 30 : header + 30 + len(name)] != name:
        header = data.find(b"PK\x03\x04", header + 4)
    start = header + 30 + len(name) + int.from_bytes(data[header + 28 : header + 30], "little")
    for i in range(start + 20, start + 220):
        data[i] ^= 0x5A
    return bytes(data)


def truncated_xls() -> bytes:
    """A legacy .xls cut in half."""
    data = O.xls_programs()
    return data[: len(data) // 2]


def zip_encrypted_entry() -> bytes:
    """An xlsx whose entries carry the zip 'encrypted' flag (password-protected zip, not Excel's)."""
    data = bytearray(O.xlsx({"x": [["יישוב"], ["ערד"]]}))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.find(sig)
        while at >= 0:
            flag_at = at + (6 if sig == b"PK\x03\x04" else 8)
            data[flag_at] |= 0x01
            at = data.find(sig, at + 4)
    return bytes(data)


def many_entries_zip() -> bytes:
    """An xlsx with 6,000 extra zip entries (a directory-bomb)."""
    data = O.xlsx({"x": [["יישוב"], ["ערד"]]})
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_STORED) as z:
        for i in range(6000):
            z.writestr(f"xl/media/pad{i}.bin", b"")
    return buf.getvalue()


def declared_dimension_whole_grid() -> bytes:
    """Two rows, but `<dimension ref="A1:XFD1048576"/>` and a whole-grid merged range."""
    data = O.raw_xlsx(rows=[["יישוב", "שנה", "מקור", "סכום"], ["ערד", 2025, "רשות", 100]])

    def edit(name: str, body: bytes) -> bytes:
        if name.endswith("sheet1.xml"):
            body = body.replace(b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>')
            body = body.replace(
                b"</sheetData>",
                b'</sheetData><mergeCells count="1"><mergeCell ref="A3:XFD1048576"/></mergeCells>',
            )
        return body

    return _rezip(data, edit)


def ods_repeated_grid() -> bytes:
    """An ODS sheet with a row repeated a million times followed by content (LibreOffice's grid)."""
    data = O.ods_partnerships()

    def edit(name: str, body: bytes) -> bytes:
        if name == "content.xml":
            row = (
                b'<table:table-row table:number-rows-repeated="2000000"><table:table-cell/></table:table-row>'
            )
            body = body.replace(
                b"</table:table>",
                row + b"<table:table-row><table:table-cell office:value-type="
                b'"string"><text:p>x</text:p></table:table-cell></table:table-row></table:table>',
                1,
            )
        return body

    return _rezip(data, edit)


def csv_wide() -> bytes:
    """A CSV with 100,000 columns in its header."""
    return (",".join(f"c{i}" for i in range(100_000)) + "\n" + "1," * 99_999 + "1\n").encode()


def xlsx_million_rows(n: int = 1_000_000) -> bytes:
    """A real million-row budget sheet, written as raw XML: what a database dump looks like."""
    header = "".join(
        f'<c r="{c}1" t="inlineStr"><is><t>{h}</t></is></c>'
        for c, h in zip("ABCD", BUDGET_HEADER.split(","), strict=True)
    )
    body = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>ערד</t></is></c><c r="B{i}"><v>2025</v></c>'
        f'<c r="C{i}" t="inlineStr"><is><t>רשות</t></is></c><c r="D{i}"><v>{i}</v></c></row>'
        for i in range(2, n + 2)
    )
    return O.raw_xlsx(f'<row r="1">{header}</row>' + body)


ERROR_LITERALS = ("#DIV/0!", "#REF!", "#N/A", "#VALUE!", "#NAME?")


def formula_errors() -> bytes:
    """Trainings whose formulas failed: error cells (t="e") in number, date, text and locality columns."""
    head = "".join(
        f'<c r="{O._col(j)}1" t="inlineStr"><is><t>{h}</t></is></c>'
        for j, h in enumerate(O.TRAININGS_HEADER, 1)
    )

    def text(ref: str, v: str) -> str:
        return f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>'

    def err(ref: str, v: str, formula: str = "1/0") -> str:
        return f'<c r="{ref}" t="e"><f>{formula}</f><v>{v}</v></c>'

    rows = [f'<row r="1">{head}</row>']
    good = [
        text("A{r}", "ערד"),
        '<c r="B{r}"><v>45700</v></c>',
        text("C{r}", "נושא {r}"),
        text("D{r}", "סדנה"),
        text("E{r}", "רכזים"),
        '<c r="F{r}"><v>10</v></c>',
        '<c r="G{r}"><v>2</v></c>',
    ]
    broken = {3: (5, "#DIV/0!"), 4: (1, "#N/A"), 5: (2, "#REF!"), 6: (0, "#NAME?"), 7: (6, "#VALUE!")}
    for r in range(2, 8):
        cells = [c.replace("{r}", str(r)) for c in good]
        if r in broken:
            j, v = broken[r]
            cells[j] = err(f"{O._col(j + 1)}{r}", v)
        rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    return O.raw_xlsx("".join(rows))


FORMULA_ERROR_ROWS = {3: "#DIV/0!", 4: "#N/A", 5: "#REF!", 6: "#NAME?", 7: "#VALUE!"}


def csv_error_literals() -> bytes:
    """A CSV saved from Excel: the failed formulas arrive as their error text."""
    return (BUDGET_HEADER + "\nערד,2025,רשות,#DIV/0!\nערד,2025,קרן,#N/A\nערד,2025,משרד הרווחה,100\n").encode()


def long_cell_csv() -> bytes:
    """A training whose topic is one megabyte of text (a paste gone wrong), as CSV."""
    return _trainings_csv(["א" * 1_048_576, "נושא רגיל"])


def long_cell_xlsx() -> bytes:
    """The same one-megabyte topic in an xlsx (Excel would not write it; a script can)."""
    return _trainings_xlsx(["א" * 1_048_576, "נושא רגיל"])


def over_excel_cell_csv() -> bytes:
    """A 40,000-character topic: under the CSV reader's limit, over Excel's 32,767 per cell."""
    return _trainings_csv(["ב" * 40_000, "נושא רגיל"])


def long_header_and_locality() -> bytes:
    """A 1 MB header cell and a 1 MB locality cell."""
    return (
        ",".join(O.TRAININGS_HEADER)
        + ",ב"
        + "ב" * 1_048_576
        + "\n"
        + "ג" * 1_048_576
        + ",05/01/2025,נושא,סדנה,,10,2,x\n"
    ).encode()


CONTROL_TOPICS = {
    "bidi": "\u202eevil.exe\u202c סדנת",
    "controls": "סדנה\x01 עם\x07 בקרה\x1b[31m\x7f",
    "isolates": "\u2066שם\u2069 \u200fנושא\u200e \u061cבדיקה",
    "zero_width": "סד\u200bנה\ufeff",
}
# In xlsx a NUL can only arrive escaped (_x0000_), which calamine decodes.
XLSX_CONTROL_TOPICS = {**CONTROL_TOPICS, "nul": "סדנה_x0000_ עם NUL_x0007_"}
INJECTION_TOPICS = {
    "dde": "=cmd|' /C calc'!A0",
    "at": "@SUM(1)",
    "plus": "+1+1",
    "minus": "-2+3",
    "script": "<script>alert(1)</script>",
    "sql": "'; DROP TABLE programs; --",
}


def _trainings_csv(topics: list[str]) -> bytes:
    lines = [",".join(O.TRAININGS_HEADER)]
    for i, topic in enumerate(topics):
        quoted = '"' + topic.replace('"', '""') + '"'
        lines.append(f"ערד,{i % 28 + 1:02d}/{i // 28 % 12 + 1:02d}/2025,{quoted},סדנה,רכזים,10,2")
    return ("\n".join(lines) + "\n").encode()


def control_characters() -> bytes:
    """Trainings (CSV) whose topics carry bidi overrides, isolates, BEL, ESC and zero-width characters."""
    return _trainings_csv(list(CONTROL_TOPICS.values()))


def _trainings_xlsx(topics: list[str]) -> bytes:
    """Trainings as hand-written XML, so every topic is an inline string exactly as given."""
    rows = [O.TRAININGS_HEADER] + [
        ["ערד", f"{i + 1:02d}/01/2025", t, "סדנה", "רכזים", 10, 2] for i, t in enumerate(topics)
    ]
    return O.raw_xlsx(rows=rows)


def control_characters_xlsx() -> bytes:
    """The same in an xlsx, plus a NUL and a BEL in Excel's _xHHHH_ escape."""
    return _trainings_xlsx(list(XLSX_CONTROL_TOPICS.values()))


def injection_strings() -> bytes:
    """Trainings whose topics are formula, DDE, HTML and SQL injection attempts (text cells)."""
    return _trainings_xlsx(list(INJECTION_TOPICS.values()))


def formula_without_value() -> bytes:
    """A DDE formula cell with no cached value (files written by scripts, not Excel)."""
    body = O.raw_xlsx(rows=[O.TRAININGS_HEADER, ["ערד", "01/02/2025", "x", "סדנה", "רכזים", 10, 2]])
    return _rezip(
        body,
        lambda name, b: (
            b.replace(
                b'<c r="C2" t="inlineStr"><is><t>x</t></is></c>', b"<c r=\"C2\"><f>cmd|' /C calc'!A0</f></c>"
            )
            if name.endswith("sheet1.xml")
            else b
        ),
    )


def injection_in_locality_and_sheet_name() -> bytes:
    """Injection strings where a locality and a sheet name are expected."""
    rows = [O.TRAININGS_HEADER, ["'; DROP TABLE programs; --", "05/01/2025", "x", "סדנה", None, 10, 2]]
    return O.xlsx({"x'; DROP TABLE trainings;--": rows})


@dataclass(frozen=True)
class Hostile:
    """One hostile input: how to build it, and what must happen (refused with text, or a safe load)."""

    name: str
    group: str
    build: Callable[[], bytes]
    refused: str | None = None  # a piece of the Hebrew message when refused
    loads: bool = False  # a safe load (possibly with per-cell problems)
    cell_problems: int = 0  # per-cell problems expected (rows left out with skip-invalid)


CORPUS: tuple[Hostile, ...] = (
    Hostile("photo.xlsx", "not a spreadsheet", O.not_a_spreadsheet, "אינו גיליון אלקטרוני"),
    Hostile("report.xlsx", "not a spreadsheet", pdf_file, "אינו גיליון אלקטרוני"),
    Hostile("letter.docx", "not a spreadsheet", O.word_document, "אינו גיליון אלקטרוני"),
    Hostile("export.xls", "not a spreadsheet", html_table, "דף HTML"),
    Hostile("noise.xlsx", "not a spreadsheet", random_bytes, "אינו גיליון אלקטרוני"),
    Hostile("zero.xlsx", "not a spreadsheet", lambda: b"", "ריק"),
    Hostile("truncated.xlsx", "corrupt", O.truncated, "פגום או קטוע"),
    Hostile("damaged.xlsx", "corrupt", corrupt_sheet, "פגום או קטוע"),
    Hostile("truncated.xls", "corrupt", truncated_xls, "פגום או קטוע"),
    Hostile("locked.xlsx", "encrypted", O.encrypted, "מוגן בסיסמה"),
    Hostile("zip-password.xlsx", "encrypted", zip_encrypted_entry, "מוגן בסיסמה"),
    Hostile("bomb.xlsx", "inflating zip", O.zip_bomb, "נפרס לגודל חריג"),
    Hostile("entries.xlsx", "inflating zip", many_entries_zip, "נפרס לגודל חריג"),
    Hostile("whole_grid.xlsx", "whole grid", O.whole_grid_cell, "טווח תאים עצום"),
    Hostile("wide_sparse.xlsx", "whole grid", O.wide_sparse_cell, "טווח תאים עצום"),
    Hostile("dimension.xlsx", "whole grid", declared_dimension_whole_grid, loads=True),
    Hostile("grid.ods", "whole grid", ods_repeated_grid, "טווח תאים עצום"),
    Hostile("wide.csv", "whole grid", csv_wide, "טווח תאים עצום"),
    Hostile("million.csv", "a million rows", O.csv_million_rows, "המקסימום לקובץ אחד הוא 250,000"),
    Hostile("million.xlsx", "a million rows", xlsx_million_rows, "המקסימום לקובץ אחד הוא 250,000"),
    Hostile("errors.xlsx", "formula errors", formula_errors, loads=True, cell_problems=5),
    Hostile("errors.csv", "formula errors", csv_error_literals, loads=True, cell_problems=2),
    Hostile("long_cell.csv", "long strings", long_cell_csv, "תא ארוך מ-131,072 תווים"),
    Hostile("long_cell.xlsx", "long strings", long_cell_xlsx, loads=True, cell_problems=1),
    Hostile("long_40k.csv", "long strings", over_excel_cell_csv, loads=True, cell_problems=1),
    Hostile("long_header.csv", "long strings", long_header_and_locality, "תא ארוך מ-131,072 תווים"),
    Hostile("controls.csv", "control / bidi", control_characters, loads=True),
    Hostile("controls.xlsx", "control / bidi", control_characters_xlsx, loads=True),
    Hostile("injection.xlsx", "injection", injection_strings, loads=True),
    Hostile("injection_locality.xlsx", "injection", injection_in_locality_and_sheet_name, "לא זוהה"),
    Hostile("dde_formula.xlsx", "injection", formula_without_value, "חסר ערך בעמודת החובה"),
)


# -- hostile corpus: measuring one input in its own process ----------------------------------------
def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB.

    ru_maxrss is reported too, but on Linux it survives exec: a child started from a big parent
    (a test run that built the corpus in memory) reports the parent's size, not its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _measure(db: str, file: str) -> None:
    """Analyse and commit one file (skip-invalid); print status, messages, peak RSS and time as JSON."""
    t0 = time.perf_counter()
    from ingest.pipeline import analyse, commit
    from store import Store

    store = Store(db)
    data = Path(file).read_bytes()
    t = time.perf_counter()
    analysis = analyse(data, Path(file).name, store)
    result = commit(analysis, store, user="hostile", skip_invalid=True)
    seconds = time.perf_counter() - t
    store.close()
    del data
    out = {
        "status": result.status,
        "batch_id": result.batch_id,
        "messages": [e["message"] for e in result.errors][:20],
        "cell_problems": sum(1 for p in analysis.errors if p.row is not None),
        "english": all(p.message_en for p in analysis.problems),
        "seconds": round(seconds, 3),
        "total_seconds": round(time.perf_counter() - t0, 3),
        "peak_mb": peak_rss_mb(),
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(out, ensure_ascii=False))


def measure(db: Path, file: Path, timeout: float = 300.0) -> dict:
    """Run `_measure` in a child process: a crash or abort of the reader stays there and is reported."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.hostile_corpus", "measure", str(db), str(file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        return {"status": "crashed", "returncode": proc.returncode, "stderr": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def build_corpus(folder: Path, only: set[str] | None = None) -> dict[str, Path]:
    """Write every corpus file into `folder` (skipping those already there): name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for h in CORPUS:
        if only is not None and h.name not in only:
            continue
        path = folder / h.name
        if not path.exists():
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(h.build())
            tmp.replace(path)
        out[h.name] = path
    return out


def stored_text_is_clean(text: str) -> bool:
    """No control, bidi or zero-width character survived into stored text."""
    return not re.search(
        "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]", text
    )


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "crash-zygote":
        _crash_zygote(*rest)
    elif command == "measure":
        _measure(*rest)
    else:
        raise SystemExit(f"unknown command {command}")
    os._exit(0)
