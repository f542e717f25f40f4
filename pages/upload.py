"""Upload: drag in files; per file see sheets, mapping, localities, problems and the diff; commit."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from ingest.pipeline import analyse, commit
from ingest.registry import datasets
from ingest.report import problems_to_excel
from pages._exports import template_downloads
from pages._shared import get_store, lang, require_page, t
from store import column_memory, views

user = require_page("upload")
st.title(t("nav_upload"))
st.caption(t("upload_intro"))
store = get_store()
authorities = views.authorities(store, user=user)  # only the user's own localities
with st.expander(t("templates_hint")):
    template_downloads(None if user.sees_all else list(authorities["name"]))
if not user.sees_all:
    st.caption(t("upload_scope", names=", ".join(authorities["name"])))

names = dict(zip(authorities["code"], authorities["name"], strict=True))
default_code = st.selectbox(
    t("default_locality"), [None, *names], format_func=lambda c: t("none_chosen") if c is None else names[c]
)
uploads = st.file_uploader(
    t("files"), type=["xlsx", "xlsm", "xls", "ods", "csv"], accept_multiple_files=True, key="uploads"
)
ds_label = {name: (d.he if lang() == "he" else d.en) for name, d in datasets().items()}


def _analysis(name: str, data: bytes):
    """Analyse once per content, default locality and remembered mapping (session cache)."""
    overrides = column_memory.overrides_for(store, name)
    key = hashlib.sha256(
        data + repr((default_code, sorted(overrides.items()), user.username, user.codes())).encode()
    ).hexdigest()
    cache = st.session_state.setdefault("analyses", {})
    if key not in cache:
        with st.spinner(t("analysing", name=name)):
            cache[key] = analyse(
                data, name, store, locality=names.get(default_code), column_overrides=overrides, user=user
            )
    return cache[key]


for index, upload in enumerate(uploads or []):
    data = upload.getvalue()
    analysis = _analysis(upload.name, data)
    st.header(upload.name)
    for problem in analysis.file_problems:
        st.error(problem.message(lang()))
    if not analysis.readable:
        continue

    for sheet in analysis.sheets:
        if not sheet.dataset:
            st.warning(
                t(
                    "sheet_not_recognised",
                    sheet=sheet.sheet,
                    reason=sheet.reason_he if lang() == "he" else sheet.reason_en,
                )
            )
            continue
        with st.expander(
            t(
                "sheet_recognised",
                sheet=sheet.sheet,
                dataset=ds_label[sheet.dataset],
                row=sheet.header_row,
                valid=sheet.rows_valid,
                total=sheet.rows_total,
            ),
            expanded=len(analysis.sheets) == 1,
        ):
            ds_columns = datasets()[sheet.dataset].columns
            columns = [c.name for c in ds_columns]
            col_label = {c.name: f"{c.he if lang() == 'he' else c.en} ({c.name})" for c in ds_columns}
            mapping = pd.DataFrame(
                [{"header": h, "column": c} for h, c in sheet.mapping.items()]
                + [{"header": h, "column": None} for h in sheet.unmapped]
            )
            edited = st.data_editor(
                mapping,
                key=f"map_{index}_{sheet.sheet}",
                hide_index=True,
                disabled=["header"],
                column_config={
                    "header": t("source_header"),
                    "column": st.column_config.SelectboxColumn(
                        t("maps_to"), options=columns, format_func=col_label.get
                    ),
                },
            )
            if st.button(t("apply_mapping"), key=f"apply_{index}_{sheet.sheet}"):
                changed = {
                    h: (c if isinstance(c, str) and c else None)
                    for h, c in zip(edited["header"], edited["column"], strict=True)
                }
                column_memory.remember(store, upload.name, sheet.sheet, changed, user.username)
                st.rerun()
            st.markdown(f"**{t('preview')}**")
            st.dataframe(sheet.preview, hide_index=True)
            if not sheet.localities.empty:
                st.markdown(f"**{t('localities_resolved')}**")
                st.dataframe(sheet.localities, hide_index=True)

    problems = analysis.problems
    if problems:
        st.error(t("problems_found", n=len(problems)))
        table = pd.DataFrame(
            [
                {
                    "sheet": p.sheet,
                    "row": p.row,
                    "column": p.column,
                    "value": p.value,
                    "message": p.message(lang()),
                }
                for p in problems
            ]
        )
        st.dataframe(table, hide_index=True)
        st.download_button(
            t("download_report"),
            problems_to_excel(analysis, lang=lang()),
            file_name=f"report_{upload.name}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"report_{index}",
        )
    else:
        st.success(t("no_problems"))

    if not analysis.diff.empty:
        st.markdown(f"**{t('diff')}**")
        st.dataframe(analysis.diff, hide_index=True)

    skip = st.checkbox(t("skip_invalid"), key=f"skip_{index}", disabled=not problems)
    if st.button(t("commit"), key=f"commit_{index}", type="primary"):
        with st.spinner(t("committing")):
            result = commit(analysis, store, user=user, skip_invalid=skip)
        if result.status == "loaded":
            rows = sum(d["rows"] for d in result.datasets.values())
            st.success(t("result_loaded", batch=result.batch_id, rows=rows))
        elif result.status == "unchanged":
            st.info(t("result_unchanged"))
        else:
            st.error(t("result_rejected"))
            for error in result.errors[:20]:
                st.caption(error["message"])
