"""The national overview as plain data: filtered attainment, headline counts and its two figures.

Built once per data version and filter choice (the page caches it), so a rerun of the overview
only ships what is already built — the page stays within a small multiple of an empty page.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from charts.figures import locality_map
from charts.frozen import freeze
from charts.scorecard import scorecard_figure

SCORED_OUT = ("no_data", "info")


@dataclass(frozen=True)
class OverviewFilters:
    """What the user narrowed the overview to (None = everything)."""

    year: int
    model: str | None = None
    district: str | None = None
    peer_column: str | None = None
    peer_value: str | None = None


@dataclass(frozen=True)
class FilterChoices:
    """What the overview's filters offer: districts, peer-group columns and each column's values."""

    districts: tuple[str, ...]
    peer_columns: tuple[str, ...]
    peer_values: dict[str, tuple[str, ...]]


NOT_PEER_COLUMNS = ("authority_code", "name", "name_en", "population", "lat", "lon", "district")


def filter_choices(peers: pd.DataFrame) -> FilterChoices:
    """The filter options from the peer-group table (metrics.peers), sorted for the pickers."""
    columns = tuple(c for c in peers.columns if c not in NOT_PEER_COLUMNS)
    return FilterChoices(
        districts=tuple(sorted(peers["district"].dropna().unique())),
        peer_columns=columns,
        peer_values={c: tuple(sorted(peers[c].dropna().astype(str).unique())) for c in columns},
    )


@dataclass(frozen=True)
class Overview:
    """Everything the overview page shows, computed."""

    attainment: pd.DataFrame
    counts: dict[str, int]
    scorecard: go.Figure
    map: go.Figure


def build_overview(
    att_year: pd.DataFrame,
    composite_year: pd.DataFrame,
    peers: pd.DataFrame,
    goal_labels: dict[str, str],
    model_goals: set[str] | None,
    filters: OverviewFilters,
    lang: str = "he",
) -> Overview:
    """Apply the filters and build the scorecard, the headline counts and the map."""
    keep = peers
    if filters.district:
        keep = keep[keep["district"] == filters.district]
    if filters.peer_column and filters.peer_value is not None:
        keep = keep[keep[filters.peer_column].astype(str) == filters.peer_value]
    att = att_year[att_year["locality_code"].isin(keep["authority_code"])]
    labels = goal_labels
    if model_goals is not None:
        labels = {g: label for g, label in goal_labels.items() if g in model_goals}
        att = att[att["goal"].isin(labels)]
    scored = att[~att["status"].isin(SCORED_OUT)]
    counts = {
        "localities": int(scored["locality_code"].nunique()),
        "achieved_or_on_track": int(scored["status"].isin(["achieved", "on_track"]).sum()),
        "at_risk": int((scored["status"] == "at_risk").sum()),
        "off_track": int(scored["status"].isin(["off_track", "missed"]).sum()),
    }
    scores = composite_year[composite_year["model"] == (filters.model or "all")].merge(
        keep[["authority_code", "lat", "lon"]], left_on="locality_code", right_on="authority_code"
    )
    return Overview(
        att, counts, freeze(scorecard_figure(att, labels, lang=lang)), freeze(locality_map(scores))
    )
