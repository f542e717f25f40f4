"""Chart builders shared by the pages and the exports (one builder per picture).

Every builder takes the tidy attainment frame (docs/CONTRACTS.md) or a slice of it and returns a
plotly Figure with the Hebrew-capable font set explicitly. Charts stay left-to-right containers
(plotly misplaces tooltips inside RTL: plotly.js #2790); order is reversed where Hebrew reads it.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.style import FONT_FAMILY, PDI, RLI, STATUS_COLORS, STATUS_ORDER, status_label


def _layout(fig: go.Figure, title: str | None, height: int = 380) -> go.Figure:
    fig.update_layout(
        title=title,
        font={"family": FONT_FAMILY, "size": 13},
        margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10},
        height=height,
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def ranked_bars(
    goal_rows: pd.DataFrame,
    *,
    lang: str = "he",
    title: str | None = None,
    value_column: str = "value",
) -> go.Figure:
    """One goal across localities: bars ranked by value, coloured by status, with the target line."""
    data = goal_rows.dropna(subset=[value_column]).sort_values(value_column, ascending=True)
    fig = go.Figure(
        go.Bar(
            x=data[value_column],
            y=data["locality_name"],
            orientation="h",
            marker_color=[STATUS_COLORS.get(s, "#999") for s in data["status"]],
            text=[f"{v:,.3g}" for v in data[value_column]],
            textposition="outside",
            customdata=data[["locality_code"]].to_numpy(),
            hovertext=[status_label(s, lang) for s in data["status"]],
        )
    )
    if value_column == "value":
        for column in ("target_low", "target_high"):
            if column in data and data[column].notna().any():
                level = float(data[column].dropna().median())
                fig.add_vline(x=level, line_dash="dash", line_color="#333", annotation_text=f"{level:g}")
    fig.update_yaxes(side="right")
    fig.update_xaxes(autorange="reversed")  # bars grow leftwards from the right, as Hebrew reads
    return _layout(fig, title, height=max(300, 26 * len(data) + 100))


def distribution(goal_rows: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """How one goal's values spread across localities."""
    values = goal_rows["value"].dropna()
    fig = go.Figure(go.Histogram(x=values, nbinsx=min(20, max(5, values.nunique())), marker_color="#4c78a8"))
    return _layout(fig, title, height=280)


def trend(locality_rows: pd.DataFrame, goal_labels: dict[str, str], *, title: str | None = None) -> go.Figure:
    """One locality's goals over the years: value as a share of target (100% = target met)."""
    fig = go.Figure()
    data = locality_rows.dropna(subset=["ratio"]).sort_values("year")
    for goal, rows in data.groupby("goal", sort=False):
        fig.add_trace(
            go.Scatter(
                x=rows["year"].astype(str),
                y=(rows["ratio"] * 100).round(0),
                mode="lines+markers",
                name=goal_labels.get(goal, goal),
            )
        )
    fig.add_hline(y=100, line_dash="dash", line_color="#333")
    fig.update_yaxes(ticksuffix="%")
    return _layout(fig, title)


def compare_bars(
    rows: pd.DataFrame,
    goal_labels: dict[str, str],
    *,
    title: str | None = None,
) -> go.Figure:
    """Several localities side by side over chosen goals: share of target per goal."""
    fig = go.Figure()
    for name, loc_rows in rows.groupby("locality_name", sort=False):
        fig.add_trace(
            go.Bar(
                x=[goal_labels.get(g, g) for g in loc_rows["goal"]],
                y=(loc_rows["ratio"] * 100).round(0),
                name=str(name),
            )
        )
    fig.add_hline(y=100, line_dash="dash", line_color="#333")
    fig.update_layout(barmode="group")
    fig.update_yaxes(ticksuffix="%")
    fig.update_xaxes(autorange="reversed")
    return _layout(fig, title)


