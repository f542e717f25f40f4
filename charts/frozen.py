"""Figures that are built once and shown on many reruns.

Streamlit turns a figure into a dict (`to_dict`, a deep copy) and then JSON on every script run.
For the national scorecard that copy alone is a sizeable share of the page's run, so a cached
figure keeps its plain-dict form, computed once. Use only for figures nobody mutates afterwards.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio


class FrozenFigure(go.Figure):
    """A figure whose dict form is computed once; treat it as read-only."""

    def __init__(self, figure: go.Figure) -> None:
        super().__init__(figure)
        self._frozen_dict = json.loads(pio.to_json(figure, validate=False))

    def to_dict(self) -> dict:
        """The precomputed plain dict (lists, not numpy arrays): cheap to serialise again."""
        return self._frozen_dict


def freeze(figure: go.Figure) -> FrozenFigure:
    """Freeze a figure for repeated display."""
    return FrozenFigure(figure)
