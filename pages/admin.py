"""Admin: users (roles, localities, passwords, e-mail for organisation sign-in) and the audit log.

Only national admins reach this page (app.py routes by role; require_page checks again, and
store.users / store.audit refuse anyone else). The audit log is shown read-only: no page can
edit or delete it.
"""

from __future__ import annotations

import streamlit as st

from pages._shared import get_store, lang, require_page, t
from store import audit, users, views
from store.access import ROLE_LABELS, ROLES

who = require_page("manage_users")
st.title(t("nav_admin"))
store = get_store()
authorities = views.authorities(store, user=who)
names = dict(zip(authorities["code"], authorities["name"], strict=True))


def role_label(role: str) -> str:
    """The role's name in the reader's language."""
    return ROLE_LABELS[role][lang()]


st.subheader(t("users_title"))
listed = users.list_users(store, who)
st.dataframe(listed, hide_index=True)

with st.expander(t("user_add"), expanded=False), st.form("user_add", clear_on_submit=True):
    name = st.text_input(t("username"), key="add_user")
    display = st.text_input(t("display_name"), key="add_display")
    role = st.selectbox(t("role"), ROLES, format_func=role_label, key="add_role")
    codes = st.multiselect(t("user_localities"), list(names), format_func=names.get, key="add_codes")
    everywhere = st.checkbox(t("all_localities"), key="add_all")
    email = st.text_input(t("email_optional"), key="add_email")
    password = st.text_input(t("new_password"), type="password", key="add_password")
    if st.form_submit_button(t("user_add"), type="primary"):
        try:
            created = users.create_user(
                store,
                who,
                name,
                role,
                password=password or None,
                email=email or None,
                display_name=display,
                authorities=codes,
                all_localities=everywhere,
            )
        except users.UserError as exc:
            st.error(exc.message(lang()))
        else:
            st.success(t("user_created", name=created.username))

if not listed.empty:
    with st.expander(t("user_edit"), expanded=False):
        picked = st.selectbox(t("pick_user"), list(listed["username"]), key="edit_pick")
        row = listed.set_index("username").loc[picked]
        stored = row["authority_codes"]
        current_codes = [int(c) for c in stored] if hasattr(stored, "__iter__") else []
        with st.form("user_edit"):
            role = st.selectbox(
                t("role"), ROLES, index=ROLES.index(row["role"]), format_func=role_label, key="edit_role"
            )
            codes = st.multiselect(
                t("user_localities"),
                list(names),
                default=[c for c in current_codes if c in names],
                format_func=names.get,
                key="edit_codes",
            )
            everywhere = st.checkbox(t("all_localities"), value=bool(row["all_localities"]), key="edit_all")
            email = st.text_input(t("email_optional"), value=row["email"] or "", key="edit_email")
            password = st.text_input(t("new_password"), type="password", key="edit_password")
            blocked = st.checkbox(t("disabled"), value=bool(row["disabled"]), key="edit_disabled")
            if st.form_submit_button(t("save")):
                try:
                    users.update_user(
                        store,
                        who,
                        picked,
                        role=role,
                        authorities=codes,
                        all_localities=everywhere,
                        disabled=blocked,
                        password=password or None,
                        email=email or None,
                    )
                except users.UserError as exc:
                    st.error(exc.message(lang()))
                else:
                    st.success(t("user_saved", name=picked))

st.subheader(t("audit_title"))
st.caption(t("audit_caption"))
action = st.selectbox(
    t("audit_action"), [None, *audit.ACTIONS], format_func=lambda a: t("all") if a is None else a
)
st.dataframe(audit.entries(store, who, action=action), hide_index=True)
