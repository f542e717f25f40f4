"""The ingest pipeline: read -> recognise -> clean -> resolve -> validate (analyse), then commit.

`analyse` writes nothing: it returns everything a user needs to decide (recognised sheets,
column mapping, locality resolution, every problem, and what a commit would add, change and
remove). `commit` writes one file as one batch through store.batches, all or nothing.
Expected failures never raise: they become Problems and a "rejected" FileResult.
"""

from __future__ import annotations

import gc
import hashlib
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ingest.clean import CleanRows, CleanSheet, Context, clean_rows, clean_sheet, join_cleaned
from ingest.localities import LocalityResolver, Resolution
from ingest.problems import MASK, Problem
from ingest.reading import MAX_FILE_BYTES, RawSheet, ReadError, read_workbook
from ingest.registry import datasets, header_key
from ingest.shape import HEADER_SCAN_ROWS, Shape, recognise
from ingest.tables import build_tables, find_duplicates
from store import Store
from store.access import AccessDenied, User
from store.batches import BatchError, preview_diff, write_batch

PREVIEW_ROWS = 20


# Sheets that explain a workbook rather than hold data (our templates have one).
INSTRUCTION_SHEETS = frozenset({"הוראות", "הנחיות", "instructions"})


@dataclass
class SheetAnalysis:
    """One sheet: what it was recognised as, how its columns map, its rows and problems."""

    sheet: str
    dataset: str | None
    reason_he: str = ""
    reason_en: str = ""
    header_row: int | None = None  # as the user sees it in Excel
    mapping: dict[str, str] = field(default_factory=dict)  # source header -> column name
    unmapped: list[str] = field(default_factory=list)
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)
    localities: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: list[Problem] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # store table -> valid rows
    rows_total: int = 0
    rows_valid: int = 0
    skipped_totals: int = 0


@dataclass
class FileAnalysis:
    """Everything `analyse` found in one file; nothing has been written."""

    file: str
    content_hash: str
    format: str | None = None
    sheets: list[SheetAnalysis] = field(default_factory=list)
    file_problems: list[Problem] = field(default_factory=list)
    diff: pd.DataFrame = field(default_factory=pd.DataFrame)
    raw_sheets: list = field(default_factory=list, repr=False)  # the cells as read, for the report
    person_columns: dict[str, tuple[int, set[int]]] = field(default_factory=dict, repr=False)

    @property
    def problems(self) -> list[Problem]:
        """File-level problems, then every sheet's."""
        return [*self.file_problems, *(p for s in self.sheets for p in s.problems)]

    @property
    def errors(self) -> list[Problem]:
        """Problems that block a load."""
        return [p for p in self.problems if p.is_error]

    @property
    def readable(self) -> bool:
        """False when the file itself was refused (nothing can be loaded, not even with skip-invalid)."""
        return not any(p.is_error for p in self.file_problems)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Valid rows of the whole file per store table (sheets of one dataset concatenated)."""
        out: dict[str, list[pd.DataFrame]] = {}
        for s in self.sheets:
            for table, frame in s.tables.items():
                out.setdefault(table, []).append(frame)
        return {t: pd.concat(fs, ignore_index=True) if len(fs) > 1 else fs[0] for t, fs in out.items()}

    @property
    def datasets(self) -> dict[str, pd.DataFrame]:
        """Cleaned rows per dataset name (the main table of each dataset)."""
        return {t: f for t, f in self.tables.items() if t in datasets()}


@dataclass
class FileResult:
    """The outcome of one file: loaded, unchanged or rejected, with counts and errors."""

    file: str
    status: str  # loaded | unchanged | rejected
    batch_id: int | None = None
    datasets: dict[str, dict] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    refused: bool = False  # the store refused the user (role or localities): see errors

    @property
    def ok(self) -> bool:
        """Loaded or unchanged: the CLI exits 0 only when every file is ok."""
        return self.status in ("loaded", "unchanged")

    def to_json(self) -> dict:
        """The CLI's JSON object for this file."""
        return {"file": self.file, "status": self.status, "datasets": self.datasets, "errors": self.errors}


