"""The local user store: bcrypt password hashes, roles, localities, and the OIDC e-mail mapping.

Passwords are kept only as bcrypt hashes. A user signed in through an organisation's OIDC provider
(`st.login`) is mapped to a row here by e-mail; a user with no row gets no access. Every change
to a user is written to the audit log in the same transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import cache

import bcrypt
import pandas as pd

from store import Store, audit
from store.access import NATIONAL_ROLES, ROLES, User, actor, require
from store.errors import BilingualError

MIN_PASSWORD = 8
MAX_PASSWORD_BYTES = 72  # bcrypt's limit: longer is refused, never silently cut


class UserError(BilingualError, ValueError):
    """A user could not be created or changed, with a message in Hebrew and English."""


def _rounds() -> int:
    """bcrypt cost: 12 by default; YAAD_BCRYPT_ROUNDS (4–15) lets tests run fast."""
    try:
        return min(max(int(os.environ.get("YAAD_BCRYPT_ROUNDS", "12")), 4), 15)
    except ValueError:
        return 12


def check_new_password(password: str) -> None:
    """UserError when a new password is too short or too long for bcrypt."""
    if len(password) < MIN_PASSWORD:
        raise UserError(
            f"הסיסמה קצרה מדי: לפחות {MIN_PASSWORD} תווים.",
            f"The password is too short: at least {MIN_PASSWORD} characters.",
        )
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise UserError(
            "הסיסמה ארוכה מדי (עד 72 בתים; באותיות עבריות עד 36 תווים).",
            "The password is too long (at most 72 bytes).",
        )


def hash_password(password: str) -> str:
    """A bcrypt hash of a (checked) password."""
    check_new_password(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=_rounds())).decode("ascii")


def check_password(password: str, hashed: str | None) -> bool:
    """Whether the password matches the hash (False for no hash or an over-long password)."""
    data = password.encode("utf-8")
    if not hashed or len(data) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(data, hashed.encode("ascii"))
    except ValueError:
        return False


def normalise_username(name: str) -> str:
    """User names are case-insensitive and trimmed."""
    return " ".join(str(name).split()).casefold()


def count_users(store: Store) -> int:
    """How many users exist (0 = first run: the admin must be created)."""
    return int(store.query_one("SELECT count(*) FROM users"))


def _user_from_row(store: Store, row: pd.Series) -> User:
    codes: frozenset[int] | None = None
    if row["role"] not in NATIONAL_ROLES and not bool(row["all_localities"]):
        codes = frozenset(
            int(c)
            for c in store.query_df(
                "SELECT authority_code FROM user_localities WHERE username = ?", [row["username"]]
            )["authority_code"]
        )
    return User(
        str(row["username"]),
        str(row["role"]),
        codes,
        display_name=str(row["display_name"] or ""),
        email=row["email"] if isinstance(row["email"], str) else None,
    )


def load_user(store: Store, username: str) -> User | None:
    """The active user with this name, or None (unknown or disabled)."""
    df = store.query_df(
        "SELECT * FROM users WHERE username = ? AND NOT disabled", [normalise_username(username)]
    )
    return None if df.empty else _user_from_row(store, df.iloc[0])


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user when the name and password match an active user; every attempt is audited."""
    name = normalise_username(username)
    row = store.query_df("SELECT password_hash FROM users WHERE username = ? AND NOT disabled", [name])
    ok = not row.empty and check_password(password, row["password_hash"].iloc[0])
    if not ok:
        if row.empty:
            bcrypt.checkpw(b"timing", _dummy_hash())  # about the same time for unknown names
        audit.log(store, name or "?", "sign_in_failed", name, {"method": "password"})
        return None
    user = load_user(store, name)
    audit.log(store, user, "sign_in", name, {"method": "password"})
    return user


@cache
def _dummy_hash() -> bytes:
    return bcrypt.hashpw(b"timing", bcrypt.gensalt(rounds=_rounds()))


