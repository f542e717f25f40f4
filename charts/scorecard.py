"""The scorecard heatmap: localities × goals coloured by status.

One builder for the overview page and the national deck, so both show the same picture. Built
with pivots, not per-cell lookups: at national scale it is 255 localities × ~20 goals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.style import FONT_FAMILY, STATUS_COLORS, STATUS_ORDER, status_label


def format_value(value: object) -> str:
    """A number as a scorecard cell shows it: integers plainly, fractions with two decimals."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{int(value):,}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def scorecard_figure(
    att: pd.DataFrame,
    goal_labels: dict[str, str],
    *,
    lang: str = "he",
    title: str | None = None,
) -> go.Figure:
    """A heatmap with one row per locality and one column per goal; the cell text is the value.

    `att` is the tidy attainment frame for one period per goal (one row per locality × goal).
    """
    present = set(att["goal"])
    goals = [g for g in goal_labels if g in present]
    rows = att[att["goal"].isin(goals)]
    if "period_start" in rows:  # half-year goals: the latest period of the year
        rows = rows.sort_values("period_start", kind="stable")
    rows = rows.drop_duplicates(["locality_code", "goal"], keep="last")
    names = (
        rows.drop_duplicates("locality_code")
        .set_index("locality_code")["locality_name"]
        .sort_values(kind="stable")
    )
    codes = list(names.index)
    status_code = {s: i for i, s in enumerate(STATUS_ORDER)}

    def grid(column: str) -> pd.DataFrame:
        return rows.pivot(index="locality_code", columns="goal", values=column).reindex(
            index=codes, columns=goals
        )

    status = grid("status")
    z = status.apply(lambda col: col.map(status_code)).astype(float)
    text = grid("value").apply(lambda col: col.map(format_value)).fillna("")
    targets = grid("target").astype(object).where(lambda d: d.notna(), "")
    status_text = status.apply(
        lambda col: col.map(lambda s: status_label(s, lang) if isinstance(s, str) else "")
    )
    label_row = np.array([goal_labels[g] for g in goals], dtype=object)

    n = len(STATUS_ORDER)
    scale = []  # discrete colours: each status owns an equal slice of the scale
    for i, s in enumerate(STATUS_ORDER):
        scale += [[i / n, STATUS_COLORS[s]], [(i + 1) / n, STATUS_COLORS[s]]]
    # numpy arrays, not nested lists: plotly validates lists element by element (1 s at 255 × 21).
    # The payload is sent on every rerun, so cells carry only what the tooltip needs; a click is
    # mapped back to (locality, goal) through the axis labels (see `cell_at`).
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy(dtype=float),
            customdata=np.dstack(
                [status_text.to_numpy(dtype=object), targets.astype(str).to_numpy(dtype=object)]
            ),
            x=label_row,
            y=names.to_numpy(dtype=object),
            text=text.to_numpy(dtype=object),
            texttemplate="%{text}",
            hovertemplate="%{y}<br>%{x}<br>%{customdata[0]}: %{text} / %{customdata[1]}<extra></extra>",
            colorscale=scale,
            zmin=-0.5,
            zmax=n - 0.5,
            showscale=False,
            xgap=2,
            ygap=2,
        )
    )
    fig.update_layout(
        meta={"locality_codes": [int(c) for c in codes], "goals": goals},
        title=title,
        font={"family": FONT_FAMILY, "size": 13},
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        height=max(260, 30 * len(codes) + 140),
        xaxis={"side": "top", "autorange": "reversed", "tickangle": -35},  # first goal on the right
        yaxis={"autorange": "reversed", "side": "right"},
        plot_bgcolor="white",
    )
    return fig


def cell_at(fig: go.Figure, point: dict) -> tuple[int, str] | None:
    """(locality_code, goal) of a clicked scorecard cell, from the point's axis labels."""
    meta = fig.layout.meta or {}
    try:
        row = list(fig.data[0].y).index(point["y"])
        col = list(fig.data[0].x).index(point["x"])
        return int(meta["locality_codes"][row]), str(meta["goals"][col])
    except (KeyError, ValueError, IndexError, TypeError):
        return None
