"""Locality reconciliation: whatever a locality typed -> a CBS settlement and the authority it rolls up to.

Matching goes from certain to uncertain: official names, rule-based variants (ק./קרית/קריית,
hyphen or space, עיריית X, מ.א. X), previous and merged names from the CBS list, a small alias
table (locality_aliases.yaml, e.g. יוקנעם), and only then rapidfuzz above a threshold. Below the
threshold the caller gets suggestions to show, never a silent guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml
from rapidfuzz import fuzz, process

from ingest.registry import _YAML_LOADER, normalise_text
from store import Store

ALIASES_YAML = Path(__file__).parent / "locality_aliases.yaml"
FUZZY_THRESHOLD = 88.0  # rapidfuzz ratio (0-100) on the normalised keys
FUZZY_MARGIN = 3.0  # a runner-up for another authority this close makes the match ambiguous

_REGIONAL_PREFIX = re.compile(r"^(?:מועצה אזורית|מועצה איזורית|מ\s*א|מוא|rc)\s+|\s+regional council$")
_OTHER_PREFIX = re.compile(r"^(?:עיריית|עירית|עיריה|עירייה|מועצה מקומית|מ\s*מ|city of|municipality of)\s+")


def locality_key(name: object) -> str:
    """The matching key of a locality name: ק./קרית -> קריית, punctuation and prefixes folded."""
    text = normalise_text(str(name)).lower()
    # A prefix first, so the abbreviation after it is expanded too: "עיריית ק. אתא" -> "קריית אתא".
    text = _OTHER_PREFIX.sub("", text)
    text = re.sub(r"^ק\s*[.']\s*", "קריית ", text)
    text = re.sub(r"^קרית(?=\s|-)", "קריית", text)
    text = re.sub(r"[\"'`]", "", text)
    text = re.sub(r"[\-–.,/\\()\[\]]", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = _OTHER_PREFIX.sub("", text)
    # Again after a prefix that needed its punctuation folded: "מ.מ. ק. ארבע" -> "קריית ארבע".
    text = re.sub(r"^(?:ק|קרית)(?= \S)", "קריית", text)
    return text


def split_regional(name: object) -> tuple[str, bool]:
    """(key, says it is a regional council) for names like 'מ.א. משגב' or 'מועצה אזורית משגב'."""
    key = locality_key(name)
    stripped = _REGIONAL_PREFIX.sub("", key).strip()
    return stripped, stripped != key


@dataclass(frozen=True)
class Resolution:
    """How one raw locality name resolved (or did not)."""

    raw: str
    locality_code: int | None
    authority_code: int | None
    locality_name: str | None
    authority_name: str | None
    # exact | variant | english | previous_name | alias | regional_council | fuzzy | default | unresolved
    method: str
    score: float
    suggestions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Resolved to an authority goals can be measured for."""
        return self.authority_code is not None


@dataclass
class _Target:
    locality_code: int | None
    authority_code: int | None
    locality_name: str | None
    method: str