def person_secret(store: Store) -> bytes:
    """The per-installation key for participant hashes (created by migration 010)."""
    value = store.query_one("SELECT value FROM store_meta WHERE key = 'person_key_secret'")
    return str(value).encode()


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is read and cleaned.

    Reading creates a list per row and a value per cell (a million objects for the benchmark
    workbook), none of them in reference cycles, yet every few hundred allocations trigger a
    collection pass over all of them: ~5% of a large import. Reference counting still frees
    everything as usual; the collector is switched back on (if it was on) afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# While a large sheet is parsed, python-calamine's threads turn cells into Python objects (holding
# the GIL) as the caller's thread cleans the ranges already parsed: each waits for the other's
# switch interval at every hand-over. 1 ms instead of Python's 5 ms lets the last range finish
# sooner (measured: ~20 ms less on average on the 100,000-row benchmark, and less spread).
SWITCH_INTERVAL = 0.001
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextmanager
def _quick_gil_handoff() -> Iterator[None]:
    """Shorten the interpreter's switch interval while a file is read and cleaned; restored by the
    last of any overlapping analyses."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, SWITCH_INTERVAL))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


def analyse(
    data: bytes,
    file_name: str,
    store: Store,
    *,
    locality: str | None = None,
    column_overrides: dict | None = None,
    resolver: LocalityResolver | None = None,
    user: User | None = None,
) -> FileAnalysis:
    """Read, recognise, clean, resolve and validate a file, and preview its effect. Writes nothing.

    `column_overrides` maps sheet name -> {source header -> column name, or None to ignore it};
    the key "__dataset__" forces the sheet's dataset. With a `user`, rows naming a locality
    outside their scope (and targets sheets, without the right to edit targets) become errors.
    """
    with _no_cycle_collection(), _quick_gil_handoff():
        return _analyse(data, file_name, store, locality, column_overrides, resolver, user)


def _analyse(
    data: bytes,
    file_name: str,
    store: Store,
    locality: str | None,
    column_overrides: dict | None,
    resolver: LocalityResolver | None,
    user: User | None,
) -> FileAnalysis:
    name = Path(file_name).name
    analysis = FileAnalysis(name, hashlib.sha256(data).hexdigest())
    prefetch = _Prefetch(store, resolver)
    overrides = column_overrides or {}
    contexts: list[tuple[Context, list[Problem]]] = []  # built once, by whoever needs it first

    def context() -> tuple[Context, list[Problem]]:
        if not contexts:
            contexts.append(_context(name, *prefetch.result(), locality, user))
        return contexts[0]

    early: dict[str, _EarlySheet | None] = {}  # sheet -> its ranges cleaned so far (None: given up)

    def ranges(part: RawSheet) -> None:
        """Recognise a large sheet from its first rows, and clean each of its row ranges while
        calamine parses the next."""
        try:
            ctx = context()[0]
        except Exception:
            return  # raised again below, where it always was
        if part.name not in early:
            early[part.name] = _early_sheet(part, ctx, overrides.get(part.name))
        elif (found := early[part.name]) is not None:
            found.parts.append(clean_rows(part, found.shape, ctx, 0))
            found.stop += len(part.rows)

    try:
        workbook = read_workbook(data, name, while_parsing=prefetch.start, ranges=ranges)
    except ReadError as exc:
        analysis.file_problems.append(
            Problem(name, exc.sheet, None, None, None, exc.message_he, exc.message_en)
        )
        return analysis
    finally:
        prefetch.wait()  # never leave a thread reading the store behind
    analysis.format = workbook.format
    analysis.raw_sheets = workbook.sheets
    ctx, context_problems = context()
    analysis.file_problems.extend(context_problems)
    for raw in workbook.sheets:
        found = early.get(raw.name)
        if found is not None and raw.early_rows != found.stop:
            found = None  # the first rows were not the sheet's own after all (see RawSheet.early_rows)
        sheet = _analyse_sheet(raw, ctx, overrides.get(raw.name), found)
        analysis.sheets.append(sheet)
        if sheet.dataset and sheet.header_row:
            ds = datasets()[sheet.dataset]
            person = {ds.column(c).name for c in sheet.mapping.values() if ds.column(c).type == "person"}
            cols = {
                raw.first_col + j
                for j, h in enumerate(raw.rows[sheet.header_row - raw.first_row])
                if str(h).strip() in sheet.mapping and sheet.mapping[str(h).strip()] in person
            }
            if cols:
                analysis.person_columns[raw.name] = (sheet.header_row, cols)
    if not any(s.dataset for s in analysis.sheets):
        analysis.file_problems.append(
            Problem(
                name,
                None,
                None,
                None,
                None,
                f"לא זוהה אף גיליון נתונים בקובץ {name}. ודאו ששורת הכותרות כוללת עמודות כמו יישוב, תאריך, "
                "שם התוכנית.",
                f"No data sheet was recognised in {name}. Check that the header row has columns such as "
                "Locality, Date, Program name.",
            )
        )
        return analysis
    tables = analysis.tables
    if tables:
        analysis.diff = preview_diff(store, tables, replace_rules())
    return analysis


def _context(
    name: str, resolver: LocalityResolver, secret: bytes, locality: str | None, user: User | None
) -> tuple[Context, list[Problem]]:
    """The cleaning context of a file, and the problem of a chosen locality not recognised."""
    problems = []
    default = None
    if locality:
        default = resolver.resolve(locality)
        if not default.ok:
            sugg = ", ".join(default.suggestions)
            problems.append(
                Problem(
                    name,
                    None,
                    None,
                    None,
                    locality,
                    f"היישוב שנבחר '{locality}' לא זוהה" + (f". אולי: {sugg}" if sugg else ""),
                    f"The chosen locality '{locality}' was not recognised"
                    + (f". Did you mean: {sugg}" if sugg else ""),
                )
            )
            default = None
        else:
            default = Resolution(
                locality,
                *(
                    getattr(default, f)
                    for f in ("locality_code", "authority_code", "locality_name", "authority_name")
                ),
                "default",
                100.0,
            )
    return Context(name, resolver, default, secret, user), problems


@dataclass
class _EarlySheet:
    """A sheet's shape and its data rows before `stop`, cleaned range by range while the rest was
    being parsed."""

    shape: Shape
    parts: list[CleanRows]
    stop: int  # rows[:stop] of the RawSheet were cleaned (see RawSheet.early_rows)


def _early_sheet(part: RawSheet, ctx: Context, overrides: dict | None) -> _EarlySheet | None:
    """Recognise a sheet from its first rows and clean those; None when they cannot stand for it
    (not recognised, or too few rows to be sure the header is among them)."""
    n = len(part.rows)
    if n <= HEADER_SCAN_ROWS:  # recognise reads the first HEADER_SCAN_ROWS rows: all must be here
        return None
    shape = recognise(part.rows, part.name, overrides)
    if shape.dataset is None or shape.header_index is None:
        return None
    if ctx.conversions is None:
        ctx.conversions = {}  # the next ranges repeat this one's dates and numbers
    return _EarlySheet(shape, [clean_rows(part, shape, ctx, shape.header_index + 1)], n)


class _Prefetch:
    """What cleaning needs from the store (locality index, person-key secret) and the registries,
    loaded in a thread while python-calamine parses the file: the parse releases the GIL, so on a
    large file this costs no time at all. Computed in the caller's thread when never started."""

    def __init__(self, store: Store, resolver: LocalityResolver | None) -> None:
        self._store, self._resolver = store, resolver
        self._secret: bytes | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._load, name="ingest-prefetch", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            datasets()
            if self._resolver is None:
                self._resolver = LocalityResolver.from_store(self._store)
            self._secret = person_secret(self._store)
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._error = exc

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def result(self) -> tuple[LocalityResolver, bytes]:
        self.wait()
        if self._error is not None:
            raise self._error
        if self._thread is None or self._secret is None:
            self._load()
            if self._error is not None:
                raise self._error
        assert self._resolver is not None and self._secret is not None
        return self._resolver, self._secret


