"""The scorecard heatmap: localities × goals coloured by status.

One builder for the overview page and the national deck, so both show the same picture. Built
with pivots, not per-cell lookups: at national scale it is 255 localities × ~20 goals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.style import FONT_FAMILY, STATUS_COLORS, status_label

ROW_PX = 30  # height of one locality row
TILE_PX = 26  # a status tile, a little smaller than its row
TEXT_MAX_ROWS = 60  # above this many localities, tiles carry no text


def format_value(value: object, unit: str | None = None) -> str:
    """A number as a scorecard cell shows it: shares as percent, integers plainly, else 2 decimals."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if unit == "share" and isinstance(value, (int, float, np.integer, np.floating)):
        return f"{float(value) * 100:.0f}%"
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
    """A grid of status tiles: one row per locality, one column per goal; the tile text is the value.

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

    def grid(column: str) -> pd.DataFrame:
        return rows.pivot(index="locality_code", columns="goal", values=column).reindex(
            index=codes, columns=goals
        )

    status = grid("status")
    units = (
        rows.drop_duplicates("goal").set_index("goal")["unit"] if "unit" in rows else pd.Series(dtype=object)
    )
    text = grid("value").apply(lambda col: col.map(lambda v: format_value(v, units.get(col.name))))
    targets = grid("target").astype(object).where(lambda d: d.notna(), "")
    label_row = np.array([goal_labels[g] for g in goals], dtype=object)
    name_col = names.to_numpy(dtype=object)

    # Tiles are scatter markers, not a go.Heatmap: Streamlit reports clicks (selections) for
    # scatter points but not for heatmap cells (streamlit#8760), and a click must lead to the
    # rows behind the number. Missing cells (no row at all) are simply not drawn.
    present_mask = status.notna().to_numpy()
    rr, cc = np.nonzero(present_mask)
    flat_status = status.to_numpy(dtype=object)[rr, cc]
    colors = np.array([STATUS_COLORS.get(s, STATUS_COLORS["no_data"]) for s in flat_status], dtype=object)
    status_text = np.array([status_label(s, lang) for s in flat_status], dtype=object)
    # numpy arrays, not nested lists: plotly validates lists element by element (1 s at 255 × 21).
    fig = go.Figure(
        go.Scatter(
            x=label_row[cc],
            y=name_col[rr],
            # Values are written on the tiles while they are readable; a national grid of thousands
            # of tiles shows colours only (the value is in the tooltip), which keeps it fast to draw.
            mode="markers+text" if len(codes) <= TEXT_MAX_ROWS else "markers",
            marker={"symbol": "square", "size": TILE_PX, "color": colors, "line": {"width": 0}},
            text=text.to_numpy(dtype=object)[rr, cc],
            textfont={"size": 11, "color": "#111"},
            customdata=np.column_stack([status_text, targets.astype(str).to_numpy(dtype=object)[rr, cc]]),
            hovertemplate="%{y}<br>%{x}<br>%{customdata[0]}: %{text} / %{customdata[1]}<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_layout(
        # Label -> id maps, so a clicked tile (which reports its axis labels) finds its number.
        meta={
            "locality_codes": {str(n): int(c) for c, n in zip(codes, name_col, strict=True)},
            "goals": {str(lbl): g for g, lbl in zip(goals, label_row, strict=True)},
        },
        title=title,
        font={"family": FONT_FAMILY, "size": 13},
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        height=max(260, ROW_PX * len(codes) + 160),
        # First goal on the right and first locality at the top, as a Hebrew reader scans.
        xaxis={
            "side": "top",
            "type": "category",
            "categoryorder": "array",
            "categoryarray": list(label_row),
            "autorange": "reversed",
            "tickangle": -35,
            "showgrid": False,
        },
        yaxis={
            "side": "right",
            "type": "category",
            "categoryorder": "array",
            "categoryarray": list(name_col),
            "autorange": "reversed",
            "showgrid": False,
        },
        plot_bgcolor="white",
        clickmode="event+select",
        dragmode=False,
    )
    return fig


def cell_at(fig: go.Figure, point: dict) -> tuple[int, str] | None:
    """(locality_code, goal) of a clicked scorecard tile, from the labels the click reports."""
    meta = fig.layout.meta or {}
    try:
        return int(meta["locality_codes"][str(point["y"])]), str(meta["goals"][str(point["x"])])
    except (KeyError, TypeError, ValueError):
        return None