@dataclass
class LocalityResolver:
    """An index of every spelling we accept, built once from the store's reference tables."""

    by_key: dict[str, _Target] = field(default_factory=dict)
    regional: dict[str, _Target] = field(default_factory=dict)
    authority_names: dict[int, str] = field(default_factory=dict)
    _cache: dict[str, Resolution] = field(default_factory=dict)

    @classmethod
    def from_store(cls, store: Store) -> LocalityResolver:
        """Build the index from the localities and authorities tables."""
        loc = store.query_df(
            "SELECT code, name, authority_code, previous_names, merged_names, name_en FROM "
            "localities ORDER BY code"
        )
        auth = store.query_df("SELECT code, name, kind FROM authorities")
        return cls.from_frames(loc, auth)

    @classmethod
    def from_frames(cls, loc: pd.DataFrame, auth: pd.DataFrame) -> LocalityResolver:
        """Build the index from frames shaped like the reference tables (also for tests)."""
        r = cls()
        r.authority_names = {int(c): str(n) for c, n in zip(auth["code"], auth["name"], strict=True)}
        official: dict[str, _Target] = {}
        stripped: dict[str, list[_Target]] = {}
        for code, name, acode in zip(loc["code"], loc["name"], loc["authority_code"], strict=True):
            t = _Target(int(code), None if pd.isna(acode) else int(acode), str(name), "exact")
            official.setdefault(locality_key(name), t)
            if "(" in str(name):
                stripped.setdefault(locality_key(re.sub(r"\(.*?\)", "", str(name))), []).append(t)
        for _, row in auth[auth["kind"] == "regional_council"].iterrows():
            short, _ = split_regional(row["name"])
            r.regional[short] = _Target(None, int(row["code"]), str(row["name"]), "regional_council")
        # previous and merged names, then parenthesis-free names when unambiguous, then aliases
        english = loc["name_en"] if "name_en" in loc else [None] * len(loc)
        for code, name, acode, prev, merged, en in zip(
            loc["code"],
            loc["name"],
            loc["authority_code"],
            loc["previous_names"],
            loc["merged_names"],
            english,
            strict=True,
        ):
            if isinstance(en, str) and locality_key(en) not in official:
                t = _Target(int(code), None if pd.isna(acode) else int(acode), str(name), "english")
                r.by_key.setdefault(locality_key(en), t)
            for names in (prev, merged):
                if isinstance(names, str):
                    for alias in names.split(","):
                        k = locality_key(alias)
                        if k and k not in official:
                            t = _Target(
                                int(code), None if pd.isna(acode) else int(acode), str(name), "previous_name"
                            )
                            r.by_key.setdefault(k, t)
        for k, targets in stripped.items():
            if len(targets) == 1 and k not in official:
                t = targets[0]
                r.by_key.setdefault(k, _Target(t.locality_code, t.authority_code, t.locality_name, "variant"))
        aliases = yaml.load(ALIASES_YAML.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
        for variant, official_name in aliases.items():
            t = official.get(locality_key(official_name))
            if t is not None:
                r.by_key[locality_key(variant)] = _Target(
                    t.locality_code, t.authority_code, t.locality_name, "alias"
                )
        r.by_key.update(official)
        return r

    def resolve(self, raw: object) -> Resolution:
        """Resolve one raw name (memoised: a sheet repeats its locality on every row)."""
        text = normalise_text(str(raw))
        if text in self._cache:
            return self._cache[text]
        result = self._resolve(text)
        self._cache[text] = result
        return result

    def _result(self, raw: str, t: _Target, method: str, score: float = 100.0) -> Resolution:
        aname = self.authority_names.get(t.authority_code) if t.authority_code is not None else None
        return Resolution(
            raw, t.locality_code, t.authority_code, t.locality_name or aname, aname, method, score
        )

    def _resolve(self, raw: str) -> Resolution:
        key, says_regional = split_regional(raw)
        if says_regional and key in self.regional:
            return self._result(raw, self.regional[key], "regional_council")
        if not says_regional and key in self.by_key:
            t = self.by_key[key]
            method = t.method
            if method == "exact" and normalise_text(raw) != t.locality_name:
                method = "variant"
            return self._result(raw, t, method)
        if key in self.regional:
            return self._result(raw, self.regional[key], "regional_council")
        return self._fuzzy(raw, key, says_regional)

    def _fuzzy(self, raw: str, key: str, says_regional: bool) -> Resolution:
        pool = self.regional if says_regional else {**self.regional, **self.by_key}
        if not key:
            return Resolution(raw, None, None, None, None, "unresolved", 0.0)
        found = process.extract(key, list(pool), scorer=fuzz.ratio, limit=5)
        suggestions = tuple(dict.fromkeys(pool[k].locality_name or "" for k, _, _ in found[:3]))
        if found:
            best_key, best_score, _ = found[0]
            t = pool[best_key]
            rival = next((s for k, s, _ in found[1:] if pool[k].authority_code != t.authority_code), 0.0)
            if best_score >= FUZZY_THRESHOLD and best_score - rival >= FUZZY_MARGIN:
                return self._result(raw, t, "fuzzy", float(best_score))
        best = float(found[0][1]) if found else 0.0
        return Resolution(raw, None, None, None, None, "unresolved", best, suggestions)
