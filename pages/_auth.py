"""Sign-in: who is using the dashboard. Streamlit glue over store.users and store.access.

Modes (environment variable YAAD_AUTH):
- `password` (the default): the local user store, bcrypt-hashed passwords. With an `[auth]`
  section in .streamlit/secrets.toml, an organisation sign-in button (OIDC, `st.login`) is offered
  as well; its e-mail is mapped to a user (role and localities) by store.users.user_for_email.
- `oidc`: the organisation's sign-in only.
- `none`: one local user with every right and no sign-in, for use on one's own computer. Refused
  (back to sign-in) unless the server listens only on localhost.
On first start (no users yet) a form creates the national admin. When the server listens beyond
localhost, that form asks for the setup token set in YAAD_SETUP_TOKEN, so that the first stranger
to open the page cannot make themself admin.
"""

from __future__ import annotations

import hmac
import os

import streamlit as st

from pages._shared import get_store, lang, t
from store import audit, users
from store.access import ROLE_LABELS, User

LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})
LOCAL_USER = User("local", "admin", None, display_name="משתמש/ת מקומי/ת")


def auth_mode() -> str:
    """The configured sign-in mode: password (default), oidc or none."""
    mode = os.environ.get("YAAD_AUTH", "password").strip().lower()
    return mode if mode in ("password", "oidc", "none") else "password"


def listens_locally() -> bool:
    """True when the server accepts connections from this computer only."""
    return str(st.get_option("server.address") or "") in LOCAL_ADDRESSES


def oidc_configured() -> bool:
    """Whether secrets.toml has an [auth] section for st.login."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def sign_out() -> None:
    """Forget the signed-in user (and end the organisation session)."""
    st.session_state.pop("user", None)
    st.session_state.pop("oidc_logged", None)
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def current_user() -> User:
    """The signed-in user for this run; shows the sign-in (or first-run) form and stops otherwise."""
    mode = auth_mode()
    if mode == "none":
        if listens_locally():
            return LOCAL_USER
        st.warning(t("auth_none_refused"))
    user = st.session_state.get("user")
    store = get_store()
    if isinstance(user, User):
        fresh = users.load_user(store, user.username)  # a disabled or changed user takes effect now
        if fresh is not None:
            st.session_state["user"] = fresh
            return fresh
        st.session_state.pop("user", None)
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        mapped = users.user_for_claims(store, st.user.to_dict())
        if mapped is not None:
            if not st.session_state.get("oidc_logged"):
                audit.log(store, mapped, "sign_in", mapped.username, {"method": "oidc"})
                st.session_state["oidc_logged"] = True
            st.session_state["user"] = mapped
            return mapped
        st.error(t("oidc_unknown", email=st.user.get("email") or "?"))
        if st.button(t("sign_out")):
            st.logout()
        st.stop()
    # The form is the only page (no other page, nor the pages/ folder, is reachable signed out).
    if users.count_users(store) == 0:
        page = st.Page(
            _first_run_form, title=t("first_run_title"), icon=":material/person_add:", url_path="first-run"
        )
    else:
        page = st.Page(
            lambda: _sign_in_form(mode), title=t("sign_in_title"), icon=":material/login:", url_path="sign-in"
        )
    st.navigation([page], position="hidden").run()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def _sign_in_form(mode: str) -> None:
    st.title(t("sign_in_title"))
    if mode != "oidc":
        with st.form("sign_in"):
            name = st.text_input(t("username"), key="sign_in_user")
            password = st.text_input(t("password"), type="password", key="sign_in_password")
            if st.form_submit_button(t("sign_in"), type="primary"):
                user = users.authenticate(get_store(), name, password)
                if user is None:
                    st.error(t("sign_in_failed"))
                else:
                    st.session_state["user"] = user
                    st.rerun()
    if oidc_configured():
        st.button(t("sign_in_oidc"), on_click=st.login, icon=":material/login:")
    elif mode == "oidc":
        st.error(t("oidc_not_configured"))


def _first_run_form() -> None:
    st.title(t("first_run_title"))
    st.info(t("first_run_intro"))
    token = os.environ.get("YAAD_SETUP_TOKEN", "")
    needs_token = not listens_locally()
    if needs_token and not token:
        st.error(t("first_run_needs_token"))
        return
    with st.form("first_run"):
        display = st.text_input(t("display_name"), key="first_display")
        name = st.text_input(t("username"), key="first_user")
        email = st.text_input(t("email_optional"), key="first_email")
        password = st.text_input(t("password"), type="password", key="first_password")
        again = st.text_input(t("password_again"), type="password", key="first_password_again")
        given = st.text_input(t("setup_token"), type="password", key="first_token") if needs_token else ""
        if st.form_submit_button(t("first_run_create"), type="primary"):
            if needs_token and not hmac.compare_digest(given.encode(), token.encode()):
                st.error(t("setup_token_wrong"))
                return
            if password != again:
                st.error(t("passwords_differ"))
                return
            try:
                user = users.create_first_admin(get_store(), name, password, display)
                if email.strip():
                    users.update_user(get_store(), user, user.username, email=email)
            except users.UserError as exc:
                st.error(exc.message(lang()))
                return
            st.session_state["user"] = users.load_user(get_store(), user.username)
            st.rerun()


def user_badge(user: User) -> None:
    """Who is signed in, their role, and the sign-out button (sidebar)."""
    st.caption(t("signed_in_as", name=user.label, role=ROLE_LABELS[user.role][lang()]))
    if auth_mode() == "none" and user is LOCAL_USER:
        st.caption(t("auth_none_active"))
        return
    st.button(t("sign_out"), on_click=sign_out, key="sign_out", icon=":material/logout:")
