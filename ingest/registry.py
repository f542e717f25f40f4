"""The dataset and category registries (datasets.yaml, categories.yaml) as frozen models.

Sheet types, header synonyms and category spellings are data: a new sheet type or spelling is an
entry in the YAML, never a new branch in code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).parent

# Quote-like characters people (and Excel on Hebrew Windows) type interchangeably.
_APOSTROPHES = "'’‘`´׳"
_QUOTES = '"“”„״'
_BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
# Invisible characters that only hide or disguise text (a NUL, an ESC sequence, a zero-width
# space inside a name): dropped like the bidi controls, so stored text is what a reader sees.
_INVISIBLE = "".join(map(chr, [*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x7F, 0xA0)]))
_INVISIBLE += "\u200b\u200c\u200d\u2060\ufeff"
_BIDI_CONTROLS = dict.fromkeys(map(ord, _BIDI + _INVISIBLE))


# Any character normalise_text would change; most cells have none and take the fast path.
_NEEDS_WORK = re.compile(
    "[" + _APOSTROPHES.replace("'", "") + _QUOTES.replace('"', "") + "\u05be\u2013\u2014\u200e\u200f"
    "\u202a-\u202e\u2066-\u2069\u061c\x00-\x1f\x7f-\xa0\u200b-\u200d\u2060\ufeff"
    "\u2000-\u200a\u3000]|  |^\\s|\\s$"
)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def normalise_text(value: str) -> str:
    """Trim, fold apostrophes/quotes to ASCII, drop bidi and control characters, collapse whitespace."""
    text = str(value)
    if unicodedata.is_normalized("NFC", text) and not _NEEDS_WORK.search(text):
        return text
    text = unicodedata.normalize("NFC", text).translate(_BIDI_CONTROLS)
    text = re.sub(f"[{_APOSTROPHES}]", "'", text)
    text = re.sub(f"[{_QUOTES}]", '"', text)
    text = text.replace("\u05be", "-").replace("\u2013", "-").replace("\u2014", "-")
    return re.sub(r"\s+", " ", text).strip()


def header_key(value: object) -> str:
    """A matching key for headers and category spellings: case, quotes, punctuation and spaces folded."""
    text = normalise_text(str(value)).lower()
    text = text.replace("₪", ' ש"ח ')
    text = re.sub(r"[\"'.,:;()\[\]{}*#/\\_\-–?!]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Column:
    """One column of a dataset: its canonical headers, synonyms and value type."""

    name: str
    he: str
    en: str
    type: str
    required: bool = False
    categories: str | None = None
    min: float | None = None
    synonyms: tuple[str, ...] = ()

    def header_keys(self) -> set[str]:
        """Every header spelling that names this column, as matching keys."""
        return {header_key(s) for s in (self.he, self.en, self.name, *self.synonyms)}


@dataclass(frozen=True)
class Dataset:
    """A sheet type: its columns, how a newer sheet replaces stored rows, and its row key."""

    name: str
    he: str
    en: str
    replace: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    date_column: str | None = None

    def column(self, name: str) -> Column:
        """The column called `name` (KeyError when the dataset has none)."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def required(self) -> tuple[Column, ...]:
        """Columns without which a sheet is not of this type."""
        return tuple(c for c in self.columns if c.required)


@dataclass(frozen=True)
class Category:
    """A category value: its code, labels and the spellings that map to it."""

    code: str
    he: str
    en: str
    synonyms: tuple[str, ...] = field(default_factory=tuple)


@cache
def datasets() -> dict[str, Dataset]:
    """All dataset types, by name (the names are a public interface: CLI, JSON, templates)."""
    raw = yaml.load((HERE / "datasets.yaml").read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    out: dict[str, Dataset] = {}
    for name, spec in raw.items():
        cols = tuple(
            Column(
                name=col_name,
                he=col["he"],
                en=col["en"],
                type=col["type"],
                required=bool(col.get("required", False)),
                categories=col.get("categories"),
                min=col.get("min"),
                synonyms=tuple(col.get("synonyms", ())),
            )
            for col_name, col in spec["columns"].items()
        )
        out[name] = Dataset(
            name=name,
            he=spec["he"],
            en=spec["en"],
            replace=spec.get("replace", "none"),
            columns=cols,
            key=tuple(spec.get("key", ())),
            date_column=spec.get("date_column"),
        )
    return out


@cache
def categories() -> dict[str, dict[str, Category]]:
    """Category sets by name, each mapping code -> Category."""
    raw = yaml.load((HERE / "categories.yaml").read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    return {
        set_name: {
            code: Category(code=code, he=v["he"], en=v["en"], synonyms=tuple(v.get("synonyms", ())))
            for code, v in values.items()
        }
        for set_name, values in raw.items()
    }


@cache
def category_lookup(set_name: str) -> dict[str, str]:
    """Matching key of every spelling -> category code, for one category set."""
    lookup: dict[str, str] = {}
    for code, cat in categories()[set_name].items():
        for spelling in (code, cat.he, cat.en, *cat.synonyms):
            lookup[header_key(spelling)] = code
    return lookup
