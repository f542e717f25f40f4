"""The scorecard heatmap: localities × goals coloured by status.

One builder for the overview page and the national deck, so both show the same picture. Built
with pivots, not per-cell lookups: at national scale it is 255 localities × ~20 goals.
"""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.style import FONT_FAMILY, STATUS_COLORS, STATUS_ORDER, status_label

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
    #
    # The figure is shipped on every rerun of the page, so it is kept small (255 × 21 tiles: 0.23 MB
    # of JSON instead of 0.58): one trace per goal column and run of consecutive localities, placed
    # by the column's number (x) and the run's first locality (y0, dy=1: no per-tile names); the
    # goal's label, and the target when the run shares one, are written once into the trace's
    # tooltip. Colours stay one string per tile: mapping status numbers through a colour scale
    # made plotly.js draw the national grid ~40% slower (measured).
    status_grid = status.to_numpy(dtype=object)
    value_grid = text.to_numpy(dtype=object)
    target_grid = targets.astype(str).to_numpy(dtype=object)
    known = set(STATUS_COLORS)
    labels_of = {s: status_label(s, lang) for s in STATUS_ORDER}
    show_text = len(codes) <= TEXT_MAX_ROWS
    traces = []
    for j in range(len(goals)):
        present = np.flatnonzero(pd.notna(status_grid[:, j]))
        # Runs of consecutive rows: a gap (a locality without this goal) starts a new trace.
        for run in np.split(present, np.flatnonzero(np.diff(present) != 1) + 1):
            if not len(run):
                continue
            run_status = [s if s in known else "no_data" for s in status_grid[run, j]]
            traces.append(
                go.Scatter(
                    x=[j] * len(run),
                    y0=name_col[run[0]],
                    dy=1,
                    name=label_row[j],
                    # Values are written on the tiles while they are readable; a national grid of
                    # thousands of tiles shows colours only (the value is in the tooltip), which
                    # keeps it fast to draw.
                    mode="markers+text" if show_text else "markers",
                    marker={
                        "symbol": "square",
                        "size": TILE_PX,
                        "color": [STATUS_COLORS[s] for s in run_status],
                        "line": {"width": 0},
                    },
                    text=value_grid[run, j],
                    textfont={"size": 11, "color": "#111"},
                    showlegend=False,
                    **_hover(str(label_row[j]), [labels_of[s] for s in run_status], target_grid[run, j]),
                )
            )  # fmt: skip
    fig = go.Figure(traces)
    fig.update_layout(
        # Maps from what a click reports to ids: locality name -> code, goal label -> id, and the
        # goals by column number (the x of a tile).
        meta={
            "locality_codes": {str(n): int(c) for c, n in zip(codes, name_col, strict=True)},
            "goals": {str(lbl): g for g, lbl in zip(goals, label_row, strict=True)},
            "goal_columns": list(goals),
        },
        title=title,
        font={"family": FONT_FAMILY, "size": 13},
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        height=max(260, ROW_PX * len(codes) + 160),
        # First goal on the right and first locality at the top, as a Hebrew reader scans.
        xaxis={
            "side": "top",
            "tickmode": "array",
            "tickvals": list(range(len(goals))),
            "ticktext": [str(lbl) for lbl in label_row],
            "range": [len(goals) - 0.5, -0.5],
            "tickangle": -35,
            "showgrid": False,
            "zeroline": False,
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


def _hover(goal_label: str, statuses: list[str], targets: np.ndarray) -> dict:
    """A trace's tooltip: locality, goal, status: value / target. The goal label is written into
    the template; so is the target when the whole run shares it (the usual case: a goal's target
    is national), in the trace's `meta`; otherwise each tile carries it next to its status."""
    head = "%{y}<br>" + goal_label  # catalog labels: no %{ in them
    if len(set(targets)) == 1:
        return {
            "customdata": np.array(statuses, dtype=object),
            "meta": [str(targets[0])],
            "hovertemplate": head + "<br>%{customdata}: %{text} / %{meta[0]}<extra></extra>",
        }
    return {
        "customdata": np.column_stack([np.array(statuses, dtype=object), targets]),
        "hovertemplate": head + "<br>%{customdata[0]}: %{text} / %{customdata[1]}<extra></extra>",
    }


def cell_at(fig: go.Figure, point: dict) -> tuple[int, str] | None:
    """(locality_code, goal) of a clicked scorecard tile, from what the click reports: the
    locality's name (y) and the goal's column number (x) — or its label, from older figures."""
    meta = fig.layout.meta or {}
    try:
        code = int(meta["locality_codes"][str(point["y"])])
        x = point["x"]
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            column = round(x)
            if column < 0:
                return None
            return code, str(meta["goal_columns"][column])
        return code, str(meta["goals"][str(x)])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def tiles(spec: dict) -> dict[tuple[str, str], dict[str, str]]:
    """Every tile of a scorecard figure's JSON (as shipped to the browser), by (locality name, goal
    label): its text (the value), status label and target. For tests and checks."""
    layout = spec["layout"]
    rows = list(layout["yaxis"]["categoryarray"])
    labels = list(layout["xaxis"]["ticktext"])
    out: dict[tuple[str, str], dict[str, str]] = {}
    for trace in spec["data"]:
        first = rows.index(trace["y0"])
        shared = trace.get("meta")  # the run's one target, or None: each tile has its own
        for i, (x, text, data) in enumerate(
            zip(_plain(trace["x"]), trace["text"], trace["customdata"], strict=True)
        ):
            status, target = (data, shared[0]) if shared else data
            out[(rows[first + i], labels[int(x)])] = {"text": text, "status": status, "target": target}
    return out


def _plain(array: object) -> list:
    """A JSON array as plotly writes it: a list, or a typed array ({"dtype", "bdata": base64})."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)
