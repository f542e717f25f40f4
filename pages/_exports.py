"""Download buttons for exports: charts as PNG/SVG/PDF, tables as Excel, decks, blank templates.

Files are made only when a button is clicked (deferred `data=` callables), and the buttons
themselves only when their menu is opened (a popover that reruns the page when it opens), so a
page's ordinary rerun does not build a dozen download widgets. The builders live in charts/ and
exports/, the same ones the CLI uses. Buttons appear only for
roles that may export (store.access), and every file made is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.elements.lib.mutable_popover_container import PopoverContainer

from pages._shared import get_store, lang, t, user
from store import audit
from store.access import User, can

MIME = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


@st.cache_resource(show_spinner=False)
def _missing(lang_code: str) -> list[str]:
    """What this machine lacks for image/PDF exports (checked once per process)."""
    from charts.export import missing_parts

    return missing_parts(lang_code)


def _allowed() -> User | None:
    """The user when they may export (viewers may not), else None: no buttons."""
    who = user()
    return who if can(who, "export") else None


def _audited(who: User, kind: str, name: str, make: Callable[[], bytes]) -> Callable[[], bytes]:
    """`make`, recording the export (who, what file) when the file is actually made."""

    def data() -> bytes:
        content = make()
        audit.log(get_store(), who, "export", name, {"kind": kind, "bytes": len(content)})
        return content

    return data


def _unavailable() -> bool:
    missing = _missing(lang())
    if missing:
        st.caption(t("export_unavailable", parts=" · ".join(missing)))
    return bool(missing)


def export_menu(label: str, key: str, icon: str = ":material/download:") -> PopoverContainer | None:
    """A closed-by-default menu whose contents are built only while it is open (None when closed).

    `st.popover(on_change="rerun")` reruns the page when the reader opens or closes it and reports
    `.open`; AppTest opens it with `at.session_state[key] = True`.
    """
    menu = st.popover(label, icon=icon, key=key, on_change="rerun")
    return menu if menu.open else None


def chart_downloads(fig: go.Figure, name: str, key: str) -> None:
    """An export menu under a chart: PNG, SVG and PDF (or what to install, when exports cannot run).

    The menu's key is `{key}_menu`; the buttons' keys `{key}_png`, `{key}_svg`, `{key}_pdf`.
    """
    who = _allowed()
    if who is None:
        return
    menu = export_menu(t("exports"), f"{key}_menu")
    if menu is None:
        return
    with menu:
        if _unavailable():
            return
        from charts.export import shared_renderer

        for col, fmt in zip(st.columns(3), ("png", "svg", "pdf"), strict=True):
            col.download_button(
                fmt.upper(),
                data=_audited(
                    who, "chart", f"{name}.{fmt}", lambda fmt=fmt: shared_renderer().render(fig, fmt)
                ),
                file_name=f"{name}.{fmt}",
                mime=MIME[fmt],
                key=f"{key}_{fmt}",
                on_click="ignore",
                icon=":material/download:",
            )


def table_download(df: pd.DataFrame, name: str, key: str) -> None:
    """An Excel button under a table: Hebrew headers, right-to-left sheet, formulas neutralised."""
    from exports.excel import table_to_excel

    who = _allowed()
    if who is None:
        return
    code = lang()
    st.download_button(
        t("download_excel"),
        data=_audited(
            who, "table", f"{name}.xlsx", lambda: table_to_excel(df, sheet_name=name[:31], lang=code)
        ),
        file_name=f"{name}.xlsx",
        mime=MIME["xlsx"],
        key=key,
        on_click="ignore",
        icon=":material/table_view:",
    )


def deck_downloads(kind: str, year: int, key: str, locality: int | None = None) -> None:
    """A menu of steering-committee decks (PPTX and PDF) for a locality or the nation.

    The menu's key is `{key}_menu`; the buttons' keys `{key}_pptx` and `{key}_pdf`.
    """
    from exports.deck import deck_pdf, locality_deck, national_deck

    who = _allowed()
    if who is None:
        return
    menu = export_menu(t("deck_menu"), f"{key}_menu", icon=":material/slideshow:")
    if menu is None:
        return
    as_of = dt.date.today()
    code = lang()

    def pptx() -> bytes:
        if kind == "national":
            return national_deck(get_store(), year, as_of, lang=code, user=who)
        return locality_deck(get_store(), int(locality), year, as_of, lang=code, user=who)

    name = f"yaad_{kind}_{locality or 'national'}_{year}"
    with menu:
        if _unavailable():
            return
        st.download_button(
            t("deck_pptx"), data=_audited(who, "deck", f"{name}.pptx", pptx), file_name=f"{name}.pptx",
            mime=MIME["pptx"], key=f"{key}_pptx",
            on_click="ignore", icon=":material/slideshow:",
        )  # fmt: skip
        st.download_button(
            t("deck_pdf"), data=_audited(who, "deck", f"{name}.pdf", lambda: deck_pdf(pptx())),
            file_name=f"{name}.pdf", mime=MIME["pdf"],
            key=f"{key}_pdf", on_click="ignore", icon=":material/picture_as_pdf:",
        )  # fmt: skip


def template_downloads(localities: list[str] | None = None) -> None:
    """A blank template per sheet type, with Hebrew headers and dropdowns (`localities`: the
    user's own, for the locality dropdown; None: every authority)."""
    from exports.templates import template_workbook
    from ingest.registry import datasets

    who = _allowed()
    if who is None:
        return
    cols = st.columns(3)
    for i, (name, ds) in enumerate(datasets().items()):
        if name == "targets" and not can(who, "edit_targets"):
            continue
        cols[i % 3].download_button(
            ds.he if lang() == "he" else ds.en,
            data=_audited(
                who,
                "template",
                f"yaad_template_{name}.xlsx",
                lambda name=name: template_workbook(name, localities),
            ),
            file_name=f"yaad_template_{name}.xlsx",
            mime=MIME["xlsx"],
            key=f"template_{name}",
            on_click="ignore",
            icon=":material/download:",
        )
