"""The scorecard heatmap: localities × goals coloured by status.

One builder for the overview page and the national deck (issue 6), so both show the same picture.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.style import FONT_FAMILY, STATUS_COLORS, STATUS_ORDER, status_label


def scorecard_figure(
    att: pd.DataFrame,
    goal_labels: dict[str, str],
    *,
    lang: str = "he",
    title: str | None = None,
) -> go.Figure:
    """A heatmap with one row per locality and one column per goal; the cell text is the value.

    `att` is the tidy attainment frame for one period (one row per locality × goal).
    """
    goals = [g for g in goal_labels if g in set(att["goal"])]
    localities = (
        att[["locality_code", "locality_name"]].drop_duplicates().sort_values("locality_name", kind="stable")
    )
    codes = {s: i for i, s in enumerate(STATUS_ORDER)}
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    hover: list[list[str]] = []
    cell = att.set_index(["locality_code", "goal"])
    for code, name in localities.itertuples(index=False):
        z_row, t_row, h_row = [], [], []
        for goal in goals:
            if (code, goal) in cell.index:
                r = cell.loc[(code, goal)]
                if isinstance(r, pd.DataFrame):
                    r = r.iloc[0]
                z_row.append(codes.get(r["status"], codes["no_data"]))
                t_row.append(_fmt(r["value"]))
                h_row.append(
                    f"{name}<br>{goal_labels[goal]}<br>{status_label(r['status'], lang)}: "
                    f"{_fmt(r['value'])} / {r.get('target', '')}"
                )
            else:
                z_row.append(None)
                t_row.append("")
                h_row.append("")
        z.append(z_row)
        text.append(t_row)
        hover.append(h_row)

    n = len(STATUS_ORDER)
    # Discrete colours: each status owns an equal slice of the colour scale.
    scale = []
    for i, status in enumerate(STATUS_ORDER):
        scale.append([i / n, STATUS_COLORS[status]])
        scale.append([(i + 1) / n, STATUS_COLORS[status]])
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[goal_labels[g] for g in goals],
            y=list(localities["locality_name"]),
            text=text,
            texttemplate="%{text}",
            hovertext=hover,
            hoverinfo="text",
            colorscale=scale,
            zmin=-0.5,
            zmax=n - 0.5,
            showscale=False,
            xgap=2,
            ygap=2,
            customdata=[[[int(code), g] for g in goals] for code in localities["locality_code"]],
        )
    )
    fig.update_layout(
        title=title,
        font={"family": FONT_FAMILY, "size": 13},
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        height=max(260, 34 * len(localities) + 120),
        xaxis={"side": "top", "autorange": "reversed"},  # first goal on the right, as Hebrew reads
        yaxis={"autorange": "reversed", "side": "right"},
        plot_bgcolor="white",
    )
    return fig


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)
