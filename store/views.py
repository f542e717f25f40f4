"""Read-only views for browsing pages: a locality's rows, data freshness, what each locality sent.

These are plain SQL over current rows (`superseded_by IS NULL`). They never return people's names:
the store holds none (meetings keep counts and keyed hashes only). Each takes the acting `user`
and returns only the authorities in their scope (a locality outside it raises AccessDenied).
"""

from __future__ import annotations

import pandas as pd

from store import Store
from store.access import User, require_authorities, scope_condition

# Dataset table -> the date that says how recent its content is.
FRESHNESS_DATE: dict[str, str] = {
    "programs": "coalesce(last_updated, start_date)",
    "meetings": "meeting_date",
    "partnerships": "start_date",
    "volunteers": "period_end",
    "trainings": "training_date",
    "budgets": "make_date(year, 12, 31)",
    "clusters": "established",
}


def authorities(store: Store, user: User | str | None = None) -> pd.DataFrame:
    """The local authorities in the user's scope, with their reference attributes."""
    return store.query_df(f"SELECT * FROM authorities WHERE {scope_condition(user, 'code')} ORDER BY name")


def locality_programs(store: Store, authority_code: int, user: User | str | None = None) -> pd.DataFrame:
    """The locality's current program list, with provenance."""
    require_authorities(user, [authority_code])
    return store.query_df(
        """
        SELECT p.program_name, p.operator, p.flagship, p.domain, p.start_date, p.status,
               p.new_response, p.continuity_plan, p.participants, p.last_updated,
               b.file_name, p.sheet, p.source_row
        FROM programs p JOIN import_batches b USING (batch_id)
        WHERE p.superseded_by IS NULL AND p.authority_code = ?
        ORDER BY p.start_date DESC NULLS LAST, p.program_name
        """,
        [authority_code],
    )


def locality_meetings(store: Store, authority_code: int, user: User | str | None = None) -> pd.DataFrame:
    """The locality's meetings (counts only), newest first."""
    require_authorities(user, [authority_code])
    return store.query_df(
        """
        SELECT m.meeting_date, m.meeting_type, m.topic, m.participants,
               (SELECT count(DISTINCT mp.sector) FROM meeting_participants mp
                 WHERE mp.meeting_id = m.meeting_id AND mp.superseded_by IS NULL) AS sectors,
               b.file_name, m.sheet, m.source_row
        FROM meetings m JOIN import_batches b USING (batch_id)
        WHERE m.superseded_by IS NULL AND m.authority_code = ?
        ORDER BY m.meeting_date DESC
        """,
        [authority_code],
    )


def locality_partnerships(store: Store, authority_code: int, user: User | str | None = None) -> pd.DataFrame:
    """The locality's partnership log."""
    require_authorities(user, [authority_code])
    return store.query_df(
        """
        SELECT p.partnership_name, p.partners, p.sectors, p.start_date, p.level, p.status,
               p.new_response, b.file_name, p.sheet, p.source_row
        FROM partnerships p JOIN import_batches b USING (batch_id)
        WHERE p.superseded_by IS NULL AND p.authority_code = ?
        ORDER BY p.start_date DESC NULLS LAST
        """,
        [authority_code],
    )


def freshness(store: Store, as_of: str | None = None, user: User | str | None = None) -> pd.DataFrame:
    """Per authority and dataset: rows, latest content date, last import, days since last import.

    Drives the data-quality page and the "program database updated every half year" check.
    """
    parts = []
    for table, date_expr in FRESHNESS_DATE.items():
        parts.append(
            f"""
            SELECT '{table}' AS dataset, t.authority_code, count(*) AS rows,
                   max({date_expr}) AS latest_content_date,
                   max(b.imported_at) AS last_import
            FROM {table} t JOIN import_batches b USING (batch_id)
            WHERE t.superseded_by IS NULL AND {scope_condition(user, "t.authority_code")}
            GROUP BY t.authority_code
            """
        )
    sql = f"""
        WITH f AS ({" UNION ALL ".join(parts)})
        SELECT a.code AS locality_code, a.name AS locality_name, f.dataset, f.rows,
               f.latest_content_date, f.last_import,
               date_diff('day', CAST(f.last_import AS DATE), coalesce(CAST(? AS DATE), current_date))
                   AS days_since_import,
               date_diff('day', f.latest_content_date, coalesce(CAST(? AS DATE), current_date))
                   AS days_since_content
        FROM f JOIN authorities a ON a.code = f.authority_code
        ORDER BY a.name, f.dataset
    """
    return store.query_df(sql, [as_of, as_of])


def missing_datasets(store: Store, user: User | str | None = None) -> pd.DataFrame:
    """Authorities that sent some data, and which datasets they never sent."""
    tables = list(FRESHNESS_DATE)
    scope = scope_condition(user)
    union = " UNION ALL ".join(
        f"SELECT DISTINCT authority_code, '{t}' AS dataset FROM {t} WHERE superseded_by IS NULL AND {scope}"
        for t in tables
    )
    values = ", ".join(f"('{t}')" for t in tables)
    return store.query_df(
        f"""
        WITH sent AS ({union}),
             active AS (SELECT DISTINCT authority_code FROM sent),
             expected AS (SELECT authority_code, d.dataset FROM active, (VALUES {values}) d(dataset))
        SELECT a.code AS locality_code, a.name AS locality_name, e.dataset
        FROM expected e
        JOIN authorities a ON a.code = e.authority_code
        LEFT JOIN sent s USING (authority_code, dataset)
        WHERE s.authority_code IS NULL
        ORDER BY a.name, e.dataset
        """
    )