def replace_rules() -> dict[str, str]:
    """dataset -> how a newer sheet replaces stored rows (datasets.yaml `replace`)."""
    return {name: ds.replace for name, ds in datasets().items()}


def _analyse_sheet(
    raw: RawSheet, ctx: Context, overrides: dict | None, early: _EarlySheet | None = None
) -> SheetAnalysis:
    """One sheet recognised, cleaned and validated; `early`: its first rows already were (the same
    rows: the rest is cleaned and joined, unless the join would differ from one pass)."""
    clean = None
    if early is not None:
        shape = early.shape
        rest = clean_rows(raw, shape, ctx, early.stop)
        clean = join_cleaned(raw, shape, ctx, [*early.parts, rest])
    if clean is None:
        shape = recognise(raw.rows, raw.name, overrides)
    if shape.dataset is None:
        sheet = SheetAnalysis(raw.name, None, shape.reason_he, shape.reason_en)
        if shape.header_index is not None:
            sheet.header_row = raw.first_row + shape.header_index
        if header_key(raw.name) in INSTRUCTION_SHEETS:
            return sheet  # a template's instructions: expected, not worth a warning
        sheet.problems.append(
            Problem(
                ctx.file,
                raw.name,
                sheet.header_row,
                None,
                None,
                f"הגיליון '{raw.name}' לא נטען: {shape.reason_he}",
                f"Sheet '{raw.name}' was not loaded: {shape.reason_en}",
                "warning",
            )
        )
        return sheet
    if clean is None:
        clean = clean_sheet(raw, shape, ctx)
    clean.problems.extend(find_duplicates(clean, ctx.file, raw.name))
    sheet = SheetAnalysis(
        raw.name,
        shape.dataset,
        header_row=raw.first_row + (shape.header_index or 0),
        mapping={shape.headers[j]: col for j, col in shape.mapping.items()},
        unmapped=shape.unmapped,
        problems=clean.problems,
        rows_total=len(clean),
        rows_valid=int(clean.valid.sum()),
        skipped_totals=clean.skipped_totals,
    )
    sheet.tables = build_tables(clean, raw.name)
    sheet.preview = _preview(clean, shape.headers, shape.mapping)
    sheet.localities = _locality_table(clean)
    for res in clean.resolutions.values():
        if res.ok and res.method == "fuzzy":
            sheet.problems.append(
                Problem(
                    ctx.file,
                    raw.name,
                    None,
                    None,
                    res.raw,
                    f"'{res.raw}' זוהה כ-'{res.locality_name}' בהתאמה משוערת ({res.score:.0f}%). "
                    "בדקו שזה נכון.",
                    f"'{res.raw}' was matched to '{res.locality_name}' approximately ({res.score:.0f}%). "
                    "Check it is right.",
                    "warning",
                )
            )
    return sheet