def locality_map(scores: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Localities on their coordinates coloured by composite score — no map tiles, so it works offline.

    `scores` needs lat, lon, locality_name and score (0–100).
    """
    data = scores.dropna(subset=["lat", "lon"])
    fig = go.Figure(
        go.Scatter(
            x=data["lon"],
            y=data["lat"],
            mode="markers+text",
            text=data["locality_name"],
            textposition="middle left",
            marker={
                "size": 14,
                "color": data["score"],
                "colorscale": "RdYlGn",
                "cmin": 0,
                "cmax": 100,
                "showscale": True,
                "colorbar": {"title": "%"},
                "line": {"width": 1, "color": "#333"},
            },
            customdata=data[["locality_code"]].to_numpy(),
        )
    )
    fig.update_xaxes(visible=False, range=[34.2, 35.9])
    fig.update_yaxes(visible=False, range=[29.4, 33.4], scaleanchor="x", scaleratio=1.2)
    return _layout(fig, title, height=620)


# -- builders added for the decks (issue 6); pages may use them too -------------------------------
def goal_scores(
    rows: pd.DataFrame,
    goal_labels: dict[str, str],
    *,
    lang: str = "he",
    title: str | None = None,
) -> go.Figure:
    """One locality's goals: how close each is to its target (0–100%), coloured by status.

    `rows` is the attainment frame for one locality and period per goal. Goals without a target
    (info) are left out; goals without data show as an empty grey bar labelled "no data".
    """
    from charts.narrative import format_target, format_value

    data = rows[rows["status"] != "info"]
    data = data[data["goal"].isin(goal_labels)]
    order = {g: i for i, g in enumerate(goal_labels)}
    data = data.assign(_order=data["goal"].map(order)).sort_values("_order", ascending=False)
    score = (data["score"].fillna(0) * 100).clip(0, 100).round(0)
    # Hebrew words with numbers inside a left-to-right chart: isolate them as right-to-left runs.
    wrap = (lambda text: f"{RLI}{text}{PDI}") if lang == "he" else str
    text = [
        wrap(
            f"{format_value(r['value'], r['unit'], lang)} ({format_target(r, lang)})"
            if r["status"] != "no_data"
            else status_label("no_data", lang)
        )
        for r in data.to_dict("records")
    ]
    fig = go.Figure(
        go.Bar(
            x=score.where((data["status"] != "no_data") & (score >= 2), 2),  # a visible stub at zero
            y=[goal_labels[g] for g in data["goal"]],
            orientation="h",
            marker_color=[STATUS_COLORS.get(s, "#999") for s in data["status"]],
            text=text,
            textposition=[
                "outside" if s == "no_data" or x < 35 else "inside"
                for s, x in zip(data["status"], score, strict=True)
            ],
            insidetextanchor="end",
            textangle=0,
            hovertext=[status_label(s, lang) for s in data["status"]],
            cliponaxis=False,
        )
    )
    fig.update_traces(textfont={"color": "#111"}, constraintext="none")
    fig.update_yaxes(side="right")
    fig.update_xaxes(range=[100, 0], ticksuffix="%")  # bars grow leftwards, as Hebrew reads
    return _layout(fig, title, height=max(260, 34 * len(data) + 90))


def goal_status_shares(
    att: pd.DataFrame,
    goal_labels: dict[str, str],
    *,
    lang: str = "he",
    title: str | None = None,
) -> go.Figure:
    """Goals ranked by the share of localities that achieved them or are on track (stacked by status).

    `att` is the attainment frame for one year (half-year goals: the latest period is used).
    """
    from charts.narrative import latest_periods

    rows = latest_periods(att)
    rows = rows[rows["goal"].isin(goal_labels) & (rows["status"] != "info")]
    counts = rows.groupby(["goal", "status"]).size().unstack(fill_value=0)
    totals = counts.sum(axis=1).where(lambda s: s > 0, 1)
    shares = counts.div(totals, axis=0) * 100
    done = shares.reindex(columns=["achieved", "on_track"], fill_value=0).sum(axis=1)
    goals = list(done.sort_values(kind="stable").index)  # best at the top of the chart
    fig = go.Figure()
    for status in STATUS_ORDER:
        if status == "info" or status not in shares:
            continue
        fig.add_trace(
            go.Bar(
                x=shares.loc[goals, status].round(0),
                y=[goal_labels[g] for g in goals],
                orientation="h",
                name=status_label(status, lang),
                marker_color=STATUS_COLORS[status],
                text=[f"{v:.0f}%" if v >= 6 else "" for v in shares.loc[goals, status]],
                textposition="inside",
            )
        )
    fig.update_layout(barmode="stack", legend={"traceorder": "normal"})
    fig.update_yaxes(side="right")
    fig.update_xaxes(range=[100, 0], ticksuffix="%")
    return _layout(fig, title, height=max(300, 30 * len(goals) + 120))


def meetings_timeline(
    meetings: pd.DataFrame, type_labels: dict[str, str], *, title: str | None = None
) -> go.Figure:
    """A locality's meetings over time, one lane per meeting type, marker size by participants."""
    fig = go.Figure()
    data = meetings.dropna(subset=["meeting_date"])
    for kind, rows in data.groupby("meeting_type", sort=False):
        size = rows["participants"].fillna(5).clip(lower=3, upper=40)
        fig.add_trace(
            go.Scatter(
                x=rows["meeting_date"],
                y=[type_labels.get(kind, kind)] * len(rows),
                mode="markers",
                marker={"size": 6 + size / 2, "opacity": 0.8},
                name=type_labels.get(kind, kind),
                text=rows["participants"],
                hovertemplate="%{x|%d/%m/%Y}<br>%{y}<br>%{text}<extra></extra>",
            )
        )
    fig.update_yaxes(side="right")
    return _layout(fig, title, height=300)
