"""The goal catalog (catalog.yaml) as frozen models, checked by small validation rules.

Goals are data: a new program model or goal is a YAML entry. Each rule below looks at the raw
YAML and returns a list of problems, so a broken catalog reports every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

DEFAULT_CATALOG = Path(__file__).parent / "catalog.yaml"

PERIODS = ("year", "half_year")
PACES = ("flow", "cumulative", "stock", "age", "max_gap")
UNITS = ("count", "share", "days", "yes_no", "per_1000", "per_month")
OPS = (">=", "<=", "between", "info")
EMPTY = ("zero", "null")
MEASURE_KINDS = ("not_available",)
DATASET_KINDS = ("log", "snapshot")
KNOWN_TABLES = ("programs", "meetings", "partnerships", "volunteers", "trainings", "budgets", "clusters")
GOAL_FIELDS = (
    "id",
    "label_he",
    "label_en",
    "description_he",
    "description_en",
    "models",
    "dataset",
    "period",
    "pace",
    "unit",
    "target",
    "weight",
)
_HEBREW = re.compile(r"[\u0590-\u05FF]")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_WRITES = re.compile(r"\b(insert|update|delete|drop|create|alter|attach|copy|install|load|pragma)\b", re.I)


class CatalogError(ValueError):
    """The catalog YAML breaks one or more rules; `problems` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("goal catalog is invalid:\n- " + "\n- ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Target:
    """A default target: op is >=, <=, between or info; low/high are the bounds it uses."""

    op: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class ProgramModel:
    """A program model is a named set of goals (מכב"י, מתו"ב, ...)."""

    id: str
    he: str
    en: str


@dataclass(frozen=True)
class DatasetCoverage:
    """How a dataset's rows cover periods, which decides `no_data`."""

    name: str
    kind: str  # log | snapshot
    date: str | None = None  # snapshot: SQL expression for a row's date
    date_from: str | None = None  # log: SQL expressions for the span a row covers
    date_to: str | None = None
    reported: str | None = None  # snapshot: SQL for a row's own update/report date (first year)


@dataclass(frozen=True)
class Goal:
    """One measurable goal: labels, the dataset(s) it reads, its measure SQL and default target."""

    id: str
    label_he: str
    label_en: str
    description_he: str
    description_en: str
    models: tuple[str, ...]
    datasets: tuple[str, ...]
    period: str
    pace: str
    unit: str
    target: Target
    weight: float
    empty: str
    measure: str | None
    measure_kind: str | None
    uses: tuple[str, ...] = ()  # goals whose measure this measure reads as m_<id> (see uses_of)
    # how the engine computes the measure (metrics/kinds.py): (parameter, value) pairs, kind first
    compute: tuple[tuple[str, str], ...] = ()

    def computed(self) -> dict[str, str]:
        """The `compute` parameters as a dict (empty: the engine runs the measure SQL)."""
        return dict(self.compute)

    @property
    def dataset(self) -> str:
        """The main dataset (the first listed)."""
        return self.datasets[0]

    def label(self, lang: str = "he") -> str:
        return self.label_he if lang == "he" else self.label_en

    def description(self, lang: str = "he") -> str:
        return self.description_he if lang == "he" else self.description_en


@dataclass(frozen=True)
class Catalog:
    """The loaded catalog: ordered goals, program models and dataset coverage rules."""

    goals: tuple[Goal, ...]
    models: Mapping[str, ProgramModel]
    datasets: Mapping[str, DatasetCoverage]

    def goal(self, goal_id: str) -> Goal:
        for g in self.goals:
            if g.id == goal_id:
                return g
        raise KeyError(f"unknown goal {goal_id!r}; known: {', '.join(self.goal_ids)}")

    @property
    def goal_ids(self) -> tuple[str, ...]:
        return tuple(g.id for g in self.goals)

    def goals_of_model(self, model_id: str) -> tuple[Goal, ...]:
        return tuple(g for g in self.goals if model_id in g.models)


# -- validation rules: each takes the raw YAML mapping and returns a list of problems -------------
Rule = Callable[[Mapping[str, Any]], list[str]]


def _goals(raw: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    goals = raw.get("goals") if isinstance(raw, Mapping) else None
    return [g for g in goals if isinstance(g, Mapping)] if isinstance(goals, list) else []


def _gid(goal: Mapping[str, Any]) -> str:
    return str(goal.get("id", "<no id>"))


def _datasets_of(goal: Mapping[str, Any]) -> list[str]:
    ds = goal.get("dataset")
    return [ds] if isinstance(ds, str) else list(ds) if isinstance(ds, list) else []


def rule_top_level(raw: Mapping[str, Any]) -> list[str]:
    """The file has models, datasets and a non-empty list of goals."""
    if not isinstance(raw, Mapping):
        return ["the catalog must be a mapping with models, datasets and goals"]
    problems = []
    for key, kind in (("models", Mapping), ("datasets", Mapping), ("goals", list)):
        if not isinstance(raw.get(key), kind) or not raw.get(key):
            problems.append(f"'{key}' is missing or empty")
    return problems


def rule_required_fields(raw: Mapping[str, Any]) -> list[str]:
    """Every goal has every field users and the engine rely on."""
    problems = []
    for goal in _goals(raw):
        missing = [f for f in GOAL_FIELDS if goal.get(f) in (None, "", [])]
        if missing:
            problems.append(f"goal {_gid(goal)}: missing {', '.join(missing)}")
    return problems


def rule_unique_ids(raw: Mapping[str, Any]) -> list[str]:
    """Goal ids are a public interface: unique and snake_case."""
    problems, seen = [], set()
    for goal in _goals(raw):
        gid = goal.get("id")
        if not isinstance(gid, str) or not _ID.match(gid):
            problems.append(f"goal id {gid!r} is not snake_case")
        elif gid in seen:
            problems.append(f"goal id {gid!r} is duplicated")
        seen.add(gid)
    return problems


def rule_labels(raw: Mapping[str, Any]) -> list[str]:
    """Users read Hebrew: label_he and description_he contain Hebrew letters."""
    problems = []
    for goal in _goals(raw):
        for field in ("label_he", "description_he"):
            if goal.get(field) and not _HEBREW.search(str(goal[field])):
                problems.append(f"goal {_gid(goal)}: {field} has no Hebrew text")
    for mid, model in (raw.get("models") or {}).items() if isinstance(raw, Mapping) else []:
        if not isinstance(model, Mapping) or not model.get("he") or not model.get("en"):
            problems.append(f"model {mid}: needs he and en labels")
        elif not _HEBREW.search(str(model["he"])):
            problems.append(f"model {mid}: he label has no Hebrew text")
    return problems


def rule_known_models(raw: Mapping[str, Any]) -> list[str]:
    """A goal's models exist in the models section."""
    known = set(raw.get("models") or {}) if isinstance(raw, Mapping) else set()
    problems = []
    for goal in _goals(raw):
        models = goal.get("models")
        if not isinstance(models, list):
            if models is not None:
                problems.append(f"goal {_gid(goal)}: models must be a list")
            continue
        problems += [f"goal {_gid(goal)}: unknown model {m!r}" for m in models if m not in known]
    return problems


def rule_known_datasets(raw: Mapping[str, Any]) -> list[str]:
    """A goal's dataset(s) are store tables with a coverage rule."""
    known = set(raw.get("datasets") or {}) if isinstance(raw, Mapping) else set()
    problems = []
    for goal in _goals(raw):
        for ds in _datasets_of(goal):
            if ds not in known:
                problems.append(f"goal {_gid(goal)}: dataset {ds!r} has no coverage rule in 'datasets'")
    return problems


def rule_dataset_coverage(raw: Mapping[str, Any]) -> list[str]:
    """Each dataset coverage rule names a store table and the date expressions its kind needs."""
    problems = []
    datasets = raw.get("datasets") if isinstance(raw, Mapping) else None
    for name, spec in (datasets or {}).items() if isinstance(datasets, Mapping) else []:
        if name not in KNOWN_TABLES:
            problems.append(f"dataset {name!r} is not a store dataset table")
        if not isinstance(spec, Mapping) or spec.get("kind") not in DATASET_KINDS:
            problems.append(f"dataset {name}: kind must be one of {', '.join(DATASET_KINDS)}")
            continue
        needed = ("date",) if spec["kind"] == "snapshot" else ("date_from", "date_to")
        problems += [f"dataset {name}: missing {f}" for f in needed if not spec.get(f)]
        if spec.get("reported") is not None and spec["kind"] != "snapshot":
            problems.append(f"dataset {name}: only a snapshot has a reported date (a log's rows are dated)")
    return problems


def rule_choices(raw: Mapping[str, Any]) -> list[str]:
    """period, pace, unit and empty take one of the values the engine knows."""
    problems = []
    for goal in _goals(raw):
        for field, choices in (("period", PERIODS), ("pace", PACES), ("unit", UNITS), ("empty", EMPTY)):
            value = goal.get(field, "zero" if field == "empty" else None)
            if value is not None and value not in choices:
                problems.append(f"goal {_gid(goal)}: {field} {value!r} is not one of {', '.join(choices)}")
    return problems


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def rule_target(raw: Mapping[str, Any]) -> list[str]:
    """Targets: a known op, with the bounds it needs as numbers, and low <= high."""
    problems = []
    for goal in _goals(raw):
        target = goal.get("target")
        if target is None:
            continue
        gid = _gid(goal)
        if not isinstance(target, Mapping) or target.get("op") not in OPS:
            problems.append(f"goal {gid}: target.op must be one of {', '.join(OPS)}")
            continue
        op, low, high = target["op"], target.get("low"), target.get("high")
        needs = {">=": ("low",), "<=": ("high",), "between": ("low", "high"), "info": ()}[op]
        for bound in needs:
            if not _number(target.get(bound)):
                problems.append(f"goal {gid}: target {op} needs a numeric {bound}")
        for bound, value in (("low", low), ("high", high)):
            if value is not None and not _number(value):
                problems.append(f"goal {gid}: target {bound} {value!r} is not a number")
        if _number(low) and _number(high) and low > high:
            problems.append(f"goal {gid}: target low {low} is above high {high}")
    return problems


def rule_weight(raw: Mapping[str, Any]) -> list[str]:
    """Composite weights are non-negative numbers; informational goals weigh 0."""
    problems = []
    for goal in _goals(raw):
        weight = goal.get("weight")
        if weight is None:
            continue
        if not _number(weight) or weight < 0:
            problems.append(f"goal {_gid(goal)}: weight {weight!r} must be a number >= 0")
        elif weight > 0 and isinstance(goal.get("target"), Mapping) and goal["target"].get("op") == "info":
            problems.append(f"goal {_gid(goal)}: an informational goal cannot carry composite weight")
    return problems


def rule_measure(raw: Mapping[str, Any]) -> list[str]:
    """Exactly one of measure / measure_kind; a measure is one read-only query over current rows."""
    problems = []
    for goal in _goals(raw):
        gid, sql, kind = _gid(goal), goal.get("measure"), goal.get("measure_kind")
        if (sql is None) == (kind is None):
            problems.append(f"goal {gid}: give exactly one of measure or measure_kind")
            continue
        if kind is not None:
            if kind not in MEASURE_KINDS:
                problems.append(f"goal {gid}: measure_kind {kind!r} is not one of {', '.join(MEASURE_KINDS)}")
            continue
        text = str(sql)
        if ";" in text:
            problems.append(f"goal {gid}: measure must be a single statement (no ';')")
        if not re.match(r"^\s*(select|with)\b", text, re.I):
            problems.append(f"goal {gid}: measure must start with SELECT or WITH")
        if _WRITES.search(text):
            problems.append(f"goal {gid}: measure must only read")
        if not re.search(r"superseded_by\s+is\s+null", text, re.I) and not uses_of(text, _ids(raw)):
            problems.append(f"goal {gid}: measure must read current rows (superseded_by IS NULL)")
        for column in ("authority_code", "period", "value"):
            if not re.search(rf"\b{column}\b", text):
                problems.append(f"goal {gid}: measure must return {column}")
    return problems


def _ids(raw: Mapping[str, Any]) -> set[str]:
    return {_gid(g) for g in _goals(raw)}


def uses_of(sql: object, ids: Iterable[str]) -> tuple[str, ...]:
    """The goals whose measure this SQL reads as the CTE m_<goal id>, in order of first use.

    One measure may build on another (volunteers per 1,000 residents on the volunteers count)
    instead of repeating its SQL: the engine and `explain` put the used measure's CTE first.
    """
    if not sql:
        return ()
    known = set(ids)
    found = (m.group(1) for m in re.finditer(r"\bm_([a-z0-9_]+)\b", str(sql)))
    return tuple(dict.fromkeys(g for g in found if g in known))


def rule_measure_uses(raw: Mapping[str, Any]) -> list[str]:
    """A measure may read another goal's measure (m_<id>) if it has SQL, the same period kind,
    and the uses do not go round in a circle."""
    problems = []
    goals = {_gid(g): g for g in _goals(raw)}
    for gid, goal in goals.items():
        for used in uses_of(goal.get("measure"), goals):
            other = goals[used]
            if not other.get("measure"):
                problems.append(f"goal {gid}: uses m_{used}, which has no measure SQL")
            elif other.get("period", "year") != goal.get("period", "year"):
                problems.append(f"goal {gid}: uses m_{used}, whose period differs")
    for start in goals:  # a circle: following the uses from a goal comes back to it
        seen, todo = set(), list(uses_of(goals[start].get("measure"), goals))
        while todo:
            g = todo.pop()
            if g == start:
                problems.append(f"goal {start}: its measure uses itself (through m_ references)")
                break
            if g not in seen:
                seen.add(g)
                todo += uses_of(goals[g].get("measure"), goals)
    return problems


def rule_compute(raw: Mapping[str, Any]) -> list[str]:
    """`compute` names a known kind with its parameters, beside the measure SQL it computes.

    The SQL stays the goal's definition (explain shows it); `compute` is how the engine gets the
    same rows faster (metrics/kinds.py), and the tests keep the two equal.
    """
    from metrics.kinds import KINDS  # the kinds live beside their code

    problems = []
    goals = {_gid(g): g for g in _goals(raw)}
    for gid, goal in goals.items():
        spec = goal.get("compute")
        if spec is None:
            continue
        if not isinstance(spec, Mapping) or spec.get("kind") not in KINDS:
            problems.append(f"goal {gid}: compute needs a kind, one of {', '.join(KINDS)}")
            continue
        required, optional = KINDS[spec["kind"]]
        for key in required:
            if not spec.get(key):
                problems.append(f"goal {gid}: compute {spec['kind']} needs {key}")
        for key in set(spec) - set(required) - set(optional) - {"kind"}:
            problems.append(f"goal {gid}: compute {spec['kind']} has no parameter {key}")
        if not goal.get("measure"):
            problems.append(f"goal {gid}: compute needs the measure SQL it computes")
        if spec["kind"] in ("latest", "max_gap", "per_month") and goal.get("period", "year") != "year":
            problems.append(f"goal {gid}: compute {spec['kind']} counts calendar years (period year only)")
        if spec.get("table") and spec["table"] not in (*KNOWN_TABLES, "meeting_participants"):
            problems.append(f"goal {gid}: compute reads an unknown table {spec['table']!r}")
        of = spec.get("of")
        if of is not None and not (of in goals and isinstance(goals[of].get("compute"), Mapping)):
            problems.append(f"goal {gid}: compute builds on {of!r}, which is not a computed goal")
        elif of is not None and goals[of].get("period", "year") != goal.get("period", "year"):
            problems.append(f"goal {gid}: compute builds on {of!r}, whose period differs")
    return problems


RULES: tuple[Rule, ...] = (
    rule_top_level,
    rule_required_fields,
    rule_unique_ids,
    rule_labels,
    rule_known_models,
    rule_known_datasets,
    rule_dataset_coverage,
    rule_choices,
    rule_target,
    rule_weight,
    rule_measure,
    rule_measure_uses,
    rule_compute,
)


def validate(raw: Mapping[str, Any]) -> list[str]:
    """Every problem every rule finds in a raw catalog (empty when it is valid)."""
    problems: list[str] = []
    for rule in RULES:
        problems += rule(raw)
    return problems


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def build(raw: Mapping[str, Any]) -> Catalog:
    """Frozen models from a raw catalog; raises CatalogError listing every problem."""
    problems = validate(raw)
    if problems:
        raise CatalogError(problems)
    models = {mid: ProgramModel(mid, str(m["he"]), str(m["en"])) for mid, m in raw["models"].items()}
    datasets = {
        name: DatasetCoverage(
            name,
            spec["kind"],
            spec.get("date"),
            spec.get("date_from"),
            spec.get("date_to"),
            spec.get("reported"),
        )
        for name, spec in raw["datasets"].items()
    }
    ids = _ids(raw)
    goals = tuple(
        Goal(
            id=g["id"],
            label_he=str(g["label_he"]),
            label_en=str(g["label_en"]),
            description_he=str(g["description_he"]).strip(),
            description_en=str(g["description_en"]).strip(),
            models=tuple(g["models"]),
            datasets=tuple(_datasets_of(g)),
            period=g["period"],
            pace=g["pace"],
            unit=g["unit"],
            target=Target(g["target"]["op"], _float(g["target"].get("low")), _float(g["target"].get("high"))),
            weight=float(g["weight"]),
            empty=g.get("empty", "zero"),
            measure=str(g["measure"]).strip() if g.get("measure") else None,
            measure_kind=g.get("measure_kind"),
            uses=uses_of(g.get("measure"), ids),
            compute=tuple((str(k), str(v)) for k, v in (g.get("compute") or {}).items()),
        )
        for g in raw["goals"]
    )
    return Catalog(goals, MappingProxyType(models), MappingProxyType(datasets))


@cache
def _load(path: str, mtime: float) -> Catalog:
    with open(path, encoding="utf-8") as fh:
        return build(yaml.safe_load(fh))


def load_catalog(path: str | Path | None = None) -> Catalog:
    """The catalog at `path` (default: metrics/catalog.yaml), parsed once per file version."""
    p = Path(path) if path is not None else DEFAULT_CATALOG
    return _load(str(p.resolve()), p.stat().st_mtime)
