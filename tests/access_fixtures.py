"""The users every sample test database has, one per role (tests of access and the pages)."""

from __future__ import annotations

import os

from store import Store, users
from store.access import User

PASSWORD = "correct-horse-1"
ARAD, NETANYA = 2560, 7400
# user name -> (role, authority codes; empty = all)
USERS: dict[str, tuple[str, list[int]]] = {
    "admin": ("admin", []),
    "staff": ("staff", []),
    "arad": ("manager", [ARAD]),  # Arad's locality manager
    "netanya_viewer": ("viewer", [NETANYA]),
}


def add_users(store: Store) -> None:
    """The admin (as on first run), national staff, Arad's manager and a viewer of Netanya."""
    os.environ.setdefault("YAAD_BCRYPT_ROUNDS", "4")  # fast hashes for tests (the cost is in the hash)
    admin = users.create_first_admin(store, "admin", PASSWORD, "מנהלת")
    for name, (role, codes) in USERS.items():
        if name != "admin":
            users.create_user(store, admin, name, role, password=PASSWORD, authorities=codes)


def as_user(name: str) -> User:
    """The User object the app builds for one of USERS."""
    role, codes = USERS[name]
    return User(name, role, frozenset(codes) if codes else None)
