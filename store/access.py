"""Who may see and change what: roles, a signed-in user's scope, and the checks every layer uses.

Roles (issue 7):

| role    | localities                 | may                                             |
|---------|----------------------------|-------------------------------------------------|
| admin   | all                        | everything, including users and targets         |
| staff   | all                        | read, compare, export, edit targets             |
| manager | own locality or localities | upload (and roll back own uploads), view, export |
| viewer  | scoped (some, or all)      | read only                                       |

Scoping is enforced here and in the data-layer functions that take a `User` (store.views,
store.batches, store.targets, metrics.engine, ingest.pipeline, exports.deck); pages only pass the
signed-in user along. A plain string as `user` (the CLI, the inbox worker, tests) means a trusted
local process with access to the database file, which can read everything anyway: it acts as
`system_user(name)`, a national admin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from store.errors import BilingualError

ROLES: tuple[str, ...] = ("admin", "staff", "manager", "viewer")
ROLE_LABELS: dict[str, dict[str, str]] = {
    "admin": {"he": "מנהל/ת מערכת ארצי/ת", "en": "National admin"},
    "staff": {"he": "צוות ארצי", "en": "National staff"},
    "manager": {"he": "מנהל/ת ברשות", "en": "Locality manager"},
    "viewer": {"he": "צפייה בלבד", "en": "Viewer"},
}
# action -> the roles allowed to do it. One table, so the rules are data and a test reads them.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "compare": frozenset({"admin", "staff"}),
    "export": frozenset({"admin", "staff", "manager"}),
    "upload": frozenset({"admin", "manager"}),
    "rollback": frozenset({"admin", "manager"}),
    "edit_targets": frozenset({"admin", "staff"}),
    "manage_users": frozenset({"admin"}),
    "view_audit": frozenset({"admin"}),
}
NATIONAL_ROLES = frozenset({"admin", "staff"})

_ACTION_LABELS: dict[str, tuple[str, str]] = {
    "read": ("לצפות בנתונים", "read data"),
    "compare": ("להשוות בין רשויות", "compare localities"),
    "export": ("לייצא", "export"),
    "upload": ("להעלות קבצים", "upload files"),
    "rollback": ("לבטל ייבוא", "roll back imports"),
    "edit_targets": ("לשנות יעדים", "change targets"),
    "manage_users": ("לנהל משתמשים", "manage users"),
    "view_audit": ("לצפות ביומן הפעולות", "view the audit log"),
}


class AccessDenied(BilingualError, PermissionError):
    """A user tried to see or change something outside their role or localities."""


@dataclass(frozen=True)
class User:
    """A signed-in user: name, role and the authorities they may see (None = all)."""

    username: str
    role: str
    authorities: frozenset[int] | None = None
    display_name: str = ""
    email: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; roles: {', '.join(ROLES)}")
        if self.role in NATIONAL_ROLES and self.authorities is not None:
            object.__setattr__(self, "authorities", None)  # national roles always see everything
        if self.authorities is not None:
            object.__setattr__(self, "authorities", frozenset(int(c) for c in self.authorities))

    @property
    def sees_all(self) -> bool:
        """True for every authority (national roles, national viewers)."""
        return self.authorities is None

    @property
    def label(self) -> str:
        """What the UI shows for this user."""
        return self.display_name or self.username

    def allows(self, authority_code: int | None) -> bool:
        """May this user see rows of this authority? (None = a national row: national scope only.)"""
        if self.sees_all:
            return True
        return authority_code is not None and int(authority_code) in self.authorities  # type: ignore[operator]

    def codes(self) -> list[int] | None:
        """The authority codes in scope, sorted; None when all."""
        return None if self.authorities is None else sorted(self.authorities)


def system_user(name: str = "system") -> User:
    """A trusted local process (CLI, inbox worker, tests): national admin scope."""
    return User(name, "admin", None, display_name=name)


def actor(user: User | str | None) -> User:
    """The acting user: a `User` as given; a plain name is a trusted local process."""
    if isinstance(user, User):
        return user
    return system_user(user or "system")


def can(user: User | str | None, action: str) -> bool:
    """Whether the user's role allows `action` (a key of PERMISSIONS)."""
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}; actions: {', '.join(PERMISSIONS)}")
    return actor(user).role in PERMISSIONS[action]


def require(user: User | str | None, action: str) -> User:
    """The acting user, or AccessDenied when their role does not allow `action`."""
    who = actor(user)
    if not can(who, action):
        he, en = _ACTION_LABELS[action]
        role = ROLE_LABELS[who.role]
        raise AccessDenied(
            f"אין לך הרשאה {he} (תפקיד: {role['he']}).",
            f"You are not allowed to {en} (role: {role['en']}).",
        )
    return who


def require_authorities(
    user: User | str | None, codes: Iterable[int | None], names: dict | None = None
) -> None:
    """AccessDenied when any of `codes` is outside the user's localities (None = national)."""
    who = actor(user)
    if who.sees_all:
        return
    outside = sorted({c for c in codes if not who.allows(c)}, key=lambda c: (c is None, c or 0))
    if outside:
        shown = ", ".join("כלל הרשויות" if c is None else str((names or {}).get(c, c)) for c in outside[:5])
        raise AccessDenied(
            f"אין לך הרשאה לרשויות: {shown}.",
            f"You have no access to these localities: {shown}.",
        )


def scope_condition(user: User | str | None, column: str = "authority_code") -> str:
    """A SQL condition limiting `column` to the user's authorities ('TRUE' for all).

    Codes are integers formatted by this function, never user text, so inlining them is safe.
    """
    who = actor(user)
    if who.sees_all:
        return "TRUE"
    codes = who.codes() or []
    if not codes:
        return "FALSE"
    return f"{column} IN ({', '.join(str(int(c)) for c in codes)})"
