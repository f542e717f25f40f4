"""Target logic: catalog defaults, checking an override against its goal, and writing it.

Resolution (done in the engine's SQL): a locality override for the year beats a year-wide
override (authority_code NULL) beats the catalog default. Every change is a new version
(store.targets), and attainment rows carry target_version (0 = catalog) and target_source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from metrics.catalog import Catalog, Target, load_catalog
from store import Store
from store import targets as store_targets
from store.access import User, require


def default_target(goal_id: str, catalog: Catalog | None = None) -> Target:
    """The catalog's target for a goal."""
    return (catalog or load_catalog()).goal(goal_id).target


def check_override(
    goal_id: str, low: float | None, high: float | None, catalog: Catalog | None = None
) -> list[str]:
    """Problems with an override for this goal (empty when fine); both None clears it."""
    catalog = catalog or load_catalog()
    try:
        goal = catalog.goal(goal_id)
    except KeyError as exc:
        return [str(exc.args[0])]
    if low is None and high is None:
        return []
    op = goal.target.op
    problems = []
    if op in (">=", "between") and low is None:
        problems.append(f"{goal_id}: a {op} target needs a low bound")
    if op in ("<=", "between") and high is None:
        problems.append(f"{goal_id}: a {op} target needs a high bound")
    for name, value in (("low", low), ("high", high)):
        if value is not None and value < 0:
            problems.append(f"{goal_id}: {name} must not be negative")
    if low is not None and high is not None and low > high:
        problems.append(f"{goal_id}: low {low} is above high {high}")
    if goal.unit == "share" and any(v is not None and v > 1 for v in (low, high)):
        problems.append(f"{goal_id}: a share target is between 0 and 1")
    return problems


def set_goal_target(
    store: Store,
    goal_id: str,
    year: int,
    authority_code: int | None,
    low: float | None,
    high: float | None,
    user: User | str,
    note: str | None = None,
    *,
    catalog: Catalog | None = None,
) -> int:
    """Check the override against the goal, then write it as a new version; returns its id."""
    require(user, "edit_targets")
    problems = check_override(goal_id, low, high, catalog)
    if problems:
        raise ValueError("; ".join(problems))
    return store_targets.set_target(store, goal_id, year, authority_code, low, high, user, note)


def set_goal_targets(
    store: Store, rows: Iterable[Mapping[str, Any]], user: User | str, *, catalog: Catalog | None = None
) -> list[int]:
    """A targets sheet: check every row first (all problems at once), then write all or nothing."""
    rows = list(rows)
    problems = [
        f"row {i + 1}: {p}"
        for i, row in enumerate(rows)
        for p in check_override(str(row["goal"]), row.get("low"), row.get("high"), catalog)
    ]
    if problems:
        raise ValueError("; ".join(problems))
    return store_targets.set_targets(store, rows, user)
