"""A sheet's columns as codes into their distinct values, computed in row ranges and merged.

Cleaning starts by factorizing every column (ingest.clean): a pass over every cell that holds the
GIL. A sheet parsed in parts (ingest.xlsx_split) can have the rows of its first part factorized
on that part's thread while python-calamine still parses the next part, leaving cleaning a merge
of distinct values. The merge gives exactly what factorizing the rows at once gives: the same
distinct values (the first of equal ones), in order of first appearance, and the same codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

Factorized = tuple[np.ndarray, np.ndarray]  # codes (-1: empty), distinct values


def factorize_rows(rows: Sequence[Sequence[Any]], width: int) -> list[Factorized]:
    """Each of the `width` columns of equally wide `rows`, factorized (None and NaN are -1)."""
    grid = np.empty((len(rows), width), dtype=object, order="F")  # columns contiguous
    if len(rows) and width:
        grid[:] = rows
    return [pd.factorize(grid[:, j], use_na_sentinel=True) for j in range(width)]


def merge(parts: Sequence[Factorized]) -> Factorized:
    """Factorizations of consecutive row ranges of one column as the factorization of them all."""
    if len(parts) == 1:
        return parts[0]
    codes, uniques = pd.factorize(np.concatenate([u for _, u in parts]), use_na_sentinel=True)
    out, at = [], 0
    for part_codes, part_uniques in parts:
        lookup = np.append(codes[at : at + len(part_uniques)], -1)  # -1 (empty) stays -1
        out.append(lookup[part_codes])
        at += len(part_uniques)
    return np.concatenate(out).astype(np.intp, copy=False), uniques


@dataclass
class RowFactors:
    """The rows of a sheet from row index `start` on, factorized per column in consecutive ranges
    (`parts[k][j]`: range k, column j); every row is `width` cells wide."""

    start: int
    width: int
    parts: list[list[Factorized]]

    def column(self, rows: Sequence[Sequence[Any]], j: int, first: int) -> Factorized | None:
        """Column j of rows[first:] factorized (the rows before `start` done here); None when
        `first` lies after `start`."""
        if first > self.start:
            return None
        head = [[row[j]] for row in rows[first : self.start]]
        return merge([factorize_rows(head, 1)[0], *(part[j] for part in self.parts)])
