"""Figures that are built once and shown on many reruns.

Streamlit turns a figure into a dict (`to_dict`, a deep copy) and then JSON on every script run.
For the national scorecard that copy and that JSON are a sizeable share of the page's run, so a
cached figure keeps its plain-dict form and its JSON, both computed once. Use only for figures
nobody mutates afterwards.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a requirement; plain JSON still works
    orjson = None


class FrozenDict(dict):
    """A figure's plain dict that also carries its finished JSON.

    `plotly.io.to_json` (which `st.plotly_chart` calls on every run) asks an object for
    `to_plotly_json()` before its orjson encoder runs; this returns an `orjson.Fragment`, JSON that
    orjson copies as is. Any other encoder (the standard `json`, kaleido's) sees a normal dict.
    """

    def __init__(self, data: dict, encoded: bytes | None) -> None:
        super().__init__(data)
        self._fragment = orjson.Fragment(encoded) if orjson is not None and encoded is not None else None

    def to_plotly_json(self) -> object:
        """The finished JSON for plotly's orjson encoder (a copy of the dict without orjson)."""
        return self._fragment if self._fragment is not None else dict(self)

    def __reduce__(self) -> tuple:
        """Copies and pickles are plain dicts: whoever copies a figure may change it."""
        return (dict, (dict(self),))


class FrozenFigure(go.Figure):
    """A figure whose dict form and JSON are computed once; treat it as read-only."""

    def __init__(self, figure: go.Figure) -> None:
        super().__init__(figure)
        text = pio.to_json(figure, validate=False, engine="orjson" if orjson is not None else "json")
        # The same text plotly would make on each run: already escaped for HTML (<, >, / as \\u),
        # so plotly's escaping pass finds nothing to replace.
        self._frozen_dict = FrozenDict(json.loads(text), text.encode("utf-8") if orjson else None)

    def to_dict(self) -> dict:
        """The precomputed plain dict (lists, not numpy arrays) carrying its JSON."""
        return self._frozen_dict


def freeze(figure: go.Figure) -> FrozenFigure:
    """Freeze a figure for repeated display."""
    return FrozenFigure(figure)