def _preview(clean: CleanSheet, headers: list[str], mapping: dict[int, str]) -> pd.DataFrame:
    """The first rows as cleaned, under the user's own headers; names of people masked."""
    n = min(PREVIEW_ROWS, len(clean))
    data = {"שורה": clean.source_rows[:n]}
    for j, col_name in mapping.items():
        col = clean.dataset.column(col_name)
        values = clean.columns[col_name][:n]
        if col.type == "person":
            values = [MASK if v is not None else None for v in values]
        elif col.type == "locality":
            values = [v.authority_name if v is not None else None for v in values]
        elif col.type == "period":
            values = [v.label if v is not None else None for v in values]
        data[headers[j] or col_name] = list(values)
    data["תקין"] = list(clean.valid[:n])
    return pd.DataFrame(data)


def _locality_table(clean: CleanSheet) -> pd.DataFrame:
    rows = [
        {
            "raw": r.raw,
            "locality_code": r.locality_code,
            "locality_name": r.locality_name,
            "authority_code": r.authority_code,
            "authority_name": r.authority_name,
            "method": r.method,
            "score": r.score,
            "suggestions": ", ".join(r.suggestions),
        }
        for r in clean.resolutions.values()
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "raw",
            "locality_code",
            "locality_name",
            "authority_code",
            "authority_name",
            "method",
            "score",
            "suggestions",
        ],
    )


def _error_dicts(problems: Iterable[Problem], lang: str = "he") -> list[dict]:
    return [
        {"sheet": p.sheet, "row": p.row, "column": p.column, "value": p.value, "message": p.message(lang)}
        for p in problems
        if p.is_error
    ]


