"""Regressions in locality-name keys: a prefix followed by an abbreviation."""

from __future__ import annotations

import pytest

from ingest.localities import LocalityResolver, locality_key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("עיריית ק. אתא", "קריית אתא"),  # found by the property test: prefix, then ק.
        ("מ.מ. ק. ארבע", "קריית ארבע"),
        ("עיריית קרית גת", "קריית גת"),
        ("ק' שמונה", "קריית שמונה"),
        ("קצרין", "קצרין"),  # a name that merely starts with ק stays as it is
    ],
)
def test_prefix_then_abbreviation(raw, key):
    assert locality_key(raw) == key


def test_prefixed_abbreviation_resolves_to_its_city(store):
    resolution = LocalityResolver.from_store(store).resolve("עיריית ק. אתא")
    assert (resolution.authority_code, resolution.authority_name) == (6800, "קריית אתא")