def user_for_email(store: Store, email: str | None) -> User | None:
    """The OIDC mapping: a signed-in e-mail -> the active user whose e-mail it is (None: no access)."""
    if not email or "@" not in str(email):
        return None
    df = store.query_df(
        "SELECT * FROM users WHERE lower(email) = ? AND NOT disabled ORDER BY username LIMIT 1",
        [str(email).strip().casefold()],
    )
    return None if df.empty else _user_from_row(store, df.iloc[0])


def user_for_claims(store: Store, claims: Mapping[str, object]) -> User | None:
    """An OIDC sign-in (`st.user`'s claims) -> the mapped user, or None: no access.

    The e-mail must be present and not explicitly unverified (`email_verified: false`).
    """
    if claims.get("email_verified") is False:
        return None
    email = claims.get("email")
    return user_for_email(store, email if isinstance(email, str) else None)


def _check_fields(
    role: str, authorities: Iterable[int], all_localities: bool, known: set[int]
) -> tuple[list[int], bool]:
    if role not in ROLES:
        raise UserError(f"תפקיד לא מוכר: {role}", f"Unknown role: {role}")
    codes = sorted({int(c) for c in authorities})
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise UserError(
            f"סמלי רשות לא מוכרים: {', '.join(map(str, unknown))}",
            f"Unknown authority codes: {', '.join(map(str, unknown))}",
        )
    if role in NATIONAL_ROLES:
        return [], True
    if role == "manager":
        all_localities = False
    if not codes and not all_localities:
        raise UserError("בחרו לפחות רשות אחת למשתמש/ת.", "Choose at least one locality for this user.")
    return ([] if all_localities else codes), all_localities


def _known_codes(store: Store) -> set[int]:
    return {int(c) for c in store.query_df("SELECT code FROM authorities")["code"]}


def create_first_admin(store: Store, username: str, password: str, display_name: str = "") -> User:
    """First run: the first national admin. Refused once any user exists."""
    name = normalise_username(username)
    if not name:
        raise UserError("חסר שם משתמש.", "The user name is missing.")
    hashed = hash_password(password)
    with store.transaction(bump_version=False) as cur:
        if cur.execute("SELECT count(*) FROM users").fetchone()[0]:
            raise UserError("כבר קיימים משתמשים במערכת.", "Users already exist.")
        cur.execute(
            "INSERT INTO users (username, display_name, role, password_hash, email, all_localities, "
            "created_at) VALUES (?, ?, 'admin', ?, NULL, true, now())",
            [name, display_name or name, hashed],
        )
        audit.record(cur, name, "user_create", name, {"role": "admin", "first_run": True})
    user = load_user(store, name)
    assert user is not None
    return user


def create_user(
    store: Store,
    by: User | str | None,
    username: str,
    role: str,
    *,
    password: str | None = None,
    email: str | None = None,
    display_name: str = "",
    authorities: Iterable[int] = (),
    all_localities: bool = False,
) -> User:
    """A new user (admins only). Without a password the user can sign in only through OIDC."""
    admin = require(by, "manage_users")
    name = normalise_username(username)
    if not name:
        raise UserError("חסר שם משתמש.", "The user name is missing.")
    if password is None and not email:
        raise UserError(
            'למשתמש/ת צריכה להיות סיסמה או כתובת דוא"ל (כניסה ארגונית).',
            "A user needs a password or an e-mail address (organisation sign-in).",
        )
    codes, everywhere = _check_fields(role, authorities, all_localities, _known_codes(store))
    hashed = hash_password(password) if password is not None else None
    mail = email.strip().casefold() if email else None
    with store.transaction(bump_version=False) as cur:
        if cur.execute("SELECT count(*) FROM users WHERE username = ?", [name]).fetchone()[0]:
            raise UserError(f"המשתמש/ת {name} כבר קיים/ת.", f"The user {name} already exists.")
        cur.execute(
            "INSERT INTO users (username, display_name, role, password_hash, email, all_localities, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, now())",
            [name, display_name or name, role, hashed, mail, everywhere],
        )
        for code in codes:
            cur.execute("INSERT INTO user_localities VALUES (?, ?)", [name, code])
        audit.record(
            cur,
            admin,
            "user_create",
            name,
            {"role": role, "localities": codes or "all", "email": mail, "password": hashed is not None},
        )
    user = load_user(store, name)
    assert user is not None
    return user