def _dataset_summary(analysis: FileAnalysis, store: Store) -> dict[str, dict]:
    names = dict(store.query_df("SELECT code, name FROM authorities").itertuples(index=False))
    out: dict[str, dict] = {}
    for name, frame in analysis.datasets.items():
        codes = (
            sorted({int(c) for c in frame["authority_code"].dropna().unique()})
            if "authority_code" in frame
            else []
        )
        out[name] = {"rows": len(frame), "localities": [{"code": c, "name": names.get(c)} for c in codes]}
    return out


def commit(
    analysis: FileAnalysis, store: Store, *, user: User | str, skip_invalid: bool = False
) -> FileResult:
    """Write an analysed file as one batch: all or nothing; unchanged content writes nothing.

    The store checks the user's right to upload and every row's locality again (an analysis made
    for another user, or altered, cannot write outside the scope).
    """
    errors = analysis.errors
    result = FileResult(analysis.file, "rejected", problems=analysis.problems)
    if not analysis.readable or (errors and not skip_invalid):
        result.errors = _error_dicts(errors)
        return result
    tables = analysis.tables
    if not any(len(f) for f in tables.values()):
        result.errors = _error_dicts(errors) or [
            {
                "sheet": None,
                "row": None,
                "column": None,
                "value": None,
                "message": f"אין בקובץ {analysis.file} שורות תקינות לטעינה.",
            }
        ]
        return result
    result.datasets = _dataset_summary(analysis, store)
    rows = {name: info["rows"] for name, info in result.datasets.items()}
    try:
        batch_id = write_batch(
            store,
            file_name=analysis.file,
            content_hash=analysis.content_hash,
            user=user,
            tables=tables,
            replace=replace_rules(),
            rows_per_dataset=rows,
        )
    except (BatchError, AccessDenied) as exc:
        result.errors = [
            {"sheet": None, "row": None, "column": None, "value": None, "message": exc.message_he}
        ]
        result.refused = isinstance(exc, AccessDenied)
        return result
    result.batch_id = batch_id
    result.status = "unchanged" if batch_id is None else "loaded"
    result.errors = _error_dicts(errors)  # with skip-invalid: the rows that were left out
    return result


def import_file(
    path: str | Path,
    store: Store,
    *,
    user: str = "cli",
    locality: str | None = None,
    skip_invalid: bool = False,
) -> FileResult:
    """Analyse and commit one file from disk (unreadable paths become a rejected result)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:  # never read a huge file into memory
            analysis = FileAnalysis(path.name, "")
            analysis.file_problems.append(
                Problem(
                    path.name,
                    None,
                    None,
                    None,
                    None,
                    f"הקובץ {path.name} גדול מדי ({size / 2**20:,.0f} MB).",
                    f"The file {path.name} is too large ({size / 2**20:,.0f} MB).",
                )
            )
            return commit(analysis, store, user=user)
        data = path.read_bytes()
    except OSError as exc:
        return FileResult(
            path.name,
            "rejected",
            errors=[
                {
                    "sheet": None,
                    "row": None,
                    "column": None,
                    "value": None,
                    "message": f"לא ניתן לקרוא את הקובץ {path}: {exc.strerror}",
                }
            ],
        )
    # The collector stays off until the file's cells are freed (by reference counting): switched
    # on with them alive, its first pass would walk a million objects (~20 ms on the benchmark).
    with _no_cycle_collection():
        analysis = analyse(data, path.name, store, locality=locality)
        result = commit(analysis, store, user=user, skip_invalid=skip_invalid)
        del analysis, data
    return result


def import_paths(
    store: Store,
    paths: Iterable[str | Path],
    *,
    user: str = "cli",
    locality: str | None = None,
    skip_invalid: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[FileResult]:
    """Import files one by one (each its own batch); `progress(i, n, file_name)` before each."""
    paths = list(paths)
    results = []
    for i, path in enumerate(paths):
        if progress is not None:
            progress(i, len(paths), Path(path).name)
        results.append(import_file(path, store, user=user, locality=locality, skip_invalid=skip_invalid))
    return results