def update_user(
    store: Store,
    by: User | str | None,
    username: str,
    *,
    role: str | None = None,
    authorities: Iterable[int] | None = None,
    all_localities: bool | None = None,
    disabled: bool | None = None,
    password: str | None = None,
    email: str | None = None,
) -> None:
    """Change a user's role, localities, e-mail, password or disabled flag (admins only)."""
    admin = require(by, "manage_users")
    name = normalise_username(username)
    current = store.query_df("SELECT * FROM users WHERE username = ?", [name])
    if current.empty:
        raise UserError(f"אין משתמש/ת בשם {name}.", f"There is no user {name}.")
    row = current.iloc[0]
    new_role = role or str(row["role"])
    old_codes = store.query_df("SELECT authority_code FROM user_localities WHERE username = ?", [name])
    codes_in = list(authorities) if authorities is not None else [int(c) for c in old_codes["authority_code"]]
    everywhere_in = bool(row["all_localities"]) if all_localities is None else all_localities
    codes, everywhere = _check_fields(new_role, codes_in, everywhere_in, _known_codes(store))
    now_disabled = bool(row["disabled"]) if disabled is None else disabled
    hashed = hash_password(password) if password is not None else None
    with store.transaction(bump_version=False) as cur:
        if row["role"] == "admin" and (new_role != "admin" or now_disabled):
            others = cur.execute(
                "SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled AND username <> ?", [name]
            ).fetchone()[0]
            if not others:
                raise UserError(
                    "זהו מנהל המערכת הפעיל האחרון: לא ניתן להסיר את הרשאותיו.",
                    "This is the last active admin: their rights cannot be removed.",
                )
        cur.execute(
            "UPDATE users SET role = ?, all_localities = ?, disabled = ?, "
            "password_hash = coalesce(?, password_hash), email = coalesce(?, email) WHERE username = ?",
            [new_role, everywhere, now_disabled, hashed, email.strip().casefold() if email else None, name],
        )
        cur.execute("DELETE FROM user_localities WHERE username = ?", [name])
        for code in codes:
            cur.execute("INSERT INTO user_localities VALUES (?, ?)", [name, code])
        changes = {
            "role": new_role,
            "localities": codes or "all",
            "disabled": now_disabled,
            "password_changed": hashed is not None,
        }
        if email:
            changes["email"] = email.strip().casefold()
        audit.record(cur, admin, "user_update", name, changes)


def list_users(store: Store, by: User | str | None) -> pd.DataFrame:
    """Every user with role and localities (no hashes); admins only."""
    require(by, "manage_users")
    return store.query_df(
        """
        SELECT u.username, u.display_name, u.role, u.email, u.all_localities,
               string_agg(a.name, ', ' ORDER BY a.name) AS localities,
               list(ul.authority_code ORDER BY ul.authority_code) FILTER (WHERE ul.authority_code IS NOT NULL)
                   AS authority_codes,
               u.password_hash IS NOT NULL AS has_password, u.disabled, u.created_at
        FROM users u
        LEFT JOIN user_localities ul USING (username)
        LEFT JOIN authorities a ON a.code = ul.authority_code
        GROUP BY ALL
        ORDER BY u.username
        """
    )


def acting_name(user: User | str | None) -> str:
    """The name recorded in provenance columns (imported_by, set_by, ...)."""
    return actor(user).username
